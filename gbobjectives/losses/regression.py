"""Regression losses (identity link): Huber, pseudo-Huber, log-cosh, quantile, and the
redescending Cauchy, Tukey biweight and Welsch losses with an adaptive robust scale.

Parameters, validation, curvature choice and optimal constants; the formulas themselves are in
``kernels/scalar.py``. Default curvatures were chosen with benchmarks/hessian_choice.py (its
table is in benchmarks/results/hessian_choice.md).
"""

import numpy as np

from ..kernels import scalar
from . import _validation as validation
from .base import (
    HESSIAN_CODES,
    Loss,
    elementwise_grad_hess,
    elementwise_value,
    leaf_quantiles,
    mean_abs_residual,
    rescale_columns,
    root_of_gradient_sum,
    total,
)


class _Regression(Loss):
    kind: int | None = None

    def _levels(self):
        """Number of output columns the loss itself defines (quantile levels), else None."""
        return None

    def _params(self, k, y2=None, raw=None, w=None):
        """(k, 3) float64 per-column parameters for the loops."""
        raise NotImplementedError

    def _check(self, y, raw, sample_weight):
        raw = validation.raw_scores(raw)
        n = raw.shape[0]
        device = validation.is_device(raw)
        y2 = validation.as_2d(validation.labels(y, n, device))
        k = 1 if raw.ndim == 1 else raw.shape[1]
        if y2.shape[1] not in (1, k):
            raise ValueError(f"labels y have {y2.shape[1]} columns, raw scores have {k}")
        levels = self._levels()
        if levels is not None and k != levels:
            raise ValueError(
                f"{type(self).__name__} has {levels} level(s): raw scores need {levels} "
                f"column(s), got shape {raw.shape}"
            )
        return y2, raw, validation.weights(sample_weight, n, device)

    def grad_hess(self, y, raw, sample_weight=None, *, dtype=None, out=None):
        y2, raw, w = self._check(y, raw, sample_weight)
        params = self._params(validation.as_2d(raw).shape[1], y2, raw, w)
        return elementwise_grad_hess(self.kind, HESSIAN_CODES[self.hessian], params, y2, raw, w, dtype=dtype, out=out)

    def value(self, y, raw, sample_weight=None):
        y2, raw, w = self._check(y, raw, sample_weight)
        return elementwise_value(self.kind, self._params(validation.as_2d(raw).shape[1], y2, raw, w), y2, raw, w)

    def init_score(self, y, sample_weight=None, n_classes=None):
        """Optimal constant raw score: a float, or one per output column."""
        y = np.asarray(y)
        n = y.shape[0] if y.ndim else 0
        y = validation.labels(y, n)
        w = validation.weights(sample_weight, n)
        validation.weight_sum(w, n)
        y2 = validation.as_2d(y)
        k = self._levels() or y2.shape[1]
        if y2.shape[1] not in (1, k):
            raise ValueError(f"labels y have {y2.shape[1]} columns, the loss has {k} levels")
        params = self._params(k, y2, None, w)
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
            # the loss's own curvature mode (only g is used): the loop the training compiles anyway
            g, _ = elementwise_grad_hess(self.kind, HESSIAN_CODES[self.hessian], params, y2, raw, w)
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
    if np.isclose(cum[i], half, rtol=1e-12, atol=0.0):
        j = int(np.searchsorted(cum, cum[i] * (1 + 1e-12), side="right"))  # next row of weight > 0
        if j < len(x):
            return 0.5 * (float(x[i]) + float(x[j]))
    return float(x[i])


ADAPTIVE = "adaptive"
MAD_CONSISTENCY = 1.4826  # 1 / Phi^-1(3/4): the MAD of Gaussian noise times this is its sd
MEAN_AD_CONSISTENCY = 1.2533  # sqrt(pi / 2): the same for the mean absolute deviation
SCALE_ROWS = 1 << 18  # the adaptive scale reads every ceil(n / SCALE_ROWS)-th row


