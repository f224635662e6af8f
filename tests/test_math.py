"""Every registered loss against finite differences and against the NumPy references."""

import numpy as np
import pytest
import reference as ref
from conftest import ALL_CASES, build, make_data

import gbobjectives as gb

REGRESSION = {
    gb.Huber: ref.huber,
    gb.PseudoHuber: ref.pseudo_huber,
    gb.LogCosh: ref.logcosh,
    gb.Cauchy: ref.cauchy,
    gb.Tukey: ref.tukey,
    gb.Welsch: ref.welsch,
}


def _scale(loss, yy, raw, w):
    """The loss's fixed scale, or c x the reference robust scale of each column's residuals."""
    fixed = loss.delta if hasattr(loss, "delta") else loss.scale
    if fixed != "adaptive":
        return fixed
    r = (raw - yy).reshape(raw.shape[0], -1)
    return loss.c * np.array([ref.robust_scale(r[:, j], w) for j in range(r.shape[1])])


def reference(loss, y, raw, w=None):
    """(value, grad, exact hess) per unit weight, from tests/reference.py (class-balanced
    counts: the weight each class carries)."""
    if isinstance(loss, gb.Quantile):
        a = loss.alphas if raw.ndim == 2 else loss.alphas[0]
        return ref.quantile(y[:, None] if raw.ndim == 2 else y, raw, a)
    yy = y[:, None] if raw.ndim == 2 else y
    for cls, fun in REGRESSION.items():
        if isinstance(loss, cls):
            return fun(yy, raw, _scale(loss, yy, raw, w))
    base, cw = loss, None
    k = 2 if raw.ndim == 1 else raw.shape[1]
    if isinstance(loss, gb.ClassBalanced):
        base = loss.base
        cw = ref.class_balanced_weights(np.bincount(y.astype(int), weights=w, minlength=k), loss.beta)
    alpha = base.alpha
    aw = np.ones(k) if alpha is None else (np.array([1 - alpha, alpha]) if np.ndim(alpha) == 0 else np.array(alpha))
    cw = aw if cw is None else aw * cw
    if raw.ndim == 1:
        return ref.focal_binary(y, raw, base.gamma, cw)
    return ref.focal_softmax(y, raw, base.gamma, cw)


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_finite_differences(name, params, problem, weighted):
    y, raw, w = make_data(problem, n=120)
    loss = build(name, params)
    check = gb.check_gradients(loss, y, raw, w if weighted else None)
    assert check.hessian == "exact"
    assert check.n_checked.min() > 60, "too many points skipped as kinks"
    assert check.ok(rtol=1e-6, atol=1e-7), (check.grad_rel, check.hess_rel)


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_matches_numpy_reference(name, params, problem):
    y, raw, w = make_data(problem, n=300, spread=4.0)
    loss = build(name, params)
    value, grad, hess = reference(loss, y, raw, w)
    wcol = w[:, None] if raw.ndim == 2 else w
    wval = w[:, None] if value.ndim == 2 else w
    np.testing.assert_allclose(loss.value(y, raw, w), value * wval, rtol=1e-9, atol=1e-12)
    g, h = loss.with_hessian("exact").grad_hess(y, raw, w)
    np.testing.assert_allclose(g, grad * wcol, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h, hess * wcol, rtol=1e-8, atol=1e-12)
    # the default curvature is positive and the gradient does not depend on it (quantile's
    # majorizer multiplies both by its residual scale)
    g_default, h_default = loss.grad_hess(y, raw, w)
    factor = _quantile_scale(loss, y, raw, w) if isinstance(loss, gb.Quantile) else 1.0
    np.testing.assert_allclose(g_default, g * factor, rtol=1e-14)
    # positive wherever the row pulls (Tukey's IRLS weight is 0 exactly where its gradient is)
    assert np.all(h_default[g_default != 0] > 0) and np.all(h_default >= 0)


def _quantile_scale(loss, y, raw, w):
    r = raw - (y[:, None] if raw.ndim == 2 else y)
    return np.average(np.abs(r), axis=0, weights=w)


