"""Leaf renewal for losses that declare ``renews_leaves`` (Quantile): after each tree, every
leaf holds learning_rate x the exact weighted quantile of its training rows' residuals, the
objective and the metric see the renewed margins, and saved models predict them. The raw data
is never needed (Datasets free it after construction)."""

import itertools

import lightgbm as lgb
import numpy as np
import pytest

import gbobjectives as gb
from gbobjectives import _renewal as renewal
from gbobjectives import _training as training
from gbobjectives import lightgbm as gl

LR = 0.1


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 100 + 30 * X[:, 0] + (5 + 10 * np.abs(X[:, 1])) * rng.standard_t(3, n)
    return X, y, rng.uniform(0.2, 3.0, n)


def weighted_quantile(x, a, w):
    """Smallest minimiser of the weighted pinball loss, written out (no np.quantile)."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    return x[order][np.searchsorted(cum, a * cum[-1] - 1e-12 * cum[-1])]


def assert_renewed_quantiles(booster, loss, X, y, w, rates, margin, first=0, start=None):
    """Every leaf of the iterations ``first``, ``first + 1``, ... (one per entry of ``rates``,
    that iteration's learning rate) holds rate x the weighted quantile of its rows' residuals
    at the margins before its tree (``margin``: those before iteration ``first``; ``start``:
    the start folded into the first iteration's leaves)."""
    k = loss.alphas.size
    leaves = booster.predict(X, pred_leaf=True)  # (n, iterations * k), tree t * k + j
    for it, rate in enumerate(rates, start=first):
        for j in range(k):
            tree = it * k + j
            for leaf in np.unique(leaves[:, tree]):
                rows = leaves[:, tree] == leaf
                want = rate * weighted_quantile(y[rows] - margin[rows, j], loss.alphas[j], w[rows])
                got = booster.get_leaf_output(tree, int(leaf)) - (start[j] if it == 0 and start is not None else 0.0)
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
        margin = booster.predict(X, num_iteration=it + 1).reshape(len(y), k)


@pytest.mark.parametrize("hessian", ["majorizer", "constant"])
@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_renewed_leaves_are_the_weighted_quantiles_of_their_rows(hessian, alpha):
    X, y, w = data()
    loss = gb.Quantile(alpha, hessian=hessian, renew_leaves=True)
    booster = gl.train(loss, {"verbosity": -1, "learning_rate": LR, "num_leaves": 8}, lgb.Dataset(X, y, weight=w), 4)
    start = training.TrainingPlan.of(loss, y, w).start
    assert_renewed_quantiles(booster, loss, X, y, w, [LR] * 4, np.tile(start, (len(y), 1)), start=start)


@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.9]])
def test_renewed_leaves_follow_a_learning_rate_schedule(alpha):
    """``lightgbm.reset_parameter``: each tree is renewed at the learning rate LightGBM applied
    to it (the tree's shrinkage), not the one in the parameters."""
    X, y, w = data()
    loss = gb.Quantile(alpha)
    rates = [0.3, 0.3, 0.02, 0.02]
    booster = gl.train(
        loss,
        {"verbosity": -1, "learning_rate": LR, "num_leaves": 8},
        lgb.Dataset(X, y, weight=w),
        4,
        callbacks=[lgb.reset_parameter(learning_rate=rates)],
    )
    start = training.TrainingPlan.of(loss, y, w).start
    assert_renewed_quantiles(booster, loss, X, y, w, rates, np.tile(start, (len(y), 1)), start=start)


@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_rows_that_match_no_leaf_value_stop_the_training(alpha, monkeypatch):
    """A tree's leaf values read without one of them (as if LightGBM's scores were not the sum
    of the leaf values): the rows of the missing leaf match none, and the renewal says so
    instead of renewing from wrong leaves."""
    real = gl.LeafRenewal._newest_trees

    def short(self, booster):
        (values, shrinkage), *rest = real(self, booster)
        return [(values[:-1], shrinkage), *rest]

    monkeypatch.setattr(gl.LeafRenewal, "_newest_trees", short)
    X, y, w = data()
    with pytest.raises(RuntimeError, match="changed by no leaf value"):
        gl.train(gb.Quantile(alpha), {"verbosity": -1, "num_leaves": 8}, lgb.Dataset(X, y, weight=w), 3)


