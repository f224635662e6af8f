"""Regression losses (identity link): Huber, pseudo-Huber, log-cosh, quantile.

Parameters, validation, curvature choice and optimal constants; the formulas themselves are in
``kernels/scalar.py``. Default curvatures were chosen with benchmarks/hessian_choice.py (its
table is in benchmarks/results/hessian_choice.md).
"""

import numpy as np

from ..kernels import scalar
from . import _validation as v
from .base import (
    HESSIAN_CODES,
    Loss,
    elementwise_grad_hess,
    elementwise_value,
    mean_abs_residual,
    root_of_gradient_sum,
)


class _Regression(Loss):
    kind = None

    def _levels(self):
        """Number of output columns the loss itself defines (quantile levels), else None."""
        return None

    def _params(self, k, y2=None, raw=None, w=None):
        """(k, 3) float64 per-column parameters for the loops."""
        raise NotImplementedError

    def _check(self, y, raw, sample_weight):
        raw = v.raw_scores(raw)
        n = raw.shape[0]
        device = v.is_device(raw)
        y2 = v.as_2d(v.labels(y, n, device))
        k = 1 if raw.ndim == 1 else raw.shape[1]
        if y2.shape[1] not in (1, k):
            raise ValueError(f"labels y have {y2.shape[1]} columns, raw scores have {k}")
        levels = self._levels()
        if levels is not None and k != levels:
            raise ValueError(
                f"{type(self).__name__} has {levels} level(s): raw scores need {levels} "
                f"column(s), got shape {raw.shape}"
            )
        return y2, raw, v.weights(sample_weight, n, device)

    def grad_hess(self, y, raw, sample_weight=None, *, dtype=None, out=None):
        y2, raw, w = self._check(y, raw, sample_weight)
        params = self._params(v.as_2d(raw).shape[1], y2, raw, w)
        return elementwise_grad_hess(self.kind, HESSIAN_CODES[self.hessian], params, y2, raw, w, dtype=dtype, out=out)

    def value(self, y, raw, sample_weight=None):
        y2, raw, w = self._check(y, raw, sample_weight)
        return elementwise_value(self.kind, self._params(v.as_2d(raw).shape[1]), y2, raw, w)

    def init_score(self, y, sample_weight=None):
        """Optimal constant raw score: a float, or one per output column."""
        y = np.asarray(y)
        n = y.shape[0] if y.ndim else 0
        y = v.labels(y, n)
        w = v.weights(sample_weight, n)
        v.weight_sum(w, n)
        y2 = v.as_2d(y)
        k = self._levels() or y2.shape[1]
        if y2.shape[1] not in (1, k):
            raise ValueError(f"labels y have {y2.shape[1]} columns, the loss has {k} levels")
        params = self._params(k)
        out = np.array([self._init_column(y2[:, j if y2.shape[1] > 1 else 0], w, params[j : j + 1]) for j in range(k)])
        return float(out[0]) if self._scalar_init(y) else out

    def _scalar_init(self, y):
        return y.ndim == 1

    def _init_column(self, ycol, w, params):
        """Root of the weighted gradient sum on [min y, max y] (the losses are convex)."""
        y2 = ycol.reshape(-1, 1)
        raw = np.empty(ycol.shape[0])

        def grad_sum(c):
            raw.fill(c)
            g, _ = elementwise_grad_hess(self.kind, scalar.H_CONSTANT, params, y2, raw, w)
            return float(g.sum())

        return root_of_gradient_sum(grad_sum, float(ycol.min()), float(ycol.max()))


DATA_SCALE_FACTOR = 1.35


def _weighted_median(x, w=None):
    """The weighted median (``np.median`` when unweighted: the midpoint of a tie at one half)."""
    if w is None:
        return float(np.median(x))
    order = np.argsort(x, kind="stable")
    x, cum = x[order], np.cumsum(w[order], dtype=np.float64)
    half = 0.5 * cum[-1]
    i = int(np.searchsorted(cum, half))
    if np.isclose(cum[i], half, rtol=1e-12, atol=0.0) and i + 1 < len(x):
        return 0.5 * (float(x[i]) + float(x[i + 1]))
    return float(x[i])


