"""The estimators as drop-ins for XGBRegressor / LGBMRegressor: the surface users reach for
(importances, best round, leaf indices, SHAP contributions), model files that plain XGBoost and
LightGBM load without gbobjectives, and the scikit-learn tools users combine them with."""

import json
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import gbobjectives as gb

BACKENDS = ["xgboost", "lightgbm"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "guide" / "estimators.md"


def _data(n=800, seed=0):
    """Feature 0 drives the target strongly, feature 1 weakly, features 2-5 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = 4.0 * X[:, 0] + 1.0 * X[:, 1] + rng.normal(0, 0.5, n)
    return X, y


def _cases(backend):
    """(name, estimator, labels, raw score of the fitted estimator on X) at defaults."""
    X, y = _data()
    binary = (y + np.random.default_rng(1).normal(0, 1, len(y)) > 1.5).astype(int)
    three = np.digitize(y, [-2.0, 2.0])
    return [
        ("regressor", gb.GBRegressor(backend=backend), y, lambda e, Z: e.predict(Z)),
        ("binary", gb.GBClassifier(backend=backend), binary, lambda e, Z: e.decision_function(Z)),
        ("three classes", gb.GBClassifier(backend=backend), three, lambda e, Z: e.decision_function(Z)),
        ("quantiles", gb.GBQuantileRegressor(backend=backend), y, lambda e, Z: e.predict(Z, sort=False)),
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def fitted(request):
    X, _ = _data()
    cases = _cases(request.param)
    return request.param, X, [(name, est.fit(X, labels), labels, raw) for name, est, labels, raw in cases]


def test_feature_importances(fitted):
    backend, X, cases = fitted
    for name, est, labels, _ in cases:
        imp = est.feature_importances_
        assert imp.shape == (X.shape[1],), name
        assert np.all(imp >= 0) and imp.sum() == pytest.approx(1.0), name
        assert np.argmax(imp) == 0, (name, imp)  # the feature that drives the target
        # the booster's own figure for the same kind, normalised
        booster = est.get_booster()
        if backend == "xgboost":
            score = booster.get_score(importance_type="gain")
            own = np.array([score.get(f"f{i}", 0.0) for i in range(X.shape[1])])
        else:
            own = booster.feature_importance("gain").astype(float)
        np.testing.assert_allclose(imp, own / own.sum(), rtol=1e-6, err_msg=name)
        splits = clone(est).set_params(importance_type="split").fit(X, labels)
        counts = splits.feature_importances_
        assert not np.allclose(counts, imp), name  # a different kind gives different figures
        n_splits = counts * (
            sum(booster.get_score(importance_type="weight").values())
            if backend == "xgboost"
            else booster.feature_importance("split").sum()
        )
        np.testing.assert_allclose(n_splits, np.round(n_splits), atol=1e-6, err_msg=name)  # counts


def test_importance_type_is_checked():
    X, y = _data(200)
    with pytest.raises(ValueError, match="importance_type must be one of"):
        gb.GBRegressor(importance_type="cover", backend="lightgbm").fit(X, y)
    with pytest.raises(ValueError, match="importance_type must be one of"):
        gb.GBRegressor(importance_type="gini").fit(X, y)


def test_importances_are_zero_without_splits():
    X = np.ones((200, 3))
    y = np.random.default_rng(0).normal(size=200)
    est = gb.GBRegressor(n_estimators=5).fit(X, y)
    np.testing.assert_array_equal(est.feature_importances_, np.zeros(3))


def test_booster_rounds_and_leaves(fitted):
    backend, X, cases = fitted
    for name, est, _, raw in cases:
        assert est.get_booster() is est.booster_
        assert est.n_iter_ == est.best_iteration_ + 1 == 100, name
        assert est.best_score_ is None, name
        leaves = est.apply(X[:50])
        outputs = np.shape(raw(est, X[:1]))[1:] or (1,)
        assert leaves.shape == (50, est.n_iter_ * outputs[0]), name
        assert leaves.dtype.kind == "i" and leaves.min() >= 0, name
        # rows in the same leaves get the same raw score; rows in other leaves (almost all) not
        same = np.all(leaves[:, None, :] == leaves[None, :, :], axis=2)
        r = np.asarray(raw(est, X[:50])).reshape(50, -1)
        close = np.all(np.isclose(r[:, None, :], r[None, :, :], rtol=0, atol=1e-9), axis=2)
        np.testing.assert_array_equal(same, close, err_msg=name)


def test_contributions_sum_to_the_raw_score(fitted):
    backend, X, cases = fitted
    for name, est, _, raw in cases:
        contrib = est.predict(X[:100], pred_contrib=True)
        r = np.asarray(raw(est, X[:100]))
        assert contrib.shape == r.shape[:1] + r.shape[1:] + (X.shape[1] + 1,), name
        np.testing.assert_allclose(contrib.sum(axis=-1), r, rtol=1e-5, atol=1e-5, err_msg=name)
        # feature 0 moves the score most; a noise feature barely
        spread = np.abs(contrib[..., :-1]).reshape(-1, X.shape[1]).mean(axis=0)
        assert np.argmax(spread) == 0, (name, spread)


@pytest.mark.parametrize("backend", BACKENDS)
def test_early_stopping_keeps_the_best_rounds(backend):
    X, y = _data(1200)
    est = gb.GBRegressor(backend=backend, n_estimators=2000, learning_rate=0.3, early_stopping_rounds=5)
    est.fit(X[:800], y[:800], eval_set=[(X[800:], y[800:])])
    history = list(est.evals_result_["validation_0"].values())[-1]
    assert est.n_iter_ < len(history) <= est.n_iter_ + 5  # stopped 5 rounds after the best
    assert est.best_score_ == pytest.approx(history[est.best_iteration_])
    assert est.best_score_ == pytest.approx(min(history))
    booster = est.get_booster()
    if backend == "xgboost":  # the later rounds are dropped: the booster predicts the estimator
        import xgboost

        assert booster.num_boosted_rounds() == est.n_iter_
        np.testing.assert_allclose(booster.predict(xgboost.DMatrix(X[800:])), est.predict(X[800:]), rtol=1e-6)
    else:  # LightGBM's booster keeps every round and predicts (and saves) its best_iteration
        assert booster.best_iteration == est.n_iter_
        np.testing.assert_allclose(booster.predict(X[800:]), est.predict(X[800:]), rtol=1e-12)
    assert est.apply(X[:3]).shape == (3, est.n_iter_)


# ---- model files that travel ----------------------------------------------------------------------
_PLAIN = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    backend, path, data, out = sys.argv[1:5]
    X = np.load(data)
    if backend == "xgboost":
        import xgboost
        booster = xgboost.Booster(model_file=path)
        raw = booster.predict(xgboost.DMatrix(X), output_margin=True)
        plain = booster.predict(xgboost.DMatrix(X))
        attr = booster.attr("gbobjectives_posterior")
        params = None if attr is None else json.loads(attr)
    else:
        import lightgbm
        booster = lightgbm.Booster(model_file=path)
        raw = booster.predict(X, raw_score=True)
        plain = booster.predict(X)
        params = None
    leaked = sorted(m for m in sys.modules if m.startswith("gbobjectives"))
    assert not leaked, leaked
    np.savez(out, raw=raw, plain=plain, params=json.dumps(params))
    """
)