def robust_scale(y2, raw, w=None):
    """Per output column, the robust residual scale ``1.4826 x`` the weighted median absolute
    deviation of ``r = raw - y`` from its weighted median (``raw`` None: from y's own weighted
    median). Deterministic: above ``SCALE_ROWS`` rows it reads every ``ceil(n / SCALE_ROWS)``-th
    row. Fallbacks, so that it is never 0: where more than half the residuals are equal (a MAD of
    0), ``1.2533 x`` their mean absolute deviation; where all are equal, ``1.2533 x`` their
    mean absolute value (a common shift is still fitted); where all are 0,
    ``1e-12 x (1 + max|y|)`` (nothing is left to fit: any positive scale gives zero gradients)."""
    y2 = validation.as_2d(np.asarray(validation.to_host(y2), np.float64))
    n = y2.shape[0]
    step = max(1, -(-n // SCALE_ROWS))
    w = None if w is None else validation.to_host(w)
    w = None if w is None or np.size(w) == 0 else np.asarray(w, np.float64)[::step]
    y2 = y2[::step]
    if raw is None:
        raw2 = np.array([[_weighted_median(y2[:, j], w) for j in range(y2.shape[1])]])
    else:
        raw2 = validation.as_2d(np.asarray(validation.to_host(raw), np.float64))[::step]
    k = raw2.shape[1]
    out = np.empty(k)
    for j in range(k):
        r = raw2[:, j] - y2[:, j if y2.shape[1] > 1 else 0]
        dev = np.abs(r - _weighted_median(r, w))
        s = MAD_CONSISTENCY * _weighted_median(dev, w)
        if not s > 0:
            s = MEAN_AD_CONSISTENCY * float(np.average(dev, weights=w))
        if not s > 0:  # all residuals equal: their common size, so that a shift left is still fitted
            s = MEAN_AD_CONSISTENCY * float(np.average(np.abs(r), weights=w))
        out[j] = s if s > 0 else 1e-12 * (1.0 + float(np.max(np.abs(y2))))
    return out


def _scale_arg(name, value):
    """``"adaptive"`` or a positive finite number."""
    if isinstance(value, str):
        if value != ADAPTIVE:
            raise ValueError(f"{name} must be a positive number or {ADAPTIVE!r}, got {value!r}")
        return value
    return validation.positive(name, value)


class _Scaled(_Regression):
    """A regression loss with one scale parameter (delta or scale): a positive number, fixed, or
    ``"adaptive"``: ``c x robust_scale`` of the current residuals, re-estimated at every call
    (every boosting round), from the raw scores the call is given."""

    _scale_name = "delta"
    min_leaf_rows = 1.0
    efficiency_c = 1.345  # the default c: 95% efficiency under Gaussian noise (Huber's constant)

    def _scale(self):
        return getattr(self, self._scale_name)

    @property
    def adaptive(self):
        return self._scale() == ADAPTIVE

    def _set_scale(self, value, c):
        setattr(self, self._scale_name, _scale_arg(self._scale_name, value))
        self.c = self.efficiency_c if c is None else validation.positive("c", c)

    def loss_scale(self, y2, raw=None, w=None):
        """The scale the loops use, per output column: the fixed number, or ``c x
        robust_scale(y, raw, w)``."""
        if not self.adaptive:
            return np.array([self._scale()])
        return self.c * robust_scale(y2, raw, w)

    def frozen(self, y, raw, sample_weight=None):
        """A copy with a fixed scale: ``c x robust_scale`` of these residuals (the metric's
        loss, so that what it reports does not drift as training shrinks the residuals);
        a loss with a fixed scale returns itself."""
        if not self.adaptive:
            return self
        scale = self.loss_scale(validation.as_2d(np.asarray(validation.to_host(y))), raw, sample_weight)
        return self.replace(**{self._scale_name: float(np.max(scale))})

    def estimator_default(self, y, sample_weight=None):
        """By name, the estimators train the adaptive scale (``c x robust_scale`` of the current
        residuals): at equal cost on clean data it keeps gross label errors out of the fit, where
        a scale read once off the labels is as wide as their spread (benchmarks/quality.py,
        ``--study robust``)."""
        if self.adaptive:
            return self
        return self.replace(**{self._scale_name: ADAPTIVE})

    def scaled_to(self, y, sample_weight=None):
        """A copy whose delta/scale is set from the (training) labels: ``DATA_SCALE_FACTOR`` x
        the weighted median absolute deviation of y from its weighted median (a robust spread
        that gross outliers do not move). Chosen by benchmarks/scale_rule.py over a fixed 1.0
        and scikit-learn's 0.9-quantile rule; see benchmarks/results/scale_rule.md."""
        if self.adaptive:
            return self
        y = np.asarray(y, np.float64).ravel()
        w = validation.weights(sample_weight, y.shape[0])
        center = _weighted_median(y, w)
        scale = DATA_SCALE_FACTOR * _weighted_median(np.abs(y - center), w)
        if not scale > 0:  # more than half the labels equal: fall back to the mean deviation
            scale = float(np.average(np.abs(y - center), weights=sample_weight))
        if not scale > 0:
            scale = 1.0
        return self.replace(**{self._scale_name: scale})

    def _params(self, k, y2=None, raw=None, w=None):
        params = np.zeros((k, 3))
        params[:, 0] = self.loss_scale(y2, raw, w) if self.adaptive else self._scale()
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
    _param_names = ("delta", "hessian", "c")

    def __init__(self, delta=1.0, hessian=None, c=None):
        self._set_scale(delta, c)
        super().__init__(hessian)

    def kink_distance(self, y, raw):
        r = validation.as_2d(np.asarray(raw, np.float64)) - validation.as_2d(np.asarray(y, np.float64))
        delta = self.loss_scale(validation.as_2d(np.asarray(y, np.float64)), raw)
        return np.abs(np.abs(r) - delta).reshape(np.shape(raw))


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
    _param_names = ("delta", "hessian", "c")

    def __init__(self, delta=1.0, hessian=None, c=None):
        self._set_scale(delta, c)
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
    _param_names = ("scale", "hessian", "c")
    _scale_name = "scale"

    def __init__(self, scale=1.0, hessian=None, c=None):
        self._set_scale(scale, c)
        super().__init__(hessian)


class _Redescending(_Scaled):
    """A redescending M-estimator loss: the pull of a residual falls back towards 0 beyond the
    scale, so gross label errors stop moving the fit (Hampel et al., "Robust Statistics", 1986).
    Non-convex: the start is the M-estimate iterated from the weighted median of the labels."""

    _scale_name = "scale"
    hessian_modes = ("majorizer", "exact", "constant")
    default_hessian = "majorizer"
    _param_names: tuple[str, ...] = ("scale", "c", "hessian")

    def __init__(self, scale=ADAPTIVE, c=None, hessian=None):
        self._set_scale(scale, c)
        super().__init__(hessian)

    def _init_column(self, ycol, w, params):
        """The M-estimate of location: iteratively reweighted means (Newton steps with the IRLS
        curvature, each of which lowers the loss) from the weighted median of the labels. The
        summed gradient of a redescending loss has several roots; this is the local minimum a
        50% breakdown start leads to, which gross outliers do not move."""
        ycol = np.asarray(ycol, np.float64)
        c = _weighted_median(ycol, w)
        y2, raw = ycol.reshape(-1, 1), np.empty(ycol.shape[0])
        for _ in range(500):
            raw.fill(c)
            g, h = elementwise_grad_hess(self.kind, scalar.H_MAJORIZER, params, y2, raw, w)
            h_sum = float(h.sum())
            if not h_sum > 0:  # every row beyond Tukey's scale: nothing pulls
                break
            step = float(g.sum()) / h_sum
            c -= step
            if abs(step) <= 1e-13 * max(1.0, abs(c)):
                break
        return c


DEFAULT_WARMUP = 100  # rounds, where the number of boosting rounds is not known


class _WarmedUp(_Redescending):
    """A redescending loss that rejects rows (weight 0 or nearly) far out: it is trained after a
    warm-up on ``Cauchy``, whose weights never reach 0, so that clean rows the first trees have
    not fitted yet are not rejected as outliers (benchmarks/quality.py, ``--study robust``).

    warmup: boosting rounds on Cauchy (same residual scale, Cauchy's ``c``) before this loss
    takes over. ``None`` (default): half the rounds, where the training knows them
    (``gbobjectives.xgboost.train`` / ``lightgbm.train`` and the estimators), else
    ``DEFAULT_WARMUP``. The rounds are counted by gbobjectives' objective callables; the loss
    called directly (``loss(y_true, y_pred)``, in XGBoost's and LightGBM's scikit-learn
    wrappers) has no round count, and is this loss from the first round.
    """

    _param_names = ("scale", "c", "hessian", "warmup")

    def __init__(self, scale=ADAPTIVE, c=None, hessian=None, warmup=None):
        if warmup is not None and (
            isinstance(warmup, bool | np.bool_) or not isinstance(warmup, int | np.integer) or warmup < 0
        ):
            raise ValueError(f"warmup must be None or a non-negative integer, got {warmup!r}")
        self.warmup = None if warmup is None else int(warmup)
        super().__init__(scale, c, hessian)

    def for_training(self, num_rounds):
        if self.warmup is not None:
            return self
        warmup = DEFAULT_WARMUP if num_rounds is None else int(num_rounds) // 2
        return self.replace(warmup=warmup)

    def at_round(self, t):
        warmup = DEFAULT_WARMUP if self.warmup is None else self.warmup
        if t >= warmup:
            return self
        scale = self.scale if self.adaptive else self.scale * Cauchy.efficiency_c / self.c
        return Cauchy(scale=scale, hessian=self.hessian)

    def init_score(self, y, sample_weight=None, n_classes=None):
        """With a warm-up, the warm-up loss's start (Cauchy's M-estimate): the first rounds
        descend Cauchy's loss from its own optimal constant."""
        if self.warmup == 0:
            return super().init_score(y, sample_weight)
        return self.at_round(0).init_score(y, sample_weight)

    def frozen(self, y, raw, sample_weight=None):
        """As ``_Scaled.frozen``, and without the warm-up: this loss as it stands, whatever
        round it is called at (a distributed stage, a metric)."""
        if not self.adaptive and self.warmup == 0:
            return self
        fixed = super().frozen(y, raw, sample_weight)
        return fixed.replace(warmup=0)


class Cauchy(_Redescending):
    """Cauchy (Lorentzian) loss ``c^2/2 log(1 + (r/c)^2)``, ``c`` its scale: quadratic near 0,
    logarithmic beyond, so a residual's pull ``r / (1 + (r/c)^2)`` peaks at ``|r| = c`` and then
    falls off as ``c^2 / r``.

    scale: ``"adaptive"`` (default): ``c x 1.4826 x`` the median absolute deviation of the
    current residuals, re-estimated every round (``robust_scale``); a number: that scale, fixed.
    c: the multiplier of the adaptive scale; default 2.385 (95% efficiency under Gaussian noise).

    hessian: ``"majorizer"`` (default): the IRLS weight ``1 / (1 + (r/c)^2)``, positive, whose
    quadratic lies above the loss; ``"exact"``: ``(1 - x^2) / (1 + x^2)^2``, negative for
    ``|r| > c``; ``"constant"``: 1.
    """

    name = "cauchy"
    kind = scalar.CAUCHY
    efficiency_c = 2.385


class Tukey(_WarmedUp):
    """Tukey's biweight ``c^2/6 (1 - (1 - (r/c)^2)^3)`` for ``|r| < c``, ``c^2/6`` beyond: rows
    past ``c`` stop pulling at all (gradient and IRLS weight 0).

    scale: as ``Cauchy``; c default 4.685. warmup: rounds on Cauchy first (see ``_WarmedUp``).
    hessian: ``"majorizer"`` (default): the IRLS weight ``(1 - x^2)^2`` inside, 0 beyond;
    ``"exact"``: ``(1 - x^2)(1 - 5 x^2)`` inside (negative for ``|x| > 1/sqrt 5``), 0 beyond;
    ``"constant"``: 1.
    """

    name = "tukey"
    kind = scalar.TUKEY
    efficiency_c = 4.685


class Welsch(_WarmedUp):
    """Welsch (Leclerc) loss ``c^2/2 (1 - exp(-(r/c)^2))``: the pull ``r exp(-x^2)`` dies off
    like a Gaussian beyond ``c``.

    scale: as ``Cauchy``; c default 2.985. warmup: rounds on Cauchy first (see ``_WarmedUp``).
    hessian: ``"majorizer"`` (default): the IRLS weight ``exp(-x^2)``; ``"exact"``:
    ``exp(-x^2) (1 - 2 x^2)``; ``"constant"``: 1.
    """

    name = "welsch"
    kind = scalar.WELSCH
    efficiency_c = 2.985


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

    renew_leaves: ``True`` (default): after each tree, ``gbobjectives.xgboost.train``,
    ``gbobjectives.lightgbm.train``, ``gbobjectives.xgboost.dask_train`` and the estimators set
    every leaf to the exact weighted alpha-quantile of its training rows' residuals (times the
    learning rate; ``leaf_value``), as the natives' quantile objectives do: the curvature
    chooses the splits, the quantile sets the values. Without it a leaf's Newton step is a
    fraction of the quantile's, and the model needs many more rounds (at a small learning rate
    several times the natives' rounds; benchmarks/time_to_quality.py); with it, it reaches the
    natives' best validation loss in fewer rounds, and overfits sooner after that (use early
    stopping). XGBoost before 3.4 renews the leaves itself (also on dask, where it averages the
    workers' quantiles), on unit weights when the data has none, so that every route renews to
    ``leaf_value``; elsewhere the adapters do it (CPU). A round costs more: XGBoost's renewal
    sorts the residuals, the adapters select each leaf's quantile (benchmarks/renewal_cost.py). The curvature handed
    to the booster is then ``split_curvature``: the square root of the majorizer (the
    geometric mean of the majorizer and the natives' constant curvature: the majorizer's
    splits chase the rows far from the quantile, which fits fastest but overfits the tails
    sooner; the square root reached the natives' best loss in 17 of 24 cases against 12 for
    the majorizer, benchmarks/time_to_quality.py), rescaled at each call to a mean of the mean
    sample weight per output (the mean the natives' constant curvature has), so that
    XGBoost's ``lambda`` and ``min_child_weight`` count rows all through training instead of
    fading as the residuals shrink. The objective passed to a booster directly (``objective(loss)``) cannot
    renew, and warns once. ``False``: the Newton step of the curvature (cheaper rounds, many
    more of them).

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

    def __init__(self, alpha=0.5, hessian=None, scale=None, eps_rel=0.01, renew_leaves=True):
        if not isinstance(renew_leaves, bool | np.bool_):
            raise ValueError(f"renew_leaves must be True or False, got {renew_leaves!r}")
        self.renew_leaves = bool(renew_leaves)
        if np.ndim(alpha) == 0:
            self.alpha = validation.open_unit("alpha", alpha)
        else:
            levels = [validation.open_unit("alpha", a) for a in np.asarray(alpha, dtype=object).ravel()]
            if not levels:
                raise ValueError("alpha must hold at least one level")
            self.alpha = tuple(levels)
        if scale is not None:
            scale = (
                validation.positive("scale", scale)
                if np.ndim(scale) == 0
                else tuple(validation.positive("scale", s) for s in np.asarray(scale, object).ravel())
            )
        self.scale = scale
        self.eps_rel = validation.positive("eps_rel", eps_rel)
        super().__init__(hessian)

    @property
    def alphas(self):
        return np.atleast_1d(np.asarray(self.alpha, np.float64))

    @property
    def renews_leaves(self):
        return self.renew_leaves

    def split_curvature(self, h, sample_weight=None, across=None):
        """Under renewal, the square root of the majorizer's curvature (of each row's unweighted
        curvature, times its weight: weights stay repeated rows), rescaled per output to a
        mean of the mean sample weight (see ``renew_leaves``); a constant curvature as it
        is. ``across``: both means over every machine's rows (see ``Loss.split_curvature``)."""
        if self.hessian == "majorizer":
            n = validation.as_2d(h).shape[0]
            weights = n if sample_weight is None else total(sample_weight)
            if across is not None:
                n, weights = across(np.array([n, weights], np.float64))
            rescale_columns(h, weights / n, sqrt=True, weight=sample_weight, across=across)
        return h

    @property
    def leaf_quantile_levels(self):
        return tuple(float(a) for a in self.alphas) if self.renew_leaves else None

    def leaf_value(self, residual, weight, column):
        """The weighted alpha-quantile of a leaf's residuals (level ``column``): the smallest
        minimiser of the leaf's weighted pinball loss (``inverted_cdf``)."""
        out = np.full(1, np.nan)
        return float(self.leaf_values(residual, weight, np.zeros(len(residual), np.intp), out, column)[0])

    def bind(self, y, sample_weight=None, n_classes=None, num_rounds=None):
        """With the majorizer and no fixed scale, the residual scale fixed from the training
        labels (``with_scale``), so that every round and every distributed worker uses one."""
        loss = super().bind(y, sample_weight, n_classes, num_rounds)
        if loss.scale is None and loss.hessian == "majorizer":
            return loss.with_scale(y, sample_weight)
        return loss

    def n_outputs(self, n_classes=None):
        return self._levels() or 1

    def without_leaf_renewal(self):
        return self.replace(renew_leaves=False)

    def leaf_values(self, residual, weight, leaf, out, column):
        """``leaf_value`` of every leaf in one pass over the rows (``kernels.cpu``)."""
        return leaf_quantiles(self.alphas[column if self._levels() else 0], residual, weight, leaf, out)

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
        return self.replace(scale=scale[0] if np.ndim(self.alpha) == 0 and len(scale) == 1 else scale)

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
        r = validation.as_2d(np.asarray(raw, np.float64)) - validation.as_2d(np.asarray(y, np.float64))
        return np.abs(r).reshape(np.shape(raw))