def _default_curvature(loss, y, raw, w):
    """The documented default curvature, in NumPy, unweighted (quantile's scale: weighted)."""
    r = raw - (y[:, None] if raw.ndim == 2 else y)
    if isinstance(loss, gb.Huber):
        return np.minimum(1.0, _scale(loss, r * 0, r, w) / np.abs(r))
    if isinstance(loss, gb.PseudoHuber):
        return (1 + (r / _scale(loss, r * 0, r, w)) ** 2) ** -0.5
    if isinstance(loss, gb.LogCosh):
        x = r / _scale(loss, r * 0, r, w)
        return np.tanh(x) / x
    if isinstance(loss, gb.Quantile):
        s = _quantile_scale(loss, y, raw, w)
        return s * 0.5 / (np.abs(r) + loss.eps_rel * s)
    x = r / _scale(loss, r * 0, r, w)  # the robust scale of r itself
    if isinstance(loss, gb.Cauchy):
        return 1 / (1 + x**2)
    if isinstance(loss, gb.Tukey):
        return np.where(np.abs(x) < 1, (1 - x**2) ** 2, 0.0)
    if isinstance(loss, gb.Welsch):
        return np.exp(-(x**2))
    return None


@pytest.mark.parametrize(("name", "params", "problem"), [c for c in ALL_CASES if c.values[2].startswith("reg")])
def test_default_regression_curvature_formula(name, params, problem):
    y, raw, w = make_data(problem, n=200)
    loss = build(name, params)
    _, h = loss.grad_hess(y, raw, w)
    wc = w[:, None] if raw.ndim == 2 else w
    np.testing.assert_allclose(h, _default_curvature(loss, y, raw, w) * wc, rtol=1e-12)


def test_focal_floor_and_negative_exact_hessian():
    # badly misclassified positives: signed margin < -2.79 gives a negative exact Hessian
    y = np.ones(5)
    raw = np.array([-3.0, -5.0, -10.0, 0.0, 4.0])
    _, h_exact = gb.Focal(2.0, hessian="exact").grad_hess(y, raw)
    assert np.all(h_exact[:3] < 0) and np.all(h_exact[3:] > 0)
    _, h = gb.Focal(2.0).grad_hess(y, raw)
    p = 1 / (1 + np.exp(-raw))
    floor = p * (1 - p) * (1 - p) ** 2
    np.testing.assert_allclose(h, np.maximum(h_exact, floor), rtol=1e-12)


def test_multiclass_floor_formula():
    y, raw, _ = make_data("multi", n=300, spread=5.0)
    loss = gb.Focal(2.0)
    _, h_exact = loss.with_hessian("exact").grad_hess(y, raw)
    assert (h_exact < 0).mean() > 0.05, "the exact softmax focal Hessian is often negative"
    _, h = loss.grad_hess(y, raw)
    p = ref.softmax(raw, axis=1)
    onehot = np.eye(raw.shape[1])[y.astype(int)]
    q = np.sum(p * (1 - onehot), axis=1, keepdims=True)  # 1 - p_t without cancellation
    p_t = np.sum(p * onehot, axis=1, keepdims=True)  # not 1 - q: rows with p_t ~ 1e-8 occur here
    p1 = np.where(onehot == 1, q * p_t, p * (1 - p))
    np.testing.assert_allclose(h, np.maximum(h_exact, q**2 * p1), rtol=1e-8, atol=1e-300)


@pytest.mark.parametrize(("mode", "factor"), [("xgboost", 2.0), ("lightgbm", 4 / 3), ("floored", 1.0)])
def test_native_softmax_conventions(mode, factor):
    y, raw, w = make_data("multi", n=100)
    p = ref.softmax(raw, axis=1)
    _, h = gb.CrossEntropy(hessian=mode).grad_hess(y, raw, w)
    np.testing.assert_allclose(h, factor * p * (1 - p) * w[:, None], rtol=1e-9)


def test_quantile_scale_is_fixed_from_training_data():
    y = np.array([0.0, 10.0, 20.0, 30.0, 1000.0])
    q = gb.Quantile([0.5, 0.9]).with_scale(y)
    start = gb.Quantile([0.5, 0.9]).init_score(y)
    np.testing.assert_allclose(q.scale, np.abs(y[:, None] - start).mean(axis=0))
    raw = np.zeros((5, 2))
    g, h = q.grad_hess(y, raw)
    g0, _ = q.with_hessian("exact").grad_hess(y, raw)
    np.testing.assert_allclose(g, g0 * np.array(q.scale))
    np.testing.assert_allclose(h, np.array(q.scale) * 0.5 / (np.abs(y)[:, None] + 0.01 * np.array(q.scale)))
    assert gb.Quantile(0.3).with_scale(np.ones(4)).scale > 0  # never 0
