"""Per-element loss math in margin space: the one definition of every formula.

Layer 1 of the package (see ``gbobjectives/__init__.py``). Everything here is a plain
``numba.njit`` function without an explicit signature, so the same source compiles for the
CPU loops (``cpu.py``) and for ``numba.cuda`` kernels (``cuda.py``). Nothing here allocates.
All arithmetic is done in float64 whatever the input dtype (``np.float64(x)``: in Numba,
``float(x)`` of a float32 stays float32). ``exp``, ``expm1``, ``log1p_unit`` and ``log_ge1``
come from ``elementary.py`` (arithmetic only, so the CPU loops vectorise; ``cuda.py`` puts the
libm functions in their place); ``math.*`` elsewhere (``softmax_row_sums``, the GPU's row).

Every function is inlined into its caller (``elementary.inlined``), so constant arguments (the loss
kind, the curvature mode, a focal gamma of 0, 1 or 2) fold away and the CPU loops vectorise.

Notation: ``z`` raw margin, ``y`` label, ``r = z - y``.
Every ``*_grad_hess`` returns the derivative of the *unweighted* loss with respect to ``z``
and the curvature chosen by ``hmode``; the loops multiply by sample and class weights.
"""

import math

import numpy as np

from .elementary import exp, expm1, inlined, log1p_unit, log_ge1

# ---- loss kinds understood by the element-wise loops ----------------------------------------
HUBER = 0
PSEUDO_HUBER = 1
LOGCOSH = 2
QUANTILE = 3
FOCAL = 4  # binary focal / logistic cross-entropy (gamma = 0)
CAUCHY = 5
TUKEY = 6
WELSCH = 7

# ---- curvature ("hessian=") modes ------------------------------------------------------------
H_EXACT = 0  # the true second derivative of the documented loss
H_CONSTANT = 1  # 1 everywhere
H_MAJORIZER = 2  # curvature of a quadratic upper bound touching the loss at the point
H_FLOORED = 3  # classification: exact, floored by a positive curvature of the same scale

LOG2 = math.log(2.0)


# ---- Huber -----------------------------------------------------------------------------------
@inlined
def huber_value(r, delta):
    a = abs(r)
    if a <= delta:
        return 0.5 * r * r
    return delta * (a - 0.5 * delta)


@inlined
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
@inlined
def _hypot1(x):
    """sqrt(1 + x^2) without overflow; a hardware sqrt (libm's hypot costs ~15 ns a call)."""
    a = abs(x)
    return math.sqrt(1.0 + a * a) if a < 1e150 else a


@inlined
def pseudo_huber_value(r, delta):
    x = r / delta
    s = _hypot1(x)
    # delta^2 (s - 1) written as delta^2 x^2 / (s + 1): no cancellation, no overflow
    return delta * delta * x * (x / (s + 1.0))


@inlined
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
@inlined
def logcosh_value(r, scale):
    x = abs(r / scale)
    if x < 1.0:  # cosh x - 1 = expm1(x)^2 / (2 (1 + expm1(x))): no cancellation near 0
        em = expm1(x)
        return scale * scale * log1p_unit(em * em / (2.0 * (1.0 + em)))
    return scale * scale * (x + log1p_unit(exp(-2.0 * x)) - LOG2)


@inlined
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


# ---- redescending losses (x = r / c, c the loss's scale; H_MAJORIZER: the IRLS weight psi(x)/x) --
@inlined
def _log1p_any(t):
    """log(1 + t) for t >= 0 (inf for inf)."""
    return log1p_unit(t) if t <= 1.0 else log_ge1(1.0 + t)


@inlined
def cauchy_value(r, c):
    x = r / c
    return 0.5 * c * c * _log1p_any(x * x)


@inlined
def cauchy_grad_hess(r, c, hmode):
    x = r / c
    x2 = x * x
    d = 1.0 + x2
    g = r / d if x2 < 1e300 else c * (c / r)  # r / (1 + x^2) -> c^2 / r for huge x
    if hmode == H_EXACT:
        h = ((1.0 - x2) / d) / d if x2 < 1e300 else -1.0 / x2
    elif hmode == H_MAJORIZER:
        h = 1.0 / d
    else:
        h = 1.0
    return g, h


