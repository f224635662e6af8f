"""CUDA kernels equal the CPU loops, for every registered loss.

Runs through Numba's CUDA simulator when no GPU driver is found (CI), and on the real GPU
otherwise (conftest.py decides; GBO_REAL_CUDA=1/0 forces it). The simulator executes every
thread in Python: the data stay tiny.
"""

import os

import numpy as np
import pytest
from conftest import ALL_CASES, build, make_data

import gbobjectives as gb

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
cuda = pytest.importorskip("numba.cuda")
if not cuda.is_available():
    pytest.skip("no CUDA device and no simulator", allow_module_level=True)

N = 24 if SIMULATED else 5000


def _host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else np.asarray(a)


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_equals_cpu(name, params, problem, dtype):
    y, raw, w = make_data(problem, n=N, dtype=dtype)
    loss = build(name, params)
    for mode in loss.hessian_modes:
        lm = loss.with_hessian(mode)
        for weights in (None, w):
            g, h = lm.grad_hess(y, raw, weights)
            dg, dh = lm.grad_hess(
                cuda.to_device(y), cuda.to_device(raw), None if weights is None else cuda.to_device(weights)
            )
            assert hasattr(dg, "__cuda_array_interface__") or (SIMULATED and hasattr(dg, "copy_to_host"))
            tol = 1e-6 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(_host(dg), g, rtol=tol, atol=1e-12 if dtype == np.float64 else 1e-6)
            np.testing.assert_allclose(_host(dh), h, rtol=tol, atol=1e-12 if dtype == np.float64 else 1e-6)
            assert _host(dg).dtype == g.dtype and _host(dg).shape == g.shape
    v_host = loss.value(y, raw, w)
    v_dev = loss.value(y, cuda.to_device(raw), w)  # host labels/weights are uploaded
    np.testing.assert_allclose(_host(v_dev), v_host, rtol=1e-12, atol=1e-15)  # GPU libm: last bits
    assert loss.mean(cuda.to_device(y), cuda.to_device(raw), cuda.to_device(w)) == pytest.approx(
        loss.mean(y, raw, w), rel=1e-12
    )


def test_cuda_fortran_and_read_only_inputs():
    y, raw, w = make_data("multi", n=N)
    loss = gb.Focal(2.0)
    g, _ = loss.grad_hess(y, raw, w)
    dg, _ = loss.grad_hess(y, cuda.to_device(np.asfortranarray(raw)), w)
    np.testing.assert_allclose(_host(dg), g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("loss", "y", "w", "match"),
    [
        (gb.CrossEntropy(), [0.0, 2.0, 1.0, 0.0], None, r"row 1"),
        (gb.Huber(), [0.0, np.nan, 1.0, 0.0], None, r"NaN or inf at row 1"),
        (gb.Huber(), [0.0, 1.0, 1.0, 0.0], [1.0, 1.0, -1.0, 1.0], r"negative at row 2"),
    ],
)
def test_cuda_bad_inputs_raise(loss, y, w, match):
    dy = cuda.to_device(np.array(y))
    dw = None if w is None else cuda.to_device(np.array(w))
    with pytest.raises(ValueError, match=match):
        loss.grad_hess(dy, cuda.to_device(np.zeros(4)), dw)


@pytest.mark.skipif(SIMULATED, reason="needs a real GPU (this run uses the CUDA simulator)")
def test_real_gpu_large_input():
    rng = np.random.default_rng(0)
    n = 2_000_000
    y = rng.normal(size=n)
    raw = (y + rng.normal(size=n)).astype(np.float32)
    g, h = gb.PseudoHuber(1.0).grad_hess(y, raw)
    dg, dh = gb.PseudoHuber(1.0).grad_hess(cuda.to_device(y), cuda.to_device(raw))
    np.testing.assert_allclose(dg.copy_to_host(), g, rtol=1e-6, atol=1e-7)


def test_xgboost_objective_on_device_matches_cpu():
    xgb = pytest.importorskip("xgboost")
    import gbobjectives.xgboost as gx

    rng = np.random.default_rng(0)
    n = 40 if SIMULATED else 5000
    X = rng.normal(size=(n, 3)).astype(np.float32).astype(np.float64)
    y = X[:, 0] + rng.normal(size=n)
    w = rng.uniform(0.5, 2, n)
    d = xgb.DMatrix(X, label=y, weight=w)
    predt = rng.normal(size=n).astype(np.float32)
    loss = gb.Quantile(0.3, renew_leaves=False).with_scale(y, w)  # called as a bare objective
    g_cpu, h_cpu = gx.objective(loss)(predt, d)
    obj = gx.objective(loss, device="cuda")
    g, h = obj(predt, d)
    assert not isinstance(g, np.ndarray)
    np.testing.assert_allclose(_host(g), g_cpu, rtol=1e-6)
    np.testing.assert_allclose(_host(h), h_cpu, rtol=1e-6)
    assert len(obj._cache) == 1  # labels and weights uploaded once per DMatrix
    name, value = gx.metric(loss, device="cuda")(predt, d)
    assert value == pytest.approx(gx.metric(loss)(predt, d)[1], rel=1e-10)
    assert gx._device_for({"device": "cuda"}) == "cuda"


