"""Threads of the CPU loops (``kernel_threads``) and the dtype/memory order of grad and hess."""

import pickle
import subprocess
import sys

import lightgbm as lgb
import numba
import numpy as np
import pytest
import xgboost as xgb
from conftest import ALL_CASES, K, build, make_data

import gbobjectives as gb
import gbobjectives.lightgbm as gl
import gbobjectives.xgboost as gx
from gbobjectives.kernels import cpu

N_PARALLEL = 2 * cpu.PARALLEL_MIN_ELEMENTS  # large enough for the parallel loops


def _loop_is_serial(size):
    f = cpu.loop("elementwise_grad_hess", size, KIND=0, HMODE=0)
    return f in cpu.SERIAL.values()


def test_kernel_threads_chooses_the_loop():
    assert not _loop_is_serial(N_PARALLEL)
    with gb.kernel_threads(1):
        assert _loop_is_serial(N_PARALLEL)
        with gb.kernel_threads(None):  # None changes nothing: still serial
            assert _loop_is_serial(N_PARALLEL)
    with gb.kernel_threads("auto"):
        assert _loop_is_serial(cpu.AUTO_PARALLEL_MIN_ELEMENTS - 1)
        assert not _loop_is_serial(cpu.AUTO_PARALLEL_MIN_ELEMENTS)
    with gb.kernel_threads(2):
        assert not _loop_is_serial(N_PARALLEL)
    assert not _loop_is_serial(N_PARALLEL)


def test_kernel_threads_sets_and_restores_numba_pool():
    before = numba.get_num_threads()
    ctx = gb.kernel_threads(1)

    def fail_inside():
        with ctx, ctx:  # re-entered and nested
            assert cpu._LOCAL.threads == 1
            raise RuntimeError

    with pytest.raises(RuntimeError):  # left by an exception: restored
        fail_inside()
    assert getattr(cpu._LOCAL, "threads", None) is None
    with gb.kernel_threads(1000):
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("threads", [1, 2, "auto", None])
@pytest.mark.parametrize("loss", [gb.Huber(1.0), gb.Focal(2.0, alpha=0.3), gb.CrossEntropy()])
def test_results_do_not_depend_on_threads(loss, threads):
    multi = loss.name == "cross_entropy"
    n = N_PARALLEL // K if multi else N_PARALLEL
    y, raw, w = make_data("multi" if multi else ("binary" if loss.name == "focal" else "reg"), n=n)
    g0, h0 = loss.grad_hess(y, raw, w)
    with gb.kernel_threads(threads):
        g, h = loss.grad_hess(y, raw, w)
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(h, h0)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", "serial"])
def test_bad_kernel_threads_raise_when_made(bad):
    with pytest.raises(ValueError, match="kernel_threads"):
        gb.kernel_threads(bad)
    with pytest.raises(ValueError, match="kernel_threads"):
        gx.objective(gb.Huber(), kernel_threads=bad)
    with pytest.raises(ValueError, match="kernel_threads"):
        gl.metric(gb.Huber(), kernel_threads=bad)


def test_adapters_keep_kernel_threads_when_pickled():
    for obj in (gx.objective(gb.Huber(), kernel_threads=3), gl.objective(gb.Huber(), kernel_threads=3)):
        assert pickle.loads(pickle.dumps(obj)).kernel_threads == 3
    assert gx.objective(gb.Huber()).kernel_threads == "auto"
    assert gl.objective(gb.Huber()).kernel_threads is None


@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
def test_float32_output_is_the_float64_result_rounded(name, params, problem):
    loss = build(name, params)
    y, raw, w = make_data(problem)
    if problem == "multi":
        raw = np.asfortranarray(raw)  # LightGBM's layout: kept
    g64, h64 = loss.grad_hess(y, raw, w)
    g32, h32 = loss.grad_hess(y, raw, w, dtype=np.float32)
    assert g32.dtype == h32.dtype == np.float32
    np.testing.assert_array_equal(g32, g64.astype(np.float32))
    np.testing.assert_array_equal(h32, h64.astype(np.float32))
    assert g32.flags.f_contiguous == raw.flags.f_contiguous == h32.flags.f_contiguous
    g, h = loss(y, raw, w)  # the scikit-learn wrappers' entry: float32
    np.testing.assert_array_equal(g, g32)
    np.testing.assert_array_equal(h, h32)


