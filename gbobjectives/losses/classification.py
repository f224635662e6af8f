"""Classification losses: focal (binary sigmoid and multiclass softmax), cross-entropy (its
gamma = 0 case) and class-balanced weighting (Cui et al. 2019) over either.

A 1-D raw score (or an (n, 1) one) means binary with labels in {0, 1}; an (n, k) raw score
with k >= 2 means softmax over k classes with integer labels 0..k-1. Focal's ``alpha`` and the
class-balanced weights are both per-class weights: they reach the loops as one array indexed by
the label.
"""

import numpy as np

from ..kernels import scalar
from . import _validation as validation
from .base import (
    EMPTY,
    HESSIAN_CODES,
    Loss,
    elementwise_grad_hess,
    elementwise_value,
    root_of_gradient_sum,
    softmax_grad_hess,
    softmax_value,
)

_CLIP = 1e-12  # probabilities of the optimal constant are kept in [1e-12, 1 - 1e-12]


def sigmoid(raw):
    raw = np.asarray(raw)
    out = np.empty(raw.shape, np.result_type(raw.dtype, np.float32))
    pos = raw >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-raw[pos]))
    e = np.exp(raw[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softmax(raw):
    raw = np.asarray(raw)
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_others_ratio(raw):
    """``log rho``, (n, k): ``rho_ik = sum_{j != k} exp(z_ij - z_ik)``, the odds against class k
    (``v_k = 1 / (1 + rho_k)``, ``1 - v_k = rho_k / (1 + rho_k)``), from margins without
    cancellation or underflow: the largest class sums the others around the second largest
    margin. A 1-D (binary) margin z gives the two columns (class 0: z, class 1: -z)."""
    z = np.asarray(raw, np.float64)
    if z.ndim == 1 or z.shape[1] == 1:
        z = z.reshape(-1)
        return np.column_stack([z, -z])
    n, k = z.shape
    top = np.argmax(z, axis=1)
    rows = np.arange(n)
    m = z[rows, top]
    e = np.exp(z - m[:, None])
    total = e.sum(axis=1)
    others = total[:, None] - e  # exact enough where e_k < 1: the largest term (1) stays in
    masked = np.where(np.arange(k) == top[:, None], -np.inf, z)
    m2 = masked.max(axis=1)  # the largest class: the others' sum around the second margin
    log_top = m2 + np.log(np.exp(masked - m2[:, None]).sum(axis=1))
    with np.errstate(divide="ignore"):
        log_rho = np.log(others) + m[:, None] - z
    log_rho[rows, top] = log_top - m
    return log_rho


def focal_log_h(log_rho, gamma):
    """``log h_gamma(v)`` (Charoenphakdee et al. 2021), ``h(v) = v / [(1 - v)^gamma - gamma v
    (1 - v)^(gamma - 1) log v]``, written as ``log v - gamma log(1 - v) - log1p(gamma v (-log v)
    / (1 - v))`` and computed from ``log rho`` (the odds against the class), so that neither
    ``v -> 1`` nor ``v -> 0`` cancels or overflows. The expected focal loss is minimised at the
    ``v`` with ``h(v_k)`` proportional to the posterior; gamma = 0 gives ``log v``."""
    log_rho = np.asarray(log_rho, np.float64)
    log1p_rho = np.logaddexp(0.0, log_rho)
    log_v = -log1p_rho
    if gamma == 0.0:
        return log_v
    log_q = log_rho - log1p_rho
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        rho = np.exp(log_rho)
        # r = -log v / (1 - v) = log1p(rho) (1 + rho) / rho, 1 + rho / 2 + O(rho^2) for tiny rho
        r = np.where(log_rho < -20.0, 1.0 + 0.5 * rho, log1p_rho / np.exp(log_q))
    return log_v - gamma * log_q - np.log1p(gamma * np.exp(log_v) * r)


class _Prepared:
    """Validated inputs of one call: binary or softmax, class count, labels, raw, weights."""

    __slots__ = ("binary", "n_classes", "y", "raw", "w")

    def __init__(self, y, raw, sample_weight):
        raw = validation.raw_scores(raw)
        n = raw.shape[0]
        self.binary = raw.ndim == 1 or raw.shape[1] == 1
        if not self.binary and raw.shape[1] < 2:
            raise ValueError(f"softmax raw scores need k >= 2 columns, got shape {raw.shape}")
        self.n_classes = 2 if self.binary else raw.shape[1]
        device = validation.is_device(raw)
        self.y = validation.class_labels(y, n, self.n_classes, device)
        self.raw = raw
        self.w = validation.weights(sample_weight, n, device)


class _Classification(Loss):
    """What every classification loss tells a training: labels are class ids, and a problem of
    more than two classes has one output per class (a softmax model)."""

    classifier = True

    def n_outputs(self, n_classes=None):
        return int(n_classes) if n_classes and n_classes > 2 else 1

    def posterior_constants(self, n_classes, class_weight=None):
        """What ``posterior`` needs besides the margins, as plain numbers (JSON-ready, for a
        model served without gbobjectives): focal's ``gamma`` (0 for cross-entropy) and the
        per-class ``class_weights`` the model trains with (``training_weights``). The posterior
        is ``h_gamma(v_k) / w_k`` normalised over k, ``v`` the link's output (see
        ``Focal.posterior``; docs/guide/estimators.md writes it in NumPy)."""
        weights = self.training_weights(n_classes, class_weight)
        return {"gamma": float(self.posterior_gamma), "class_weights": weights.tolist()}


class Focal(_Classification):
    """Focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` (Lin et al. 2017); gamma = 0 is
    cross-entropy.

    alpha: ``None`` (no class weighting); a float in (0, 1), the weight of the positive class of
    a binary problem (negatives get ``1 - alpha``); or a sequence with one positive weight per
    class (binary or multiclass).

    hessian: ``"floored"`` (default): the exact curvature, floored by the cross-entropy
    curvature times the focal modulation ``(1 - p_t)^gamma`` (the exact Hessian turns negative
    for badly misclassified rows when gamma > 0, which makes both boosters diverge);
    ``"exact"``; ``"xgboost"`` / ``"lightgbm"``: ``"floored"`` times the factor the natives use
    on their softmax diagonal (2 for XGBoost's multi:softprob, K/(K-1) for LightGBM's
    multiclass; 1 for binary), which reproduces the native objectives at gamma = 0.
    """

    name = "focal"
    hessian_modes = ("floored", "exact", "xgboost", "lightgbm")
    default_hessian = "floored"
    _param_names: tuple[str, ...] = ("gamma", "alpha", "hessian")

    def __init__(self, gamma=2.0, alpha=None, hessian=None):
        self.gamma = validation.non_negative("gamma", gamma)
        if alpha is None or np.ndim(alpha) == 0:
            self.alpha = None if alpha is None else validation.open_unit("alpha", alpha)
        else:
            self.alpha = tuple(validation.positive("alpha", a) for a in np.asarray(alpha, object).ravel())
        super().__init__(hessian)

    # ---- links ---------------------------------------------------------------------------
    @property
    def link(self):
        return "logit or softmax"

    def inverse_link(self, raw):
        """The link's output: sigmoid of a 1-D raw score, softmax of an (n, k) one. This is the
        minimiser of the loss, which is the class posterior only for unweighted cross-entropy:
        see ``posterior``."""
        raw = np.asarray(raw)
        if raw.ndim == 1 or raw.shape[1] == 1:
            return sigmoid(raw)
        return softmax(raw)

    def posterior(self, raw, class_weight=None, shift=None):
        """Class-posterior estimates ``P(y = k | x)`` from raw margins: (n,) ``P(y = 1)`` for a
        1-D (binary) margin, else (n, k) rows that sum to 1. ``shift``: an offset added to the
        margins first (see ``posterior_shift``; the estimators fit one).

        ``inverse_link`` returns the minimiser ``v`` of the loss, which is not the posterior:
        focal loss is not a proper scoring rule (its minimiser is a monotone transform of the
        posterior, inverted here in closed form, Charoenphakdee et al. 2021), and class weights
        ``w_k`` (``alpha``, and ``class_weight``: extra per-class weights the model was trained
        with) shift the prior. With ``h`` as in ``focal_log_h``, the posterior is
        ``h(v_k) / w_k`` normalised over k (cross-entropy: ``v_k / w_k``), computed in log space:
        finite and summing to 1 for any finite margin, in float64 for float32 input too. The
        transform is monotone in each margin and keeps the argmax of ``w_k`` x posterior, which
        is the argmax of the margins (so ``predict`` is unchanged)."""
        raw = np.asarray(raw, np.float64)
        binary = raw.ndim == 1 or raw.shape[1] == 1
        k = 2 if binary else raw.shape[1]
        if shift is not None:
            raw = raw + (float(np.ravel(shift)[0]) if binary else np.asarray(shift, np.float64))
        log_p = self._log_posterior(raw, self._class_weights(k, _per_class(class_weight, k)))
        return np.exp(log_p[:, 1]) if binary else np.exp(log_p)

    def posterior_shift(self, y, raw, sample_weight=None, class_weight=None):
        """The margin offset (see ``posterior_shift``, the module function) for this loss."""
        return posterior_shift(self, y, raw, sample_weight, class_weight)

    @property
    def posterior_gamma(self):
        return self.gamma

    def training_weights(self, n_classes, class_weight=None):
        """The per-class weights this loss trains with (``alpha``), times ``class_weight``:
        (n_classes,), ones when there are none. ``argmax_k w_k posterior_k`` is the
        cost-weighted Bayes decision they ask for."""
        cw = self._class_weights(n_classes, _per_class(class_weight, n_classes))
        return cw if cw.size else np.ones(n_classes)

    def _log_posterior(self, raw, cw):
        """(n, k) log posterior for per-class weights ``cw`` (EMPTY: none)."""
        log_h = focal_log_h(_log_others_ratio(raw), self.gamma)
        if cw.size:
            log_h = log_h - np.log(cw)
        top = log_h.max(axis=1, keepdims=True)
        return log_h - (top + np.log(np.exp(log_h - top).sum(axis=1, keepdims=True)))

    # ---- class weights ---------------------------------------------------------------------
    def _alpha_weights(self, n_classes):
        if self.alpha is None:
            return None
        if isinstance(self.alpha, float):
            if n_classes != 2:
                raise ValueError(
                    f"a scalar alpha weights the positive class of a binary problem; with "
                    f"{n_classes} classes pass one alpha per class"
                )
            return np.array([1.0 - self.alpha, self.alpha])
        if len(self.alpha) != n_classes:
            raise ValueError(f"alpha has {len(self.alpha)} entries, the problem has {n_classes} classes")
        return np.array(self.alpha)

    def _class_weights(self, n_classes, extra=None):
        cw = self._alpha_weights(n_classes)
        if extra is not None:
            cw = extra if cw is None else cw * extra
        return EMPTY if cw is None else np.ascontiguousarray(cw, np.float64)

    def _curvature(self, n_classes):
        """(hessian code, softmax diagonal factor) of this loss for n_classes."""
        if self.hessian == "exact":
            return scalar.H_EXACT, 1.0
        factor = {"xgboost": 2.0, "lightgbm": n_classes / (n_classes - 1.0)}.get(self.hessian, 1.0)
        return HESSIAN_CODES["floored"], factor

    # ---- computations on validated inputs ----------------------------------------------------
    def _grad_hess(self, p, extra=None, dtype=None, out=None):
        cw = self._class_weights(p.n_classes, extra)
        hmode, factor = self._curvature(p.n_classes)
        if p.binary:
            params = np.array([[self.gamma, 0.0, 0.0]])
            return elementwise_grad_hess(scalar.FOCAL, hmode, params, validation.as_2d(p.y), p.raw, p.w, cw, dtype, out)
        return softmax_grad_hess(self.gamma, hmode, factor, p.y, p.raw, p.w, cw, dtype, out)

    def _value(self, p, extra=None):
        cw = self._class_weights(p.n_classes, extra)
        if p.binary:
            params = np.array([[self.gamma, 0.0, 0.0]])
            return elementwise_value(scalar.FOCAL, params, validation.as_2d(p.y), p.raw, p.w, cw)
        return softmax_value(self.gamma, p.y, p.raw, p.w, cw)

    def grad_hess(self, y, raw, sample_weight=None, *, dtype=None, out=None):
        return self._grad_hess(_Prepared(y, raw, sample_weight), dtype=dtype, out=out)

    def value(self, y, raw, sample_weight=None):
        return self._value(_Prepared(y, raw, sample_weight))

    def init_score(self, y, sample_weight=None, n_classes=None):
        """Optimal constant raw score: a float for binary (``n_classes=None``), else a centred
        vector of ``n_classes`` margins."""
        return self._init_score(y, sample_weight, n_classes)

    def _init_score(self, y, sample_weight, n_classes, extra_for=None):
        y = np.asarray(y)
        n = y.shape[0] if y.ndim else 0
        k = 2 if n_classes is None else int(n_classes)
        if k < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
        y = validation.class_labels(y, n, k)
        w = validation.weights(sample_weight, n)
        validation.weight_sum(w, n)
        extra = None if extra_for is None else extra_for(y, k, w)
        cw = self._class_weights(k, extra)
        totals = _class_counts(y, w, k)
        class_w = totals * cw if cw.size else totals
        if self.gamma == 0.0:  # closed form: p_c proportional to the class's total weight
            prior = np.clip(class_w / class_w.sum(), _CLIP, 1.0 - _CLIP)
            if n_classes is None:
                return float(np.log(prior[1]) - np.log(prior[0]))
            logp = np.log(prior)
            return logp - logp.mean()
        # The loss of a constant score depends on a row only through its label, so the search
        # runs on one row per class weighted by the class's total weight (k rows, not n).
        labels = np.arange(k, dtype=np.float64)
        if n_classes is None:
            p = _Prepared(labels, np.zeros(k), totals)

            def grad_sum(c):
                p.raw = np.full(k, c)
                return float(self._grad_hess(p, extra)[0].sum())

            return root_of_gradient_sum(grad_sum, -1.0, 1.0, expand=True)
        return self._init_softmax_numeric(labels, totals, k, extra, class_w)

    def _init_softmax_numeric(self, labels, totals, k, extra, class_w):
        from scipy.optimize import minimize

        p = _Prepared(labels, np.zeros((k, k)), totals)

        def fun(c):
            p.raw = np.broadcast_to(c, (k, k))
            return float(self._value(p, extra).sum()), self._grad_hess(p, extra)[0].sum(axis=0)

        start = np.log(np.clip(class_w / class_w.sum(), _CLIP, 1.0))
        res = minimize(
            fun,
            start - start.mean(),
            jac=True,
            method="L-BFGS-B",
            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000},
        )
        return res.x - res.x.mean()


class CrossEntropy(Focal):
    """Logistic (binary) / softmax (multiclass) cross-entropy: ``Focal(gamma=0)``."""

    name = "cross_entropy"
    _param_names = ("alpha", "hessian")

    def __init__(self, alpha=None, hessian=None):
        super().__init__(gamma=0.0, alpha=alpha, hessian=hessian)


def posterior_shift(loss, y, raw, sample_weight=None, class_weight=None):
    """An offset of the margins (a float for a 1-D margin, else a centred (k,) vector) after
    which the mean ``loss.posterior`` over the rows ``(y, raw)`` equals the class shares of
    ``y``, weighted by ``sample_weight``: calibration in the large, which cross-entropy's own
    score equations give its link output and which a boosted model of a weighted or focal loss
    loses when its margins are inverted (the transform is not linear, and the model is not the
    loss's minimiser). Fitted on the training rows (the estimators do); it moves every margin
    of a class alike, so rankings within a class and ``predict`` are unchanged.

    Binary: the root of the mean posterior minus the positive share (brentq); softmax: the
    fixed point of ``shift_k += log(share_k / mean posterior_k)`` (the prior adjustment of
    Saerens et al. 2002). A class with no weight keeps its margin."""
    from scipy.optimize import brentq

    raw = np.asarray(raw, np.float64)
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    binary = raw.ndim == 1 or raw.shape[1] == 1
    k = 2 if binary else raw.shape[1]
    y = np.asarray(y).astype(np.intp).ravel()
    share = np.bincount(y, weights=w, minlength=k) / (len(y) if w is None else w.sum())
    if binary:
        raw = raw.reshape(-1)
        if not 0.0 < share[1] < 1.0:
            return 0.0

        def gap(c):
            return float(np.average(loss.posterior(raw + c, class_weight), weights=w)) - share[1]

        lo, hi = -1.0, 1.0
        while gap(lo) > 0 and lo > -1e3:
            lo *= 2.0
        while gap(hi) < 0 and hi < 1e3:
            hi *= 2.0
        return float(brentq(gap, lo, hi, xtol=1e-10)) if gap(lo) <= 0 <= gap(hi) else 0.0
    shift = np.zeros(k)
    has = share > 0
    for _ in range(200):
        mean = np.average(loss.posterior(raw + shift, class_weight), axis=0, weights=w)
        step = np.where(has, np.log(np.where(has, share, 1.0) / np.maximum(mean, 1e-300)), 0.0)
        shift += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return shift - shift[has].mean()


def _per_class(class_weight, k):
    """Extra per-class weights as a float64 array of k positive entries, or None."""
    if class_weight is None:
        return None
    cw = np.asarray(class_weight, np.float64).ravel()
    if cw.size != k or not np.all(np.isfinite(cw)) or np.any(cw <= 0):
        raise ValueError(f"class_weight must hold {k} positive finite weights, got {class_weight!r}")
    return cw


def _class_counts(y, w, k):
    w = None if w is None else validation.to_host(w)
    return np.bincount(validation.to_host(y).astype(np.intp), weights=w, minlength=k)


def effective_number_weights(counts, beta):
    """Cui et al. (2019) class weights ``(1 - beta) / (1 - beta^n_c)``, normalised to sum to
    the number of classes. A class with no sample is weighted as if it had one."""
    n = np.maximum(np.asarray(counts, np.float64), 1.0)
    if beta == 0.0:
        w = np.ones_like(n)
    else:
        log_beta = np.log(beta)
        w = np.expm1(log_beta) / np.expm1(n * log_beta)
    return w * (n.size / w.sum())


class ClassBalanced(_Classification):
    """Class-balanced loss (Cui et al. 2019): the base loss (``CrossEntropy()`` or
    ``Focal(...)``) with each row weighted by its class's effective-number weight.

    counts: per-class sample counts (with sample weights: the weight each class carries, so
    integer weights count like repeated rows). ``None`` counts the labels (and weights) of each
    call; call ``with_counts(y_train, sample_weight=w_train)`` (the adapters and estimators do
    this once, from the training data) so that validation data is scored with the training
    class weights.
    """

    name = "class_balanced"
    _param_names = ("base", "beta", "counts")

    def __init__(self, base=None, beta=0.999, counts=None):
        if base is None:
            base = CrossEntropy()
        if not isinstance(base, Focal):
            raise ValueError(f"base must be CrossEntropy() or Focal(...), got {base!r}")
        self.base = base
        beta = validation.non_negative("beta", beta)
        if beta >= 1.0:
            raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
        self.beta = beta
        if counts is not None:
            arr = np.asarray(counts)
            if arr.ndim != 1 or arr.size < 2 or arr.dtype.kind not in "iuf":
                raise ValueError(f"counts must be a 1-D sequence of at least 2 class counts, got {counts!r}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"counts must be finite and non-negative, got {counts!r}")
            counts = tuple(int(c) if float(c).is_integer() else float(c) for c in arr)
        self.counts = counts

    @property
    def hessian(self):
        return self.base.hessian

    @property
    def hessian_modes(self):
        return self.base.hessian_modes

    def with_hessian(self, hessian):
        return self.replace(base=self.base.with_hessian(hessian))

    def bind(self, y, sample_weight=None, n_classes=None, num_rounds=None):
        """The class counts taken from the training labels and weights (``with_counts``), so
        that every round, worker and validation set uses the training class weights."""
        loss = super().bind(y, sample_weight, n_classes, num_rounds)
        return loss if loss.counts is not None else loss.with_counts(y, n_classes, sample_weight)

    @property
    def bound(self):
        return self.counts is not None

    def with_counts(self, y, n_classes=None, sample_weight=None):
        """A copy whose class counts come from the (training) labels ``y`` and weights."""
        k = 2 if n_classes is None else int(n_classes)
        n = np.shape(y)[0]
        y = validation.class_labels(np.asarray(y), n, k)
        w = validation.weights(sample_weight, n)
        return self.replace(counts=_class_counts(y, w, k))

    def class_weights(self, y=None, n_classes=None, sample_weight=None):
        """The per-class weights: from ``counts``, else from the labels ``y`` (and weights)."""
        if self.counts is not None:
            counts = np.asarray(self.counts)
            if n_classes is not None and counts.size != n_classes:
                raise ValueError(f"counts has {counts.size} classes, the problem has {n_classes}")
        else:
            if y is None:
                raise ValueError("class_weights needs counts or labels y")
            counts = _class_counts(np.asarray(y), sample_weight, n_classes or 2)
        return effective_number_weights(counts, self.beta)

    def inverse_link(self, raw):
        return self.base.inverse_link(raw)

    def posterior_shift(self, y, raw, sample_weight=None, class_weight=None):
        return posterior_shift(self, y, raw, sample_weight, class_weight)

    @property
    def posterior_gamma(self):
        return self.base.posterior_gamma

    def training_weights(self, n_classes, class_weight=None):
        """The base loss's weights times the effective-number weights (and ``class_weight``)."""
        if self.counts is None:
            raise ValueError("training_weights needs the training class counts: use loss.with_counts(y_train)")
        more = _per_class(class_weight, n_classes)
        extra = self.class_weights(n_classes=n_classes)
        return self.base.training_weights(n_classes, extra if more is None else extra * more)

    def posterior(self, raw, class_weight=None, shift=None):
        """Class-posterior estimates (see ``Focal.posterior``): the base loss's inverse
        transform, with the effective-number class weights (and ``class_weight``) undone as a
        prior shift. Needs the training counts (``with_counts``; the estimators and ``train``
        helpers bind them)."""
        if self.counts is None:
            raise ValueError("posterior needs the training class counts: use loss.with_counts(y_train)")
        raw = np.asarray(raw)
        k = 2 if raw.ndim == 1 or raw.shape[1] == 1 else raw.shape[1]
        extra = self.class_weights(n_classes=k)
        more = _per_class(class_weight, k)
        return self.base.posterior(raw, extra if more is None else extra * more, shift)

    @property
    def link(self):
        return self.base.link

    def grad_hess(self, y, raw, sample_weight=None, *, dtype=None, out=None):
        p = _Prepared(y, raw, sample_weight)
        return self.base._grad_hess(p, self.class_weights(p.y, p.n_classes, p.w), dtype, out)

    def value(self, y, raw, sample_weight=None):
        p = _Prepared(y, raw, sample_weight)
        return self.base._value(p, self.class_weights(p.y, p.n_classes, p.w))

    def init_score(self, y, sample_weight=None, n_classes=None):
        return self.base._init_score(y, sample_weight, n_classes, extra_for=self.class_weights)
