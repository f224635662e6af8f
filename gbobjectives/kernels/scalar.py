"""Per-element loss math in margin space: the one definition of every formula.

Layer 1 of the package (see ``gbobjectives/__init__.py``). Everything here is a plain
``numba.njit`` function without an explicit signature, so the same source compiles for the
CPU loops (``cpu.py``) and for ``numba.cuda`` kernels (``cuda.py``). Nothing here allocates.
All arithmetic is done in float64 whatever the input dtype (``np.float64(x)``: in Numba,
``float(x)`` of a float32 stays float32). ``exp``, ``expm1`` and ``log1p_unit`` come from
``elementary.py`` (arithmetic only, so the CPU loops vectorise; ``cuda.py`` puts the libm
functions in their place); ``math.*`` elsewhere, and in the softmax rows, whose short inner
loops stay scalar, where libm's exp is the faster one (measured: 9.6 vs 15.6 ms for 1M elements).

Every function is inlined into its caller (``forceinline``), so constant arguments (the loss
kind, the curvature mode, a focal gamma of 0, 1 or 2) fold away and the CPU loops vectorise.

Notation (../shared/math.md): ``z`` raw margin, ``y`` label, ``r = z - y``.
Every ``*_grad_hess`` returns the derivative of the *unweighted* loss with respect to ``z``
and the curvature chosen by ``hmode``; the loops multiply by sample and class weights.
"""

import math

import numpy as np
from numba import njit

from .elementary import exp, expm1, log1p_unit

# ---- loss kinds understood by the element-wise loops ----------------------------------------
HUBER = 0
PSEUDO_HUBER = 1
LOGCOSH = 2
QUANTILE = 3
FOCAL = 4  # binary focal / logistic cross-entropy (gamma = 0)

# ---- curvature ("hessian=") modes ------------------------------------------------------------
H_EXACT = 0  # the true second derivative of the documented loss
H_CONSTANT = 1  # 1 everywhere
H_MAJORIZER = 2  # curvature of a quadratic upper bound touching the loss at the point
H_FLOORED = 3  # classification: exact, floored by a positive curvature of the same scale

LOG2 = math.log(2.0)


# ---- Huber -----------------------------------------------------------------------------------
@njit(forceinline=True)
def huber_value(r, delta):
    a = abs(r)
    if a <= delta:
        return 0.5 * r * r
    return delta * (a - 0.5 * delta)


@njit(forceinline=True)
def huber_grad_hess(r, delta, hmode):
    a = abs(r)
    g = max(-delta, min(delta, r))
    if hmode == H_EXACT:
        h = 1.0 if a <= delta else 0.0
    elif hmode == H_MAJORIZER:
        h = 1.0 if a <= delta else delta / a
    else:
        h = 1.0
    return g, h


# ---- pseudo-Huber ----------------------------------------------------------------------------
@njit(forceinline=True)
def _hypot1(x):
    """sqrt(1 + x^2) without overflow; a hardware sqrt (libm's hypot costs ~15 ns a call)."""
    a = abs(x)
    return math.sqrt(1.0 + a * a) if a < 1e150 else a


@njit(forceinline=True)
def pseudo_huber_value(r, delta):
    x = r / delta
    s = _hypot1(x)
    # delta^2 (s - 1) written as delta^2 x^2 / (s + 1): no cancellation, no overflow
    return delta * delta * x * (x / (s + 1.0))


@njit(forceinline=True)
def pseudo_huber_grad_hess(r, delta, hmode):
    x = r / delta
    s = _hypot1(x)
    g = delta * (x / s)
    if hmode == H_EXACT:
        h = 1.0 / (s * s * s)
    elif hmode == H_MAJORIZER:
        h = 1.0 / s
    else:
        h = 1.0
    return g, h


# ---- log-cosh --------------------------------------------------------------------------------
@njit(forceinline=True)
def logcosh_value(r, scale):
    x = abs(r / scale)
    return scale * scale * (x + log1p_unit(exp(-2.0 * x)) - LOG2)


@njit(forceinline=True)
def logcosh_grad_hess(r, scale, hmode):
    x = r / scale
    ax = abs(x)
    em = expm1(-2.0 * ax)
    t_abs = -em / (2.0 + em)  # tanh|x|, no cancellation near 0
    g = scale * (t_abs if x >= 0.0 else -t_abs)
    if hmode == H_EXACT:
        e = exp(-2.0 * ax)  # not 1 + em: keeps its relative accuracy when tiny
        h = 4.0 * e / ((1.0 + e) * (1.0 + e))
    elif hmode == H_MAJORIZER:
        h = 1.0 - x * x / 3.0 if ax < 1e-4 else t_abs / ax
    else:
        h = 1.0
    return g, h


# ---- quantile (pinball) ----------------------------------------------------------------------
@njit(forceinline=True)
def quantile_value(r, alpha):
    u = -r
    return alpha * u if u > 0.0 else (alpha - 1.0) * u