class _Scaled(_Regression):
    """A regression loss with one positive scale parameter (delta or scale)."""

    _scale_name = "delta"

    def _scale(self):
        return getattr(self, self._scale_name)

    def scaled_to(self, y, sample_weight=None):
        """A copy whose delta/scale is set from the (training) labels: ``DATA_SCALE_FACTOR`` x
        the weighted median absolute deviation of y from its weighted median (a robust spread
        that gross outliers do not move). Chosen by benchmarks/scale_rule.py over a fixed 1.0
        and scikit-learn's 0.9-quantile rule; see benchmarks/results/scale_rule.md."""
        y = np.asarray(y, np.float64).ravel()
        w = v.weights(sample_weight, y.shape[0])
        center = _weighted_median(y, w)
        scale = DATA_SCALE_FACTOR * _weighted_median(np.abs(y - center), w)
        if not scale > 0:  # more than half the labels equal: fall back to the mean deviation
            scale = float(np.average(np.abs(y - center), weights=sample_weight))
        if not scale > 0:
            scale = 1.0
        return type(self)(**(self.parameters() | {self._scale_name: scale}))

    def _params(self, k, y2=None, raw=None, w=None):
        params = np.zeros((k, 3))
        params[:, 0] = self._scale()
        return params


class Huber(_Scaled):
    """Huber loss: ``0.5 r^2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond.

    hessian: ``"majorizer"`` (default): ``min(1, delta/|r|)``, the IRLS weight, whose quadratic
    lies above the loss; ``"constant"``: 1 (LightGBM's built-in huber); ``"exact"``: 1 inside,
    0 outside.
    """

    name = "huber"
    kind = scalar.HUBER
    hessian_modes = ("majorizer", "constant", "exact")
    default_hessian = "majorizer"
    _param_names = ("delta", "hessian")

    def __init__(self, delta=1.0, hessian=None):
        self.delta = v.positive("delta", delta)
        super().__init__(hessian)

    def kink_distance(self, y, raw):
        r = v.as_2d(np.asarray(raw, np.float64)) - v.as_2d(np.asarray(y, np.float64))
        return np.abs(np.abs(r) - self.delta).reshape(np.shape(raw))


class PseudoHuber(_Scaled):
    """Pseudo-Huber loss ``delta^2 (sqrt(1 + (r/delta)^2) - 1)`` (XGBoost's
    ``reg:pseudohubererror`` with ``huber_slope=delta``).

    hessian: ``"majorizer"`` (default): ``(1 + (r/delta)^2)^(-1/2)``; ``"exact"``:
    ``(1 + (r/delta)^2)^(-3/2)``; ``"constant"``: 1.
    """

    name = "pseudo_huber"
    kind = scalar.PSEUDO_HUBER
    hessian_modes = ("majorizer", "exact", "constant")
    default_hessian = "majorizer"
    _param_names = ("delta", "hessian")

    def __init__(self, delta=1.0, hessian=None):
        self.delta = v.positive("delta", delta)
        super().__init__(hessian)


class LogCosh(_Scaled):
    """Log-cosh loss ``scale^2 log cosh(r / scale)``: quadratic near 0, linear (slope ``scale``)
    in the tails.

    hessian: ``"majorizer"`` (default): ``tanh(x)/x``; ``"exact"``: ``sech^2(x)`` (underflows to
    0 for ``|x| > ~20``); ``"constant"``: 1.
    """

    name = "logcosh"
    kind = scalar.LOGCOSH
    hessian_modes = ("majorizer", "exact", "constant")
    default_hessian = "majorizer"
    _param_names = ("scale", "hessian")
    _scale_name = "scale"

    def __init__(self, scale=1.0, hessian=None):
        self.scale = v.positive("scale", scale)
        super().__init__(hessian)