def _posterior_from_docs():
    """The NumPy-only posterior the estimators page gives for a model served without us."""
    text = DOCS.read_text()
    block = re.search(r"<!-- posterior-without-gbobjectives -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(block, namespace)
    return namespace["posterior"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_saved_models_predict_without_gbobjectives(tmp_path, backend):
    X, _ = _data()
    Z = np.random.default_rng(5).normal(size=(300, X.shape[1]))
    np.save(tmp_path / "Z.npy", Z)
    posterior = _posterior_from_docs()
    for name, est, labels, raw in _cases(backend):
        if isinstance(est, gb.GBClassifier):
            est.set_params(class_weight="balanced")  # a fitted posterior shift to carry
        est.fit(X, labels)
        path = tmp_path / f"model_{name.replace(' ', '_')}.{'json' if backend == 'xgboost' else 'txt'}"
        est.get_booster().save_model(str(path))
        done = subprocess.run(
            [sys.executable, "-c", _PLAIN, backend, str(path), str(tmp_path / "Z.npy"), str(tmp_path / "out.npz")],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # not the repository: gbobjectives is importable only as installed
        )
        assert done.returncode == 0, done.stderr
        out = np.load(tmp_path / "out.npz")
        ours = np.asarray(raw(est, Z))
        np.testing.assert_allclose(out["raw"].reshape(ours.shape), ours, rtol=1e-6, atol=1e-6, err_msg=name)
        if isinstance(est, gb.GBClassifier):
            # XGBoost: read from the model file; LightGBM: saved beside it
            params = json.loads(str(out["params"])) if backend == "xgboost" else est.posterior_params_
            assert params == est.posterior_params_
            assert np.any(np.asarray(params["shift"]) != 0.0)
            proba = posterior(out["raw"].reshape(ours.shape), **params)
            np.testing.assert_allclose(proba, est.predict_proba(Z), rtol=1e-6, atol=1e-9, err_msg=name)
        else:  # a regressor's plain predict is its raw score: the loss's link is the identity
            np.testing.assert_allclose(out["plain"].reshape(ours.shape), ours, rtol=1e-6, atol=1e-6, err_msg=name)


def test_the_documented_posterior_is_the_estimators():
    """Without a model file: focal with alpha, class-balanced, softmax, at moderate margins."""
    posterior = _posterior_from_docs()
    X, y = _data()
    three = np.digitize(y, [-2.0, 4.0])
    for loss, labels in [
        (gb.Focal(gamma=2.0, alpha=0.7), (y > 3).astype(int)),
        ("class_balanced", three),
        (gb.Focal(gamma=1.0), three),
    ]:
        clf = gb.GBClassifier(loss, n_estimators=30).fit(X, labels)
        proba = posterior(clf.decision_function(X), **clf.posterior_params_)
        np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-9, err_msg=str(loss))


# ---- the tools users combine estimators with ------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_select_from_model_keeps_the_informative_features(backend):
    from sklearn.feature_selection import SelectFromModel

    X, y = _data()
    selector = SelectFromModel(gb.GBRegressor(backend=backend), threshold="mean").fit(X, y)
    assert selector.get_support()[0] and not selector.get_support()[2:].any()
    assert selector.transform(X).shape[1] == selector.get_support().sum()


@pytest.mark.parametrize("backend", BACKENDS)
def test_permutation_importance(backend):
    from sklearn.inspection import permutation_importance

    X, y = _data()
    est = gb.GBRegressor(backend=backend, n_estimators=50).fit(X[:600], y[:600])
    result = permutation_importance(est, X[600:], y[600:], n_repeats=3, random_state=0)
    assert np.argmax(result.importances_mean) == 0
    assert result.importances_mean[0] > 10 * np.abs(result.importances_mean[2:]).max()


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_validate_routes_sample_weight(backend):
    import sklearn
    from sklearn.model_selection import KFold, cross_validate

    X, y = _data(600)
    w = np.random.default_rng(3).uniform(0.1, 3.0, len(y))
    folds = KFold(3, shuffle=True, random_state=0)
    est = gb.GBRegressor(backend=backend, n_estimators=30)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        scores = cross_validate(routed, X, y, cv=folds, params={"sample_weight": w})["test_score"]
    by_hand = [
        gb.GBRegressor(backend=backend, n_estimators=30)
        .fit(X[tr], y[tr], sample_weight=w[tr])
        .score(X[te], y[te], sample_weight=w[te])
        for tr, te in folds.split(X)
    ]
    np.testing.assert_allclose(scores, by_hand, rtol=1e-12)
    unweighted = cross_validate(gb.GBRegressor(backend=backend, n_estimators=30), X, y, cv=folds)["test_score"]
    assert not np.allclose(scores, unweighted)  # the weights reached fit and score


@pytest.mark.parametrize("backend", BACKENDS)
def test_pickle_loads_in_another_process(tmp_path, backend):
    X, y = _data()
    for est in (gb.GBRegressor(backend=backend), gb.GBClassifier(backend=backend)):
        est.fit(X, y if isinstance(est, gb.GBRegressor) else (y > 0).astype(int))
        (tmp_path / "est.pkl").write_bytes(pickle.dumps(est))
        np.save(tmp_path / "X.npy", X[:200])
        method = "predict" if isinstance(est, gb.GBRegressor) else "predict_proba"
        code = (
            "import pickle, sys, numpy as np; est = pickle.load(open(sys.argv[1], 'rb')); "
            f"np.save(sys.argv[3], est.{method}(np.load(sys.argv[2])))"
        )
        args = [str(tmp_path / name) for name in ("est.pkl", "X.npy", "out.npy")]
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), getattr(est, method)(X[:200]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_shap_explains_the_booster(backend):
    shap = pytest.importorskip("shap")
    X, y = _data(400)
    est = gb.GBRegressor(backend=backend, n_estimators=30).fit(X, y)
    explainer = shap.TreeExplainer(est.get_booster())
    values = explainer.shap_values(X[:50])
    np.testing.assert_allclose(values.sum(axis=1) + explainer.expected_value, est.predict(X[:50]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(values, est.predict(X[:50], pred_contrib=True)[:, :-1], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_saved_model_with_category_columns_predicts_the_same(tmp_path, backend):
    """A frame with category columns: the saved model keeps the categories (XGBoost's model,
    LightGBM's pandas_categorical), so a plain booster, and XGBRegressor.load_model, predict
    the estimator's predict on a frame with the same categories."""
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=600), "b": pd.Categorical(rng.choice(list("xyz"), 600)), "c": rng.normal(size=600)}
    )
    y = 2 * frame["a"].to_numpy() + 3 * (frame["b"] == "x").to_numpy() + rng.normal(size=600)
    est = gb.GBRegressor(backend=backend).fit(frame, y)
    path = str(tmp_path / ("model.json" if backend == "xgboost" else "model.txt"))
    est.get_booster().save_model(path)
    if backend == "xgboost":
        import xgboost

        plain = xgboost.Booster(model_file=path).predict(xgboost.DMatrix(frame, enable_categorical=True))
        wrapper = xgboost.XGBRegressor()
        wrapper.load_model(path)
        np.testing.assert_allclose(wrapper.predict(frame), est.predict(frame), rtol=1e-6)
    else:
        import lightgbm

        plain = lightgbm.Booster(model_file=path).predict(frame)
    np.testing.assert_allclose(plain, est.predict(frame), rtol=1e-6)
