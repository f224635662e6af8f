"""XGBoost and LightGBM integration: parity with the native objectives (the proof that shapes,
weights and starts are plumbed right), weights, every entry point, saving, early stopping."""

import pickle
import warnings

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from conftest import ALL_CASES, K, build, make_data
from packaging.version import Version

import gbobjectives as gb
import gbobjectives.lightgbm as gl
import gbobjectives.xgboost as gx
from gbobjectives import _training as training

XP = {"max_depth": 4, "eta": 0.3, "tree_method": "hist"}
LP = {"num_leaves": 15, "learning_rate": 0.3, "verbose": -1, "min_data_in_leaf": 5, "num_threads": 2}
ROUNDS = 25


def _data(n=500, seed=0):
    rng = np.random.default_rng(seed)
    # continuous features, cast through float32: no tied split gains, whose order the two libraries break differently
    X = rng.normal(size=(n, 6)).astype(np.float32).astype(np.float64)
    y = X[:, 0] * 2 + np.sin(X[:, 1] * 3) + rng.normal(0, 0.5, n)
    return X, y


def _labels(y, kind):
    if kind == "binary":
        return (y > 0.5).astype(float)
    if kind == "multi":
        return np.digitize(y, [-1, 0.5, 2]).astype(float)
    return y


# ---- parity with the native objectives ------------------------------------------------------
# XGBoost master (after 3.4) moves pseudo-Huber to the majorizer curvature (PR 12576).
XGB_PSEUDO_HUBER_HESSIAN = "exact" if Version(xgb.__version__) < Version("3.5") else "majorizer"


@pytest.mark.parametrize(
    ("loss", "native", "kind", "link"),
    [
        (gb.Huber(1e6), {"objective": "reg:squarederror"}, "reg", None),
        (
            gb.PseudoHuber(0.7, hessian=XGB_PSEUDO_HUBER_HESSIAN),
            {"objective": "reg:pseudohubererror", "huber_slope": 0.7},
            "reg",
            None,
        ),
        (gb.CrossEntropy(), {"objective": "binary:logistic"}, "binary", "prob"),
        (gb.CrossEntropy(hessian="xgboost"), {"objective": "multi:softprob", "num_class": 4}, "multi", "prob"),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_xgboost_parity(loss, native, kind, link, weighted):
    X, y = _data()
    y = _labels(y, kind)
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(y)) if weighted else None
    d = xgb.DMatrix(X, label=y, weight=w)
    extra = {"num_class": 4} if kind == "multi" else {}
    ours = gx.train(loss, XP | extra, d, ROUNDS)
    start = training.TrainingPlan.of(loss, y, w, 4 if kind == "multi" else None).start
    # the native starts where ours does: base_score is the same constant (binary: as a probability)
    base = {"base_score": float(1 / (1 + np.exp(-start[0])))} if kind == "binary" else {}
    if kind == "reg":
        base = {"base_score": float(start[0])}
    theirs = xgb.train(XP | native | base, d, ROUNDS)
    a = theirs.predict(d)
    raw = ours.predict(d, output_margin=True)
    b = loss.inverse_link(raw) if link else raw
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("loss", "native", "kind", "link"),
    [
        (gb.Huber(1e6), {"objective": "l2"}, "reg", None),
        (gb.CrossEntropy(), {"objective": "binary"}, "binary", "prob"),
        (gb.CrossEntropy(hessian="lightgbm"), {"objective": "multiclass", "num_class": 4}, "multi", "prob"),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_lightgbm_parity(loss, native, kind, link, weighted):
    X, y = _data()
    y = _labels(y, kind)
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(y)) if weighted else None
    extra = {"num_class": 4} if kind == "multi" else {}
    ours = gl.train(loss, LP | extra, lgb.Dataset(X, label=y, weight=w), ROUNDS)
    theirs = lgb.train(LP | native, lgb.Dataset(X, label=y, weight=w), ROUNDS)
    raw = ours.predict(X)  # no init_score argument: the start is folded into the model
    b = loss.inverse_link(raw) if link else raw
    np.testing.assert_allclose(b, theirs.predict(X), rtol=1e-5, atol=1e-5)


def test_parity_breaks_without_the_start():
    """The parity tests can fail: drop the start and LightGBM l2 no longer matches."""
    X, y = _data()
    y = y + 50
    ours = gl.train(gb.Huber(1e6), LP, lgb.Dataset(X, label=y), 5, init_score=False)
    theirs = lgb.train(LP | {"objective": "l2"}, lgb.Dataset(X, label=y), 5)
    assert np.abs(ours.predict(X) - theirs.predict(X)).max() > 1.0


# ---- sample weights ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "loss", [gb.Huber(1.0), gb.Quantile(0.8), gb.Focal(2.0), gb.ClassBalanced(gb.Focal(1.0), 0.99)]
)
def test_weights_equal_repeated_rows(loss):
    X, y = _data(n=150, seed=2)
    if isinstance(loss, gb.Focal | gb.ClassBalanced):
        y = _labels(y, "binary")
    w = np.random.default_rng(3).integers(1, 4, len(y))
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    p = XP | {"max_bin": 1024}
    a = gx.train(loss, p, xgb.DMatrix(X, label=y, weight=w.astype(float)), 10).predict(
        xgb.DMatrix(X), output_margin=True
    )
    b = gx.train(loss, p, xgb.DMatrix(Xr, label=yr), 10).predict(xgb.DMatrix(X), output_margin=True)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # LightGBM's own l2 is not invariant to weights-vs-repeats (measured: 0.30 max difference
    # with num_leaves=15, 0.88 with stumps, min_data_in_leaf=1), so LightGBM's weights are pinned
    # by the weighted parity tests against its native objectives instead.