@pytest.mark.parametrize(("num_leaves", "max_depth"), [(6, -1), (40, 2), (8, 3)])
def test_each_iteration_reads_one_model_text(num_leaves, max_depth, monkeypatch):
    """Every tree of an iteration (full or not) is read from one model text of that iteration,
    neither the whole model nor the split counts, whose cost grows with the trees; the metric
    follows the renewed leaves either way."""
    texts = []
    real = gl.LeafRenewal._text

    def spy(self, booster, iteration):
        texts.append(iteration)
        return real(self, booster, iteration)

    monkeypatch.setattr(gl.LeafRenewal, "_text", spy)
    monkeypatch.setattr(lgb.Booster, "feature_importance", None)  # any use would fail
    X, y, w = data(1200)
    loss = gb.Quantile([0.1, 0.5, 0.9])
    ds = lgb.Dataset(X, y, weight=w)
    record = {}
    params = {"verbosity": -1, "learning_rate": LR, "num_leaves": num_leaves, "max_depth": max_depth}
    booster = gl.train(loss, params, ds, 6, valid_sets=[ds], callbacks=[lgb.record_evaluation(record)])
    monkeypatch.undo()
    sizes = np.array([t["num_leaves"] for t in booster.dump_model()["tree_info"]])
    assert len(set(sizes)) > 1 or num_leaves != 8  # the last case has trees of several sizes
    assert texts == list(range(6))
    (history,) = record["training"].values()
    assert history[-1] == pytest.approx(loss.mean(y, booster.predict(X), w), rel=1e-7)


@pytest.mark.parametrize("params", [{"boosting": "dart"}, {"boosting_type": "dart"}, {"linear_tree": True}])
def test_boosting_that_renewal_cannot_follow_warns_and_keeps_newton_steps(params, monkeypatch):
    """dart rescales earlier trees and linear trees have no constant leaf: LightGBM's scores
    are then not the sum of leaf values, so no renewal is set up and the leaves keep the
    curvature's Newton steps (the model renew_leaves=False trains), with a warning."""

    def no_renewal(*args):
        raise AssertionError("a leaf renewal was set up")

    monkeypatch.setattr(gl.LeafRenewal, "__init__", no_renewal)
    X, y, w = data()
    base = {"verbosity": -1, "num_leaves": 8} | params
    with pytest.warns(UserWarning, match="leaf renewal follows"):
        got = gl.train(gb.Quantile(0.9), base, lgb.Dataset(X, y, weight=w), 5)
    if "linear_tree" in params:  # (dart's drops differ from one training to the next in one process)
        want = gl.train(gb.Quantile(0.9, renew_leaves=False), base, lgb.Dataset(X, y, weight=w), 5)
        np.testing.assert_allclose(got.predict(X), want.predict(X), rtol=1e-12)


def test_linear_tree_set_on_the_dataset_warns_too():
    X, y, _ = data()
    with pytest.warns(UserWarning, match="not linear_tree"):
        gl.train(gb.Quantile(0.9), {"verbosity": -1}, lgb.Dataset(X, y, params={"linear_tree": True}), 2)


def test_metric_and_saved_model_follow_the_renewed_leaves(tmp_path):
    X, y, w = data(600)
    loss = gb.Quantile([0.1, 0.9], renew_leaves=True)
    ds = lgb.Dataset(X[:400], y[:400], weight=w[:400])
    valid = lgb.Dataset(X[400:], y[400:], weight=w[400:], reference=ds)
    record = {}
    booster = gl.train(
        loss,
        {"verbosity": -1, "learning_rate": LR},
        ds,
        30,
        valid_sets=[ds, valid],
        callbacks=[lgb.record_evaluation(record)],
    )
    for name, rows in (("training", slice(0, 400)), ("valid_1", slice(400, 600))):
        (history,) = record[name].values()
        assert history[-1] == pytest.approx(loss.mean(y[rows], booster.predict(X[rows]), w[rows]), rel=1e-7)
    path = tmp_path / "m.txt"
    booster.save_model(path)
    np.testing.assert_allclose(lgb.Booster(model_file=path).predict(X), booster.predict(X), rtol=1e-12)


def test_renewal_converges_faster_and_can_be_switched_off():
    X, y, _ = data(3000, seed=1)
    Xv, yv, _ = data(1000, seed=2)
    losses = {}
    for renew in (True, False):
        record = {}
        ds = lgb.Dataset(X, y)
        gl.train(
            gb.Quantile(0.9, renew_leaves=renew),
            {"verbosity": -1, "learning_rate": 0.05},
            ds,
            100,
            valid_sets=[lgb.Dataset(Xv, yv, reference=ds)],
            callbacks=[lgb.record_evaluation(record)],
        )
        (losses[renew],) = record["valid_0"].values()
    assert losses[True][-1] < 0.97 * losses[False][-1]
    assert min(losses[True][:50]) < min(losses[False])  # half the rounds beat all of them


def test_tied_leaf_values_are_told_apart():
    """A constant curvature gives every pure leaf the same Newton step; the leaves must still be
    renewed one by one (each to its own rows' quantile)."""
    leaf_values = np.array([0.5, -0.1, 0.5, 0.2])
    outputs = np.array([0.5, 0.2, -0.1, 0.5000000001])
    np.testing.assert_array_equal(leaves_of(leaf_values, outputs)[0], [0, 3, 1, 0])  # equal values: one group
    X, y, _ = data(2000, seed=3)
    booster = gl.train(
        gb.Quantile(0.9, hessian="constant", renew_leaves=True),
        {"verbosity": -1, "num_leaves": 31},
        lgb.Dataset(X, y),
        1,
    )
    values = [booster.get_leaf_output(0, i) for i in range(booster.dump_model()["tree_info"][0]["num_leaves"])]
    assert len(set(values)) == len(values)  # after renewal, no two leaves share a value