@pytest.mark.parametrize("bad", [np.int32, np.float16, "complex128", "nonsense"])
def test_bad_dtype_raises(bad):
    y, raw, _ = make_data("reg")
    with pytest.raises(ValueError, match="dtype"):
        gb.Huber().grad_hess(y, raw, dtype=bad)


def test_lightgbm_objective_returns_its_own_layout():
    """float32, Fortran order: LightGBM flattens them (order='F') and keeps them without a copy."""
    y, raw, _ = make_data("multi")
    ds = lgb.Dataset(np.zeros((len(y), 1)), y).construct()
    g, h = gl.objective(gb.CrossEntropy())(np.asfortranarray(raw), ds)
    assert g.dtype == h.dtype == np.float32 and g.flags.f_contiguous and h.flags.f_contiguous
    assert np.shares_memory(g, g.ravel(order="F")) and np.shares_memory(h, h.ravel(order="F"))
    np.testing.assert_array_equal(g, gb.CrossEntropy().grad_hess(y, raw)[0].astype(np.float32))


class _OldSignature(gb.Loss):
    """A user's loss written before ``grad_hess`` took ``dtype=``: squared error, float64 out."""

    hessian_modes = ("exact",)
    default_hessian = "exact"

    def grad_hess(self, y, raw, sample_weight=None):
        return np.asarray(raw, np.float64) - y, np.ones_like(raw, np.float64)


def test_loss_without_dtype_keyword_still_trains():
    """The adapters ask for float32 only from a grad_hess that takes dtype=; the answer is
    looked up once per function, so old and new signatures side by side each get theirs."""
    y, raw, _ = make_data("reg")
    ds = lgb.Dataset(np.zeros((len(y), 1)), y).construct()
    y = ds.get_label()  # LightGBM keeps labels in float32
    for _ in range(2):  # second round: from the cache
        g, h = gl.objective(_OldSignature())(raw, ds)
        assert g.dtype == np.float64  # its own result, which LightGBM converts
        np.testing.assert_array_equal(g, raw - y)
        g, _ = _OldSignature()(y, raw)
        np.testing.assert_array_equal(g, raw - y)
        g, h = gl.objective(gb.Huber(1e9))(raw, ds)
        assert g.dtype == h.dtype == np.float32
        np.testing.assert_array_equal(g, (raw - y).astype(np.float32))


# ---- out=: results written into the caller's arrays (the adapters' per-data outputs) -------
@pytest.mark.parametrize(("name", "params", "problem"), ALL_CASES)
@pytest.mark.parametrize("dtype", [None, np.float32])
def test_out_receives_the_result(name, params, problem, dtype):
    loss = build(name, params)
    y, raw, w = make_data(problem)
    if problem == "multi":
        raw = np.asfortranarray(raw)  # LightGBM's layout
    g0, h0 = loss.grad_hess(y, raw, w, dtype=dtype)
    out = (np.full_like(g0, np.nan), np.full_like(h0, np.nan))
    got = loss.grad_hess(y, raw, w, dtype=dtype, out=out)
    assert got[0] is out[0] and got[1] is out[1]
    np.testing.assert_array_equal(out[0], g0)
    np.testing.assert_array_equal(out[1], h0)
    got = loss.grad_hess(y, raw + 1.0, w, dtype=dtype, out=out)  # written again, not kept
    np.testing.assert_array_equal(got[0], loss.grad_hess(y, raw + 1.0, w, dtype=dtype)[0])


def _bad_outs(n):
    ok = np.empty(n)
    ro = np.empty(n)
    ro.flags.writeable = False
    buf = np.empty(n + 1)
    return {
        "one array": np.empty(n),
        "three arrays": (ok, np.empty(n), np.empty(n)),
        "list of lists": ([0.0] * n, [0.0] * n),
        "shape": (np.empty(n + 1), np.empty(n + 1)),
        "dtype": (np.empty(n, np.float32), np.empty(n, np.float32)),
        "read-only": (ok, ro),
        "same array": (ok, ok),
        "overlapping": (buf[:-1], buf[1:]),
    }


@pytest.mark.parametrize("case", list(_bad_outs(3)))
def test_bad_out_raises(case):
    y, raw, _ = make_data("reg")
    out = _bad_outs(len(y))[case]
    with pytest.raises(ValueError, match="out"):
        gb.Huber().grad_hess(y, raw, out=out)


