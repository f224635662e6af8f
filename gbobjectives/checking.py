"""``check_gradients``: finite-difference verification of any object with the loss interface.

Layer 4 (it only calls ``value`` and ``grad_hess``; it works for user-written losses too).
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


@dataclass
class GradientCheck:
    """Worst finite-difference errors per output column (arrays of length k).

    ``*_abs``: worst ``|analytic - fd|``; ``*_rel``: worst ``|analytic - fd| / max(|analytic|,
    |fd|, floor * the column's largest analytic value)`` (for the Hessian: the largest of its own
    and the gradient's, so that an identically zero Hessian is not measured against noise);
    ``n_checked``: elements compared (points near a kink are skipped);
    ``hessian``: the curvature that was checked. The per-element arrays are kept for digging.
    """

    grad_abs: np.ndarray
    grad_rel: np.ndarray
    hess_abs: np.ndarray
    hess_rel: np.ndarray
    n_checked: np.ndarray
    hessian: str
    grad: np.ndarray = field(repr=False)
    grad_fd: np.ndarray = field(repr=False)
    hess: np.ndarray = field(repr=False)
    hess_fd: np.ndarray = field(repr=False)
    checked: np.ndarray = field(repr=False)

    def ok(self, rtol=1e-6, atol=1e-8):
        """True if every checked element satisfies ``|a - fd| <= atol + rtol * |fd|``."""
        m = self.checked
        g_ok = np.abs(self.grad - self.grad_fd) <= atol + rtol * np.abs(self.grad_fd)
        h_ok = np.abs(self.hess - self.hess_fd) <= atol + rtol * np.abs(self.hess_fd)
        return bool(np.all(g_ok[m]) and np.all(h_ok[m]))


def _central4(f, x, step):
    """4th-order central difference of f (which returns an (n, k) array) along x's column."""
    return (-f(x + 2 * step) + 8 * f(x + step) - 8 * f(x - step) + f(x - 2 * step)) / (12 * step)


def check_gradients(
    loss: Any,
    y: ArrayLike,
    raw: ArrayLike,
    sample_weight: ArrayLike | None = None,
    *,
    step: float = 1e-4,
    kink_steps: float = 4.0,
    exact: bool = True,
    floor: float = 1e-6,
) -> "GradientCheck":
    """Compare ``loss.grad_hess`` with 4th-order central finite differences.

    The gradient is checked against differences of ``loss.value`` and the Hessian (diagonal)
    against differences of the gradient, one output column at a time, with the absolute step
    ``step`` (the losses vary on the scale of their parameters, not of ``|raw|``; the error
    bound is ~``step^4`` times the 5th derivative plus ~``1e-16 |value| / step``). Elements
    within ``kink_steps`` steps of a kink (where the loss
    reports one through ``kink_distance(y, raw)``) are skipped. Rows must be independent: the
    loss of row i depends only on row i of ``raw``.

    ``exact``: if the loss has ``with_hessian`` and another curvature is selected, check its
    exact Hessian instead (the default curvatures are deliberately not second derivatives).
    Works with any object that has ``value(y, raw, sample_weight)`` (per-element or per-row
    values, weights applied) and ``grad_hess(y, raw, sample_weight)``.
    """
    hessian = getattr(loss, "hessian", "exact")
    if exact and hessian != "exact" and hasattr(loss, "with_hessian"):
        loss = loss.with_hessian("exact")
        hessian = "exact"
    raw = np.array(raw, dtype=np.float64)  # a copy, differentiated in float64
    shape = raw.shape
    raw2 = raw.reshape(shape[0], -1)
    k = raw2.shape[1]
    g, h = (np.asarray(a, np.float64).reshape(raw2.shape) for a in loss.grad_hess(y, raw, sample_weight))
    steps = np.full(raw2.shape, float(step))
    g_fd = np.empty_like(raw2)
    h_fd = np.empty_like(raw2)
    for j in range(k):

        def along(fun, j=j):
            def f(xj):
                x = raw2.copy()
                x[:, j] = xj
                out = np.asarray(fun(x.reshape(shape)), np.float64)
                out = out.reshape(shape[0], -1)
                return out[:, j] if out.shape[1] == k else out[:, 0]

            return f

        value_j = along(lambda x: loss.value(y, x, sample_weight))
        grad_j = along(lambda x: loss.grad_hess(y, x, sample_weight)[0])
        g_fd[:, j] = _central4(value_j, raw2[:, j], steps[:, j])
        h_fd[:, j] = _central4(grad_j, raw2[:, j], steps[:, j])
    checked = np.ones(raw2.shape, bool)
    kinks = getattr(loss, "kink_distance", lambda y, raw: None)(y, raw)
    if kinks is not None:
        checked = np.asarray(kinks).reshape(raw2.shape) > kink_steps * steps

    def worst(a, fd, scale):
        err = np.where(checked, np.abs(a - fd), 0.0)
        rel = err / np.maximum(np.maximum(np.abs(a), np.abs(fd)), floor * scale + 1e-300)
        return err.max(axis=0), rel.max(axis=0)

    g_scale = np.abs(g).max(axis=0)
    g_abs, g_rel = worst(g, g_fd, g_scale)
    # an identically zero exact Hessian (quantile) is measured on the gradient's scale
    h_abs, h_rel = worst(h, h_fd, np.maximum(np.abs(h).max(axis=0), g_scale))
    return GradientCheck(g_abs, g_rel, h_abs, h_rel, checked.sum(axis=0), hessian, g, g_fd, h, h_fd, checked)