def test_lightgbm_estimator_renews_by_default():
    X, y, _ = data(800)
    est = gb.GBQuantileRegressor(alpha=(0.1, 0.9), backend="lightgbm", n_estimators=20).fit(X, y)
    assert est.renew_leaves and gb.Quantile().renew_leaves  # on by default (benchmarks/time_to_quality.py)
    leaves = est.booster_.predict(X, pred_leaf=True)
    last = est.booster_.predict(X, raw_score=True, num_iteration=19)
    rows = leaves[:, 19 * 2 + 1] == leaves[0, 19 * 2 + 1]
    want = LR * weighted_quantile(y[rows] - last[rows, 1], 0.9, np.ones(rows.sum()))
    assert est.booster_.get_leaf_output(39, int(leaves[0, 39])) == pytest.approx(want, rel=1e-9)


def test_leaf_values_are_numpys_weighted_inverted_cdf_quantiles():
    """The kernel against np.quantile leaf by leaf: ties, zero weights, a leaf of one row, a
    leaf without rows (keeps its value) and one of zero total weight (keeps it too), a leaf of
    one value repeated; residuals with many ties and without; levels at which alpha x (a leaf's
    count) is a whole number (the steps of the inverted CDF)."""
    rng = np.random.default_rng(5)
    n, n_leaves = 3000, 40
    leaf = rng.integers(0, n_leaves - 4, n)
    leaf[0] = n_leaves - 2  # a leaf of one row
    leaf[1:3] = n_leaves - 1  # a leaf of zero weight; leaf n_leaves - 3 has no rows
    leaf[3:40] = n_leaves - 4  # a leaf of one value (set below)
    w = rng.uniform(0.0, 2.0, n) * (rng.random(n) > 0.2)
    w[1:3] = 0.0
    ties = np.round(rng.standard_t(2, n), 1)
    for residual, alpha, weight in itertools.product(
        (ties, rng.standard_t(2, n)), (0.05, 0.25, 0.5, 0.9, 0.999), (None, w)
    ):
        residual[3:40] = 1.5
        loss = gb.Quantile(alpha)
        got = loss.leaf_values(residual, weight, leaf, np.full(n_leaves, -7.0), 0)
        for m in range(n_leaves):
            rows = leaf == m
            wm = np.ones(rows.sum()) if weight is None else weight[rows]
            if not rows.any() or wm.sum() == 0:
                assert got[m] == -7.0
                continue
            want = np.quantile(residual[rows], alpha, weights=wm, method="inverted_cdf")
            assert got[m] == want, (alpha, m)
        first = slice(0, 500)
        wf = None if weight is None else weight[first]
        want = np.quantile(residual[first], alpha, weights=wf, method="inverted_cdf")
        assert loss.leaf_value(residual[first], wf, 0) == want


@pytest.mark.parametrize("pattern", ["ascending", "descending", "constant", "two values", "organ pipe", "random"])
def test_leaf_quantile_selection_on_ordered_and_tied_residuals(pattern):
    """The per-leaf selection (a quickselect, no sort) on the orders that defeat naive pivots,
    on all-tied residuals and on leaves of up to 5,000 rows, unweighted and with integer and
    real weights, against np.quantile's inverted CDF."""
    rng = np.random.default_rng(11)
    for n in (1, 17, 1000, 5000):
        base = np.arange(n, dtype=np.float64)
        residual = {
            "ascending": base,
            "descending": base[::-1].copy(),
            "constant": np.full(n, 2.5),
            "two values": (base % 2) * 3.0,
            "organ pipe": np.minimum(base, n - 1 - base),
            "random": rng.standard_t(2, n),
        }[pattern]
        leaf = np.zeros(n, np.intp)
        for weight in (None, rng.integers(1, 4, n).astype(np.float64), rng.uniform(0.1, 2.0, n)):
            for alpha in (0.05, 0.5, 0.9, 0.999):
                got = gb.Quantile(alpha).leaf_values(residual, weight, leaf, np.full(1, np.nan), 0)[0]
                want = np.quantile(residual, alpha, weights=weight, method="inverted_cdf")
                assert got == want, (n, alpha, weight is None)


