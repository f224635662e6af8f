"""Class posteriors from losses that are not proper: ``loss.posterior(raw)`` must recover the
true posterior from the minimiser of the expected loss (computed here numerically with scipy,
from the loss written out independently), stay finite, in [0, 1] and summing to 1 at extreme
margins and in float32, keep every ranking, and be what the estimators' predict_proba returns."""

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_expit, log_softmax, softmax

import gbobjectives as gb
from gbobjectives.sklearn import GBClassifier

GAMMAS = [0.0, 0.5, 1.0, 2.0, 5.0]


def expected_loss_binary(z, eta, gamma, w):
    """E[w_y (1 - p_y)^gamma (-log p_y)] under P(y = 1) = eta, with p = sigmoid(z)."""
    lp1, lp0 = log_expit(z), log_expit(-z)
    return -(eta * w[1] * (-np.expm1(lp1)) ** gamma * lp1 + (1 - eta) * w[0] * (-np.expm1(lp0)) ** gamma * lp0)


def expected_loss_softmax(z, eta, gamma, w):
    logp = log_softmax(z)
    return -np.sum(eta * w * (-np.expm1(logp)) ** gamma * logp)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("eta", [0.02, 0.3, 0.5, 0.85, 0.995])
def test_binary_posterior_inverts_the_minimiser(gamma, alpha, eta):
    loss = gb.Focal(gamma, alpha=alpha)
    w = np.ones(2) if alpha is None else np.array([1 - alpha, alpha])
    res = minimize_scalar(
        expected_loss_binary, bounds=(-30, 30), args=(eta, gamma, w), method="bounded", options={"xatol": 1e-12}
    )
    got = loss.posterior(np.array([res.x]))
    np.testing.assert_allclose(got, [eta], rtol=2e-5, atol=1e-7)
    if (gamma > 0 and eta != 0.5) or (alpha is not None and alpha != 0.5):  # the link output is not it
        assert abs(expit(res.x) - eta) > 1e-4


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("weights", [None, (0.5, 1.0, 3.0)])
@pytest.mark.parametrize("eta", [(0.6, 0.3, 0.1), (0.05, 0.05, 0.9), (0.34, 0.33, 0.33)])
def test_softmax_posterior_inverts_the_minimiser(gamma, weights, eta):
    eta = np.array(eta)
    w = np.ones(3) if weights is None else np.array(weights)
    res = minimize(expected_loss_softmax, np.zeros(3), args=(eta, gamma, w), method="BFGS", options={"gtol": 1e-12})
    loss = gb.Focal(gamma, alpha=weights)
    np.testing.assert_allclose(loss.posterior(res.x[None, :])[0], eta, rtol=1e-4, atol=1e-6)


def test_class_balanced_posterior_is_a_prior_shift_over_the_base():
    y = np.r_[np.zeros(90), np.ones(10)]
    loss = gb.ClassBalanced(gb.Focal(2.0, alpha=0.4), beta=0.99).with_counts(y)
    cb = loss.class_weights()
    eta = 0.2
    w = np.array([0.6, 0.4]) * cb
    res = minimize_scalar(
        expected_loss_binary, bounds=(-30, 30), args=(eta, 2.0, w), method="bounded", options={"xatol": 1e-12}
    )
    np.testing.assert_allclose(loss.posterior(np.array([res.x])), [eta], rtol=2e-5)
    # class_weight (the estimator's) composes with them
    extra = np.array([1.0, 3.0])
    res = minimize_scalar(
        expected_loss_binary, bounds=(-30, 30), args=(eta, 2.0, w * extra), method="bounded", options={"xatol": 1e-12}
    )
    np.testing.assert_allclose(loss.posterior(np.array([res.x]), class_weight=extra), [eta], rtol=2e-5)
    with pytest.raises(ValueError, match="counts"):
        gb.ClassBalanced().posterior(np.zeros(3))


def test_cross_entropy_posterior_is_the_link_output():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 4, 50)
    np.testing.assert_allclose(gb.CrossEntropy().posterior(z), expit(z), rtol=1e-12)
    Z = rng.normal(0, 4, (50, 4))
    np.testing.assert_allclose(gb.CrossEntropy().posterior(Z), softmax(Z, axis=1), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "loss",
    [gb.Focal(2.0), gb.Focal(5.0, alpha=0.1), gb.Focal(0.5, alpha=[1.0, 2.0, 0.1, 4.0]), gb.CrossEntropy(alpha=0.3)],
)
def test_extreme_margins_give_probabilities(dtype, loss):
    big = [1e4, -1e4, 745.0, -745.0, 40.0, 0.0, -1e-300, 3e38 if dtype == np.float32 else 1e300]
    multi = isinstance(loss.alpha, tuple)
    if multi:
        rows = [[a, b, c, d] for a in big[:4] for b in big[4:] for c in (0.0, 1e4) for d in (-1e4, 2.0)]
        p = loss.posterior(np.array(rows, dtype))
        assert p.shape == (len(rows), 4)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    else:
        p = loss.posterior(np.array(big, dtype))
    assert p.dtype == np.float64 and np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    if not multi:
        assert p[0] == 1.0 and p[1] < 1e-300


