"""What both framework adapters share: shaping labels, binding class counts once, the start.

Layer 5 (adapters; see ``gbobjectives/__init__.py``): imports losses, and from the kernels only
the CPU loops of leaf renewal's bookkeeping (the rows' leaves, their residuals, the per-row
corrections); no loss math here.
"""

import warnings
import weakref

import numpy as np

from .kernels import cpu
from .losses import ClassBalanced, Focal, Quantile, get_loss
from .losses import kernel_threads as _threads_of
from .losses._validation import remember_checks
from .losses.base import grad_hess_in, takes_out

# Threads of the CPU loops inside a booster's training (``gbobjectives.kernel_threads``), as
# measured by benchmarks/kernel_threads.py on 2 cores:
# - XGBoost ships its own OpenMP runtime, whose threads are still busy-waiting when the objective
#   runs: a short loop (1M elements, 1-3 ms) is faster serial than on a second pool contending
#   with them, a long one (softmax, 1M x 4) faster on the pool. "auto" chooses by size.
# - LightGBM and Numba's default (omp) threading layer load the same libgomp, so the loops run
#   on LightGBM's own pool: no contention, and the pool was as fast or faster in every pair.
Threads = int | str | None  # a kernel_threads setting (see gbobjectives.kernel_threads)
XGBOOST_KERNEL_THREADS = "auto"
LIGHTGBM_KERNEL_THREADS = None


def is_classifier(loss):
    return isinstance(loss, Focal | ClassBalanced)


def n_outputs(loss, n_classes=None):
    """Columns of the raw score: quantile levels, softmax classes, or 1."""
    if isinstance(loss, Quantile) and loss._levels():
        return loss._levels()
    if is_classifier(loss) and n_classes and n_classes > 2:
        return int(n_classes)
    return 1


def shape_labels(y, n):
    """XGBoost <= 3.1 returns a flattened (n*k,) label for 2-D labels; 3.2+ returns (n, k)."""
    y = np.asarray(y)
    if y.ndim == 1 and y.size != n and n and y.size % n == 0:
        return y.reshape(n, -1)
    return y


def none_if_empty(w):
    return None if w is None or np.size(w) == 0 else np.asarray(w)


def bind(loss, y, n_classes=None, sample_weight=None, num_rounds=None):
    """The loss to train with: class-balanced counts and the quantile residual scale taken once,
    from the training data (so every round and every distributed worker agrees), and a schedule
    over ``num_rounds`` boosting rounds where the loss has one (``Loss.for_training``)."""
    loss = get_loss(loss).for_training(num_rounds)
    if isinstance(loss, ClassBalanced) and loss.counts is None:
        loss = loss.with_counts(y, n_classes if n_classes and n_classes > 2 else None, sample_weight)
    if isinstance(loss, Quantile) and loss.scale is None and loss.hessian == "majorizer":
        loss = loss.with_scale(y, sample_weight)
    return loss


def start(loss, y, w, n_classes=None):
    """The optimal constant raw score as a 1-D array (one entry per output column)."""
    if is_classifier(loss):
        init = loss.init_score(y, w, n_classes=n_classes if n_classes and n_classes > 2 else None)
    else:
        init = loss.init_score(y, w)
    return np.atleast_1d(np.asarray(init, np.float64))


def metric_name(loss):
    return f"{loss.name}-loss"


def check_metric_loss(loss):
    loss = get_loss(loss)
    if isinstance(loss, ClassBalanced) and loss.counts is None:
        raise ValueError(
            "a class-balanced metric needs the training counts: pass loss.with_counts(y_train) "
            "(the train() helpers do this for you)"
        )
    return loss


class _Inputs:
    __slots__ = ("y", "w", "loss", "n", "out", "out_key", "rounds")

    def __init__(self, y, w, loss, n):
        self.y, self.w, self.loss, self.n = y, w, loss, n
        self.out = self.out_key = None
        self.rounds = 0  # objective calls so far on this data set: the boosting round


