"""LightGBM adapter: callable ``objective``, ``feval`` metric, and ``train`` with the start
folded into the model.

```python
import lightgbm, gbobjectives as gb
booster = gb.lightgbm.train(gb.Focal(2.0), {"num_leaves": 31}, train_set, 100, valid_sets=[valid_set])
booster.predict(X)            # raw scores, start included; gb.Focal(2.0).inverse_link(...) -> probabilities
# or by hand:
lightgbm.train({"objective": gb.lightgbm.objective(loss), "metric": "None"}, train_set,
               feval=gb.lightgbm.metric(loss))
```

LightGBM applies no sample weights to a callable objective and starts it at 0; ``train`` puts
``loss.init_score`` in the Datasets' ``init_score`` and, after training, adds it to the leaf
values of the first iteration's trees (as LightGBM does for its built-in objectives), so a
saved and reloaded model predicts right with no extra argument. Raw scores arrive as float64,
Fortran-ordered for multi-output; both are used as they are, and the gradients go back as
LightGBM stores them (float32, in the scores' order), so it takes them without a copy.
"""

import ctypes
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _renewal as renewal_base
from . import _training as training
from .losses import Loss

if TYPE_CHECKING:
    import lightgbm


class _DatasetAware(training.AdapterCallable):
    """Labels and weights read once per Dataset; the CPU loops run on ``kernel_threads``
    threads during the call (see ``gbobjectives.kernel_threads``; None by default: Numba's pool,
    which shares LightGBM's OpenMP runtime). The keywords after it: see
    ``training.AdapterCallable`` (``train`` sets them from its plan)."""

    def __init__(self, loss, kernel_threads=training.LIGHTGBM_KERNEL_THREADS, **planned):
        super().__init__(loss, kernel_threads, **planned)


class Objective(_DatasetAware):
    """``objective(preds, train_data) -> (grad, hess)`` for ``params["objective"]``; under
    ``train``'s leaf renewal (``LeafRenewal``) of the renewed model's scores."""

    _objective = True

    def __call__(self, preds, train_data):
        d = self._cache.get(preds, train_data)
        if self.renewal is None:
            self._check_leaves()
            with self._threads:  # float32 and in the scores' (Fortran) order: LightGBM's own layout
                return self._grad_hess(d, preds, np.float32)
        with self._threads:
            g, h = self._grad_hess(d, self.renewal.scores(preds, train_data), np.float32)
        return g, self.renewal.tie_break(h)


class Metric(_DatasetAware):
    """``feval(preds, eval_data) -> (name, weighted mean loss, is_higher_better=False)``."""

    def __init__(self, loss, kernel_threads=training.LIGHTGBM_KERNEL_THREADS, **planned):
        super().__init__(training.check_metric_loss(loss), kernel_threads, **planned)
        self.name = training.metric_name(self.loss)

    def __call__(self, preds, eval_data):
        d = self._cache.get(preds, eval_data)
        with self._threads:
            return self.name, d.loss.mean(d.y, preds, d.w), False


# boosting modes whose cached scores are not the sum of the trees' leaf values (dart rescales
# dropped trees, rf averages) and linear trees (a leaf's output depends on the row): leaf
# renewal cannot keep LightGBM's scores right there (the parameter and its aliases, LightGBM's
# docs, "Parameters")
_BOOSTING_ALIASES = ("boosting", "boosting_type", "boost")
_LINEAR_ALIASES = ("linear_tree", "linear_trees")


