"""The loss interface and the plumbing every loss shares: validation, calls into the loops,
weighted means, numeric optimal constants.

Layer 3 (see ``gbobjectives/__init__.py``): imports the kernels, never the adapters.
"""

import functools
import inspect
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..kernels import cpu, scalar
from . import _validation as validation

EMPTY = np.empty(0)

HESSIAN_CODES = {
    "exact": scalar.H_EXACT,
    "constant": scalar.H_CONSTANT,
    "majorizer": scalar.H_MAJORIZER,
    "floored": scalar.H_FLOORED,
}


def _or_empty(w):
    return EMPTY if w is None else w


class Loss:
    """Base class of every gbobjectives loss.

    The interface (which ``check_gradients`` and the adapters rely on):

    - ``value(y, raw, sample_weight=None)``: per-row loss times the weight, shaped like ``raw``
      for element-wise losses and ``(n,)`` for softmax losses;
    - ``grad_hess(y, raw, sample_weight=None, *, dtype=None)``: derivative and curvature with
      respect to the raw margin, shaped like ``raw`` (and in its memory order), weights applied;
      computed in float64 and written in ``dtype`` (None: ``raw``'s; float32 is what XGBoost and
      LightGBM store, so asking for it saves them a conversion);
    - ``init_score(y, sample_weight=None)``: the optimal constant raw score;
    - ``inverse_link(raw)``: raw scores to predictions;
    - ``mean(y, raw, sample_weight=None)``: the weighted mean loss (the metric);
    - ``__call__(y_true, y_pred, sample_weight=None)``: ``grad_hess`` in float32, for the
      scikit-learn wrappers of XGBoost and LightGBM (both keep gradients in float32).

    ``hessian=`` chooses the curvature: ``"exact"`` is the true second derivative of the
    documented loss (zero or negative where the math says so); the default is a positive
    curvature that boosts well (see each class and benchmarks/hessian_choice.py).
    """

    name: str | None = None  # registry name
    link: str = "identity"
    # adapters: after each tree, set every leaf to ``leaf_value`` of the residuals of its training
    # rows (times the learning rate), as LightGBM's / XGBoost's own quantile objectives do
    renews_leaves: bool = False
    # with ``renews_leaves``: the level of each output whose weighted quantile ``leaf_value`` is
    # (a sequence, one per output), when it is one; an adapter may then hand the renewal to a
    # booster that renews quantile leaves itself (XGBoost's ``reg:quantileerror``). None: not a
    # quantile, renewed by the adapters alone.
    leaf_quantile_levels: tuple[float, ...] | None = None
    # the loss adapts a parameter to the current residuals at every call (an adaptive scale):
    # distributed training fixes it from all the data each round (``gbobjectives.xgboost.dask_train``)
    adaptive: bool = False
    # a classification loss: labels are class ids, one output per class beyond two
    # (``n_outputs``), probabilities through ``posterior`` (the estimators' GBClassifier)
    classifier: bool = False
    # the curvature is a row weight of at most 1 (an IRLS weight) that vanishes for outliers:
    # a leaf's curvature sum counts its effective rows. LightGBM's default floor on it
    # (min_sum_hessian_in_leaf = 1e-3) lets a leaf of outliers alone take the Newton step that
    # fits them; the LightGBM adapter sets the floor to this many mean-weight rows unless the
    # user sets it (XGBoost's min_child_weight = 1 is that floor already). None: no floor set.
    min_leaf_rows: float | None = None
    hessian_modes: tuple[str, ...] = ()
    default_hessian: str | None = None
    _param_names: tuple[str, ...] = ("hessian",)

    def __init__(self, hessian=None):
        if hessian is None:
            hessian = self.default_hessian
        if hessian not in self.hessian_modes:
            raise ValueError(
                f"hessian={hessian!r} is not available for {type(self).__name__}; "
                f"choose one of {', '.join(map(repr, self.hessian_modes))}"
            )
        self.hessian = hessian

    # ---- parameters -----------------------------------------------------------------------
    # (not ``get_params``: scikit-learn would take a loss for a nested estimator, and XGBoost's
    # wrappers would then pass ``objective__delta`` & co. on to the booster as unknown params)
    def parameters(self):
        return {name: getattr(self, name) for name in self._param_names}

    def replace(self, **changes: Any) -> "Loss":
        """A copy of this loss with some parameters changed: the one way a loss is rebuilt."""
        return type(self)(**(self.parameters() | changes))

    def with_hessian(self, hessian: str) -> "Loss":
        """A copy of this loss with another curvature."""
        return self.replace(hessian=hessian)

    def __repr__(self):
        args = ", ".join(f"{k}={val!r}" for k, val in self.parameters().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))

    # ---- public interface -------------------------------------------------------------------
    def __call__(
        self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return grad_hess_in(self, y_true, y_pred, sample_weight, np.float32)

    def mean(self, y: ArrayLike, raw: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Weighted mean loss: sum(w * loss) / sum(w), averaged over outputs."""
        val = self.value(y, raw, sample_weight)
        n = val.shape[0]
        w_total = validation.weight_sum(validation.weights(sample_weight, n, validation.is_device(val)), n)
        return total(val) / (w_total * (val.size // n))

    def scaled_to(self, y, sample_weight=None):
        """A copy whose scale parameter (delta, scale) is set from the labels; losses without
        one return themselves. The estimators call it for a loss given by name."""
        return self

    def estimator_default(self, y, sample_weight=None):
        """The loss the estimators train when this one is given by name: ``scaled_to`` the
        labels, unless the loss has a better default (an adaptive scale)."""
        return self.scaled_to(y, sample_weight)

    # ---- what a training needs to know of the loss (the adapters call these) ------------------
    def bind(self, y, sample_weight=None, n_classes=None, num_rounds=None) -> "Loss":
        """The loss a training on labels ``y`` and weights uses: what must be the same for
        every round and every distributed worker fixed once from the whole training set (the
        quantile residual scale, class-balanced counts), and the schedule of a training of
        ``num_rounds`` rounds (``for_training``). ``n_classes``: None for regression and binary,
        else the number of classes (> 2). The identity, but for the schedule, by default."""
        return self.for_training(num_rounds)

    @property
    def bound(self) -> bool:
        """Whether the loss can score data as it is (False: it needs ``bind`` to the training
        data first, e.g. class-balanced weights without counts)."""
        return True

    def n_outputs(self, n_classes=None) -> int:
        """Columns of the raw score: 1, the quantile levels, or the classes (``n_classes`` > 2)."""
        return 1

    def without_leaf_renewal(self) -> "Loss":
        """This loss with its leaves' Newton steps kept (where a training cannot renew them)."""
        return self

    def for_training(self, num_rounds):
        """The loss for a training of ``num_rounds`` boosting rounds (None: unknown); a loss
        whose schedule depends on it (Tukey's warm-up) returns a copy that has it."""
        return self

    def at_round(self, t):
        """The loss the objective uses in boosting round ``t`` (0-based)."""
        return self

    def frozen(self, y, raw, sample_weight=None):
        """The loss with whatever it adapts to the residuals fixed from these (metrics call it
        once per data set, on the start's scores, so that what they report does not drift)."""
        return self

    def kink_distance(self, y, raw):
        """Distance (in raw units) from each element to the nearest kink; None if smooth."""
        return None

    def value(self, y: ArrayLike, raw: ArrayLike, sample_weight: ArrayLike | None = None) -> np.ndarray:
        raise NotImplementedError

    def grad_hess(
        self,
        y: ArrayLike,
        raw: ArrayLike,
        sample_weight: ArrayLike | None = None,
        *,
        dtype: DTypeLike | None = None,
        out: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and curvature of the weighted loss, per element of ``raw``, in ``dtype``
        (float32 or float64; None: the raw scores'). ``out=(grad, hess)``: arrays of ``raw``'s
        shape and that dtype to write them into, and returned (no allocation: the adapters
        pass the same pair every round)."""
        raise NotImplementedError

    def init_score(
        self, y: ArrayLike, sample_weight: ArrayLike | None = None, n_classes: int | None = None
    ) -> float | np.ndarray:
        """The optimal constant raw score: a float for one output, else one per output
        (``n_classes``: as in ``bind``; regression losses ignore it)."""
        raise NotImplementedError

    def inverse_link(self, raw: ArrayLike) -> np.ndarray:
        return np.asarray(raw)

    def split_curvature(self, h, sample_weight=None, across=None):
        """The curvature handed to the booster when the adapters renew the leaves (it then only
        chooses the splits), from ``grad_hess``'s ``h``, in place; by default ``h`` itself.
        ``across``: where these rows are one machine's share, a function summing an array over
        the machines, for statistics of all the rows (see ``rescale_columns``)."""
        return h

    def leaf_value(self, residual, weight, column):
        """The optimal constant step of a leaf from its rows' residuals ``y - raw`` (and
        weights, or None) for output ``column``; only for losses with ``renews_leaves``."""
        raise NotImplementedError

    def leaf_values(self, residual, weight, leaf, out, column):
        """``leaf_value`` of every leaf of a tree at once, written into ``out`` (one entry per
        leaf; ``leaf``: each row's leaf, an index into ``out``; a leaf without rows keeps its
        entry). This one calls ``leaf_value`` leaf by leaf; a loss may do it in one pass."""
        order = np.argsort(leaf, kind="stable")
        ids, starts = np.unique(leaf[order], return_index=True)
        bounds = np.r_[starts, len(order)]
        for i, a, b in zip(ids, bounds[:-1], bounds[1:], strict=True):
            rows = order[a:b]
            out[i] = self.leaf_value(residual[rows], None if weight is None else weight[rows], column)
        return out


def grad_hess_in(loss, y, raw, sample_weight, dtype, out=None):
    """``loss.grad_hess`` written in ``dtype`` (into ``out`` where given). A user's loss whose
    ``grad_hess`` predates the ``dtype=`` or ``out=`` keyword gets the call it takes, and
    returns its own result (XGBoost and LightGBM convert it themselves)."""
    takes = _grad_hess_keywords(loss)
    kw = {"dtype": dtype} if "dtype" in takes else {}
    if out is not None and "out" in takes:
        kw["out"] = out
    return loss.grad_hess(y, raw, sample_weight, **kw)


def takes_out(loss):
    """Whether ``loss.grad_hess`` can write into a caller's arrays (``out=``)."""
    return "out" in _grad_hess_keywords(loss)


def _grad_hess_keywords(loss):
    method = loss.grad_hess
    return _keywords(getattr(method, "__func__", method))


@functools.cache
def _keywords(func):
    """The parameter names of ``func``; looked up once per function (the adapters call
    ``grad_hess_in`` every round)."""
    try:
        return frozenset(inspect.signature(func).parameters)
    except (TypeError, ValueError):  # no signature to read (e.g. a builtin): the old call
        return frozenset()


# ---- calls into the loops, shared by the loss families -------------------------------------
# Host arrays run the CPU loops; device arrays (``__cuda_array_interface__``) run the CUDA
# kernels, which are imported only then, and come back as numba device arrays. Both modules
# take the same arguments.
def _backend(raw, *arrays):
    """The loops' module for ``raw`` and ``arrays`` ready for it (on the GPU: moved to or viewed
    on the device, an absent weight as an empty array)."""
    if not validation.is_device(raw):
        return cpu, np.empty, [_or_empty(a) for a in arrays]
    cu = validation.cuda_kernels()
    return cu, cu.empty, [cu.as_device(_or_empty(a)) for a in arrays]


def _grad_hess_outputs(empty, raw, dtype, out):
    """Two outputs shaped like ``raw``: the caller's ``out`` (checked), else new ones, in
    ``raw``'s memory order on the host (a Fortran-ordered multi-output score from LightGBM gets
    Fortran-ordered gradients, which it flattens without a copy), C order on the GPU; dtype
    ``raw``'s unless given."""
    dtype = validation.output_dtype(dtype, raw.dtype)
    if out is not None:
        return validation.out_pair(out, raw, dtype)
    if empty is np.empty:
        return np.empty_like(raw, dtype), np.empty_like(raw, dtype)
    return empty(raw.shape, dtype), empty(raw.shape, dtype)


def elementwise_grad_hess(kind, hmode, params, y2, raw, w, cw=EMPTY, dtype=None, out=None):
    mod, empty, (params, y2, w, cw) = _backend(raw, params, y2, w, cw)
    g, h = _grad_hess_outputs(empty, raw, dtype, out)
    mod.elementwise_grad_hess(
        kind, hmode, params, y2, validation.as_2d(raw), w, cw, validation.as_2d(g), validation.as_2d(h)
    )
    return g, h


def elementwise_value(kind, params, y2, raw, w, cw=EMPTY):
    raw2 = validation.as_2d(raw)
    mod, empty, (params, y2, w, cw) = _backend(raw, params, y2, w, cw)
    out = empty(raw2.shape, np.float64)
    mod.elementwise_value(kind, params, y2, raw2, w, cw, out)
    return out.reshape(raw.shape)


def softmax_grad_hess(gamma, hmode, factor, y, raw, w, cw=EMPTY, dtype=None, out=None):
    mod, empty, (y, w, cw) = _backend(raw, y, w, cw)
    g, h = _grad_hess_outputs(empty, raw, dtype, out)
    mod.softmax_grad_hess(gamma, hmode, factor, y, raw, w, cw, g, h)
    return g, h


def softmax_value(gamma, y, raw, w, cw=EMPTY):
    mod, empty, (y, w, cw) = _backend(raw, y, w, cw)
    out = empty(raw.shape[0], np.float64)
    mod.softmax_value(gamma, y, raw, w, cw, out)
    return out


def leaf_quantiles(alpha, residual, weight, leaf, out):
    """Per leaf, the weighted ``alpha``-quantile of its rows' residuals, into ``out`` (host
    arrays; see ``kernels.cpu.leaf_quantiles``)."""
    residual = np.ascontiguousarray(residual, np.float64)
    w = None if weight is None else np.ascontiguousarray(weight, np.float64)
    cpu.leaf_quantiles(alpha, residual, w, np.ascontiguousarray(leaf, np.intp), out)
    return out


def rescale_columns(h, target, sqrt=False, weight=None, across=None):
    """Scale each column of ``h`` (1-D: one column) in place so that its mean over the rows is
    ``target``, on the array's own device; a column of mean 0 stays. ``sqrt``: first replace
    every entry by the square root of itself times its row's ``weight`` (None: 1): for a
    weighted curvature ``w m`` that is ``w sqrt(m)``, so that a weight still counts as that many
    repeated rows. ``across``: the mean over the rows of every machine (a function summing an
    array over them; host arrays)."""
    h2 = validation.as_2d(h)
    if validation.is_device(h):
        validation.cuda_kernels().rescale_columns(h2, target, sqrt, weight)
        return h
    if sqrt:
        if weight is not None:
            h2 *= np.asarray(weight, h2.dtype)[:, None]
        np.sqrt(h2, out=h2)
    if across is None:
        mean = h2.mean(axis=0, dtype=np.float64)
    else:
        sums = across(np.r_[h2.sum(axis=0, dtype=np.float64), h2.shape[0]])
        mean = sums[:-1] / sums[-1]
    h2 *= np.where(mean > 0, target / np.where(mean > 0, mean, 1.0), 1.0).astype(h2.dtype)
    return h


def mean_abs_residual(y2, raw, w):
    mod, _, (y2, w) = _backend(raw, y2, w)
    return mod.mean_abs_residual(y2, validation.as_2d(raw), w)


def total(a):
    """Sum of every entry, on the array's own device."""
    return validation.cuda_kernels().total(a) if validation.is_device(a) else float(np.sum(a, dtype=np.float64))


# ---- optimal constants -------------------------------------------------------------------------
def root_of_gradient_sum(grad_sum, lo, hi, expand=False):
    """Root of a non-decreasing summed gradient on [lo, hi] (scipy's brentq).

    ``expand``: widen the bracket (up to |c| ~ 1e3) until the sign changes, for margins.
    """
    from scipy.optimize import brentq

    f_lo, f_hi = grad_sum(lo), grad_sum(hi)
    while expand and f_lo > 0.0 and lo > -1e3:
        lo, hi, f_hi = lo * 2.0 - 1.0, lo, f_lo
        f_lo = grad_sum(lo)
    while expand and f_hi < 0.0 and hi < 1e3:
        lo, hi, f_lo = hi, hi * 2.0 + 1.0, f_hi
        f_hi = grad_sum(hi)
    if f_lo >= 0.0:
        return lo
    if f_hi <= 0.0:
        return hi
    scale = max(abs(lo), abs(hi), 1.0)
    return brentq(grad_sum, lo, hi, xtol=1e-12 * scale, rtol=4 * np.finfo(float).eps)