class PerDataset:
    """Labels, weights and loss of each DMatrix / Dataset, read once and released with it. The
    losses scan these labels and weights for bad values on the first round only (they are this
    cache's own copies, which nothing writes to).

    ``bind``: bind class-balanced counts and the quantile scale to that data (the training
    set); metrics use the loss as given, with an adaptive scale frozen (``Loss.frozen``) at the
    residuals of their first evaluation of each data set. ``to_device``: where labels and
    weights go (GPU path).
    """

    def __init__(self, loss, bind):
        self.loss, self.bind = loss, bind
        self._cache = weakref.WeakKeyDictionary()

    def __len__(self):
        return len(self._cache)

    def get(self, predt, data, to_device=None):
        n = predt.shape[0]
        got = self._cache.get(data)
        if got is None or got.n != n:
            y = shape_labels(data.get_label(), n)
            w = none_if_empty(data.get_weight())
            loss = self.loss
            if self.bind:
                loss = bind(loss, y, predt.shape[1] if predt.ndim == 2 else None, w)
            else:
                loss = loss.frozen(y, predt, w)
            if to_device is not None:
                y, w = to_device(y), None if w is None else to_device(w)
            remember_checks(y, w)
            got = self._cache[data] = _Inputs(y, w, loss, n)
        return got


class AdapterCallable:
    """Base of both adapters' objectives and metrics: the loss, its per-data inputs (``_bind``:
    bound to the training data, for objectives), the threads of the CPU loops during a call
    (``gbobjectives.kernel_threads``), and pickling by the constructor's arguments (``_state``;
    the per-data cache stays behind, e.g. when xgboost.dask ships the objective to a worker)."""

    _bind = False
    _state: tuple[str, ...] = ("loss", "kernel_threads")
    # set by the adapters' ``train`` once this training's leaf renewal is arranged (by the booster
    # or by LeafRenewal) or has been warned about; an objective of a loss with ``renews_leaves``
    # called without it (passed to the booster directly) warns once that no leaf is renewed
    leaves_arranged = False
    # set by ``train`` when this training's leaves are renewed (by the booster or LeafRenewal):
    # the curvature handed over is then ``loss.split_curvature`` of the loss's own
    renewing = False

    def __init__(self, loss, kernel_threads):
        self.loss = get_loss(loss)
        self.kernel_threads = kernel_threads
        self._threads = _threads_of(kernel_threads)
        self._cache = PerDataset(self.loss, self._bind)

    def _check_leaves(self):
        """Warn once when the loss wants its leaves renewed and no ``train`` arranged it."""
        if self.loss.renews_leaves and not self.leaves_arranged:
            self.leaves_arranged = True
            warnings.warn(
                f"{self.loss!r} renews its leaves only when trained through gbobjectives.xgboost.train, "
                "gbobjectives.lightgbm.train or the estimators; passed to the booster directly, its "
                "leaves keep the curvature's Newton steps (renew_leaves=False trains that model "
                "without this warning)",
                UserWarning,
                stacklevel=3,
            )

    def _grad_hess(self, d, raw, dtype=None):
        """``d.loss``'s grad and hess for the data set ``d``. On the host, from the second round
        on, written into the pair of arrays the first round returned (one pair per data set,
        released with it): XGBoost copies them and LightGBM consumes them before the next
        round, and fresh outputs would be fresh pages for the kernel to fault in (and zero)
        every round. A loss whose ``grad_hess`` takes no ``out=`` allocates as before. The loss is
        ``d.loss.at_round`` of the number of calls so far on ``d`` (the boosting round)."""
        loss = d.loss.at_round(d.rounds)
        d.rounds += 1
        key = (raw.shape, raw.dtype, raw.flags.f_contiguous, dtype) if isinstance(raw, np.ndarray) else None
        if key is not None and key == d.out_key:
            g, h = grad_hess_in(loss, d.y, raw, d.w, dtype, out=d.out)
        else:
            g, h = grad_hess_in(loss, d.y, raw, d.w, dtype)
            if key is not None and takes_out(loss) and isinstance(g, np.ndarray) and isinstance(h, np.ndarray):
                d.out, d.out_key = (g, h), key
        return g, loss.split_curvature(h, d.w) if self.renewing else h

    def __deepcopy__(self, memo):
        # lightgbm.train deep-copies its params, the objective callable included: the copy
        # would lose what this object holds for one training (the leaf renewal, the per-data
        # cache), so the same object is used
        return self

    def __getstate__(self):
        flags = {"leaves_arranged": self.leaves_arranged, "renewing": self.renewing}
        return {name: getattr(self, name) for name in self._state} | flags

    def __setstate__(self, state):
        state = dict(state)
        flags = {name: state.pop(name, False) for name in ("leaves_arranged", "renewing")}
        self.__init__(**state)
        self.__dict__.update(flags)