class LeafRenewal(renewal_base.LeafRenewal):
    """Leaf renewal inside ``lightgbm.train`` for a loss with ``renews_leaves``: after each
    iteration, every leaf of its new tree(s) is set (``Booster.set_leaf_output``) to
    ``shrinkage x loss.leaf_value`` of the residuals of the training rows in it, the shrinkage
    LightGBM applied to that tree (the learning rate, also under ``lightgbm.reset_parameter``).
    A one-leaf tree keeps its value, as under LightGBM's own quantile objective (it adds
    nothing: LightGBM neither shrinks nor renews it).

    LightGBM keeps its cached training and validation scores as they were (they do not follow
    ``set_leaf_output``), so this keeps, per Dataset (a ``DataState``), the scores it last saw
    (``base``) and a correction (``offset``: renewed minus original leaf values, summed over
    trees): the objective and the metric get the cached scores plus the correction, i.e. the
    renewed model's margins. A row's leaf is read from the change of its cached score (the
    tree's output for it, ``LeafLookup``), so the raw data is never needed. After each update,
    LightGBM's C API gives the training scores and one model text of the new iteration gives
    its trees' leaf values (exactly: 17 significant digits); a training row whose score changed
    by none of its tree's leaf values stops the training (LightGBM's scores would not be the
    sum of leaf values: ``train`` keeps dart, rf and linear trees off renewal for that reason).
    ``sync`` runs from the metric (before any set is scored) and from a callback after each
    iteration. ``trees``: per tree, (renewed minus original leaf values, its ``LeafLookup``)."""

    def __init__(self, plan):
        super().__init__(plan)
        self._buffer = ctypes.create_string_buffer(1 << 16)  # for one iteration's model text
        self._scores = None  # two buffers for the training scores, used in turn
        self._label = np.ascontiguousarray(self.y[:, 0])  # LightGBM's label: one column

    # Two leaves with equal values cannot be told apart by the change of a row's score, and a
    # constant curvature makes that common (every pure leaf of a quantile tree gets the same
    # Newton step). Curvatures scaled by 1 + up to 2^-12, fixed per label, make the leaves'
    # values distinct (their order of magnitude 1e-5 relative, far above the rounding of the
    # scores); the renewed values replace them, and split gains move by the same 1e-4 at most.
    TIE_BREAK = 2.0**-12

    def tie_break(self, h):
        """Scale the curvatures by a factor fixed by each row's label (not its position), so
        that a row of weight 2 and two copies of it weigh the same."""
        if getattr(self, "_jitter", None) is None:
            frac = (self._label * 0.6180339887498949 + 0.5) % 1.0  # the label's golden-ratio fraction
            self._jitter = (1.0 + self.TIE_BREAK * frac).astype(np.float32)
        h *= self._jitter if h.ndim == 1 else self._jitter[:, None]
        return h

    def _iterations(self, booster):
        return booster.current_iteration()

    def _new_state(self, data, cached=None):
        n = data.num_data()
        start = data.get_init_score()
        if start is None:
            start = np.zeros((n, self.k))
        else:  # (n, k), or flat in LightGBM's class-major order
            start = np.asarray(start, np.float64)
            start = start.reshape(n, self.k) if start.ndim == 2 else start.reshape(self.k, n).T
        # column-major, as LightGBM's scores: each output's column is contiguous for the loops
        base, offset = np.array(start, np.float64, order="F"), np.zeros((n, self.k), order="F")
        return renewal_base.DataState(data, base, offset, self.first)

    def _account(self, state, cached, leaves=None, owned=False):
        """Bring ``state`` up to the renewed trees: the new trees' outputs are the change of the
        cached scores since last seen (one iteration at a time). ``leaves``: the rows' leaves
        of each new tree, when the caller has them already; ``owned``: ``cached`` may be kept
        as it is (else it is LightGBM's buffer, copied when kept)."""
        it = self.done
        if state.iterations == it:
            return
        if state.iterations != it - 1:
            raise RuntimeError("leaf renewal: a data set was not scored after every iteration")
        seen, correction = state.base, state.offset
        for j in range(self.k):
            change, lookup = self.trees[(it - 1 - self.first) * self.k + j]
            if leaves is None:
                lookup.add_change(change, cached[:, j], seen[:, j], correction[:, j])
            else:
                correction[:, j] += change[leaves[j]]
        state.base, state.iterations = (cached if owned else cached.copy(order="F")), it

    def scores(self, preds, data):
        """The renewed model's margins for the cached scores ``preds`` of ``data``."""
        state = self.state(data, None)
        cached = np.asarray(preds, np.float64).reshape(state.base.shape, order="F")
        self._account(state, cached)
        out = cached + state.offset
        return out.reshape(np.shape(preds), order="F") if np.ndim(preds) == 2 else out[:, 0]

    def _renew(self, state):
        booster = self.booster
        seen, correction = state.base, state.offset
        cached = self._training_scores(booster, seen.shape)
        n = cached.shape[0]
        residual, leaves = np.empty(n), []
        for j, (orig, shrinkage) in enumerate(self._newest_trees(booster)):
            lookup = renewal_base.LeafLookup(orig)
            leaf = np.empty(n, np.intp)
            missed = lookup.training_rows(cached[:, j], seen[:, j], correction[:, j], self._label, leaf, residual)
            if missed:
                raise RuntimeError(
                    f"leaf renewal: {missed} training rows' scores changed by no leaf value of their tree; "
                    "LightGBM's scores are then not the sum of the trees' leaf values (boosting other than "
                    "gbdt, linear trees?); train with renew_leaves=False"
                )
            new = orig
            if len(orig) > 1:
                new = self.new_values(orig, leaf, residual, j, shrinkage)
                new = new[lookup.same]  # leaves of one value share their rows' quantile
                tree = self.done * self.k + j
                for i, value in enumerate(new.tolist()):
                    booster.set_leaf_output(tree, i, value)
            self.trees.append((new - orig, lookup))
            leaves.append(leaf)
        self.done += 1
        self._account(state, cached, leaves, owned=True)

    def _training_scores(self, booster, shape):
        """LightGBM's cached training scores after the newest iteration, (n, k), copied by its C
        API into one of two buffers kept for the training, in turn (the other holds the scores
        last seen); ``Booster.eval_train`` with a capturing metric takes 3 times as long."""
        from lightgbm.basic import _LIB, _safe_call

        if self._scores is None:
            self._scores = (np.empty(shape, order="F"), np.empty(shape, order="F"))
        out = self._scores[self.done % 2]
        size = ctypes.c_int64(0)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        _safe_call(_LIB.LGBM_BoosterGetPredict(booster._handle, ctypes.c_int(0), ctypes.byref(size), pointer))
        if size.value != out.size:
            raise RuntimeError(f"leaf renewal: LightGBM gave {size.value} training scores, not {out.size}")
        return out

    def _newest_trees(self, booster):
        """(leaf values, shrinkage) of each tree of the newest iteration, from that iteration's
        model text (one call for all its trees; LightGBM has no cheaper leaf count)."""
        text = self._text(booster, self.done)
        trees = []
        try:
            pos = text.index("Tree=")
            for _ in range(self.k):
                count, pos = _field(text, "num_leaves", pos)
                values, pos = _field(text, "leaf_value", pos)  # written with 17 significant digits: exact
                shrinkage, pos = _field(text, "shrinkage", pos)
                values = np.array(values.split(), np.float64)
                if len(values) != int(count):
                    raise ValueError
                trees.append((values, float(shrinkage)))
            if text.find("Tree=", pos, text.index("end of trees")) >= 0:
                raise ValueError
        except ValueError:
            raise RuntimeError(f"leaf renewal: could not read the {self.k} new tree(s) from the model text") from None
        return trees

    def _text(self, booster, iteration):
        """One iteration's model text, through LightGBM's C API into a buffer kept for the
        training (``Booster.model_to_string`` allocates and clears 1 MiB on every call: a third
        of its time for one iteration)."""
        from lightgbm.basic import _LIB, _safe_call

        while True:
            size = ctypes.c_int64(0)
            _safe_call(
                _LIB.LGBM_BoosterSaveModelToString(
                    booster._handle,
                    ctypes.c_int(iteration),
                    ctypes.c_int(1),
                    ctypes.c_int(0),  # split importance
                    ctypes.c_int64(len(self._buffer)),
                    ctypes.byref(size),
                    self._buffer,
                )
            )
            if size.value <= len(self._buffer):
                return self._buffer.value.decode()
            self._buffer = ctypes.create_string_buffer(size.value)

    def callbacks(self):
        def before(env):
            self.begin(env.model, env.begin_iteration)

        def after(env):
            self.sync()

        before.before_iteration, before.order = True, 0
        after.order = 0  # before record_evaluation / early_stopping
        return [before, after]