def _adapter_calls(lib, problem):
    """Two rounds of each adapter's objective on one data set, then one on a second."""
    y, raw, _ = make_data(problem)
    loss = gb.CrossEntropy() if problem == "multi" else gb.Huber(1.0)
    if lib == "xgboost":
        mats = [xgb.DMatrix(np.zeros((len(y), 1)), y) for _ in range(2)]
        obj = gx.objective(loss)
        raw = raw.astype(np.float32)
    else:
        mats = [lgb.Dataset(np.zeros((len(y), 1)), y).construct() for _ in range(2)]
        obj = gl.objective(loss)
        raw = np.asfortranarray(raw)
    y = mats[0].get_label()  # as the booster keeps them (float32)
    first = obj(raw, mats[0])
    second = obj(raw + 1, mats[0])
    other = obj(raw, mats[1])
    return loss, y, raw, first, second, other


@pytest.mark.parametrize("lib", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("problem", ["reg", "multi"])
def test_adapters_write_each_round_into_the_same_outputs(lib, problem):
    """After the first round an objective writes into the arrays it returned then (one pair per
    data set), as the boosters copy or consume grad/hess before the next round: no fresh pages
    for the kernel to fault in every round."""
    loss, y, raw, first, second, other = _adapter_calls(lib, problem)
    for a, b in zip(first, second, strict=True):
        assert np.shares_memory(a, b)
    for a, b in zip(first, other, strict=True):
        assert not np.shares_memory(a, b)
    want = loss.grad_hess(y, raw + 1, dtype=np.float32)
    np.testing.assert_array_equal(second[0], want[0])
    np.testing.assert_array_equal(second[1], want[1])
    np.testing.assert_array_equal(other[0], loss.grad_hess(y, raw, dtype=np.float32)[0])


class _HuberWithoutOut(gb.Huber):
    """A subclass whose grad_hess predates ``out=``: the adapters allocate every round for it."""

    def grad_hess(self, y, raw, sample_weight=None, *, dtype=None):
        return super().grad_hess(y, raw, sample_weight, dtype=dtype)


@pytest.mark.parametrize("lib", ["xgboost", "lightgbm"])
def test_reused_outputs_train_the_same_model(lib):
    y, _, w = make_data("reg", n=300)
    X = np.random.default_rng(1).normal(size=(len(y), 3)) + y[:, None] * 0.1
    preds = []
    for loss in (gb.Huber(1.0), _HuberWithoutOut(1.0)):
        if lib == "xgboost":
            booster = gx.train(loss, {"max_depth": 3, "nthread": 1}, xgb.DMatrix(X, y, weight=w), 8, custom_metric=None)
            preds.append(booster.predict(xgb.DMatrix(X), output_margin=True))
        else:
            booster = gl.train(loss, {"num_leaves": 7, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y, weight=w), 8)
            preds.append(booster.predict(X, raw_score=True))
    np.testing.assert_array_equal(preds[0], preds[1])


def test_a_small_fit_compiles_each_loop_once():
    """A fit at the defaults on small data gives each loop it calls one signature, whatever dtypes its start
    (float64, integer class counts as weights) and its booster (float32 labels and margins,
    strided quantile columns) pass: each loop is compiled, or loaded from the cache, once."""
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import numpy as np, gbobjectives as gb\n"
        "from gbobjectives.kernels import cpu\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(300, 4)); y = X[:, 0] + rng.standard_t(3, 300)\n"
        "for backend in ('xgboost', 'lightgbm'):\n"
        "    gb.GBRegressor(backend=backend).fit(X, y)\n"
        "    gb.GBClassifier(backend=backend).fit(X, y > 1)\n"
        "    three = np.digitize(y, [-1, 1])\n"
        "    gb.GBClassifier('focal', backend=backend, class_weight='balanced').fit(X, three)\n"
        "    gb.GBQuantileRegressor(backend=backend).fit(X, y)\n"
        "loops = {**cpu.SERIAL, **{('parallel',) + k: f for k, f in cpu.PARALLEL.items()}}\n"
        "many = {k: [str(s) for s in f.signatures] for k, f in loops.items() if len(f.signatures) > 1}\n"
        "assert len(loops) >= 4 and not many, many\n"
        "print('ok', len(loops))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]