@inlined
def tukey_value(r, c):
    x = r / c
    if abs(x) >= 1.0:
        return c * c / 6.0
    u = 1.0 - x * x
    # (1 - u^3) = x^2 (1 + u + u^2): no cancellation for small x
    return c * c / 6.0 * (x * x) * (1.0 + u + u * u)


@inlined
def tukey_grad_hess(r, c, hmode):
    x = r / c
    inside = abs(x) < 1.0
    u = 1.0 - x * x if inside else 0.0
    g = r * u * u
    if hmode == H_EXACT:
        h = u * (1.0 - 5.0 * x * x) if inside else 0.0
    elif hmode == H_MAJORIZER:
        h = u * u
    else:
        h = 1.0
    return g, h


@inlined
def welsch_value(r, c):
    x = r / c
    return -0.5 * c * c * expm1(-(x * x))


@inlined
def welsch_grad_hess(r, c, hmode):
    x = r / c
    x2 = x * x
    e = exp(-x2)
    g = r * e
    if hmode == H_EXACT:
        h = e * (1.0 - 2.0 * x2)
    elif hmode == H_MAJORIZER:
        h = e
    else:
        h = 1.0
    return g, h


# ---- quantile (pinball) ----------------------------------------------------------------------
@inlined
def quantile_value(r, alpha):
    u = -r
    return alpha * u if u > 0.0 else (alpha - 1.0) * u


@inlined
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
@inlined
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


@inlined
def _log_p_t(m, e):
    """log p_t from the same e: -log1p(e) or m - log1p(e) (one log1p)."""
    l1p = log1p_unit(e)
    return -l1p if m >= 0.0 else m - l1p


@inlined
def _focal_terms(y, z):
    """s, p_t, q = 1 - p_t and log p_t, from one exp and one log1p."""
    s, m, e, p_t, q = _focal_probs(y, z)
    return s, p_t, q, _log_p_t(m, e)


@inlined
def _power(q, gamma):
    """q ** gamma with the common focal exponents as products (pow is two transcendental calls)."""
    if gamma == 0.0:
        return 1.0  # 0 ** 0 == 1
    if gamma == 1.0:
        return q
    if gamma == 2.0:
        return q * q
    return q**gamma


@inlined
def focal_value(y, z, gamma):
    s, p_t, q, logp = _focal_terms(y, z)
    if gamma == 0.0:
        return -logp
    return -_power(q, gamma) * logp


@inlined
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
@inlined
def element_label_weight(y, w, cw, i, j):
    """Label of element (i, j) (``y`` is (n, 1) or (n, k)) and its weight: the sample weight
    (``w`` empty: 1) times the class weight of the label (``cw`` empty: none)."""
    yij = np.float64(y[i, j] if y.shape[1] > 1 else y[i, 0])
    wij = w[i] if w.shape[0] > 0 else 1.0
    if cw.shape[0] > 0:
        wij *= cw[int(yij)]
    return yij, wij


@inlined
def row_class_weight(y, w, cw, i):
    """Class id of row i and its weight (sample weight times class weight)."""
    t = int(y[i])
    wi = w[i] if w.shape[0] > 0 else 1.0
    if cw.shape[0] > 0:
        wi *= cw[t]
    return t, wi


# ---- each kind as the element-wise loops call it ------------------------------------------------
# Every kind's value and (grad, hess) of one element in one signature, ``(y, z, param)`` and
# ``(hmode, y, z, param, q_scale, q_eps)``; ``param``: the loss's parameter for the column (delta,
# scale, c, alpha or focal gamma), ``q_scale`` / ``q_eps``: quantile's residual scale and
# majorizer epsilon (the other kinds ignore them). The CPU loops are compiled once per kind with
# that kind's pair in place of ``elem_value`` / ``elem_grad_hess`` (``ELEMENTWISE``), so a fit
# types and compiles only the math of its own loss; the GPU kernels take the kind at run time
# (``elem_value`` / ``elem_grad_hess`` below).
@inlined
def huber_elem_value(y, z, param):
    return huber_value(z - y, param)


@inlined
def huber_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return huber_grad_hess(z - y, param, hmode)


@inlined
def pseudo_huber_elem_value(y, z, param):
    return pseudo_huber_value(z - y, param)