@njit(forceinline=True)
def quantile_grad_hess(r, alpha, scale, eps, hmode):
    """Majorizer: ``scale * (g, 1 / (2 (|r| + eps)))``: a common factor leaves every Newton
    step -G/H unchanged and makes the curvature O(1) for residuals of size ``scale``."""
    # right derivative at the kink (u = y - z == 0): 1 - alpha
    g = -alpha if r < 0.0 else 1.0 - alpha
    if hmode == H_EXACT:
        h = 0.0
    elif hmode == H_MAJORIZER:
        h = 0.5 * scale / (abs(r) + eps)
        g *= scale
    else:
        h = 1.0
    return g, h


# ---- binary focal (cross-entropy when gamma == 0) ---------------------------------------------
@njit(forceinline=True)
def _focal_probs(y, z):
    """Sign s, signed margin m = s z, e = exp(-|m|) and the stable p_t = 1/(1+e) or e/(1+e),
    q = 1 - p_t: one exp."""
    s = 1.0 if y > 0.5 else -1.0
    m = s * z
    e = exp(-abs(m))
    inv = 1.0 / (1.0 + e)
    if m >= 0.0:
        return s, m, e, inv, e * inv
    return s, m, e, e * inv, inv


@njit(forceinline=True)
def _log_p_t(m, e):
    """log p_t from the same e: -log1p(e) or m - log1p(e) (one log1p)."""
    l1p = log1p_unit(e)
    return -l1p if m >= 0.0 else m - l1p


@njit(forceinline=True)
def _focal_terms(y, z):
    """s, p_t, q = 1 - p_t and log p_t, from one exp and one log1p."""
    s, m, e, p_t, q = _focal_probs(y, z)
    return s, p_t, q, _log_p_t(m, e)


@njit(forceinline=True)
def _power(q, gamma):
    """q ** gamma with the common focal exponents as products (pow is two transcendental calls)."""
    if gamma == 0.0:
        return 1.0  # 0 ** 0 == 1
    if gamma == 1.0:
        return q
    if gamma == 2.0:
        return q * q
    return q**gamma


@njit(forceinline=True)
def focal_value(y, z, gamma):
    s, p_t, q, logp = _focal_terms(y, z)
    if gamma == 0.0:
        return -logp
    return -_power(q, gamma) * logp


@njit(forceinline=True)
def focal_grad_hess(y, z, gamma, hmode):
    if gamma == 0.0:  # cross-entropy: g = -s q, h = p_t q (floored == exact); no log needed
        s, m, e, p_t, q = _focal_probs(y, z)
        return -s * q, (1.0 if hmode == H_CONSTANT else p_t * q)
    s, p_t, q, logp = _focal_terms(y, z)
    qg = _power(q, gamma)
    g = s * qg * (gamma * p_t * logp - q)
    h = p_t * qg * (q * (gamma * logp + 2.0 * gamma + 1.0) - gamma * gamma * p_t * logp)
    if hmode == H_FLOORED:
        # cross-entropy curvature p_t q, modulated like the gradient: positive, equal to the
        # exact Hessian when gamma == 0
        h = max(h, p_t * q * qg)
    elif hmode == H_CONSTANT:
        h = 1.0
    return g, h


# ---- labels and weights, as every loop reads them ---------------------------------------------
@njit(forceinline=True)
def element_label_weight(y, w, cw, i, j):
    """Label of element (i, j) (``y`` is (n, 1) or (n, k)) and its weight: the sample weight
    (``w`` empty: 1) times the class weight of the label (``cw`` empty: none)."""
    yij = np.float64(y[i, j] if y.shape[1] > 1 else y[i, 0])
    wij = w[i] if w.shape[0] > 0 else 1.0
    if cw.shape[0] > 0:
        wij *= cw[int(yij)]
    return yij, wij


@njit(forceinline=True)
def row_class_weight(y, w, cw, i):
    """Class id of row i and its weight (sample weight times class weight)."""
    t = int(y[i])
    wi = w[i] if w.shape[0] > 0 else 1.0
    if cw.shape[0] > 0:
        wi *= cw[t]
    return t, wi


# ---- dispatch for the element-wise loops ------------------------------------------------------
@njit(forceinline=True)
def elem_value(kind, y, z, a):
    if kind == FOCAL:
        return focal_value(y, z, a)
    r = z - y
    if kind == HUBER:
        return huber_value(r, a)
    if kind == PSEUDO_HUBER:
        return pseudo_huber_value(r, a)
    if kind == LOGCOSH:
        return logcosh_value(r, a)
    return quantile_value(r, a)


@njit(forceinline=True)
def elem_grad_hess(kind, hmode, y, z, a, b, c):
    """(grad, hess) of one element; ``a``, ``b``, ``c``: the loss's per-column parameters."""
    if kind == FOCAL:
        return focal_grad_hess(y, z, a, hmode)
    r = z - y
    if kind == HUBER:
        return huber_grad_hess(r, a, hmode)
    if kind == PSEUDO_HUBER:
        return pseudo_huber_grad_hess(r, a, hmode)
    if kind == LOGCOSH:
        return logcosh_grad_hess(r, a, hmode)
    return quantile_grad_hess(r, a, b, c, hmode)