def _field(text, key, pos):
    """The value of the first line ``key=value`` of a model text at or after ``pos``, and the
    position after it (a tree's fields come in a fixed order: LightGBM's ``Tree::ToString``)."""
    start = text.index(f"\n{key}=", pos) + len(key) + 2
    end = text.index("\n", start)
    return text[start:end], end


def objective(loss: Loss | str, kernel_threads: training.Threads = training.LIGHTGBM_KERNEL_THREADS) -> Objective:
    return Objective(loss, kernel_threads)


def metric(loss: Loss | str, kernel_threads: training.Threads = training.LIGHTGBM_KERNEL_THREADS) -> Metric:
    return Metric(loss, kernel_threads)


def _weight(dataset):
    """Sample weights of a Dataset, constructed or not (get_weight() raises before)."""
    if dataset.weight is not None or getattr(dataset, "_handle", None) is None:
        return training.none_if_empty(dataset.weight)
    return training.none_if_empty(dataset.get_weight())


def _start_rows(start, k, n):
    """The init score of n rows starting at ``start``: (n, k), or (n,) for one output."""
    return np.tile(start, (n, 1)) if k > 1 else np.full(n, start[0])


def _set_start(dataset, start, k):
    dataset.set_init_score(_start_rows(start, k, len(dataset.get_label())))


