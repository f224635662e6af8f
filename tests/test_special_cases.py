"""Closed-form special cases, weights, dtypes, memory layouts and extreme inputs."""

import numpy as np
import pytest
from conftest import ALL_CASES, K, build, make_data
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.special import expit, softmax

import gbobjectives as gb


def test_huber_with_huge_delta_is_squared_error():
    y, raw, w = make_data("reg", n=100)
    g, h = gb.Huber(1e6).grad_hess(y, raw, w)
    np.testing.assert_allclose(g, (raw - y) * w, rtol=1e-14)
    np.testing.assert_allclose(h, w, rtol=1e-14)
    np.testing.assert_allclose(gb.Huber(1e6).value(y, raw), 0.5 * (raw - y) ** 2, rtol=1e-14)


def test_focal_gamma0_is_logistic_and_softmax():
    y, raw, _ = make_data("binary", n=100)
    g, h = gb.Focal(gamma=0.0).grad_hess(y, raw)
    p = expit(raw)
    np.testing.assert_allclose(g, p - y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, p * (1 - p), rtol=1e-12)
    np.testing.assert_allclose(gb.CrossEntropy().value(y, raw), -(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-10)
    y, raw, _ = make_data("multi", n=100)
    g, h = gb.Focal(gamma=0.0).grad_hess(y, raw)
    p = softmax(raw, axis=1)
    np.testing.assert_allclose(g, p - np.eye(raw.shape[1])[y.astype(int)], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, p * (1 - p), rtol=1e-9)  # 1 - p_t loses digits in NumPy


def test_class_balanced_beta0_is_unweighted():
    for problem, base in [("binary", gb.CrossEntropy()), ("multi", gb.Focal(2.0))]:
        y, raw, w = make_data(problem, n=100)
        for a, b in zip(gb.ClassBalanced(base, beta=0.0).grad_hess(y, raw, w), base.grad_hess(y, raw, w), strict=True):
            np.testing.assert_array_equal(a, b)


def test_class_balanced_weights_are_per_class_counts():
    # counts 60/30/10 of classes 0/1/2: a sum of class ids (50) must not appear anywhere
    y = np.repeat([0, 1, 2], [60, 30, 10]).astype(float)
    loss = gb.ClassBalanced(beta=0.9)
    cw = loss.class_weights(y, 3)
    expect = (1 - 0.9) / (1 - 0.9 ** np.array([60, 30, 10]))
    np.testing.assert_allclose(cw, expect * 3 / expect.sum(), rtol=1e-12)
    assert cw.sum() == pytest.approx(3.0)
    raw = np.zeros((100, 3))
    g, _ = loss.grad_hess(y, raw)
    g0, _ = gb.CrossEntropy().grad_hess(y, raw)
    np.testing.assert_allclose(g, g0 * cw[y.astype(int)][:, None], rtol=1e-12)


def test_class_balanced_absent_class_and_counts():
    loss = gb.ClassBalanced(beta=0.999, counts=[50, 0, 5])
    cw = loss.class_weights(n_classes=3)
    assert np.all(np.isfinite(cw)) and cw[1] >= cw[2] > cw[0]
    y = np.array([0.0, 1.0, 2.0])
    g, h = loss.grad_hess(y, np.zeros((3, 3)))
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    trained = gb.ClassBalanced(beta=0.99).with_counts(np.array([0, 0, 0, 1]), n_classes=3)
    assert trained.counts == (3, 1, 0)
    # validation data is then scored with the training weights, not its own counts
    a = trained.grad_hess(np.array([1.0, 1.0]), np.zeros((2, 3)))[0]
    b = gb.CrossEntropy().grad_hess(np.array([1.0, 1.0]), np.zeros((2, 3)))[0]
    np.testing.assert_allclose(a, b * trained.class_weights(n_classes=3)[1])


def test_multiclass_focal_rows_sum_to_zero():
    y, raw, w = make_data("multi", n=500, spread=6.0)
    for loss in [gb.Focal(2.0), gb.Focal(0.5, alpha=[1, 2, 3, 4]), gb.ClassBalanced(gb.Focal(1.0))]:
        g, _ = loss.grad_hess(y, raw, w)
        np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-13)