# ---- every loss through every entry point --------------------------------------------------
def _problem(problem, n=300, targets=None):
    """Features, labels and weights; ``targets``: a 2-D label of that many columns (multi-target
    regression, each column its own target)."""
    y, _, w = make_data(problem, n=n, seed=7)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(n, 5))
    if problem.startswith("reg"):
        X[:, 0] = y + rng.normal(0, 1, n)
    else:
        X[:, 0] = y + rng.normal(0, 0.7, n)
    if targets:
        y = np.column_stack([y * (1 + j) + rng.normal(0, 0.5, n) for j in range(targets)])
    return X, y, w


def _setup(name, params, problem):
    """The loss, data and class count of a case. A multi-output regression loss other than the
    quantile levels is multi-target regression: a 2-D label, which XGBoost trains and LightGBM
    cannot hold (its labels are 1-D); ``lightgbm`` says whether the LightGBM half runs."""
    loss = build(name, params)
    multi_target = problem == "reg_multi" and not isinstance(loss, gb.Quantile)
    X, y, w = _problem(problem, targets=K if multi_target else None)
    n_classes = K if problem == "multi" else None
    return loss, X, y, w, n_classes, not multi_target


def _start_metric(loss, y, w, n_classes, n):
    start = training.TrainingPlan.of(loss, y, w, n_classes).start
    raw = np.tile(start, (n, 1)) if start.size > 1 else np.full(n, start[0])
    return loss.mean(y, raw, w)


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_native_apis_train_every_loss(name, params, problem):
    loss, X, y, w, n_classes, lightgbm = _setup(name, params, problem)
    extra = {"num_class": K} if n_classes else {}
    bound = training.TrainingPlan.of(loss, y, w, n_classes, start=False).loss
    trained = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = xgb.DMatrix(X, label=y, weight=w)
        res = {}
        booster = gx.train(loss, XP | extra, d, 15, evals=[(d, "train")], evals_result=res, verbose_eval=False)
        first = booster.predict(d, output_margin=True, iteration_range=(0, 1))
        trained.append((res["train"], booster.predict(d, output_margin=True), first))
        if lightgbm:
            lres = {}
            ds = lgb.Dataset(X, label=y, weight=w)
            lbooster = gl.train(loss, LP | extra, ds, 15, valid_sets=[ds], callbacks=[lgb.record_evaluation(lres)])
            trained.append((lres["training"], lbooster.predict(X), lbooster.predict(X, num_iteration=1)))
    key = training.metric_name(bound)
    outputs = n_classes or (K if problem == "reg_multi" else None)
    for hist, raw, first in trained:
        # an adaptive scale is frozen at the first evaluation (after one tree), so the metric
        # reports one loss throughout; a fixed loss is its own frozen copy
        metric = bound.frozen(y, first, w)
        assert metric.adaptive is False
        # XGBoost records a Python metric's value as printed, with 6 decimals ("%f", core.py)
        assert metric.mean(y, first, w) == pytest.approx(hist[key][0], rel=1e-5, abs=5e-7)
        assert hist[key][-1] < 0.9 * _start_metric(metric, y, w, n_classes, len(y))
        assert metric.mean(y, raw, w) == pytest.approx(hist[key][-1], rel=1e-5, abs=5e-7)
        assert raw.shape == ((len(y), outputs) if outputs else (len(y),))
    assert len(trained) == 2 or problem == "reg_multi"


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_sklearn_wrappers_train_every_loss(name, params, problem):
    loss, X, y, w, n_classes, lightgbm = _setup(name, params, problem)
    plan = training.TrainingPlan.of(loss, y, w, n_classes)
    bound, start = plan.loss, plan.start
    init = np.tile(start, (len(y), 1)) if start.size > 1 else np.full(len(y), start[0])
    fixed = bound.frozen(y, init, w)  # an adaptive scale fixed at the start: one loss to compare
    before = fixed.mean(y, init, w)
    classifier = not problem.startswith("reg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # LightGBM < 4.6's wrapper on scikit-learn 1.6-1.7 (the minimum versions' CI run)
        warnings.filterwarnings("ignore", "'force_all_finite' was renamed", FutureWarning)
        if classifier:
            xm = xgb.XGBClassifier(objective=bound, n_estimators=15, max_depth=4, base_score=None)
            xm.fit(X, y.astype(int), sample_weight=w, base_margin=init)
            lm = lgb.LGBMClassifier(objective=bound, n_estimators=15, num_leaves=15, verbose=-1)
        else:
            xm = xgb.XGBRegressor(
                objective=bound,
                n_estimators=15,
                max_depth=4,
                base_score=start.tolist() if start.size > 1 else float(start[0]),
            )
            if problem == "reg_multi":
                xm.set_params(multi_strategy="one_output_per_tree")
                xm.fit(X, y if y.ndim == 2 else np.repeat(y[:, None], K, axis=1), sample_weight=w)
            else:
                xm.fit(X, y, sample_weight=w)
            lm = lgb.LGBMRegressor(objective=bound, n_estimators=15, num_leaves=15, verbose=-1)
            if problem == "reg_multi":  # the default l2 metric cannot score K outputs
                lm.set_params(num_class=K, metric="None")
        if lightgbm:
            lm.fit(X, y.astype(int) if classifier else y, sample_weight=w, init_score=init)
    raws = [xm.predict(X, output_margin=True, base_margin=init) if classifier else xm.predict(X, output_margin=True)]
    if lightgbm:
        raws.append(lm.predict(X, raw_score=True) + init)  # sklearn fit(init_score=) is not kept in the model
    for raw in raws:
        assert fixed.mean(y, np.asarray(raw, np.float64).reshape(init.shape), w) < 0.9 * before


# ---- saving, early stopping, predictions -------------------------------------------------------
@pytest.mark.parametrize(
    ("loss", "kind"), [(gb.Huber(1.0), "reg"), (gb.Quantile([0.1, 0.5, 0.9]), "reg"), (gb.Focal(2.0), "multi")]
)
def test_saved_models_predict_identically(loss, kind, tmp_path):
    X, y = _data(n=300)
    y = _labels(y, kind) + (100.0 if kind == "reg" else 0.0)  # a start far from 0 must be saved
    extra = {"num_class": 4} if kind == "multi" else {}
    bx = gx.train(loss, XP | extra, xgb.DMatrix(X, label=y), 5)
    ref = bx.predict(xgb.DMatrix(X), output_margin=True)
    assert np.abs(ref).max() > 10 or kind == "multi"
    for ext in ("json", "ubj"):
        bx.save_model(tmp_path / f"m.{ext}")
        np.testing.assert_array_equal(
            xgb.Booster(model_file=tmp_path / f"m.{ext}").predict(xgb.DMatrix(X), output_margin=True), ref
        )
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(bx)).predict(xgb.DMatrix(X), output_margin=True), ref)
    bl = gl.train(loss, LP | extra, lgb.Dataset(X, label=y), 5)
    ref = bl.predict(X)
    bl.save_model(tmp_path / "m.txt")
    np.testing.assert_allclose(lgb.Booster(model_file=tmp_path / "m.txt").predict(X), ref, rtol=1e-12)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(bl)).predict(X), ref)
    # the start is in the model: with a ~0 learning rate the prediction is the optimal constant
    start = training.TrainingPlan.of(loss, y, None, 4 if kind == "multi" else None).start
    b0 = gl.train(loss, LP | extra | {"learning_rate": 1e-12}, lgb.Dataset(X, label=y), 2)
    np.testing.assert_allclose(b0.predict(X), np.broadcast_to(start, b0.predict(X).shape), rtol=1e-9, atol=1e-9)
    x0 = gx.train(loss, XP | extra | {"eta": 0.0}, xgb.DMatrix(X, label=y), 2).predict(
        xgb.DMatrix(X), output_margin=True
    )
    np.testing.assert_allclose(x0, np.broadcast_to(start, x0.shape), rtol=1e-6, atol=1e-6)