def _planned(loss, params, y, w, num_boost_round, train_set=None, start=True):
    """The plan of a training and LightGBM's parameters for it (a copy): the leaves renewed by
    the adapter unless the boosting mode cannot keep its scores the sum of leaf values (then
    Newton steps, with a warning), ``num_class`` for several outputs, no built-in metric, and
    the loss's minimum leaf weight where the parameters set none."""
    params = dict(params)
    plan = training.TrainingPlan.of(
        loss, y, w, int(params.get("num_class", 1) or 1), num_boost_round, start=start, data=train_set
    )
    blocker = _renewal_blocker(params, train_set) if plan.loss.renews_leaves else None
    if blocker:
        warnings.warn(
            f"leaf renewal follows LightGBM's scores only for gbdt boosting with constant leaves, not {blocker}: "
            "the leaves keep the curvature's Newton steps (renew_leaves=False trains that model without this warning)",
            UserWarning,
            stacklevel=4,
        )
        plan = plan.replace(loss=plan.loss.without_leaf_renewal())
    if plan.loss.renews_leaves:
        plan = plan.replace(renewal=training.BY_ADAPTER)
    if plan.k > 1:
        params["num_class"] = plan.k
    params.setdefault("metric", "None")  # (the Dask regressor's default l2 would refuse a softmax model)
    if plan.loss.min_leaf_rows is not None and not any(name in params for name in MIN_HESSIAN_ALIASES):
        params["min_sum_hessian_in_leaf"] = plan.loss.min_leaf_rows * (1.0 if w is None else float(np.mean(w)))
    return plan, params


def fold_init_score(booster, start):
    """Add the start to every leaf of the first iteration's trees (one tree per output)."""
    info = booster.dump_model(num_iteration=1, start_iteration=0)["tree_info"]  # first trees only
    for t, s in enumerate(np.atleast_1d(start)):
        for leaf in range(info[t]["num_leaves"]):
            booster.set_leaf_output(t, leaf, booster.get_leaf_output(t, leaf) + float(s))
    return booster


