"""CUDA kernels: grid-stride loops calling the very same scalar functions as ``cpu.py``.

Layer 2, imported lazily (only when a device array or ``device="cuda"`` is used). One kernel
per loop of ``cpu.py``; weights applied in the kernel exactly as there. Also tested through
Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which is how CI, with no GPU, covers them.
"""

import math
import types

import numpy as np
from numba import config, cuda

from . import scalar
from .elementary import DEVICE_EQUIVALENTS


def _twins(module, wrap):
    """The module's njit functions rebuilt from their own ``py_func`` (so the math is still
    written once), calling each other, each passed through ``wrap``, with the CPU's vectorisable
    ``exp``/``expm1``/``log1p_unit`` replaced by their ``math`` equivalents (elementary.py).

    On a GPU ``wrap`` compiles each as a CUDA device function, and the GPU's own libdevice
    exp/log1p are used. Numba's CUDA simulator runs kernels as Python and cannot pass its
    simulated arrays into CPU-compiled functions: there ``wrap`` keeps the plain Python twins.
    """
    env = dict(vars(module))
    for name, obj in vars(module).items():
        f = getattr(obj, "py_func", None)
        if f is not None and name not in DEVICE_EQUIVALENTS:
            env[name] = wrap(types.FunctionType(f.__code__, env, name, f.__defaults__, f.__closure__))
    env.update(DEVICE_EQUIVALENTS)
    return types.SimpleNamespace(**env)


_math = _twins(scalar, (lambda f: f) if config.ENABLE_CUDASIM else cuda.jit(device=True))  # type: ignore[attr-defined]
elem_grad_hess = _math.elem_grad_hess
elem_value = _math.elem_value
softmax_row_sums = _math.softmax_row_sums
softmax_focal_coefs = _math.softmax_focal_coefs
softmax_focal_elem = _math.softmax_focal_elem
softmax_focal_value = _math.softmax_focal_value
element_label_weight = _math.element_label_weight
row_class_weight = _math.row_class_weight

THREADS = 256


@cuda.jit
def _elementwise_grad_hess(kind, hmode, params, y, z, w, cw, g, h):
    n, k = z.shape
    for idx in range(cuda.grid(1), n * k, cuda.gridsize(1)):
        i = idx // k
        j = idx - i * k
        yij, wij = element_label_weight(y, w, cw, i, j)
        gg, hh = elem_grad_hess(kind, hmode, yij, np.float64(z[i, j]), params[j, 0], params[j, 1], params[j, 2])
        g[i, j] = gg * wij
        h[i, j] = hh * wij


@cuda.jit
def _elementwise_value(kind, params, y, z, w, cw, out):
    n, k = z.shape
    for idx in range(cuda.grid(1), n * k, cuda.gridsize(1)):
        i = idx // k
        j = idx - i * k
        yij, wij = element_label_weight(y, w, cw, i, j)
        out[i, j] = elem_value(kind, yij, np.float64(z[i, j]), params[j, 0]) * wij


@cuda.jit
def _softmax_grad_hess(gamma, hmode, factor, y, z, w, cw, g, h):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        t, wi = row_class_weight(y, w, cw, i)
        zmax, s_oth, e_t, zt = softmax_row_sums(z, i, t)
        s_all, q, p_t, f, c2, qg, q_div = softmax_focal_coefs(s_oth, e_t, zt, gamma)
        for j in range(z.shape[1]):
            p_j = math.exp(np.float64(z[i, j]) - zmax) / s_all
            gj, hj = softmax_focal_elem(p_j, j == t, q, p_t, f, c2, qg, q_div, hmode)
            g[i, j] = wi * gj
            h[i, j] = wi * factor * hj


@cuda.jit
def _softmax_value(gamma, y, z, w, cw, out):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        t, wi = row_class_weight(y, w, cw, i)
        _, s_oth, e_t, zt = softmax_row_sums(z, i, t)
        out[i] = softmax_focal_value(s_oth, e_t, zt, gamma) * wi


@cuda.jit
def _mean_abs_residual_sums(y, z, w, sums):
    """sums[j] += w |y - z| and sums[k + j] += w, by atomics (k columns)."""
    n, k = z.shape
    ky = y.shape[1]
    nw = w.shape[0]
    for idx in range(cuda.grid(1), n * k, cuda.gridsize(1)):
        i = idx // k
        j = idx - i * k
        wi = w[i] if nw > 0 else 1.0
        yij = np.float64(y[i, j] if ky > 1 else y[i, 0])
        cuda.atomic.add(sums, j, wi * abs(yij - np.float64(z[i, j])))
        cuda.atomic.add(sums, k + j, wi)


@cuda.jit
def _column_sums(x, sums):
    """sums[j] += x[i, j], accumulated per thread and added by one atomic per thread and column
    (k columns, at most ``MAX_COLUMNS``)."""
    n, k = x.shape
    acc = cuda.local.array(MAX_COLUMNS, np.float64)
    for j in range(k):
        acc[j] = 0.0
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        for j in range(k):
            acc[j] += x[i, j]
    for j in range(k):
        cuda.atomic.add(sums, j, acc[j])


@cuda.jit
def _scale_columns(x, factors):
    n, k = x.shape
    for idx in range(cuda.grid(1), n * k, cuda.gridsize(1)):
        i = idx // k
        j = idx - i * k
        x[i, j] *= factors[j]