# ---- leaf renewal (losses with ``renews_leaves``) ---------------------------------------------
class LeafLookup:
    """Which leaf each row fell in, from the tree's output for the row (the change of its
    cached score) and the tree's leaf values: the nearest value (a cached score changes by the
    leaf value up to rounding). Leaves with equal values are told apart by nothing: their rows
    all go to the lowest-numbered one (``same``: for each leaf, the lowest-numbered leaf of its
    value). Built once per tree, then used once per data set: the training rows' pass
    (``training_rows``), then each other data set's (``add_change``)."""

    def __init__(self, leaf_values):
        self.values = leaf_values = np.ascontiguousarray(leaf_values, np.float64)
        order = np.argsort(leaf_values, kind="stable")
        v = leaf_values[order]
        self.mid = (v[1:] + v[:-1]) / 2  # ascending: a row's slot is the count of those <= its output
        first = np.r_[True, v[1:] != v[:-1]]  # a new value starts (stable: its lowest leaf first)
        self.same = np.empty(len(order), np.intp)
        self.same[order] = order[first][np.cumsum(first) - 1]
        self._leaf = self.same[order]  # the leaf of each slot

    def training_rows(self, cached, seen, correction, y, leaf, residual):
        """For the training rows (one output column; the tree's output for a row is ``cached -
        seen``, its scores now and when last seen): each row's leaf into ``leaf``, its residual
        against the renewed model before this tree, ``y - (seen + correction)``, into
        ``residual``. Returns how many rows are farther from their leaf's value than the
        rounding of their cached score allows: 0 unless a leaf is missing from the values."""
        return cpu.tree_rows(self.mid, self._leaf, self.values, cached, seen, correction, y, leaf, residual)

    def add_change(self, change, cached, seen, correction):
        """``correction += change`` of each row's leaf (``change``: per leaf), the leaves read
        from the rows' outputs ``cached - seen``: a data set brought up to the renewed tree."""
        cpu.add_leaf_change(self.mid, self._leaf, change, cached, seen, correction)


def renewed_leaf_values(loss, leaf_values, leaf, residual, weight, column, learning_rate):
    """New values of a tree's leaves (``leaf``: each row's leaf, an index into ``leaf_values``):
    ``learning_rate x loss.leaf_value`` of the residuals of the rows in each leaf; a leaf without
    rows keeps its value."""
    leaf_values = np.asarray(leaf_values, np.float64)
    steps = loss.leaf_values(residual, weight, leaf, np.full(len(leaf_values), np.nan), column)
    return np.where(np.isnan(steps), leaf_values, learning_rate * steps)


class RenewedMetric:
    """A metric callable of the user's, given the renewed model's margins: under an adapter's
    leaf renewal the booster's cached scores hold the trees' original leaf values, so each call
    first renews the newest trees (``renewal.sync()``) and passes ``renewal.scores``."""

    def __init__(self, metric, renewal):
        self.metric, self.renewal = metric, renewal

    def __call__(self, preds, data):
        self.renewal.sync()
        return self.metric(self.renewal.scores(preds, data), data)


def renewed_metrics(metrics, renewal, own):
    """``metrics`` (one callable, or a list or tuple of them) for a training renewed by
    ``renewal``: the adapter's own metric objects (of class ``own``) are told about it, any other
    callable is wrapped in ``RenewedMetric``."""
    if metrics is None:
        return None

    def one(metric):
        if isinstance(metric, own):
            metric.renewal = renewal
            return metric
        return RenewedMetric(metric, renewal)

    return [one(m) for m in metrics] if isinstance(metrics, list | tuple) else one(metrics)


BUILT_IN_METRIC_WARNING = (
    "{library}'s built-in metrics ({metrics!r}) score its cached scores, which do not follow the "
    "renewed leaves: their values, and early stopping on them, are for the trees' original leaf "
    "values; the loss's metric (the default) and metric callables see the renewed model"
)