@inlined
def pseudo_huber_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return pseudo_huber_grad_hess(z - y, param, hmode)


@inlined
def logcosh_elem_value(y, z, param):
    return logcosh_value(z - y, param)


@inlined
def logcosh_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return logcosh_grad_hess(z - y, param, hmode)


@inlined
def cauchy_elem_value(y, z, param):
    return cauchy_value(z - y, param)


@inlined
def cauchy_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return cauchy_grad_hess(z - y, param, hmode)


@inlined
def tukey_elem_value(y, z, param):
    return tukey_value(z - y, param)


@inlined
def tukey_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return tukey_grad_hess(z - y, param, hmode)


@inlined
def welsch_elem_value(y, z, param):
    return welsch_value(z - y, param)


@inlined
def welsch_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return welsch_grad_hess(z - y, param, hmode)


@inlined
def quantile_elem_value(y, z, param):
    return quantile_value(z - y, param)


@inlined
def quantile_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return quantile_grad_hess(z - y, param, q_scale, q_eps, hmode)


@inlined
def focal_elem_value(y, z, param):
    return focal_value(y, z, param)


@inlined
def focal_elem_grad_hess(hmode, y, z, param, q_scale, q_eps):
    return focal_grad_hess(y, z, param, hmode)


ELEMENTWISE = {  # kind -> (value, grad_hess) of one element, as above
    HUBER: (huber_elem_value, huber_elem_grad_hess),
    PSEUDO_HUBER: (pseudo_huber_elem_value, pseudo_huber_elem_grad_hess),
    LOGCOSH: (logcosh_elem_value, logcosh_elem_grad_hess),
    QUANTILE: (quantile_elem_value, quantile_elem_grad_hess),
    FOCAL: (focal_elem_value, focal_elem_grad_hess),
    CAUCHY: (cauchy_elem_value, cauchy_elem_grad_hess),
    TUKEY: (tukey_elem_value, tukey_elem_grad_hess),
    WELSCH: (welsch_elem_value, welsch_elem_grad_hess),
}


@inlined
def elem_value(kind, y, z, param):
    """The value of one element of the loss ``kind`` chosen at run time (the GPU kernels)."""
    if kind == HUBER:
        return huber_elem_value(y, z, param)
    if kind == PSEUDO_HUBER:
        return pseudo_huber_elem_value(y, z, param)
    if kind == LOGCOSH:
        return logcosh_elem_value(y, z, param)
    if kind == FOCAL:
        return focal_elem_value(y, z, param)
    if kind == CAUCHY:
        return cauchy_elem_value(y, z, param)
    if kind == TUKEY:
        return tukey_elem_value(y, z, param)
    if kind == WELSCH:
        return welsch_elem_value(y, z, param)
    return quantile_elem_value(y, z, param)


@inlined
def elem_grad_hess(kind, hmode, y, z, param, q_scale, q_eps):
    """(grad, hess) of one element of the loss ``kind`` chosen at run time (the GPU kernels)."""
    if kind == HUBER:
        return huber_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    if kind == PSEUDO_HUBER:
        return pseudo_huber_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    if kind == LOGCOSH:
        return logcosh_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    if kind == FOCAL:
        return focal_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    if kind == CAUCHY:
        return cauchy_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    if kind == TUKEY:
        return tukey_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    if kind == WELSCH:
        return welsch_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)
    return quantile_elem_grad_hess(hmode, y, z, param, q_scale, q_eps)


# ---- softmax focal (cross-entropy when gamma == 0) ---------------------------------------------
# In three steps, so that the CPU loops can run each over a block of rows in vectorised passes
# (cpu.py) and the GPU kernels row by row (``softmax_row_sums``, then the same two functions):
# 1. the row's sums: zmax, s_oth = sum_{j != t} exp(z_j - zmax), e_t = exp(zt), zt = z_t - zmax;
# 2. ``softmax_focal_coefs``: everything the row's classes share, from those three numbers;
# 3. ``softmax_focal_elem``: each class's gradient and curvature from its p_j and the row's.
@inlined
def softmax_row_sums(z, i, t):
    """(zmax, s_oth, e_t, zt = z_t - zmax) of row i, true class t, one row at a time (the GPU
    kernels; libm exp). The other classes' mass is summed, never taken as 1 - p_t."""
    k = z.shape[1]
    zmax = np.float64(z[i, 0])
    for j in range(1, k):
        zmax = max(zmax, np.float64(z[i, j]))
    s_oth = 0.0
    for j in range(k):
        if j != t:
            s_oth += math.exp(np.float64(z[i, j]) - zmax)
    zt = np.float64(z[i, t]) - zmax
    return zmax, s_oth, math.exp(zt), zt