def test_early_stopping_keeps_best_iteration():
    X, y = _data(n=600)
    rng = np.random.default_rng(0)
    y = y + rng.standard_t(2, len(y)) * 3  # noisy: the validation loss turns up
    tr, va = slice(0, 300), slice(300, 600)
    loss = gb.PseudoHuber(1.0)
    dtr, dva = xgb.DMatrix(X[tr], label=y[tr]), xgb.DMatrix(X[va], label=y[va])
    res = {}
    b = gx.train(
        loss,
        XP | {"eta": 0.5, "max_depth": 6},
        dtr,
        200,
        evals=[(dva, "valid")],
        early_stopping_rounds=5,
        evals_result=res,
        verbose_eval=False,
    )
    hist = res["valid"]["pseudo_huber-loss"]
    assert b.best_iteration == int(np.argmin(hist)) < len(hist) - 1
    best = loss.mean(y[va], b.predict(dva, output_margin=True, iteration_range=(0, b.best_iteration + 1)))
    assert best == pytest.approx(min(hist), rel=1e-5)
    ltr, lva = lgb.Dataset(X[tr], label=y[tr]), lgb.Dataset(X[va], label=y[va])
    lres = {}
    bl = gl.train(
        loss,
        LP | {"learning_rate": 0.5, "num_leaves": 63, "min_data_in_leaf": 2},
        ltr,
        200,
        valid_sets=[lva],
        callbacks=[lgb.early_stopping(5, verbose=False), lgb.record_evaluation(lres)],
    )
    lhist = lres["valid_0"]["pseudo_huber-loss"]
    assert bl.best_iteration == int(np.argmin(lhist)) + 1 < len(lhist)
    assert loss.mean(y[va], bl.predict(X[va])) == pytest.approx(min(lhist), rel=1e-6)