class Quantile(_Regression):
    """Pinball loss for one level (``alpha`` a float) or several (a sequence: one output column
    per level; ``inverse_link`` sorts each row so quantiles never cross).

    hessian: ``"majorizer"`` (default): curvature ``1 / (2 (|r| + eps))`` (Hunter & Lange 2000),
    which makes a leaf's Newton step follow the size of its residuals, so targets in the
    thousands move as fast as targets near 1 (a constant curvature moves a leaf by at most
    ``learning_rate`` a round). Gradient and curvature are then both multiplied by the
    residual ``scale``: the Newton steps -G/H are unchanged, and the curvature is O(1) per row,
    so XGBoost's ``min_child_weight`` and ``lambda`` keep the meaning they have for squared
    error (without it, on a target in the thousands no child reaches min_child_weight=1 and
    XGBoost never splits). ``"constant"``: 1; ``"exact"``: 0.

    renew_leaves: ``True``: after each tree, ``gbobjectives.xgboost.train`` /
    ``gbobjectives.lightgbm.train`` set every leaf to the exact weighted alpha-quantile of its
    training rows' residuals (times the learning rate), as the natives' quantile objectives do:
    the curvature chooses the splits, the quantile sets the values. It reaches a given
    validation loss in fewer rounds at a small learning rate, but costs time every round and
    fits the tails of small leaves closely (benchmarks/time_to_quality.py,
    ``--study intervals``); ``False`` (default): the Newton step of the curvature.

    scale: the residual scale, in target units; ``eps = eps_rel * scale``. ``None`` (default):
    the weighted mean of ``|y - raw|`` of each column at each call. The adapters fix it once
    from the training data (``with_scale(y, w)``: the mean absolute deviation from the optimal
    constant), so that every round and every distributed worker uses the same one.
    """

    name = "quantile"
    kind = scalar.QUANTILE
    hessian_modes = ("majorizer", "constant", "exact")
    default_hessian = "majorizer"
    _param_names = ("alpha", "hessian", "scale", "eps_rel", "renew_leaves")

    def __init__(self, alpha=0.5, hessian=None, scale=None, eps_rel=0.01, renew_leaves=False):
        if not isinstance(renew_leaves, bool | np.bool_):
            raise ValueError(f"renew_leaves must be True or False, got {renew_leaves!r}")
        self.renew_leaves = bool(renew_leaves)
        if np.ndim(alpha) == 0:
            self.alpha = v.open_unit("alpha", alpha)
        else:
            levels = [v.open_unit("alpha", a) for a in np.asarray(alpha, dtype=object).ravel()]
            if not levels:
                raise ValueError("alpha must hold at least one level")
            self.alpha = tuple(levels)
        if scale is not None:
            scale = (
                v.positive("scale", scale)
                if np.ndim(scale) == 0
                else tuple(v.positive("scale", s) for s in np.asarray(scale, object).ravel())
            )
        self.scale = scale
        self.eps_rel = v.positive("eps_rel", eps_rel)
        super().__init__(hessian)

    @property
    def alphas(self):
        return np.atleast_1d(np.asarray(self.alpha, np.float64))

    @property
    def renews_leaves(self):
        return self.renew_leaves

    def leaf_value(self, residual, weight, column):
        """The weighted alpha-quantile of a leaf's residuals (level ``column``): the smallest
        minimiser of the leaf's weighted pinball loss (``inverted_cdf``)."""
        alpha = self.alphas[column if self._levels() else 0]
        return float(np.quantile(residual, alpha, weights=weight, method="inverted_cdf"))

    def _levels(self):
        return None if np.ndim(self.alpha) == 0 else len(self.alpha)

    def _scalar_init(self, y):
        return np.ndim(self.alpha) == 0 and y.ndim == 1

    def with_scale(self, y, sample_weight=None):
        """A copy whose residual scale is fixed from training labels: per level, the weighted
        mean absolute deviation of y from its optimal constant (never 0)."""
        y = np.asarray(y)
        start = np.atleast_1d(self.init_score(y, sample_weight))
        y2 = y.reshape(y.shape[0], -1)
        mad = np.average(np.abs(y2 - start), axis=0, weights=sample_weight)
        mad = np.broadcast_to(mad, start.shape)
        floor = max(1e-12, 1e-12 * float(np.max(np.abs(y2))))
        scale = tuple(max(float(m), floor) for m in mad)
        params = self.parameters() | {"scale": scale[0] if np.ndim(self.alpha) == 0 and len(scale) == 1 else scale}
        return Quantile(**params)

    def _params(self, k, y2=None, raw=None, w=None):
        params = np.empty((k, 3))
        params[:, 0] = self.alphas if self._levels() else self.alphas[0]
        if self.scale is not None:
            params[:, 1] = self.scale
        elif raw is not None and self.hessian == "majorizer":
            params[:, 1] = np.maximum(mean_abs_residual(y2, raw, w), 1e-12)
        else:
            params[:, 1] = 1.0
        params[:, 2] = self.eps_rel * params[:, 1]
        return params

    def inverse_link(self, raw):
        """Quantile predictions; with several levels each row is sorted across the levels (in
        the order of ``alpha``) so that quantiles never cross."""
        raw = np.asarray(raw)
        if raw.ndim != 2 or raw.shape[1] < 2:
            return raw
        out = np.empty_like(raw)
        out[:, np.argsort(self.alphas, kind="stable")] = np.sort(raw, axis=1)
        return out

    def _init_column(self, ycol, w, params):
        return float(np.quantile(ycol, params[0, 0], weights=w, method="inverted_cdf"))

    def kink_distance(self, y, raw):
        r = v.as_2d(np.asarray(raw, np.float64)) - v.as_2d(np.asarray(y, np.float64))
        return np.abs(r).reshape(np.shape(raw))