def train(
    loss: Loss | str,
    params: Mapping[str, Any],
    train_set: "lightgbm.Dataset",
    num_boost_round: int = 100,
    *,
    valid_sets: Any = None,
    init_score: bool = True,
    kernel_threads: training.Threads = training.LIGHTGBM_KERNEL_THREADS,
    **kwargs: Any,
) -> "lightgbm.Booster":
    """``lightgbm.train`` with this loss: objective, metric and start set up.

    Sets ``num_class`` for multi-quantile, ``metric="None"`` (the default metric would read raw
    scores as probabilities) and ``feval``; binds class-balanced counts to the training labels;
    unless ``init_score=False``, puts the optimal constant in the Datasets' ``init_score``
    (this sets it on the Dataset objects you pass) and folds it into the returned model. A loss
    with ``min_leaf_rows`` sets ``min_sum_hessian_in_leaf`` unless any alias of it is given; a
    loss with ``renews_leaves`` has its leaves renewed after each tree (``LeafRenewal``).

    Parameters
    ----------
    loss : Loss or str
        The loss, or its registry name.
    params : mapping
        Booster parameters, as for ``lightgbm.train``.
    train_set : lightgbm.Dataset
        Training data, as users build it (its raw data may be freed).
    num_boost_round : int
        Boosting rounds.
    valid_sets : list of lightgbm.Dataset, optional
        Data sets scored with the loss's metric every round.
    init_score : bool
        Start from the loss's optimal constant (folded into the model). Continuing an
        ``init_model`` (a keyword passed on to ``lightgbm.train``), the training starts from that
        model's scores instead, and only the new trees are renewed.
    kernel_threads : int, "auto" or None
        Threads of the objective's CPU loops (see ``gbobjectives.kernel_threads``).
    **kwargs
        Passed to ``lightgbm.train`` (``callbacks``, ``valid_names``, ``init_model``; ``feval``,
        a callable or a list, replaces the loss's metric). Under leaf renewal every ``feval`` is
        given the renewed model's scores; LightGBM's built-in metrics (``params["metric"]``)
        cannot be, and warn.

    Returns
    -------
    lightgbm.Booster
        The trained booster; ``predict`` returns raw scores, start included.
    """
    y = np.asarray(train_set.get_label())
    if y.ndim != 1:  # LightGBM's Dataset refuses it at construction, in its own words
        raise ValueError(
            f"a LightGBM Dataset takes a 1-D label, got shape {y.shape}: pass the label once "
            "(lightgbm.Dataset(X, y)); with several quantile levels every level is fitted to it"
        )
    booster, _ = _train(
        loss, params, train_set, num_boost_round, y, _weight(train_set), valid_sets=valid_sets,
        init_score=init_score, kernel_threads=kernel_threads, **kwargs,
    )  # fmt: skip
    return booster