@inlined
def softmax_logp_q(s_oth, e_t, zt):
    """(s_all, p_t, q = 1 - p_t, log p_t) from the row's sums and zt = z_t - zmax. log p_t from
    log1p when p_t > 1/2; s_all >= 1 (the largest exp is 1), so ``log_ge1`` applies."""
    s_all = s_oth + e_t
    logp = -log1p_unit(s_oth / e_t) if s_oth < e_t else zt - log_ge1(s_all)
    # p_t = e_t / s_all, not 1 - q, which cancels when p_t is tiny (a confidently wrong row)
    return s_all, e_t / s_all, s_oth / s_all, logp


@inlined
def softmax_focal_value(s_oth, e_t, zt, gamma):
    """Unweighted focal loss of a row, -(1 - p_t)**gamma log p_t, from its sums."""
    s_all, p_t, q, logp = softmax_logp_q(s_oth, e_t, zt)
    if gamma == 0.0:
        return -logp
    return -_power(q, gamma) * logp


@inlined
def softmax_focal_coefs(s_oth, e_t, zt, gamma):
    """What every class of a row needs for its gradient and curvature, from the row's sums:
    ``(s_all, q, p_t, f, c2, qg, q_div)`` for ``softmax_focal_elem``; q_div is q, or 1 where q = 0
    (a divisor; not 1 / q, which overflows to inf for a subnormal q).

    A row with q = 1 - p_t = 0 (all mass on the true class) gets f = c2 = qg = 0: a zero
    gradient and curvature. Branches are selects (both sides computed), so a loop over rows
    vectorises.
    """
    s_all, p_t, q, logp = softmax_logp_q(s_oth, e_t, zt)
    pos = q > 0.0
    qs = q if pos else 1.0  # a safe divisor; the results are zeroed below
    # log(p_t) / q, accurate when q is tiny (rho = s_oth / e_t -> 0)
    tiny_q = s_oth < 1e-5 * e_t  # rho = s_oth / e_t -> 0
    rho = s_oth / e_t if tiny_q else 0.0
    lpq = -(1.0 + rho) * (1.0 - rho * (0.5 - rho / 3.0)) if tiny_q else logp / qs
    # (gamma p_t log p_t + p_t - 1) / q; p_t log p_t -> 0 as p_t -> 0
    a_q = (gamma * p_t * lpq if gamma > 0.0 and p_t > 0.0 else 0.0) - 1.0
    qg = _power(q, gamma) if pos else 0.0
    f = qg * a_q  # (1-p_t)^(gamma-1) (gamma p_t log p_t + p_t - 1), finite for all gamma >= 0
    b = -(gamma - 1.0) * a_q + ((gamma * logp if gamma > 0.0 else 0.0) + gamma + 1.0)
    c2 = p_t * q * qg * b if p_t > 0.0 else 0.0  # f' p_t (d_j - p_j)^2 = c2 * ((d_j - p_j) / q)^2
    return s_all, q, p_t, f, c2, qg, qs


@inlined
def softmax_focal_elem(p_j, is_t, q, p_t, f, c2, qg, q_div, hmode):
    """(grad, diagonal curvature) of class j, unweighted, from its probability ``p_j``, whether
    it is the true class, and the row's ``softmax_focal_coefs``; ``hmode`` H_EXACT or H_FLOORED.
    The curvature is then scaled by the loss's factor (2 for XGBoost's softprob convention,
    K/(K-1) for LightGBM's)."""
    d_p = q if is_t else -p_j  # d_j - p_j; for the true class 1 - p_t = q, exactly
    pj1 = p_t * q if is_t else p_j * (1.0 - p_j)
    ratio = d_p / q_div
    hj = c2 * ratio * ratio - f * pj1
    if hmode == H_FLOORED:
        hj = max(hj, qg * pj1)
    return f * d_p, hj