def test_quantile_predictions_never_cross():
    q = gb.Quantile([0.9, 0.1, 0.5])
    raw = np.array([[1.0, 3.0, 2.0], [5.0, 4.0, 6.0]])
    np.testing.assert_array_equal(q.inverse_link(raw), [[3.0, 1.0, 2.0], [6.0, 4.0, 5.0]])


def test_metric_needs_counts_for_class_balanced():
    with pytest.raises(ValueError, match="with_counts"):
        gx.metric(gb.ClassBalanced())
    assert gl.metric(gb.ClassBalanced(counts=[5, 3]))


def test_old_flat_label_layout():
    y = np.arange(6.0)
    np.testing.assert_array_equal(training.shape_labels(y, 3), y.reshape(3, 2))
    assert training.shape_labels(y, 6).shape == (6,)


def test_device_choice_without_cuda(monkeypatch):
    from gbobjectives.kernels import cuda as gcuda

    monkeypatch.setattr(gcuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no usable GPU"):
        gx.objective(gb.Huber(), device="cuda")
    with pytest.raises(ValueError, match="device must be"):
        gx.objective(gb.Huber(), device="tpu")
    assert gx._device_for({"device": "cuda"}) == "cpu"  # auto falls back; booster params untouched
    obj = gx.objective(gb.Huber(), device="auto")
    X, y = _data(n=50)
    g, _ = obj(np.zeros(50, np.float32), xgb.DMatrix(X, label=y))
    assert isinstance(g, np.ndarray)
