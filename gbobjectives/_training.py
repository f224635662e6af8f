"""What both framework adapters share: the training plan (the loss bound once, labels,
weights, classes, start, how leaves are renewed) and the base of their objective and metric
callables.

Layer 5 (adapters; see ``gbobjectives/__init__.py``): imports only losses; no loss math here.
Leaf renewal, which the adapters run beside a booster, is in ``_renewal``.
"""

import dataclasses
import warnings
import weakref
from typing import Any

import numpy as np

from .losses import Loss, get_loss
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


def softmax_classes(n_classes):
    """The class count a loss is told (``Loss.bind``, ``init_score``, ``n_outputs``): the
    number of classes of a softmax problem (more than two), else None (regression, binary)."""
    return int(n_classes) if n_classes and n_classes > 2 else None


def shape_labels(y, n):
    """XGBoost <= 3.1 returns a flattened (n*k,) label for 2-D labels; 3.2+ returns (n, k)."""
    y = np.asarray(y)
    if y.ndim == 1 and y.size != n and n and y.size % n == 0:
        return y.reshape(n, -1)
    return y


def none_if_empty(w):
    return None if w is None or np.size(w) == 0 else np.asarray(w)


def as_stored(a):
    """Labels or weights as XGBoost and LightGBM store them (float32; None stays None): what
    their ``get_label`` / ``get_weight`` return, so a plan built from the arrays the estimators
    hold trains what one read from the DMatrix / Dataset trains."""
    return None if a is None else np.asarray(a, np.float32)


# how a training renews its leaves (``TrainingPlan.renewal``)
BY_BOOSTER = "booster"  # the booster's own renewal (XGBoost < 3.4's reg:quantileerror)
BY_ADAPTER = "adapter"  # the adapter's LeafRenewal after each iteration


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """One training of a loss, decided once, before the booster starts: every objective,
    metric and leaf renewal of the training is built from it.

    ``loss``: bound to the training data (``Loss.bind``); ``y``, ``w``: the training labels and
    weights (None: unweighted), read once; ``n_classes``: the classes of a softmax problem, else
    None (``softmax_classes``); ``k``: the raw score's columns; ``start``: the optimal constant
    raw score, one per column (None: the training sets none); ``renewal``: how the leaves are
    renewed (``BY_BOOSTER``, ``BY_ADAPTER``, or None: the curvature's Newton steps); ``data``:
    the booster's training data object (DMatrix / Dataset), whose labels and weights are ``y``
    and ``w``."""

    loss: Loss
    y: np.ndarray
    w: np.ndarray | None
    n_classes: int | None
    k: int
    start: np.ndarray | None
    renewal: str | None = None
    data: Any = None

    @classmethod
    def of(cls, loss, y, w=None, n_classes=None, num_rounds=None, start=True, data=None):
        """The plan of training ``loss`` on labels ``y`` and weights ``w`` for ``num_rounds``
        rounds (None: unknown); ``start``: compute the optimal constant."""
        n_classes = softmax_classes(n_classes)
        w = none_if_empty(w)
        bound = get_loss(loss).bind(y, w, n_classes, num_rounds)
        init = None
        if start:  # (n_classes only where there are classes: a user's loss may predate the keyword)
            init = bound.init_score(y, w) if n_classes is None else bound.init_score(y, w, n_classes=n_classes)
            init = np.atleast_1d(np.asarray(init, np.float64))
        return cls(bound, y, w, n_classes, bound.n_outputs(n_classes), init, None, data)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def renews(self):
        """Whether the leaves are renewed: the curvature handed to the booster is then the
        loss's ``split_curvature``."""
        return self.renewal is not None


def metric_name(loss):
    return f"{loss.name}-loss"