def _train(
    loss, params, train_set, num_boost_round, y, w, *, valid_sets=None, init_score=True,
    kernel_threads=training.LIGHTGBM_KERNEL_THREADS, **kwargs,
):  # fmt: skip
    """``train`` on the labels ``y`` and weights ``w`` of ``train_set``, already read (the
    estimators pass the arrays they hold); returns the booster and the training's plan."""
    import lightgbm

    # continuing an init_model, LightGBM starts the Datasets at its scores (its start included)
    start = init_score and kwargs.get("init_model") is None
    plan, params = _planned(loss, params, y, w, num_boost_round, train_set, start)
    renewal = LeafRenewal(plan) if plan.renews else None
    params["objective"] = Objective.for_plan(plan, kernel_threads, renewal=renewal)
    if kwargs.get("feval") is None:
        kwargs["feval"] = Metric.for_plan(plan, kernel_threads)
    if renewal is not None:
        kwargs["feval"] = renewal_base.renewed_metrics(kwargs["feval"], renewal)
    if plan.start is not None:
        for ds in {id(d): d for d in [train_set, *(valid_sets or [])]}.values():
            _set_start(ds, plan.start, plan.k)
    if renewal is not None:
        builtin = [str(params[a]) for a in _METRIC_ALIASES if a in params]
        if any(m.lower() not in _NO_METRIC for m in builtin):
            warnings.warn(
                renewal_base.BUILT_IN_METRIC_WARNING.format(library="LightGBM", metrics=builtin),
                UserWarning,
                stacklevel=3,
            )
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), *renewal.callbacks()]
    if _no_feature_can_split(train_set, params):
        warnings.warn(NO_FEATURE_WARNING, UserWarning, stacklevel=3)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _skip_objective_reset]
    booster = lightgbm.train(params, train_set, num_boost_round, valid_sets=valid_sets, **kwargs)
    if plan.start is not None:
        fold_init_score(booster, plan.start)
    return booster, plan


def dask_train(client, loss, params, data, label, sample_weight=None, num_boost_round=100, **fit_kwargs):
    """Train on a Dask cluster through ``lightgbm.dask`` with this loss, the data given once:
    ``data`` a dask array or DataFrame, ``label`` / ``sample_weight`` dask arrays or Series of
    its rows. Returns a ``lightgbm.Booster`` that predicts raw scores with the start folded in
    (as ``train``'s), like ``lightgbm.train``. ``params``: LightGBM parameters (``num_class``
    for a softmax problem); ``fit_kwargs`` go to the Dask estimator's ``fit``.

    The start, class-balanced counts and the quantile scale are computed from all the labels
    (gathered once to the client: 8 bytes a row) and are the same on every worker. LightGBM's
    Dask training runs all its rounds in one call on the workers, each worker's objective
    seeing its own rows, so an adaptive robust scale cannot follow all rows' residuals round by
    round: it is fixed at the scale of the start's residuals over all rows (``Loss.frozen``;
    the accuracy this costs is measured by ``benchmarks/scale_out.py``). A quantile loss's
    leaves are renewed on the workers (``WorkerRenewal``): each leaf gets the mean of the
    workers' steps, as LightGBM's own quantile objective on Dask."""
    return _dask_train(client, loss, params, data, label, sample_weight, num_boost_round, **fit_kwargs)[0]


# what the objective and callbacks of a WorkerRenewal share inside one Dask worker process (they
# reach the worker pickled apart, so they meet here, by the renewal's token)
_ON_WORKER: dict[str, Any] = {}


class WorkerRenewal:
    """Leaf renewal inside each worker of a ``lightgbm.dask`` training, as LightGBM's own
    distributed quantile objective renews: each worker computes every new leaf's step from its
    own rows (``LeafRenewal`` on the worker's Dataset), the workers exchange them (``Exchange``)
    and every worker sets each leaf to their mean over the workers with rows in it, so that
    all workers keep the same model. Given as the Dask estimator's ``objective`` (the
    scikit-learn signature, ``(y_true, y_pred, sample_weight)``) with ``callbacks()`` in its
    ``fit``; the plan (the loss bound to all the labels, the start) travels without labels and
    data, each worker reading its own from its Dataset on the first iteration."""

    def __init__(self, plan, kernel_threads=training.LIGHTGBM_KERNEL_THREADS):
        import uuid

        self.plan = plan.replace(y=None, w=None, data=None)
        self.kernel_threads = kernel_threads
        self.token = uuid.uuid4().hex

    def __call__(self, y_true, y_pred, sample_weight=None):
        objective, train_set = _ON_WORKER[self.token][1:]
        return objective(y_pred, train_set)

    def _begin(self, env):
        got = _ON_WORKER.get(self.token)
        if got is None:
            data = env.model.train_set
            n = data.num_data()
            plan = self.plan.replace(
                y=training.shape_labels(data.get_label(), n), w=training.none_if_empty(data.get_weight()), data=data
            )
            renewal = LeafRenewal(plan)
            exchange = Exchange.between_workers(self.token, env.params)
            renewal.steps_of = exchange
            across = None if exchange is None else exchange.summed
            objective = Objective.for_plan(plan, self.kernel_threads, renewal=renewal, across=across)
            got = _ON_WORKER[self.token] = (renewal, objective, data)
        got[0].begin(env.model, env.iteration)

    def _end(self, env):
        got = _ON_WORKER.get(self.token)
        if got is not None:
            got[0].sync()
            if env.iteration + 1 >= env.end_iteration:
                del _ON_WORKER[self.token]  # the training's data and state go with it

    def callbacks(self):
        def before(env):
            self._begin(env)

        def after(env):
            self._end(env)

        before.before_iteration, before.order = True, 0
        after.order = 0
        return [before, after]