@pytest.mark.skipif(SIMULATED, reason="needs a real GPU (this run uses the CUDA simulator)")
@pytest.mark.parametrize("loss", [gb.Huber(1.0), gb.Quantile([0.1, 0.9]), gb.Focal(2.0)], ids=lambda c: c.name)
def test_real_gpu_resident_loop_trains_the_callback_model(loss):
    """Margins on the device (CuPy features) train the trees xgboost.train's own loop trains."""
    xgb = pytest.importorskip("xgboost")
    cupy = pytest.importorskip("cupy")
    import gbobjectives.xgboost as gx

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 8)).astype(np.float32)
    y = X[:, 0] + rng.standard_t(3, len(X))
    if loss.name == "focal":
        y = (y > 1).astype(float)
    params = {"tree_method": "hist", "device": "cuda", "max_depth": 5, "seed": 0}
    models, history = [], []
    for features in (None, cupy.asarray(X)):
        h = {}
        d, dv = xgb.DMatrix(X, y), xgb.DMatrix(X[:2000], y[:2000])
        b = gx.train(loss, params, d, 30, evals=[(dv, "v")], evals_result=h, verbose_eval=False, features=features)
        models.append(b.save_raw("json"))
        history.append(h)
    assert models[0] == models[1] and history[0] == history[1]


@pytest.mark.skipif(SIMULATED, reason="needs a real GPU (this run uses the CUDA simulator)")
@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_real_gpu_leaf_renewal_is_xgboosts(alpha):
    """On the GPU, XGBoost's own renewal (reg:quantileerror, XGBoost < 3.4) renews the leaves
    our CUDA gradients built: at the constant curvature, the native model."""
    xgb = pytest.importorskip("xgboost")
    import gbobjectives.xgboost as gx

    if not gx.native_quantile_leaves():
        pytest.skip("this XGBoost renews no leaves itself")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 8)).astype(np.float32)
    y = X[:, 0] + rng.standard_t(3, len(X))
    d = xgb.DMatrix(X, y)
    loss = gb.Quantile(alpha, hessian="constant", renew_leaves=True)
    start = np.quantile(y, alpha, method="inverted_cdf")
    params = {"tree_method": "hist", "device": "cuda", "max_depth": 5, "learning_rate": 0.1}
    params["base_score"] = start.tolist() if np.ndim(start) else float(start)
    ours = gx.train(loss, params, d, 10)
    native = xgb.train(params | {"objective": "reg:quantileerror", "quantile_alpha": alpha}, d, 10)
    np.testing.assert_allclose(ours.predict(d), native.predict(d), rtol=1e-5, atol=1e-4)
    plain = gx.train(gb.Quantile(alpha, hessian="constant", renew_leaves=False), params, d, 10)
    assert np.abs(plain.predict(d) - native.predict(d)).max() > 0.05  # renewal changed the model


@pytest.mark.parametrize("alpha", [0.9, [0.1, 0.5, 0.9]])
def test_renewing_quantile_curvature_rescaled_on_device_as_on_host(alpha):
    rng = np.random.default_rng(4)
    n = 64 if SIMULATED else 50_000
    y = rng.standard_t(3, n) * 10
    raw = rng.normal(size=(n, np.size(alpha))) if np.ndim(alpha) else rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    loss = gb.Quantile(alpha).with_scale(y, w)
    g, h = loss.grad_hess(y, raw, w)
    h = loss.split_curvature(h, w)
    dw = cuda.to_device(w)
    dg, dh = loss.grad_hess(cuda.to_device(y), cuda.to_device(raw), dw)
    dh = loss.split_curvature(dh, dw)
    np.testing.assert_allclose(_host(dg), g, rtol=1e-10)
    np.testing.assert_allclose(_host(dh), h, rtol=1e-9)
    assert np.atleast_2d(_host(dh).T).mean(axis=1) == pytest.approx(w.mean(), rel=1e-9)
