"""Conformalized quantile regression in GBQuantileRegressor: the finite-sample quantile, coverage
on heteroscedastic data over many seeds (a statistical test with a stated false-alarm rate),
both backends, weights and early stopping, scikit-learn parameters, and bad values."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from gbobjectives.sklearn import GBQuantileRegressor, conformal_quantile

FAST = {"n_estimators": 40, "learning_rate": 0.2, "max_depth": 3}


def hetero(n, seed):
    """y = 10 x0 + noise whose spread grows with |x1| (heavy-ish tails: Student t, 5 dof)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 3))
    y = 10 * X[:, 0] + (1 + 2 * np.abs(X[:, 1])) * rng.standard_t(5, n)
    return X, y


def coverage(est, X, y):
    lo, hi = est.predict_interval(X).T
    return np.mean((y >= lo) & (y <= hi))


def test_conformal_quantile_is_the_finite_sample_order_statistic():
    scores = np.arange(1.0, 20.0)  # n = 19: ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(scores, None, 0.1) == 18.0
    assert conformal_quantile(np.arange(1.0, 100.0), None, 0.1) == 90.0  # ceil(100 * 0.9) = 90
    w = np.ones(19)
    assert conformal_quantile(scores, w, 0.1) == 18.0  # unit weights: the same
    with pytest.raises(ValueError, match="too few"):
        conformal_quantile(np.arange(8.0), None, 0.1)  # ceil(9 * 0.9) = 9 > 8


@pytest.mark.parametrize("mode", ["split", "cv"])
def test_coverage_over_many_seeds(mode):
    """Split: E[coverage] >= 0.9 (and <= 0.9 + 1/(n_cal + 1) for continuous scores). The test
    fails only if the mean over seeds lies more than 3.3 standard errors outside that band
    (a false alarm about 1 time in 2,000 when the method is right). CV: about 0.9 in practice."""
    seeds = range(30) if mode == "split" else range(8)
    covers, raw = [], []
    for seed in seeds:
        X, y = hetero(1000, seed)
        est = GBQuantileRegressor(alpha=(0.05, 0.5, 0.95), conformal=mode, random_state=seed, **FAST)
        est.fit(X[:600], y[:600])
        covers.append(coverage(est, X[600:], y[600:]))
        lo, hi = est.predict(X[600:])[:, [0, 2]].T
        raw.append(np.mean((y[600:] >= lo) & (y[600:] <= hi)))
    covers = np.asarray(covers)
    se = covers.std(ddof=1) / np.sqrt(len(covers))
    upper = 0.9 + 1 / (150 + 1) if mode == "split" else 0.92
    lower = 0.9 if mode == "split" else 0.88
    assert lower - 3.3 * se <= covers.mean() <= upper + 3.3 * se, (covers.mean(), se)
    assert abs(np.mean(raw) - 0.9) > abs(covers.mean() - 0.9)  # the raw quantiles are further off


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("mode", ["split", "cv"])
def test_backends_weights_early_stopping(backend, mode):
    X, y = hetero(900, 1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, 600)
    est = GBQuantileRegressor(conformal=mode, cv=3, backend=backend, early_stopping_rounds=5, random_state=0, **FAST)
    est.fit(X[:600], y[:600], sample_weight=w, eval_set=[(X[600:750], y[600:750])])
    assert np.isfinite(est.conformal_offset_)
    q = est.predict(X[750:])
    lo, hi = est.predict_interval(X[750:]).T
    np.testing.assert_allclose(lo, q[:, 0] - est.conformal_offset_)  # predict stays the quantiles
    np.testing.assert_allclose(hi, q[:, 2] + est.conformal_offset_)


def test_split_is_reproducible_and_cv_uses_every_row():
    X, y = hetero(600, 3)
    a = GBQuantileRegressor(conformal="split", random_state=7, **FAST).fit(X, y)
    b = GBQuantileRegressor(conformal="split", random_state=7, **FAST).fit(X, y)
    assert a.conformal_offset_ == b.conformal_offset_
    c = GBQuantileRegressor(conformal="cv", random_state=7, **FAST).fit(X, y)
    plain = GBQuantileRegressor(random_state=7, **FAST).fit(X, y)
    np.testing.assert_allclose(c.predict(X), plain.predict(X))  # refitted on all rows
    assert plain.conformal_offset_ is None
    np.testing.assert_array_equal(plain.predict_interval(X), plain.predict(X)[:, [0, 2]])


def test_is_a_scikit_learn_parameter():
    est = GBQuantileRegressor(conformal="cv", cv=3, calibration_size=0.3)
    assert {"conformal": "cv", "cv": 3, "calibration_size": 0.3}.items() <= est.get_params().items()
    assert clone(est).get_params() == est.get_params()
    X, y = hetero(300, 4)
    grid = GridSearchCV(GBQuantileRegressor(**FAST), {"conformal": [None, "split"]}, cv=2).fit(X, y)
    assert grid.best_params_["conformal"] in (None, "split")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"conformal": "jackknife"}, "conformal must be"),
        ({"conformal": "split", "calibration_size": 0.0}, "calibration_size"),
        ({"conformal": "split", "calibration_size": 1.5}, "calibration_size"),
        ({"conformal": "cv", "cv": 1}, "cv must be"),
        ({"conformal": "cv", "cv": 2.5}, "cv must be"),
        ({"conformal": "split", "alpha": 0.9}, "two quantile levels"),
        ({"conformal": "split", "calibration_size": 0.01}, "too few"),
    ],
)
def test_bad_values_raise(params, match):
    X, y = hetero(200, 5)
    with pytest.raises(ValueError, match=match):
        GBQuantileRegressor(**(FAST | params)).fit(X, y)