def test_selection_fallback_pivots():
    """The pivots quickselect takes after its median-of-three ones (Weyl-sequence positions):
    with no median-of-three step at all, every leaf's quantile is still np.quantile's, on the
    orders that defeat naive pivots and with ties, unweighted and weighted."""
    from gbobjectives.kernels import cpu

    rng = np.random.default_rng(5)
    for n in (1, 2, 5, 16, 17, 100, 3000):
        base = np.arange(n, dtype=np.float64)
        for residual in (base, np.minimum(base, n - 1 - base), (base % 2) * 3.0, np.round(rng.standard_t(2, n), 1)):
            leaf = rng.integers(0, 3, n).astype(np.intp)
            for weight in (None, rng.uniform(0.1, 2.0, n)):
                for alpha in (0.05, 0.5, 0.97):
                    out = np.full(3, np.nan)
                    cpu.leaf_quantiles(alpha, residual, weight, leaf, out, MAX_PARTITIONS=0)
                    for m in range(3):
                        rows = leaf == m
                        want = np.nan
                        if rows.any():
                            w_m = None if weight is None else weight[rows]
                            want = np.quantile(residual[rows], alpha, weights=w_m, method="inverted_cdf")
                        np.testing.assert_allclose(out[m], want, rtol=0, atol=0)  # NaN: no rows


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_renewing_majorizer_curvature_counts_rows(alpha, weighted):
    """Under renewal the curvature only chooses the splits: the adapters hand the booster the
    square root of the majorizer (unweighted, times the weight) rescaled per output to a mean
    of the mean weight
    (``split_curvature``; the natives' constant curvature has that mean), so that lambda and
    min_child_weight count rows all through training. ``grad_hess`` itself (the loss's
    derivatives) is the same with and without renewal, and a constant curvature is as it is."""
    rng = np.random.default_rng(3)
    n = 500
    y = rng.standard_t(3, n) * 50
    raw = rng.normal(size=(n, np.size(alpha))) if np.ndim(alpha) else rng.normal(size=n)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    plain = gb.Quantile(alpha, renew_leaves=False).with_scale(y, w)
    renewing = gb.Quantile(alpha).with_scale(y, w)
    g0, h0 = plain.grad_hess(y, raw, w)
    g1, h1 = renewing.grad_hess(y, raw, w)
    np.testing.assert_array_equal(g1, g0)
    np.testing.assert_array_equal(h1, h0)
    h2 = renewing.split_curvature(h1.copy(), w)
    target = 1.0 if w is None else w.mean()
    np.testing.assert_allclose(np.atleast_2d(h2.T).mean(axis=1), target, rtol=1e-12)
    ww = 1.0 if w is None else (w[:, None] if h0.ndim == 2 else w)
    # the square root of each row's unweighted curvature, times its weight (weights = repeats)
    ratio = np.atleast_2d((h2 / (ww * np.sqrt(h0 / ww))).T)
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-12)  # one factor a column
    assert np.abs(np.atleast_2d(h0.T).mean(axis=1) - target).max() > 0.1  # the test can fail
    c = gb.Quantile(alpha, hessian="constant").grad_hess(y, raw, w)[1]
    np.testing.assert_array_equal(gb.Quantile(alpha, hessian="constant").split_curvature(c.copy(), w), c)


def test_objectives_hand_over_the_split_curvature_only_when_leaves_are_renewed():
    """The rescaled curvature goes to the booster only in a training that renews the leaves;
    a bare objective passed to the booster (no renewal: it warns) hands over the loss's own,
    whose Newton steps are then the leaf values."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 3))
    y = X[:, 0] * 30 + rng.standard_t(3, 400) * 10
    loss = gb.Quantile(0.9).with_scale(y)
    raw = np.full(400, np.quantile(y, 0.9))
    ds = lgb.Dataset(X, y).construct()
    bare = gl.objective(loss)
    with pytest.warns(UserWarning, match="renews its leaves only"):
        _, h = bare(raw, ds)
    np.testing.assert_allclose(h, loss.grad_hess(y, raw)[1], rtol=1e-5)  # float32
    trained = []
    real = gl.Objective.__call__

    def spy(self, preds, data):
        out = real(self, preds, data)
        trained.append(np.array(out[1]))
        return out

    gl.Objective.__call__ = spy
    try:
        gl.train(loss, {"verbosity": -1, "learning_rate": LR}, lgb.Dataset(X, y), 2)
    finally:
        gl.Objective.__call__ = real
    assert trained[0].mean() == pytest.approx(1.0, rel=1e-3)  # rescaled to the mean weight (and tie-broken)
    assert abs(h.mean() - 1.0) > 0.05  # the loss's own is not


# ---- XGBoost ---------------------------------------------------------------------------------
@pytest.fixture(params=["xgboost's own renewal", "LeafRenewal"])
def xgboost_route(request, monkeypatch):
    """Both ways XGBoost's leaves are renewed: by XGBoost itself (before 3.4) and by
    ``LeafRenewal`` (3.4 and later, where XGBoost renews nothing)."""
    from gbobjectives import xgboost as gx

    if request.param == "LeafRenewal":
        monkeypatch.setattr(gx, "native_quantile_leaves", lambda: False)
    elif not gx.native_quantile_leaves():
        pytest.skip("this XGBoost renews no leaves itself")
    return request.param


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_xgboost_parity_with_its_own_quantile_objective(alpha, weighted):
    """The constant curvature with renewal is reg:quantileerror: the same gradients (signs of
    the residuals, curvature 1) and XGBoost's own renewal, so the models are the same."""
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    if not gx.native_quantile_leaves():
        pytest.skip("this XGBoost renews no leaves itself")
    X, y, w = data(800)
    d = xgb.DMatrix(X, y, weight=w if weighted else None)
    loss = gb.Quantile(alpha, hessian="constant")
    start = training.TrainingPlan.of(loss, y, w if weighted else None).start
    params = {"learning_rate": LR, "max_depth": 4, "base_score": start.tolist() if start.size > 1 else float(start[0])}
    ours = gx.train(loss, params, d, 20)
    # unweighted: gx.train gives the data unit weights (one quantile definition), so the native does too
    dn = d if weighted else xgb.DMatrix(X, y, weight=np.ones(len(y)))
    native = xgb.train(params | {"objective": "reg:quantileerror", "quantile_alpha": alpha}, dn, 20)
    np.testing.assert_allclose(ours.predict(d), native.predict(d), rtol=1e-6, atol=1e-4)
    without = gx.train(gb.Quantile(alpha, hessian="constant", renew_leaves=False), params, d, 20)  # the test can fail
    assert np.abs(without.predict(d) - native.predict(d)).max() > 1.0