@pytest.mark.parametrize("loss", [gb.Focal(2.0), gb.Focal(1.0, alpha=0.25), gb.Focal(5.0)])
def test_binary_posterior_is_monotone(loss):
    z = np.linspace(-60, 60, 20001)
    p = loss.posterior(z)
    assert np.all(np.diff(p) >= 0) and p[0] < p[-1]
    inner = (p > 1e-12) & (p < 1 - 1e-12)
    assert np.all(np.diff(p)[inner[1:]] > 0)


def test_softmax_posterior_keeps_rankings_and_the_argmax():
    rng = np.random.default_rng(1)
    Z = rng.normal(0, 3, (2000, 4))
    loss = gb.Focal(2.0)
    p = loss.posterior(Z)
    np.testing.assert_array_equal(np.argmax(p, axis=1), np.argmax(Z, axis=1))
    bumped = Z.copy()
    bumped[:, 2] += 0.5  # raising one margin raises that class's posterior
    assert np.all(loss.posterior(bumped)[:, 2] > p[:, 2])


# ---- the estimators --------------------------------------------------------------------------
def _imbalanced(n=1500, seed=0, k=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    score = X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 1, n)
    y = np.digitize(score, [1.6] if k == 2 else [0.8, 1.8])
    return X, y


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("k", [2, 3])
def test_predict_proba_is_the_posterior_and_predict_is_unchanged(backend, k):
    X, y = _imbalanced(k=k)
    est = GBClassifier("focal", class_weight="balanced", backend=backend, n_estimators=50).fit(X, y)
    raw = est.decision_function(X)
    cw = len(y) / (k * np.bincount(y))
    post = est.loss_.posterior(raw, cw, shift=est.posterior_shift_)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1] if k == 2 else proba, post, rtol=1e-12)
    link = est.loss_.inverse_link(raw)
    link = np.column_stack([1 - link, link]) if k == 2 else link
    assert np.max(np.abs(proba - link)) > 0.05  # not the raw sigmoid / softmax of the margins
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.argmax(link, axis=1)])  # unchanged
    # that is the cost-weighted decision on the unshifted posterior
    w = est.loss_.training_weights(k, cw)
    unshifted = est.loss_.posterior(raw, cw)
    unshifted = np.column_stack([1 - unshifted, unshifted]) if k == 2 else unshifted
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.argmax(unshifted * w, axis=1)])
    unweighted = GBClassifier("focal", backend=backend, n_estimators=50).fit(X, y)
    assert unweighted.posterior_shift_ is None  # and predict is the argmax of predict_proba
    np.testing.assert_array_equal(unweighted.predict(X), np.argmax(unweighted.predict_proba(X), axis=1))
    # calibrated in the large, where the link output of a class-weighted focal model is not
    post_ratio, link_ratio = (p[:, -1].mean() / np.mean(y == k - 1) for p in (proba, link))
    assert abs(post_ratio - 1) < 0.15 and link_ratio > 1.15 and abs(post_ratio - 1) < abs(link_ratio - 1) - 0.1


@pytest.mark.parametrize("k", [2, 4])
def test_posterior_shift_matches_the_class_shares(k):
    """On rows whose margins are the truth plus a constant offset, the fitted shift undoes it."""
    rng = np.random.default_rng(2)
    n = 20000
    z = rng.normal(0, 2, n) if k == 2 else rng.normal(0, 2, (n, k))
    loss = gb.Focal(2.0)
    p = loss.posterior(z)
    y = (rng.uniform(size=n) < p).astype(int) if k == 2 else np.array([rng.choice(k, p=r) for r in p])
    w = rng.uniform(0.5, 2.0, n)
    offset = 0.7 if k == 2 else np.array([0.5, -0.2, 0.0, -0.3])
    shift = loss.posterior_shift(y, z + offset, sample_weight=w)
    got = loss.posterior(z + offset, shift=shift)
    share = np.bincount(y, weights=w, minlength=k) / w.sum()
    mean = np.average(got, axis=0, weights=w)
    np.testing.assert_allclose(mean if k > 2 else [1 - mean, mean], share, rtol=1e-8)
    want = -offset if k == 2 else -(offset - offset.mean())
    np.testing.assert_allclose(shift, want, atol=0.05)  # sampling noise of 20,000 rows


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_cross_entropy_needs_almost_no_shift(backend):
    """Cross-entropy's score equations already calibrate it in the large on its training rows."""
    X, y = _imbalanced()
    est = GBClassifier("cross_entropy", backend=backend, n_estimators=50).fit(X, y)
    assert est.posterior_shift_ is None
    shift = est.loss_.posterior_shift(y, est.decision_function(X))
    assert abs(shift) < 0.05