# ---- softmax focal (cross-entropy when gamma == 0), one row at a time --------------------------
# ``e``: None (the row's exps computed here, with libm's exp: the GPU kernels), or the row's
# exp(z_j - max z) computed beforehand by ``softmax_exps`` (the CPU loops, which compute them
# for a block of rows in one vectorised pass). Either way each exp is the same function of z.
@njit(forceinline=True)
def _row_max(z, i):
    zmax = np.float64(z[i, 0])
    for j in range(1, z.shape[1]):
        if z[i, j] > zmax:
            zmax = np.float64(z[i, j])
    return zmax


@njit(forceinline=True)
def softmax_exps(z, i0, e):
    """e[r, j] = exp(z[i0 + r, j] - max_j z[i0 + r, j]) for the rows of the C-ordered scratch
    ``e``: one flat loop over the block, which LLVM vectorises (the arithmetic exp)."""
    k = z.shape[1]
    for r in range(e.shape[0]):
        zmax = _row_max(z, i0 + r)
        for j in range(k):
            e[r, j] = np.float64(z[i0 + r, j]) - zmax
    flat = e.reshape(e.size)
    for m in range(flat.size):
        flat[m] = exp(flat[m])


@njit(forceinline=True)
def _softmax_row_terms(z, i, t, e):
    """zmax, S = sum_j exp(z_j - zmax), q = 1 - p_t and log p_t for row i, true class t.

    q is summed over the other classes (never 1 - p_t), log p_t from log1p when p_t > 1/2.
    """
    k = z.shape[1]
    zmax = _row_max(z, i)
    z_t = np.float64(z[i, t]) - zmax
    s_oth = 0.0
    if e is None:
        for j in range(k):
            if j != t:
                s_oth += math.exp(np.float64(z[i, j]) - zmax)
        e_t = math.exp(z_t)
    else:
        for j in range(k):
            s_oth += e[j] if j != t else 0.0
        e_t = e[t]
    s_all = s_oth + e_t
    q = s_oth / s_all
    if s_oth < e_t:
        logp = -log1p_unit(s_oth / e_t)
    else:
        logp = z_t - math.log(s_all)
    return zmax, s_all, q, logp, s_oth, e_t


@njit(forceinline=True)
def softmax_focal_value(z, i, t, gamma, e):
    zmax, s_all, q, logp, s_oth, e_t = _softmax_row_terms(z, i, t, e)
    if gamma == 0.0:
        return -logp
    return -_power(q, gamma) * logp


@njit(forceinline=True)
def softmax_focal_grad_hess_row(z, i, t, gamma, hmode, factor, w, g, h, e):
    """Write w * grad and w * (diagonal) curvature of row i into g[i, :], h[i, :] (``e``: see
    above).

    ``factor`` scales the curvature (2 for XGBoost's softprob convention, K/(K-1) for
    LightGBM's); ``hmode`` H_EXACT or H_FLOORED.
    """
    k = z.shape[1]
    zmax, s_all, q, logp, s_oth, e_t = _softmax_row_terms(z, i, t, e)
    p_t = e_t / s_all  # not 1 - q, which cancels when p_t is tiny (a confidently wrong row)
    if q <= 0.0:
        for j in range(k):
            g[i, j] = 0.0
            h[i, j] = 0.0
        return
    # log(p_t) / q, accurate when q is tiny (rho = s_oth / e_t -> 0)
    if s_oth < 1e-5 * e_t:  # rho = s_oth / e_t -> 0
        rho = s_oth / e_t
        lpq = -(1.0 + rho) * (1.0 - rho * (0.5 - rho / 3.0))
    else:
        lpq = logp / q
    # (gamma p_t log p_t + p_t - 1) / q; p_t log p_t -> 0 as p_t -> 0
    a_q = (gamma * p_t * lpq if gamma > 0.0 and p_t > 0.0 else 0.0) - 1.0
    qg = _power(q, gamma)
    f = qg * a_q  # (1-p_t)^(gamma-1) (gamma p_t log p_t + p_t - 1), finite for all gamma >= 0
    b = -(gamma - 1.0) * a_q + ((gamma * logp if gamma > 0.0 else 0.0) + gamma + 1.0)
    c2 = p_t * q * qg * b if p_t > 0.0 else 0.0  # f' p_t (d_j - p_j)^2 = c2 * ((d_j - p_j) / q)^2
    for j in range(k):
        p_j = (math.exp(np.float64(z[i, j]) - zmax) if e is None else e[j]) / s_all
        if j == t:
            d_p = q  # d_j - p_j = 1 - p_t, exactly
            pj1 = p_t * q
        else:
            d_p = -p_j
            pj1 = p_j * (1.0 - p_j)
        gj = f * d_p
        ratio = d_p / q
        hj = c2 * ratio * ratio - f * pj1
        if hmode == H_FLOORED:
            hj = max(hj, qg * pj1)
        g[i, j] = w * gj
        h[i, j] = w * factor * hj