def test_xgboost_unweighted_renewal_is_the_inverted_cdf_quantile_too():
    """Without weights XGBoost's own renewal interpolates between the order statistics around
    alpha (n + 1) (np.quantile's "weibull"); ``gx.train`` gives the data unit weights for the
    training, so the leaves are Quantile.leaf_value's smallest minimiser, as on every other
    route, and the DMatrix has no weights again afterwards."""
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    if not gx.native_quantile_leaves():
        pytest.skip("this XGBoost renews no leaves itself")
    X, y, _ = data()
    d = xgb.DMatrix(X, y)
    booster = gx.train(gb.Quantile(0.9), {"learning_rate": LR, "max_depth": 3}, d, 1)
    assert d.get_weight().size == 0
    start = float(np.quantile(y, 0.9, method="inverted_cdf"))  # Quantile's optimal constant
    out = booster.predict(d, output_margin=True) - start  # the first tree's output per row
    leaves = booster.predict(d, pred_leaf=True).ravel()
    differ = 0
    for leaf in np.unique(leaves):
        rows = leaves == leaf
        want = LR * np.quantile(y[rows] - start, 0.9, method="inverted_cdf")
        np.testing.assert_allclose(out[rows], want, rtol=1e-5, atol=1e-3)
        differ += abs(want - LR * np.quantile(y[rows] - start, 0.9, method="weibull")) > 1e-2
    assert differ  # the two definitions differ on these leaves: the test can fail


@pytest.mark.usefixtures("xgboost_route")
@pytest.mark.parametrize("hessian", ["majorizer", "constant"])
@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_xgboost_renewed_leaves_are_the_weighted_quantiles(hessian, alpha):
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    X, y, w = data()
    loss = gb.Quantile(alpha, hessian=hessian, renew_leaves=True)
    d = xgb.DMatrix(X, y, weight=w)
    booster = gx.train(loss, {"learning_rate": LR, "max_depth": 3}, d, 4)
    k = loss.alphas.size
    start = training.TrainingPlan.of(loss, y, w).start
    margin = np.tile(start, (len(y), 1))
    for it in range(4):
        one = booster[it : it + 1]
        leaves = one.predict(d, pred_leaf=True).reshape(len(y), k)
        out = one.predict(d, output_margin=True).reshape(len(y), k) - start  # this iteration's trees
        for j in range(k):
            for leaf in np.unique(leaves[:, j]):
                rows = leaves[:, j] == leaf
                want = LR * weighted_quantile(y[rows] - margin[rows, j], loss.alphas[j], w[rows])
                np.testing.assert_allclose(out[rows, j], want, rtol=1e-5, atol=1e-4)  # float32 leaves
        margin = booster.predict(d, output_margin=True, iteration_range=(0, it + 1)).reshape(len(y), k)


@pytest.mark.usefixtures("xgboost_route")
def test_xgboost_metric_saved_model_and_convergence(tmp_path):
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    X, y, w = data(3000, seed=1)
    Xv, yv, _ = data(1000, seed=2)
    d, dv = xgb.DMatrix(X, y, weight=w), xgb.DMatrix(Xv, yv)
    final = {}
    for renew in (True, False):
        loss = gb.Quantile([0.1, 0.9], renew_leaves=renew)
        res = {}
        booster = gx.train(
            loss,
            {"learning_rate": 0.05},
            d,
            100,
            evals=[(d, "train"), (dv, "valid")],
            evals_result=res,
            verbose_eval=False,
        )
        (history,) = res["valid"].values()
        final[renew] = history
        assert history[-1] == pytest.approx(loss.mean(yv, booster.predict(dv, output_margin=True)), rel=1e-5)
        (train_history,) = res["train"].values()
        assert train_history[-1] == pytest.approx(loss.mean(y, booster.predict(d, output_margin=True), w), rel=1e-5)
        booster.save_model(tmp_path / f"m{renew}.json")
        again = xgb.Booster(model_file=tmp_path / f"m{renew}.json")
        np.testing.assert_array_equal(again.predict(dv, output_margin=True), booster.predict(dv, output_margin=True))
    assert min(final[True]) < 0.97 * min(final[False])