def check_metric_loss(loss):
    loss = get_loss(loss)
    if not loss.bound:
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

    ``bind``: bind the loss to the data (a bare objective, trained without a plan: the training
    set's class-balanced counts and quantile scale); otherwise objectives use the loss as given
    and metrics freeze an adaptive scale (``Loss.frozen``) at the residuals of their first
    evaluation of each data set. ``known``: a data object whose labels and weights are already
    read, with them (a plan's training set). ``to_device``: where labels and weights go (GPU path).
    """

    def __init__(self, loss, bind, objective, known=None, gather=None):
        self.loss, self.bind, self.objective, self.gather = loss, bind, objective, gather
        self._cache = weakref.WeakKeyDictionary()
        self._known = weakref.WeakKeyDictionary()
        if known is not None and known[0] is not None:
            self._known[known[0]] = known[1:]

    def __len__(self):
        return len(self._cache)

    def get(self, predt, data, to_device=None):
        n = predt.shape[0]
        got = self._cache.get(data)
        if got is None or got.n != n:
            known = self._known.get(data)
            if known is not None and np.shape(known[0])[0] == n:
                y, w = known
            else:
                y, w = shape_labels(data.get_label(), n), none_if_empty(data.get_weight())
            loss = self.loss
            if self.bind:
                loss = loss.bind(y, w, softmax_classes(predt.shape[1] if predt.ndim == 2 else None))
            elif not self.objective:
                loss = loss.frozen(
                    *((y, predt, w) if self.gather is None or not loss.adaptive else self.gather(y, predt, w))
                )
            if to_device is not None:
                y, w = to_device(y), None if w is None else to_device(w)
            remember_checks(y, w)
            got = self._cache[data] = _Inputs(y, w, loss, n)
        return got


class AdapterCallable:
    """Base of both adapters' objectives and metrics: the loss, its per-data inputs, the threads
    of the CPU loops during a call (``gbobjectives.kernel_threads``), and pickling by the
    constructor's arguments (``_state``; the per-data cache stays behind, e.g. when xgboost.dask
    ships the objective to a worker).

    Made by hand (``objective(loss)``), it binds the loss to the data of its first call and, for
    a loss with ``renews_leaves``, warns once that nothing renews the leaves. Made by an
    adapter's ``train`` from its ``TrainingPlan`` (``for_plan``), everything is set at
    construction: the bound loss, the training set's labels and weights, ``renewing`` (the
    curvature handed over is then ``loss.split_curvature``) and, for an objective, ``renewal``
    (the adapter's leaf renewal, whose renewed scores it is given; metrics are wrapped in
    ``_renewal.RenewedMetric`` instead).
    """

    _objective = False
    _state: tuple[str, ...] = ("loss", "kernel_threads", "renewing", "planned", "gather", "across")

    def __init__(
        self, loss, kernel_threads, *, renewing=False, planned=False, known=None, renewal=None, gather=None, across=None
    ):
        self.loss = get_loss(loss)
        self.kernel_threads = kernel_threads
        self.renewing, self.planned, self.renewal = bool(renewing), bool(planned), renewal
        # where the rows are one machine's share: ``gather(y, raw, w)``, those rows of every
        # machine (for an adaptive scale of all of them); ``across``, an array summed over them
        self.gather, self.across = gather, across
        self._threads = _threads_of(kernel_threads)
        self._cache = PerDataset(self.loss, self._objective and not planned, self._objective, known, gather)
        self._warned = False

    @classmethod
    def for_plan(cls, plan, *args, renewal=None, **kwargs):
        """The callable of a planned training (``args`` / ``kwargs``: the adapter's own, after
        the loss: device, kernel_threads)."""
        return cls(
            plan.loss, *args, renewing=plan.renews, planned=True, renewal=renewal,
            known=(plan.data, as_stored(plan.y), as_stored(plan.w)),  # what get_label / get_weight return
            **kwargs,
        )  # fmt: skip

    def _check_leaves(self):
        """Warn once when the loss wants its leaves renewed and no ``train`` planned it."""
        if self.loss.renews_leaves and not self.planned and not self._warned:
            self._warned = True
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
        if self.gather is not None and loss.adaptive:  # the scale of every machine's residuals
            loss = loss.frozen(*self.gather(d.y, raw, d.w))
        d.rounds += 1
        key = (raw.shape, raw.dtype, raw.flags.f_contiguous, dtype) if isinstance(raw, np.ndarray) else None
        if key is not None and key == d.out_key:
            g, h = grad_hess_in(loss, d.y, raw, d.w, dtype, out=d.out)
        else:
            g, h = grad_hess_in(loss, d.y, raw, d.w, dtype)
            if key is not None and takes_out(loss) and isinstance(g, np.ndarray) and isinstance(h, np.ndarray):
                d.out, d.out_key = (g, h), key
        if not self.renewing:
            return g, h
        if self.across is None:
            return g, loss.split_curvature(h, d.w)
        return g, loss.split_curvature(h, d.w, across=self.across)

    def __deepcopy__(self, memo):
        # lightgbm.train deep-copies its params, the objective callable included: the copy
        # would lose what this object holds for one training (the leaf renewal, the per-data
        # cache), so the same object is used
        return self

    def __getstate__(self):
        return {name: getattr(self, name) for name in self._state}

    def __setstate__(self, state):
        self.__init__(**state)
