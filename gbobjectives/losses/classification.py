"""Classification losses: focal (binary sigmoid and multiclass softmax), cross-entropy (its
gamma = 0 case) and class-balanced weighting (Cui et al. 2019) over either.

A 1-D raw score (or an (n, 1) one) means binary with labels in {0, 1}; an (n, k) raw score
with k >= 2 means softmax over k classes with integer labels 0..k-1. Focal's ``alpha`` and the
class-balanced weights are both per-class weights: they reach the loops as one array indexed by
the label.
"""

import numpy as np

from ..kernels import scalar
from . import _validation as v
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


class _Prepared:
    """Validated inputs of one call: binary or softmax, class count, labels, raw, weights."""

    __slots__ = ("binary", "n_classes", "y", "raw", "w")

    def __init__(self, y, raw, sample_weight):
        raw = v.raw_scores(raw)
        n = raw.shape[0]
        self.binary = raw.ndim == 1 or raw.shape[1] == 1
        if not self.binary and raw.shape[1] < 2:
            raise ValueError(f"softmax raw scores need k >= 2 columns, got shape {raw.shape}")
        self.n_classes = 2 if self.binary else raw.shape[1]
        device = v.is_device(raw)
        self.y = v.class_labels(y, n, self.n_classes, device)
        self.raw = raw
        self.w = v.weights(sample_weight, n, device)


class Focal(Loss):
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
    _param_names = ("gamma", "alpha", "hessian")

    def __init__(self, gamma=2.0, alpha=None, hessian=None):
        self.gamma = v.non_negative("gamma", gamma)
        if alpha is None or np.ndim(alpha) == 0:
            self.alpha = None if alpha is None else v.open_unit("alpha", alpha)
        else:
            self.alpha = tuple(v.positive("alpha", a) for a in np.asarray(alpha, object).ravel())
        super().__init__(hessian)

    # ---- links ---------------------------------------------------------------------------
    @property
    def link(self):
        return "logit or softmax"

    def inverse_link(self, raw):
        """Probabilities: sigmoid of a 1-D raw score, softmax of an (n, k) one."""
        raw = np.asarray(raw)
        if raw.ndim == 1 or raw.shape[1] == 1:
            return sigmoid(raw)
        return softmax(raw)

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
            return elementwise_grad_hess(scalar.FOCAL, hmode, params, v.as_2d(p.y), p.raw, p.w, cw, dtype, out)
        return softmax_grad_hess(self.gamma, hmode, factor, p.y, p.raw, p.w, cw, dtype, out)

    def _value(self, p, extra=None):
        cw = self._class_weights(p.n_classes, extra)
        if p.binary:
            params = np.array([[self.gamma, 0.0, 0.0]])
            return elementwise_value(scalar.FOCAL, params, v.as_2d(p.y), p.raw, p.w, cw)
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
        y = v.class_labels(y, n, k)
        w = v.weights(sample_weight, n)
        v.weight_sum(w, n)
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


def _class_counts(y, w, k):
    w = None if w is None else v.to_host(w)
    return np.bincount(v.to_host(y).astype(np.intp), weights=w, minlength=k)


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


class ClassBalanced(Loss):
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
        beta = v.non_negative("beta", beta)
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
        return ClassBalanced(self.base.with_hessian(hessian), self.beta, self.counts)

    def with_counts(self, y, n_classes=None, sample_weight=None):
        """A copy whose class counts come from the (training) labels ``y`` and weights."""
        k = 2 if n_classes is None else int(n_classes)
        n = np.shape(y)[0]
        y = v.class_labels(np.asarray(y), n, k)
        w = v.weights(sample_weight, n)
        return ClassBalanced(self.base, self.beta, _class_counts(y, w, k))

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
