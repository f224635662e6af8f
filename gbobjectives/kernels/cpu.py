"""The CPU loops: one parallel loop per shape of loss, serving every loss kind.

Layer 2: imports only ``scalar``. Weights are applied here and nowhere else:
``w`` is the per-row sample weight (length 0 means unweighted) and ``cw`` a per-class weight
indexed by the integer label (length 0 means none; focal's alpha and class-balanced weights
both live there). Compiled lazily on first call and cached on disk (``cache=True``).

Each loop exists twice, compiled from the same source: ``parallel=True`` for large inputs and a
serial twin for small ones (below ``PARALLEL_MIN_ELEMENTS``), where starting a thread pool costs
more than it saves and its idle threads compete with the booster's OpenMP pool. ``loop(name,
size)`` picks one.

Shapes: ``z`` is always 2-D ``(n, k)`` (a 1-D margin is passed as an ``(n, 1)`` view), in any
memory order; ``y`` is ``(n, 1)`` or ``(n, k)`` for the element-wise loops and ``(n,)`` class
ids for the softmax loops. Outputs are written into preallocated arrays.
"""

import types

import numpy as np
from numba import njit, prange

from .scalar import (
    elem_grad_hess,
    elem_value,
    element_label_weight,
    row_class_weight,
    softmax_focal_grad_hess_row,
    softmax_focal_value,
)


def _elementwise_grad_hess(kind, hmode, params, y, z, w, cw, g, h):
    n, k = z.shape
    for i in prange(n):
        for j in range(k):
            yij, wij = element_label_weight(y, w, cw, i, j)
            gg, hh = elem_grad_hess(kind, hmode, yij, np.float64(z[i, j]), params[j, 0], params[j, 1], params[j, 2])
            g[i, j] = gg * wij
            h[i, j] = hh * wij


def _elementwise_value(kind, params, y, z, w, cw, out):
    n, k = z.shape
    for i in prange(n):
        for j in range(k):
            yij, wij = element_label_weight(y, w, cw, i, j)
            out[i, j] = elem_value(kind, yij, np.float64(z[i, j]), params[j, 0]) * wij


def _softmax_grad_hess(gamma, hmode, factor, y, z, w, cw, g, h):
    for i in prange(z.shape[0]):
        t, wi = row_class_weight(y, w, cw, i)
        softmax_focal_grad_hess_row(z, i, t, gamma, hmode, factor, wi, g, h)


def _softmax_value(gamma, y, z, w, cw, out):
    for i in prange(z.shape[0]):
        t, wi = row_class_weight(y, w, cw, i)
        out[i] = softmax_focal_value(z, i, t, gamma) * wi


def _mean_abs_residual(y, z, w):
    """Per column, the (weighted) mean of |y - z|: the scale the quantile curvature needs."""
    n, k = z.shape
    ky = y.shape[1]
    nw = w.shape[0]
    out = np.zeros(k)
    for j in range(k):
        num = 0.0
        den = 0.0
        for i in prange(n):
            wi = w[i] if nw > 0 else 1.0
            yij = np.float64(y[i, j] if ky > 1 else y[i, 0])
            num += wi * abs(yij - np.float64(z[i, j]))
            den += wi
        out[j] = num / den if den > 0.0 else 0.0
    return out


PARALLEL_MIN_ELEMENTS = 100_000


def _serial_twin(func, name):
    """The same source under another name (its own on-disk cache entry), compiled serially."""
    twin = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__, func.__closure__)
    twin.__qualname__ = name
    return njit(cache=True)(twin)


_SOURCES = {
    "elementwise_grad_hess": _elementwise_grad_hess,
    "elementwise_value": _elementwise_value,
    "softmax_grad_hess": _softmax_grad_hess,
    "softmax_value": _softmax_value,
    "mean_abs_residual": _mean_abs_residual,
}
PARALLEL = {name: njit(parallel=True, cache=True)(f) for name, f in _SOURCES.items()}
SERIAL = {name: _serial_twin(f, name + "_serial") for name, f in _SOURCES.items()}


def loop(name, size):
    """The parallel loop ``name`` for ``size`` elements or more, else its serial twin."""
    return (PARALLEL if size >= PARALLEL_MIN_ELEMENTS else SERIAL)[name]