def test_focal_hessian_of_positive_is_nonzero():
    # the peer bug: the label used where the probability belongs zeroes every positive's Hessian
    import reference as ref

    raw = np.linspace(-2, 4, 13)
    for gamma in (0.5, 1.0, 2.0, 5.0):
        for hessian in ("exact", "floored"):
            _, h = gb.Focal(gamma, hessian=hessian).grad_hess(np.ones_like(raw), raw)
            assert np.all(h != 0)
        np.testing.assert_allclose(h, ref.focal_binary(np.ones_like(raw), raw, gamma)[2], rtol=1e-9)


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_weights_multiply(name, params, problem):
    y, raw, w = make_data(problem, n=80)
    loss = build(name, params)
    if isinstance(loss, gb.Quantile):  # its default scale follows the weighted residuals
        loss = gb.Quantile(loss.alpha, scale=0.25)
    if isinstance(loss, gb.ClassBalanced):  # its default counts are the weighted class totals
        loss = loss.with_counts(y, K if problem == "multi" else None)
    loss = loss.frozen(y, raw, w)  # an adaptive scale follows the weighted residuals too
    g1, h1 = loss.grad_hess(y, raw)
    gw, hw = loss.grad_hess(y, raw, w)
    wc = w[:, None] if raw.ndim == 2 else w
    np.testing.assert_allclose(gw, g1 * wc, rtol=1e-14)
    np.testing.assert_allclose(hw, h1 * wc, rtol=1e-14)
    vw = loss.value(y, raw, w)
    v1 = loss.value(y, raw)
    np.testing.assert_allclose(vw, v1 * (w[:, None] if vw.ndim == 2 else w), rtol=1e-14)
    assert loss.mean(y, raw, w) == pytest.approx(np.sum(vw) / (w.sum() * (vw.size // len(y))))


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_dtypes_layouts_readonly(name, params, problem):
    y, raw, w = make_data(problem, n=64)
    loss = build(name, params)
    g, h = loss.grad_hess(y, raw, w)
    raw32 = raw.astype(np.float32)
    g32, h32 = loss.grad_hess(y.astype(np.float32), raw32, w.astype(np.float32))
    assert g32.dtype == np.float32 and h32.dtype == np.float32 and g32.shape == raw.shape
    g64, _ = loss.grad_hess(y, raw32.astype(np.float64), w)
    np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-6)
    frozen = raw.copy()
    frozen.flags.writeable = False
    y_ro = y.copy()
    y_ro.flags.writeable = False
    gr, hr = loss.grad_hess(y_ro, frozen, w)
    np.testing.assert_array_equal(gr, g)
    if raw.ndim == 2:
        fortran = np.asfortranarray(raw)
        gf, hf = loss.grad_hess(y, fortran, w)
        np.testing.assert_array_equal(gf, g)
        np.testing.assert_array_equal(hf, h)
        strided = np.zeros((raw.shape[0], 2 * raw.shape[1]))[:, ::2]
        strided[:] = raw
        np.testing.assert_array_equal(loss.grad_hess(y, strided, w)[0], g)


EXTREMES = [0.0, 1e-12, 0.5, 1.0, 30.0, 40.0, 800.0, 1e4]


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_finite_at_extremes(name, params, problem):
    loss = build(name, params)
    vals = np.array(EXTREMES + [-x for x in EXTREMES])
    if problem.startswith("reg"):
        raw = np.add.outer(vals, [0.0, 1e4, -1e4, 3.0]).ravel()
        y = np.tile([0.0, -1e4, 1e4, 1e4], len(vals))
        if problem == "reg_multi":
            raw = np.repeat(raw[:, None], 4, axis=1)
    elif problem == "binary":
        raw = np.repeat(vals, 2)
        y = np.tile([0.0, 1.0], len(vals))
    else:
        raw = np.stack([vals, -vals, vals / 2, np.zeros_like(vals)], axis=1).repeat(4, axis=0)
        y = np.tile([0.0, 1.0, 2.0, 3.0], len(vals))
    for dtype in (np.float64, np.float32):
        g, h = loss.with_hessian("exact").grad_hess(y, raw.astype(dtype))
        gd, hd = loss.grad_hess(y, raw.astype(dtype))
        v = loss.value(y, raw.astype(dtype))
        for a in (g, h, gd, hd, v):
            assert np.all(np.isfinite(a))
        assert np.all(hd >= 0)
        assert np.all(v >= 0)


@settings(max_examples=200, deadline=None)
@given(
    z=st.floats(-3.3999999521443642e38, 3.3999999521443642e38, width=32),
    y=st.floats(-1.0000000150474662e30, 1.0000000150474662e30, width=32),
    label=st.sampled_from([0.0, 1.0]),
    gamma=st.sampled_from([0.0, 0.5, 2.0]),
)
@example(z=710.0, y=0.0, label=0.0, gamma=0.0)  # softmax q subnormal: 1/q overflowed to inf
def test_float32_range_is_finite(z, y, label, gamma):
    """Any float32 margin (the framework may pass one) gives finite outputs."""
    raw = np.array([z], np.float32)
    losses = [(gb.Huber(1.0), y), (gb.PseudoHuber(1.0), y), (gb.LogCosh(1.0), y), (gb.Quantile(0.3), y)]
    losses += [(gb.Cauchy(1.0), y), (gb.Tukey(1.0), y), (gb.Welsch(1.0), y)]
    losses += [(gb.Cauchy(), y), (gb.Huber("adaptive"), y)]
    losses.append((gb.Focal(gamma), label))
    for loss, lab in losses:
        for mode in loss.hessian_modes:
            g, h = loss.with_hessian(mode).grad_hess(np.array([lab]), raw)
            assert np.isfinite(g).all() and np.isfinite(h).all(), (loss, mode, z, lab)
        assert np.isfinite(loss.value(np.array([lab]), raw)).all(), (loss, z, lab)
    raw2 = np.array([[z, 0.0, -z]], np.float32)
    g, h = gb.Focal(gamma).grad_hess(np.array([label]), raw2)
    assert np.isfinite(g).all() and np.isfinite(h).all()
    assert np.isfinite(gb.Focal(gamma).value(np.array([label]), raw2)).all()


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_parallel_and_serial_loops_agree(name, params, problem, monkeypatch):
    """Small inputs run the serial twins; force the parallel loops and compare."""
    from gbobjectives.kernels import cpu

    y, raw, w = make_data(problem, n=300)
    loss = build(name, params)
    serial = loss.grad_hess(y, raw, w), loss.value(y, raw, w)
    monkeypatch.setattr(cpu, "PARALLEL_MIN_ELEMENTS", 0)
    parallel = loss.grad_hess(y, raw, w), loss.value(y, raw, w)
    for a, b in zip((*serial[0], serial[1]), (*parallel[0], parallel[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-300)  # the compilers may fuse differently
    assert any(f.signatures for f in cpu.PARALLEL.values())


class _UsersSquaredError(gb.Loss):
    """A user's loss written against the documented interface, before ``init_score`` took
    ``n_classes`` (as notebook 05 writes one)."""

    name = "users_squared_error"
    hessian_modes = ("exact",)
    default_hessian = "exact"

    def value(self, y, raw, sample_weight=None):
        v = 0.5 * (np.asarray(raw) - np.asarray(y)) ** 2
        return v if sample_weight is None else v * sample_weight

    def grad_hess(self, y, raw, sample_weight=None):
        g, h = np.asarray(raw, np.float64) - np.asarray(y), np.ones(np.shape(raw))
        return (g, h) if sample_weight is None else (g * sample_weight, h * sample_weight)

    def init_score(self, y, sample_weight=None):
        return float(np.average(y, weights=sample_weight))


def test_a_users_loss_with_the_old_init_score_signature_trains_everywhere():
    import lightgbm
    import xgboost

    from gbobjectives import lightgbm as gl
    from gbobjectives import xgboost as gx

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 3 * X[:, 0] + rng.normal(size=300) + 10
    loss = _UsersSquaredError()
    xb = gx.train(loss, {"max_depth": 3}, xgboost.DMatrix(X, y), 20)
    lb = gl.train(loss, {"verbosity": -1}, lightgbm.Dataset(X, y), 20)
    for pred in (xb.predict(xgboost.DMatrix(X)), lb.predict(X)):
        assert np.mean((pred - y) ** 2) < 0.5 * np.var(y)  # trained from the mean, not from 0