def leaves_of(values, outputs):
    """(each row's leaf, rows off every leaf value) for tree outputs ``outputs``, through the
    training rows' pass (scores last seen 0: the cached scores are the outputs)."""
    outputs = np.ascontiguousarray(outputs, np.float64)
    zeros, leaf = np.zeros(len(outputs)), np.empty(len(outputs), np.intp)
    missed = renewal.LeafLookup(values).training_rows(outputs, zeros, zeros, zeros, leaf, np.empty(len(outputs)))
    return leaf, missed


def test_rows_go_to_the_leaf_of_the_nearest_value():
    """Brute force: the argmin of |value - output| over the leaves, for outputs off the values
    by rounding and far from them; one leaf: every row in it. With the rows' scores, the count
    of rows farther from their leaf than the scores' rounding: none for rows off by rounding,
    every row of a leaf left out of the values."""
    rng = np.random.default_rng(9)
    values = rng.normal(size=31)
    outputs = np.r_[values[rng.integers(0, 31, 5000)] * (1 + 1e-12 * rng.normal(size=5000)), rng.normal(0, 3, 500)]
    want = np.argmin(np.abs(outputs[:, None] - values[None, :]), axis=1)
    np.testing.assert_array_equal(leaves_of(values, outputs)[0], want)
    np.testing.assert_array_equal(leaves_of(values[:1], outputs)[0], np.zeros(len(outputs)))
    rounded = values[rng.integers(0, 31, 5000)] * (1 + 1e-15 * rng.normal(size=5000))  # off by rounding
    assert leaves_of(values, rounded)[1] == 0
    left_out = np.isin(np.argmin(np.abs(rounded[:, None] - values[None, :]), axis=1), [0, 1])
    assert leaves_of(values[2:], rounded)[1] == left_out.sum() > 0


def test_training_rows_and_corrections_of_a_new_tree():
    """The one-pass bookkeeping of a renewed tree against NumPy: each training row's leaf from
    the change of its cached score (the nearest leaf value; equal values: the lowest leaf), its
    residual against the renewed model before the tree (y - seen - correction), the count of
    rows off every leaf value; and a data set's correction brought up to the tree."""
    rng = np.random.default_rng(4)
    values = rng.normal(size=12)
    values[7] = values[2]  # two leaves of one value
    n = 3000
    seen, correction, y = rng.normal(0, 5, n), rng.normal(size=n), rng.normal(0, 5, n)
    true_leaf = rng.integers(0, 12, n)
    cached = seen + values[true_leaf]
    lookup = renewal.LeafLookup(values)
    leaf, residual = np.empty(n, np.intp), np.empty(n)
    assert lookup.training_rows(cached, seen, correction, y, leaf, residual) == 0
    np.testing.assert_array_equal(leaf, np.where(true_leaf == 7, 2, true_leaf))
    np.testing.assert_allclose(residual, y - seen - correction, rtol=0, atol=1e-12)
    off = rng.random(n) < 0.1  # rows of a leaf the values do not hold
    assert lookup.training_rows(np.where(off, cached + 0.5, cached), seen, correction, y, leaf, residual) > 0
    change = rng.normal(size=12)
    want = correction + change[lookup.same[true_leaf]]
    lookup.add_change(change, cached, seen, correction)
    np.testing.assert_allclose(correction, want, rtol=0, atol=1e-12)


def test_leaves_are_renewed_one_by_one_even_with_equal_values():
    """With exact leaf ids (XGBoost's pred_leaf) two leaves of equal original value are two
    leaves: each gets its own rows' quantile. Told apart only by value (LightGBM), they share
    the quantile of their rows together."""
    loss = gb.Quantile(0.5)
    orig = np.array([0.3, 0.3, -0.2])
    leaf = np.array([0, 0, 0, 1, 1, 1, 2])
    residual = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0, -5.0])
    new = renewal.renewed_leaf_values(loss, orig, leaf, residual, None, 0, 0.1)
    np.testing.assert_allclose(new, [0.2, 2.0, -0.5])
    lookup = renewal.LeafLookup(orig)
    np.testing.assert_array_equal(lookup.same, [0, 0, 2])
    by_value = leaves_of(orig, orig[leaf])[0]
    np.testing.assert_array_equal(by_value, [0, 0, 0, 0, 0, 0, 2])
    shared = renewal.renewed_leaf_values(loss, orig, by_value, residual, None, 0, 0.1)[lookup.same]
    np.testing.assert_allclose(shared, [0.3, 0.3, -0.5])  # median of 1, 2, 3, 10, 20, 30 (inverted_cdf: 3)


def test_xgboost_says_when_no_route_renews(monkeypatch):
    """XGBoost 3.4+ (no renewal of its own) with an objective LeafRenewal cannot hook into: a
    warning, not silently unrenewed leaves."""
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    monkeypatch.setattr(gx, "native_quantile_leaves", lambda: False)
    X, y, _ = data(200)
    loss = gb.Quantile(0.9, renew_leaves=True)
    own = gx.objective(gb.Quantile(0.9))
    with pytest.warns(UserWarning, match="leaves keep the curvature"):
        gx.train(loss, {"max_depth": 2}, xgb.DMatrix(X, y), 2, obj=lambda p, d: own(p, d))