class Exchange:
    """What the workers of one LightGBM Dask training share through ``distributed.Queue``s:
    each worker sends its values to every other worker's queue and waits for theirs (tagged by
    call, so a fast worker's next message waits its turn). As ``steps_of``: each leaf's mean
    step over the workers with rows in it (NaN where none has), LightGBM's own rule for its
    distributed quantile renewal, a few numbers a leaf; ``summed``: an array summed over the
    workers (the split curvature's scale). ``between_workers``: None on one machine."""

    def __init__(self, token, rank, n):
        from distributed import Queue

        self.rank, self.n, self.calls = rank, n, 0
        self.queues = [Queue(f"gbobjectives-{token}-{r}") for r in range(n)]
        self._early: dict[tuple[int, int], Any] = {}

    @classmethod
    def between_workers(cls, token, params):
        machines = str(params.get("machines") or "").split(",")
        if len(machines) < 2:
            return None
        from urllib.parse import urlparse

        from distributed import get_worker

        me = f"{urlparse(get_worker().address).hostname}:{params['local_listen_port']}"
        return cls(token, machines.index(me), len(machines))

    def gather(self, values):
        """Every worker's ``values``, in rank order."""
        call, self.calls = self.calls, self.calls + 1
        for r, queue in enumerate(self.queues):
            if r != self.rank:
                queue.put((call, self.rank, values))
        every = {self.rank: values}
        while len(every) < self.n:
            key = next((k for k in self._early if k[0] == call), None)
            if key is not None:
                every[key[1]] = self._early.pop(key)
                continue
            got_call, rank, got = self.queues[self.rank].get(timeout=600)
            if got_call == call:
                every[rank] = got
            else:
                self._early[(got_call, rank)] = got
        return [every[r] for r in range(self.n)]

    def summed(self, a):
        return np.sum([np.asarray(v, np.float64) for v in self.gather(np.asarray(a, np.float64).tolist())], axis=0)

    def __call__(self, loss, residual, weight, leaf, n_leaves, column):
        steps = renewal_base.local_steps(loss, residual, weight, leaf, n_leaves, column)
        stacked = np.array(self.gather(steps.tolist()), np.float64)
        counts = np.sum(~np.isnan(stacked), axis=0)
        total = np.nansum(stacked, axis=0)
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def _dask_train(client, loss, params, data, label, sample_weight, num_boost_round, y=None, w=None, **fit_kwargs):
    """``dask_train``; ``y`` / ``w``: the labels and weights already gathered (the estimators
    have them). Returns the booster and the plan."""
    import lightgbm.dask

    if y is None:
        y = np.asarray(label.compute(), np.float64)
        w = None if sample_weight is None else np.asarray(sample_weight.compute(), np.float64)
    plan, params = _planned(loss, params, y, w, num_boost_round)
    worker_loss: Any = plan.loss
    if worker_loss.adaptive:  # one scale for every worker and round: the start's residuals'
        worker_loss = worker_loss.frozen(y, np.full(len(y), plan.start[0]), w)
    if plan.renews:  # each worker renews its model's leaves, with every worker's steps
        worker_loss = WorkerRenewal(plan)
        fit_kwargs["callbacks"] = [*(fit_kwargs.get("callbacks") or []), *worker_loss.callbacks()]
    label = label.to_dask_array(lengths=True) if hasattr(label, "to_dask_array") else label
    start, k = plan.start, plan.k
    init = label.map_blocks(
        lambda b: _start_rows(start, k, len(b)),
        dtype=np.float64,
        **({"new_axis": 1, "chunks": (label.chunks[0], (k,))} if k > 1 else {}),
    )
    params.setdefault("verbose", -1)
    for alias in ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs"):
        params.pop(alias, None)  # lightgbm.dask gives each worker its own cores (and warns of these)
    model = lightgbm.dask.DaskLGBMRegressor(
        client=client, objective=worker_loss, n_estimators=num_boost_round, **params
    )
    with warnings.catch_warnings():  # its n_jobs default, which the Dask estimator passes to itself
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        model.fit(data, label, sample_weight=sample_weight, init_score=init, **fit_kwargs)
    return fold_init_score(model.booster_, plan.start), plan