@cuda.jit
def _sqrt_elements(x, w):
    """x[i, j] = sqrt(x[i, j] w[i]); an empty ``w``: weight 1."""
    n, k = x.shape
    weighted = w.shape[0] > 0
    for idx in range(cuda.grid(1), n * k, cuda.gridsize(1)):
        i = idx // k
        x[i, idx - i * k] = math.sqrt(x[i, idx - i * k] * (w[i] if weighted else 1.0))


@cuda.jit
def _sum_flat(x, out):
    acc = 0.0
    for idx in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        acc += x[idx]
    cuda.atomic.add(out, 0, acc)


@cuda.jit
def _count_bad(x, mode, k, out):
    """mode 0: NaN/inf; 1: not an integer in [0, k); 2: NaN/inf or negative."""
    bad = 0
    for idx in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        v = np.float64(x[idx])
        if mode == 1:
            bad += 1 if (v < 0.0 or v >= k or v != math.floor(v)) else 0
        else:
            bad += 1 if (math.isnan(v) or math.isinf(v) or (mode == 2 and v < 0.0)) else 0
    cuda.atomic.add(out, 0, bad)


def _blocks(n):
    return max(1, min(1024, math.ceil(n / THREADS)))


def elementwise_grad_hess(kind, hmode, params, y2, z2, w, cw, g, h):
    _elementwise_grad_hess[_blocks(z2.size), THREADS](kind, hmode, params, y2, z2, w, cw, g, h)


def elementwise_value(kind, params, y2, z2, w, cw, out):
    _elementwise_value[_blocks(z2.size), THREADS](kind, params, y2, z2, w, cw, out)


def softmax_grad_hess(gamma, hmode, factor, y, z, w, cw, g, h):
    _softmax_grad_hess[_blocks(z.shape[0]), THREADS](gamma, hmode, factor, y, z, w, cw, g, h)


def softmax_value(gamma, y, z, w, cw, out):
    _softmax_value[_blocks(z.shape[0]), THREADS](gamma, y, z, w, cw, out)


def mean_abs_residual(y2, z2, w):
    k = z2.shape[1]
    sums = cuda.to_device(np.zeros(2 * k))
    _mean_abs_residual_sums[_blocks(z2.size), THREADS](y2, z2, w, sums)
    s = sums.copy_to_host()
    return np.where(s[k:] > 0, s[:k] / np.where(s[k:] > 0, s[k:], 1.0), 0.0)


MAX_COLUMNS = 64  # columns rescaled at once (quantile levels per model)


def rescale_columns(x, target, sqrt=False, weight=None):
    """Scale each column of the (n, k) device array ``x`` in place to the mean ``target``
    (a column of mean 0 stays); ``sqrt``: first the square root of every entry times its row's
    ``weight`` (a device array; None: 1)."""
    n, k = x.shape
    if sqrt:
        w = cuda.device_array(0, np.float64) if weight is None else weight
        _sqrt_elements[_blocks(n * k), THREADS](x, w)
    for j0 in range(0, k, MAX_COLUMNS):
        part = x[:, j0 : j0 + MAX_COLUMNS]
        sums = cuda.to_device(np.zeros(part.shape[1]))
        _column_sums[_blocks(n), THREADS](part, sums)
        mean = sums.copy_to_host() / n
        factors = np.where(mean > 0, target / np.where(mean > 0, mean, 1.0), 1.0)
        _scale_columns[_blocks(part.size), THREADS](part, cuda.to_device(factors))


# ---- device arrays ------------------------------------------------------------------------------
def is_available():
    return cuda.is_available()


def as_device(a):
    """A numba device array for ``a``: zero-copy for ``__cuda_array_interface__`` objects
    (CuPy, numba), a copy to the device for host arrays."""
    if hasattr(a, "copy_to_host"):  # already a numba device array (the simulator's have no interface)
        return a
    if hasattr(a, "__cuda_array_interface__"):
        return cuda.as_cuda_array(a)
    if a.size <= 64:
        return _small_to_device(a)
    return cuda.to_device(np.ascontiguousarray(a))


_SMALL: dict = {}


def _small_to_device(a):
    """Parameters and class weights (a few numbers): uploaded once, then reused (read-only)."""
    a = np.ascontiguousarray(a)
    key = (a.dtype.str, a.shape, a.tobytes())
    d = _SMALL.get(key)
    if d is None:
        if len(_SMALL) > 512:
            _SMALL.clear()
        d = _SMALL[key] = cuda.to_device(a)
    return d


def empty(shape, dtype):
    return cuda.device_array(shape, dtype=dtype)


def _flat(a):
    return a.reshape(a.size) if a.ndim != 1 else a


def total(a):
    """Sum of all entries of a contiguous device array, in float64."""
    out = cuda.to_device(np.zeros(1))
    flat = _flat(a)
    _sum_flat[_blocks(flat.shape[0]), THREADS](flat, out)
    return float(out.copy_to_host()[0])


def count_bad(a, mode, k=0):
    out = cuda.to_device(np.zeros(1, np.int64))
    flat = _flat(a)
    _count_bad[_blocks(flat.shape[0]), THREADS](flat, mode, k, out)
    return int(out.copy_to_host()[0])