def test_a_bare_objective_says_it_renews_nothing_and_train_is_quiet():
    """Passed to xgboost.train directly, a renewing loss's objective cannot renew: one warning
    (not one a round); through gx.train / gl.train no warning at all."""
    import warnings

    import xgboost as xgb

    from gbobjectives import xgboost as gx

    X, y, _ = data(300)
    with pytest.warns(UserWarning, match="renews its leaves only") as record:
        xgb.train({"max_depth": 2}, xgb.DMatrix(X, y), 3, obj=gx.objective(gb.Quantile(0.9)))
    assert sum("renews its leaves only" in str(r.message) for r in record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx.train(gb.Quantile(0.9), {"max_depth": 2}, xgb.DMatrix(X, y), 3)
        gl.train(gb.Quantile(0.9), {"verbosity": -1}, lgb.Dataset(X, y), 3)


# ---- continuing a model ------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_lightgbm_continued_training_renews_only_its_own_trees(alpha):
    """``init_model``: the init model's trees stay as they were, each new tree's leaves are the
    quantiles of their rows' residuals at the scores before it (the init model's included, its
    start counted once), and the metric follows the continued model."""
    X, y, w = data()
    loss = gb.Quantile(alpha)
    k = loss.alphas.size
    params = {"verbosity": -1, "learning_rate": LR, "num_leaves": 8}
    # free_raw_data=False: LightGBM needs the raw data to start a Dataset from an init_model
    first = gl.train(loss, params, lgb.Dataset(X, y, weight=w, free_raw_data=False), 3, keep_training_booster=True)
    before = first.predict(X)
    ds = lgb.Dataset(X, y, weight=w, free_raw_data=False)
    record = {}
    booster = gl.train(
        loss, params, ds, 3, init_model=first, valid_sets=[ds], callbacks=[lgb.record_evaluation(record)]
    )
    np.testing.assert_allclose(booster.predict(X, num_iteration=3), before, rtol=1e-12)
    assert_renewed_quantiles(booster, loss, X, y, w, [LR] * 3, before.reshape(len(y), k), first=3)
    (history,) = record["training"].values()
    assert history[-1] == pytest.approx(loss.mean(y, booster.predict(X), w), rel=1e-7)


def test_lightgbm_continued_training_counts_the_start_once():
    """A loss without renewal: continuing an init_model starts from its scores, so the start
    is not set on the Datasets or folded into the model a second time."""
    X, y, _ = data()
    loss = gb.Huber(5.0)
    first = gl.train(loss, {"verbosity": -1}, lgb.Dataset(X, y, free_raw_data=False), 3, keep_training_booster=True)
    ds = lgb.Dataset(X, y, free_raw_data=False)
    record = {}
    booster = gl.train(
        loss, {"verbosity": -1}, ds, 3, init_model=first, valid_sets=[ds], callbacks=[lgb.record_evaluation(record)]
    )
    np.testing.assert_allclose(booster.predict(X, num_iteration=3), first.predict(X), rtol=1e-12)
    (history,) = record["training"].values()
    assert history[-1] == pytest.approx(loss.mean(y, booster.predict(X)), rel=1e-7)


@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.9]])
def test_xgboost_continued_training_renews_only_its_own_trees(alpha, xgboost_route):
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    X, y, w = data()
    d = xgb.DMatrix(X, y, weight=w)
    loss = gb.Quantile(alpha)
    params = {"learning_rate": LR, "max_depth": 3}
    first = gx.train(loss, params, d, 3)
    before = first.predict(d, output_margin=True)
    res = {}
    booster = gx.train(loss, params, d, 3, xgb_model=first, evals=[(d, "t")], evals_result=res, verbose_eval=False)
    np.testing.assert_allclose(booster.predict(d, output_margin=True, iteration_range=(0, 3)), before, rtol=1e-6)
    (history,) = res["t"].values()
    assert history[-1] == pytest.approx(loss.mean(y, booster.predict(d, output_margin=True), w), rel=1e-5)


# ---- metrics of the user's ---------------------------------------------------------------------
def pinball_feval(preds, data):
    u = data.get_label() - preds
    return "pin", float(np.mean(np.maximum(0.9 * u, -0.1 * u))), False


