"""Plain NumPy reference implementations, written from the losses' formulas as directly as
possible (no stability tricks): valid for moderate inputs, slow, obviously right.

Each returns (value, grad, exact_hess) per element (softmax: value per row)."""

import numpy as np
from scipy.special import expit, softmax


def huber(y, z, delta):
    r = z - y
    inside = np.abs(r) <= delta
    value = np.where(inside, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    return value, np.clip(r, -delta, delta), inside.astype(float)


def pseudo_huber(y, z, delta):
    r = z - y
    s = np.sqrt(1 + (r / delta) ** 2)
    return delta**2 * (s - 1), r / s, s**-3.0


def logcosh(y, z, scale):
    x = (z - y) / scale
    return scale**2 * np.log(np.cosh(x)), scale * np.tanh(x), 1 / np.cosh(x) ** 2


def quantile(y, z, alpha):
    u = y - z
    value = np.maximum(alpha * u, (alpha - 1) * u)
    return value, np.where(u > 0, -alpha, 1 - alpha), np.zeros_like(u)


def focal_binary(y, z, gamma, class_w=(1.0, 1.0)):
    p = expit(z)
    pt = np.where(y == 1, p, 1 - p)
    at = np.where(y == 1, class_w[1], class_w[0])
    s = 2 * y - 1
    value = -at * (1 - pt) ** gamma * np.log(pt)
    grad = s * at * (1 - pt) ** gamma * (gamma * pt * np.log(pt) + pt - 1)
    hess = at * pt * (1 - pt) ** gamma * ((1 - pt) * (gamma * np.log(pt) + 2 * gamma + 1) - gamma**2 * pt * np.log(pt))
    return value, grad, hess


def focal_softmax(y, z, gamma, class_w=None):
    n, k = z.shape
    t = y.astype(int)
    p = softmax(z, axis=1)
    d = np.eye(k)[t]
    pt = p[np.arange(n), t][:, None]
    at = (np.ones(k) if class_w is None else np.asarray(class_w))[t][:, None]
    lp = np.log(pt)
    f = (1 - pt) ** (gamma - 1) * (gamma * pt * lp + pt - 1)
    fp = (1 - pt) ** (gamma - 2) * (-(gamma - 1) * (gamma * pt * lp + pt - 1) + (1 - pt) * (gamma * lp + gamma + 1))
    value = (-at * (1 - pt) ** gamma * lp)[:, 0]
    grad = at * f * (d - p)
    hess = at * (fp * pt * (d - p) ** 2 - f * p * (1 - p))
    return value, grad, hess


def class_balanced_weights(counts, beta):
    counts = np.asarray(counts, float)
    w = (1 - beta) / (1 - beta ** np.maximum(counts, 1)) if beta > 0 else np.ones_like(counts)
    return w * len(w) / w.sum()


def cauchy(y, z, c):
    r = z - y
    x = r / c
    return c**2 / 2 * np.log(1 + x**2), r / (1 + x**2), (1 - x**2) / (1 + x**2) ** 2


def tukey(y, z, c):
    r = z - y
    x = r / c
    inside = np.abs(x) < 1
    value = np.where(inside, c**2 / 6 * (1 - (1 - x**2) ** 3), c**2 / 6)
    return value, np.where(inside, r * (1 - x**2) ** 2, 0.0), np.where(inside, (1 - x**2) * (1 - 5 * x**2), 0.0)


def welsch(y, z, c):
    r = z - y
    x = r / c
    e = np.exp(-(x**2))
    return c**2 / 2 * (1 - e), r * e, e * (1 - 2 * x**2)


def weighted_median(x, w=None):
    """The smallest x whose cumulative weight (in sorted order) reaches half the total."""
    w = np.ones_like(x) if w is None else w
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return x[order][np.nonzero(cum >= cum[-1] / 2)[0][0]]


def robust_scale(r, w=None):
    """1.4826 x the weighted median absolute deviation of the residuals r from their median."""
    return 1.4826 * weighted_median(np.abs(r - weighted_median(r, w)), w)