# LightGBM's names of the metric parameter, and its values for no built-in metric (its docs)
_METRIC_ALIASES = ("metric", "metrics", "metric_types")
_NO_METRIC = ("none", "null", "custom", "na", "")

# LightGBM's names of min_sum_hessian_in_leaf (its docs, "Parameters")
MIN_HESSIAN_ALIASES = (
    "min_sum_hessian_in_leaf",
    "min_sum_hessian_per_leaf",
    "min_sum_hessian",
    "min_hessian",
    "min_child_weight",
)


def _renewal_blocker(params, train_set):
    """Why LightGBM's cached scores would not be the sum of the trees' leaf values under these
    parameters (and the Dataset's), as leaf renewal needs; None when they are."""
    every = {**((train_set.params if train_set is not None else None) or {}), **params}
    boosting = next((str(every[a]) for a in _BOOSTING_ALIASES if a in every), "gbdt")
    if boosting in ("dart", "rf", "random_forest"):
        return f"boosting={boosting!r}"
    if any(str(every.get(a, False)).lower() in ("true", "1") for a in _LINEAR_ALIASES):
        return "linear_tree"
    return None


NO_FEATURE_WARNING = (
    "LightGBM found no feature that can split (too few rows for min_data_in_leaf, or constant "
    "features): the model predicts the optimal constant, as LightGBM's own objectives do there"
)


def _no_feature_can_split(train_set, params):
    """True when LightGBM keeps no feature of ``train_set`` (each has 0 bins: too few rows for
    min_data_in_leaf / min_data_in_bin, or constant columns). The Dataset is constructed here
    with the training parameters, as ``lightgbm.train`` would construct it."""
    train_set._update_params(params | {"objective": "none"}).construct()  # what lightgbm.train passes
    return train_set.num_feature() > 0 and all(
        train_set.feature_num_bin(i) == 0 for i in range(train_set.num_feature())
    )


def _skip_objective_reset(env):
    """Before the first round on data without a usable feature: mark the booster's objective
    as already "none" (``lightgbm.train`` built it so), so that ``Booster.update(fobj=...)``
    skips its redundant ``reset_parameter({"objective": "none"})``. That reset re-checks that
    some feature exists and aborts (``Check failed: num_features() > 0``, LightGBM issue
    #5667); without it the round trains constant trees, as LightGBM's built-in objectives
    do there, and every callback and metric works as usual."""
    env.model._Booster__set_objective_to_none = True


_skip_objective_reset.before_iteration = True  # type: ignore[attr-defined]
_skip_objective_reset.order = 0  # type: ignore[attr-defined]