@pytest.mark.parametrize("feval", ["callable", "list with ours"])
def test_lightgbm_user_metrics_see_the_renewed_model(feval):
    """A feval of the user's (alone, or in a list beside the loss's metric) scores the renewed
    model's margins, as early stopping on it needs; LightGBM's cached scores would give the
    original leaves' (3 times the loss here)."""
    X, y, _ = data(800)
    ds = lgb.Dataset(X[:600], y[:600])
    valid = lgb.Dataset(X[600:], y[600:], reference=ds)
    loss = gb.Quantile(0.9)
    given = pinball_feval if feval == "callable" else [gl.metric(loss), pinball_feval]
    record = {}
    booster = gl.train(
        loss, {"verbosity": -1}, ds, 20, valid_sets=[valid], feval=given, callbacks=[lgb.record_evaluation(record)]
    )
    want = loss.mean(y[600:], booster.predict(X[600:]))
    assert record["valid_0"]["pin"][-1] == pytest.approx(want, rel=1e-7)
    if feval != "callable":
        assert record["valid_0"]["quantile-loss"][-1] == pytest.approx(want, rel=1e-7)


def test_lightgbm_built_in_metric_under_renewal_warns():
    X, y, _ = data()
    with pytest.warns(UserWarning, match="built-in metrics"):
        gl.train(gb.Quantile(0.9), {"verbosity": -1, "metric": "quantile"}, lgb.Dataset(X, y), 2)


def test_xgboost_user_metric_sees_the_renewed_model(monkeypatch):
    """The adapter's renewal (XGBoost 3.4+): a custom_metric of the user's scores the renewed
    margins, and a built-in eval_metric (which cannot) warns."""
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    monkeypatch.setattr(gx, "native_quantile_leaves", lambda: False)
    X, y, _ = data(800)
    d, dv = xgb.DMatrix(X[:600], y[:600]), xgb.DMatrix(X[600:], y[600:])
    loss = gb.Quantile(0.9)

    def pin(predt, dmat):
        return pinball_feval(predt, dmat)[:2]

    res = {}
    booster = gx.train(
        loss, {"max_depth": 3}, d, 10, evals=[(dv, "v")], custom_metric=pin, evals_result=res, verbose_eval=False
    )
    want = loss.mean(y[600:], booster.predict(dv, output_margin=True))
    assert res["v"]["pin"][-1] == pytest.approx(want, rel=1e-5)
    with pytest.warns(UserWarning, match="built-in metrics"):
        gx.train(loss, {"max_depth": 3, "eval_metric": "mae"}, d, 2)


def test_xgboost_adapter_renewal_follows_a_learning_rate_schedule(monkeypatch):
    """XGBoost 3.4+'s route renews each tree at the learning rate XGBoost grew it with (a
    LearningRateScheduler changes it after every iteration), as XGBoost's own renewal does:
    the two routes train the same model (weighted data: one quantile definition)."""
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    if not gx.native_quantile_leaves():
        pytest.skip("this XGBoost renews no leaves itself: nothing to compare with")
    X, y, w = data(600)
    d = xgb.DMatrix(X, y, weight=w)
    rates = [0.3, 0.3, 0.02, 0.02, 0.02]

    def fit():
        return gx.train(
            gb.Quantile(0.9), {"max_depth": 3}, d, 5, callbacks=[xgb.callback.LearningRateScheduler(rates)]
        ).predict(d, output_margin=True)

    own = fit()
    monkeypatch.setattr(gx, "native_quantile_leaves", lambda: False)
    np.testing.assert_allclose(fit(), own, rtol=1e-6)


# ---- label layouts ---------------------------------------------------------------------------
@pytest.mark.parametrize("hessian", [None, "constant"])
def test_xgboost_multi_level_label_layouts(xgboost_route, hessian):
    """Several quantile levels train on a 1-D label and on one identical label column per level
    (XGBoost's multi-output layout), to the same model, on both renewal routes (XGBoost's own
    quantile objective rejects the second: it goes to LeafRenewal); another column count raises
    our ValueError, never a booster's internal check."""
    import xgboost as xgb

    from gbobjectives import xgboost as gx

    X, y, w = data(600)
    loss = gb.Quantile([0.1, 0.5, 0.9], hessian=hessian)
    flat = gx.train(loss, {"learning_rate": LR}, xgb.DMatrix(X, y, weight=w), 15)
    Y = np.column_stack([y, y, y])
    wide = gx.train(loss, {"learning_rate": LR}, xgb.DMatrix(X, Y, weight=w), 15)
    np.testing.assert_allclose(wide.predict(xgb.DMatrix(X)), flat.predict(xgb.DMatrix(X)), rtol=1e-5, atol=1e-5)
    without = gx.train(gb.Quantile([0.1, 0.5, 0.9], hessian=hessian, renew_leaves=False), {}, xgb.DMatrix(X, Y), 15)
    assert np.abs(without.predict(xgb.DMatrix(X)) - flat.predict(xgb.DMatrix(X))).max() > 0.1  # renewed: can fail
    with pytest.raises(ValueError, match="columns"):
        gx.train(loss, {}, xgb.DMatrix(X, Y[:, :2]), 2)


def test_lightgbm_multi_level_label_layout_error():
    """LightGBM's Dataset takes only a 1-D label: a label per level raises our ValueError saying so."""
    X, y, _ = data(300)
    with pytest.raises(ValueError, match="1-D label"):
        gl.train(gb.Quantile([0.1, 0.9]), {"verbosity": -1}, lgb.Dataset(X, np.column_stack([y, y])), 2)
