"""XGBoost adapter: ``obj=`` and ``custom_metric=`` callables, and ``train`` with the start.

```python
import xgboost, gbobjectives as gb
booster = gb.xgboost.train(gb.Huber(2.0), {"max_depth": 4}, dtrain, 100, evals=[(dvalid, "valid")])
# or by hand:
xgboost.train(params | {"base_score": loss.init_score(y)}, dtrain, 100,
              obj=gb.xgboost.objective(loss), custom_metric=gb.xgboost.metric(loss))
```

XGBoost applies no sample weights to a Python objective and estimates no start for it: the
objective reads ``get_weight()`` and multiplies; ``train`` sets ``base_score`` (a vector for
multi-output, saved in the model) to ``loss.init_score``. Labels and weights are read and
cached once per DMatrix, not re-read every round.
"""

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _renewal as renewal_base
from . import _training as training
from .losses import Loss

if TYPE_CHECKING:
    import xgboost


def _cuda():
    from .kernels import cuda

    return cuda


def check_device(device):
    """``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"``; CUDA asked for but absent raises."""
    if device not in ("cpu", "auto") and not str(device).startswith("cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    if str(device).startswith("cuda") and not _cuda().is_available():
        raise RuntimeError(
            f"device={device!r}: numba.cuda finds no usable GPU (install the 'gpu' extra, "
            "numba-cuda, and check the driver), or use device='auto' to fall back to the CPU"
        )
    return device


class _DeviceAware(training.AdapterCallable):
    """Per-DMatrix inputs, cached once (labels and weights uploaded once on the GPU path and
    released with the DMatrix); raw scores uploaded each round. ``kernel_threads``: threads of
    the CPU loops during the call (see ``gbobjectives.kernel_threads``); ``"auto"`` by default:
    serial for short calls, as XGBoost's own OpenMP threads are still spinning then. The
    keywords after it: see ``training.AdapterCallable`` (``train`` sets them from its plan)."""

    _state = ("loss", "device", "kernel_threads", "renewing", "planned", "gather", "across")

    def __init__(self, loss, device="cpu", kernel_threads=training.XGBOOST_KERNEL_THREADS, **planned):
        self.device = check_device(device)
        super().__init__(loss, kernel_threads, **planned)

    def _on_cuda(self, predt):
        if self.device == "auto":
            return hasattr(predt, "__cuda_array_interface__") and _cuda().is_available()
        return self.device != "cpu"

    def _inputs(self, predt, dmat):
        return self._cache.get(predt, dmat, _cuda().as_device if self._on_cuda(predt) else None)

    def _raw(self, predt):
        return _cuda().as_device(predt) if self._on_cuda(predt) else predt


class Objective(_DeviceAware):
    """``obj(predt, dtrain) -> (grad, hess)`` for ``xgboost.train`` (raw margins in).

    ``device="cuda"``: grad/hess are computed on the GPU and returned as device arrays, which
    XGBoost (>= 2.1) takes without a host copy; ``"auto"``: the GPU for device arrays.
    """

    _objective = True

    def __call__(self, predt, dtrain):
        d = self._inputs(predt, dtrain)
        if self.renewal is not None:
            predt = self.renewal.training_scores(predt)
        else:
            self._check_leaves()
        with self._threads:
            return self._grad_hess(d, self._raw(predt))


class Metric(_DeviceAware):
    """``custom_metric(predt, dmatrix) -> (name, weighted mean loss)``; lower is better."""

    def __init__(self, loss, device="cpu", kernel_threads=training.XGBOOST_KERNEL_THREADS, **planned):
        super().__init__(training.check_metric_loss(loss), device, kernel_threads, **planned)
        self.name = training.metric_name(self.loss)

    def __call__(self, predt, dmat):
        d = self._inputs(predt, dmat)
        with self._threads:
            return self.name, d.loss.mean(d.y, self._raw(predt), d.w)


class LeafRenewal(renewal_base.LeafRenewal):
    """Leaf renewal inside ``xgboost.train`` for a loss with ``renews_leaves`` that XGBoost
    cannot renew itself (see ``train``): after each
    iteration, every leaf of its new tree(s) gets ``learning_rate x loss.leaf_value`` (the
    learning rate XGBoost grew it with, also under a ``LearningRateScheduler``) of the
    residuals of the training rows in it, as ``reg:quantileerror`` does.

    XGBoost has no call that sets a leaf, so the renewed values (rounded to float32, as the
    model stores them) are kept in a table while training and written into the model once at
    the end (``finish``: one JSON round trip). Until then XGBoost's cached margins hold the
    original values, so the objective and the metric are given the renewed model's margins as
    the margins before the training's first tree plus the renewed values of each row's leaves
    (a ``DataState``'s ``base + offset``): the trees' original values, whose last bits depend
    on the curvature's rounding, never enter a residual (so integer weights and repeated rows
    renew to the same values). Rows' leaves come from ``predict(pred_leaf=True,
    iteration_range=(i, i + 1))`` on each DMatrix (exact, through a one-iteration slice), the
    original leaf values from that slice's JSON. ``trees``: per tree, (leaf nodes, original
    values, renewed values)."""

    def __init__(self, plan, learning_rate):
        super().__init__(plan)
        self.learning_rate = self._eta = float(learning_rate)

    def _iterations(self, booster):
        return booster.num_boosted_rounds()

    def _new_state(self, dmat, margins):
        """From the cached margins XGBoost passes now, which hold the original values of every
        tree grown so far: they are swapped for the renewed ones."""
        state = renewal_base.DataState(dmat, margins.copy(), np.zeros_like(margins), self.first)
        while state.iterations < self.done:
            self._account(state, self._leaves(dmat, state.iterations), swap=True)
        return state

    def training_scores(self, predt):
        """The renewed model's margins for the training margins ``predt`` XGBoost passes."""
        margins = np.asarray(predt, np.float64).reshape(predt.shape[0], -1)
        state = self.state(self.train_data, margins)
        if state.iterations != self.done:
            raise RuntimeError("leaf renewal: the training margins were not seen after every iteration")
        self._eta = self._current_learning_rate()
        return (state.base + state.offset).reshape(np.shape(predt))

    def _current_learning_rate(self):
        """The learning rate XGBoost applies to the tree it is growing (read while the objective
        runs: a ``LearningRateScheduler`` changes it after each iteration); the parameters'
        where the booster's configuration does not say."""
        import json

        if self.booster is None:
            return self.learning_rate
        config = json.loads(self.booster.save_config())
        try:
            return float(config["learner"]["gradient_booster"]["tree_train_param"]["learning_rate"])
        except (KeyError, TypeError, ValueError):
            return self.learning_rate

    def _slice(self, iteration):
        """A booster of just this iteration's trees (XGBoost's pred_leaf takes ranges from 0 only)."""
        if getattr(self, "_sliced", (None,))[0] != iteration:
            self._sliced = (iteration, self.booster[iteration : iteration + 1])
        return self._sliced[1]

    def _leaves(self, dmat, iteration):
        leaves = self._slice(iteration).predict(dmat, pred_leaf=True)
        return np.asarray(leaves, np.intp).reshape(leaves.shape[0], -1)

    def _renew(self, state):
        import json

        residual = self.y - (state.base + state.offset)  # at the margins before this iteration's trees
        leaves = self._leaves(self.train_data, self.done)
        trees = json.loads(self._slice(self.done).save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
        for j in range(self.k):
            if self.steps_of is None:  # the leaves with rows
                nodes = np.unique(leaves[:, j])
            else:  # every leaf (the same on every machine): its rows may be on other machines
                nodes = np.flatnonzero(np.asarray(trees[j]["left_children"]) == -1)
            orig = np.asarray(trees[j]["split_conditions"], np.float64)[nodes]  # a leaf's value
            new = self.new_values(orig, np.searchsorted(nodes, leaves[:, j]), residual[:, j], j, self._eta)
            self.trees.append((nodes, orig, new.astype(np.float32).astype(np.float64)))
        self.done += 1
        self._account(state, leaves)

    def _account(self, state, leaves, swap=False):
        """Add the renewed values of iteration ``state.iterations``'s trees to ``state``
        (``leaves``: the rows' leaf nodes); ``swap``: its base holds their original values,
        taken out."""
        for j in range(self.k):
            nodes, orig, new = self.trees[(state.iterations - self.first) * self.k + j]
            slot = np.searchsorted(nodes, leaves[:, j])
            state.offset[:, j] += new[slot]
            if swap:
                state.base[:, j] -= orig[slot]
        state.iterations += 1

    def scores(self, predt, dmat):
        """The renewed model's margins for a DMatrix (``predt``: XGBoost's cached margins)."""
        margins = np.asarray(predt, np.float64).reshape(predt.shape[0], -1)
        state = self.state(dmat, margins)
        while state.iterations < self.done:
            self._account(state, self._leaves(dmat, state.iterations))
        return (state.base + state.offset).reshape(np.shape(predt))

    def finish(self, booster):
        """Write the renewed leaf values into the model (one JSON round trip)."""
        import json

        self.booster = booster
        self.sync()
        model = json.loads(booster.save_raw("json"))
        trees = model["learner"]["gradient_booster"]["model"]["trees"]
        for tree, (nodes, _, new) in zip(trees[self.first * self.k :], self.trees, strict=False):
            for node, value in zip(nodes.tolist(), new.tolist(), strict=True):
                tree["split_conditions"][node] = value
                tree["base_weights"][node] = value
        booster.load_model(bytearray(json.dumps(model).encode()))
        return booster

    def callback(self):
        import xgboost

        renewal = self

        class _Renew(xgboost.callback.TrainingCallback):
            def before_iteration(self, model, epoch, evals_log):
                renewal.begin(model, model.num_boosted_rounds())
                return False

            def after_iteration(self, model, epoch, evals_log):
                renewal.sync()
                return False

        return _Renew()


def objective(
    loss: Loss | str, device: str = "cpu", kernel_threads: training.Threads = training.XGBOOST_KERNEL_THREADS
) -> Objective:
    return Objective(loss, device, kernel_threads)


def metric(
    loss: Loss | str, device: str = "cpu", kernel_threads: training.Threads = training.XGBOOST_KERNEL_THREADS
) -> Metric:
    return Metric(loss, device, kernel_threads)


def _device_for(params):
    """The objective's device for a booster's ``device`` parameter: CUDA when the booster runs
    there and numba.cuda can use the GPU, else the CPU."""
    dev = str(params.get("device", "cpu"))
    if dev.startswith("cuda") or dev == "gpu":
        return "cuda" if _cuda().is_available() else "cpu"
    return "cpu"


def _n_classes(params):
    k = int(params.get("num_class", 0) or 0)
    return k if k > 1 else None


def _plan(loss, params, y, w, num_rounds, init_score=True, dtrain=None):
    """The ``TrainingPlan`` of training ``loss`` with these booster params on labels ``y`` and
    weights ``w`` (the start only where ``init_score`` and params set no ``base_score``)."""
    start = init_score and "base_score" not in params
    return training.TrainingPlan.of(loss, y, w, _n_classes(params), num_rounds, start=start, data=dtrain)


def _booster_params(plan, params):
    """``params`` with what the plan sets: ``num_target`` for several outputs, the start as
    ``base_score`` (a vector for several; saved in the model), no default metric."""
    params = dict(params)
    if plan.k > 1 and plan.n_classes is None:
        params.setdefault("num_target", plan.k)
    if plan.start is not None:
        params["base_score"] = plan.start.tolist() if plan.start.size > 1 else float(plan.start[0])
    params.setdefault("disable_default_eval_metric", 1)
    return params


# XGBoost renews the leaves of its adaptive objectives after each tree (from 1.7 to 3.3), also
# under a Python objective: the learner's configured objective does it, whatever gradients built
# the tree. 3.4 removed the mechanism (dmlc/xgboost#12391); LeafRenewal does the work there.
NATIVE_QUANTILE_LEAVES_BEFORE = (3, 4)


def native_quantile_leaves():
    """Whether the installed XGBoost renews ``reg:quantileerror``'s leaves itself."""
    import re

    import xgboost

    return tuple(int(p) for p in re.findall(r"\d+", xgboost.__version__)[:2]) < NATIVE_QUANTILE_LEAVES_BEFORE


def _native_renewal(loss, y):
    """Whether XGBoost renews this loss's leaves itself: a quantile loss, XGBoost before 3.4, and
    one label column (``reg:quantileerror`` rejects a label with one column per level)."""
    one_column = np.ndim(y) == 1 or np.shape(y)[1] == 1
    return loss.renews_leaves and loss.leaf_quantile_levels is not None and one_column and native_quantile_leaves()


def _native_renewal_params(loss, params):
    """``params`` with XGBoost's quantile objective configured, so that its renewal sets the
    leaves of the trees our gradients grow (the gradients stay ours)."""
    levels = list(loss.leaf_quantile_levels)
    return {**params, "objective": "reg:quantileerror", "quantile_alpha": levels[0] if len(levels) == 1 else levels}


def _learning_rate(params):
    for name in ("learning_rate", "eta"):
        if name in params:
            return float(params[name])
    return 0.3  # XGBoost's default


def train(
    loss: Loss | str,
    params: Mapping[str, Any],
    dtrain: "xgboost.DMatrix",
    num_boost_round: int = 10,
    *,
    evals: Sequence[tuple["xgboost.DMatrix", str]] = (),
    init_score: bool = True,
    kernel_threads: training.Threads = training.XGBOOST_KERNEL_THREADS,
    features: Any = None,
    **kwargs: Any,
) -> "xgboost.Booster":
    """``xgboost.train`` with this loss: objective, metric and start set up.

    Sets ``base_score`` to ``loss.init_score`` on the training labels/weights (unless
    ``init_score=False`` or params has one; saved in the model), ``num_target`` for
    multi-quantile, ``disable_default_eval_metric``, and binds class-balanced counts to the
    training data. With ``params["device"] = "cuda"`` the objective and metric run on the GPU
    when numba.cuda can use it (else on the CPU, with the booster still on the GPU). A loss
    with ``renews_leaves`` has its leaves renewed after each tree: one whose leaf values are
    quantiles (``leaf_quantile_levels``) by XGBoost itself where it can (XGBoost < 3.4 and a
    label of one column, which every level is fitted to; a label with one column per level goes
    to ``LeafRenewal``, as XGBoost's quantile objective rejects it:
    ``objective="reg:quantileerror"`` and ``quantile_alpha`` are set, so XGBoost's own renewal
    runs on the trees the Python objective's gradients built, at no cost per round; on the GPU
    it is XGBoost's GPU renewal, not yet run by this package's tests); otherwise by
    ``LeafRenewal`` (CPU only). XGBoost's renewal takes, with
    weights, the same weighted quantile as ``Quantile.leaf_value``; without weights it would
    interpolate between the two order statistics around ``alpha (n + 1)``, so unweighted data
    gets unit weights for the training (removed again after it): every route renews to the
    same value, and weights equal repeated rows.

    Parameters
    ----------
    loss : Loss or str
        The loss, or its registry name.
    params : mapping
        Booster parameters, as for ``xgboost.train``.
    dtrain : xgboost.DMatrix
        Training data; its labels and weights are read once.
    num_boost_round : int
        Boosting rounds.
    evals : sequence of (DMatrix, str)
        Data sets scored with the loss's metric every round.
    init_score : bool
        Set ``base_score`` to the loss's optimal constant.
    kernel_threads : int, "auto" or None
        Threads of the objective's CPU loops (see ``gbobjectives.kernel_threads``).
    features : array, optional
        The training features (the rows of ``dtrain``, in order) as an array
        ``Booster.inplace_predict`` takes: given, training runs ``train_resident``, which keeps
        the margins beside them instead of copying them out of XGBoost every round. On the GPU
        pass a CuPy array or cuDF DataFrame (the margins, gradients and Hessians then never
        leave the device); on the CPU it trains the same model and saves nothing. Without it,
        training is ``xgboost.train``'s own loop.
    **kwargs
        Passed to ``xgboost.train`` (``early_stopping_rounds``, ``evals_result``,
        ``callbacks``, ``xgb_model``, ``verbose_eval``; ``obj`` and ``custom_metric`` replace
        the loss's own). Where the adapter renews the leaves (XGBoost 3.4+), a ``custom_metric``
        is given the renewed model's margins; a built-in ``eval_metric`` cannot be, and warns.

    Returns
    -------
    xgboost.Booster
        The trained booster, its start saved in the model.
    """

    y = training.shape_labels(dtrain.get_label(), dtrain.num_row())
    w = training.none_if_empty(dtrain.get_weight())
    booster, _ = _train(
        loss, params, dtrain, num_boost_round, y, w, evals=evals, init_score=init_score,
        kernel_threads=kernel_threads, features=features, **kwargs,
    )  # fmt: skip
    return booster


def _train(
    loss, params, dtrain, num_boost_round, y, w, *, evals=(), init_score=True,
    kernel_threads=training.XGBOOST_KERNEL_THREADS, features=None, **kwargs,
):  # fmt: skip
    """``train`` on the labels ``y`` and weights ``w`` of ``dtrain``, already read (the
    estimators pass the arrays they hold); returns the booster and the training's plan."""
    import xgboost

    # the labels and weights as XGBoost holds them (what dtrain's get_label / get_weight return)
    y, w = training.as_stored(y), training.as_stored(w)
    plan = _plan(loss, params, y, w, num_boost_round, init_score, dtrain)
    params = _booster_params(plan, params)
    device = _device_for(params)
    ours = kwargs.get("obj") is None  # an obj of the user's is used as given
    route = None
    if _native_renewal(plan.loss, plan.y):
        route = training.BY_BOOSTER
    elif plan.loss.renews_leaves and ours and device == "cpu":
        route = training.BY_ADAPTER
    elif plan.loss.renews_leaves:
        warnings.warn(
            "leaf renewal: this XGBoost renews no leaves itself, and LeafRenewal runs only with this "
            "package's CPU objective; the leaves keep the curvature's Newton steps",
            UserWarning,
            stacklevel=3,
        )
    plan = plan.replace(renewal=route)
    renewal = LeafRenewal(plan, _learning_rate(params)) if route == training.BY_ADAPTER else None
    if route == training.BY_BOOSTER:
        params = _native_renewal_params(plan.loss, params)
    if ours:
        kwargs["obj"] = Objective.for_plan(plan, device, kernel_threads, renewal=renewal)
    if kwargs.get("custom_metric") is None:
        kwargs["custom_metric"] = Metric.for_plan(plan, device, kernel_threads)
    if renewal is not None:
        kwargs["custom_metric"] = renewal_base.renewed_metrics(kwargs["custom_metric"], renewal)
        if params.get("eval_metric"):
            warnings.warn(
                renewal_base.BUILT_IN_METRIC_WARNING.format(library="XGBoost", metrics=params["eval_metric"]),
                UserWarning,
                stacklevel=3,
            )
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), renewal.callback()]
    # XGBoost's renewal interpolates between order statistics when the data has no weights,
    # and takes Quantile.leaf_value's weighted quantile when it has: unit weights for the
    # training make every route renew to one definition (and weights equal repeated rows)
    unit = route == training.BY_BOOSTER and plan.w is None
    if unit:
        dtrain.set_weight(np.ones(dtrain.num_row()))
    try:
        if features is None:
            booster = xgboost.train(params, dtrain, num_boost_round, evals=evals, **kwargs)
        else:
            booster = train_resident(params, dtrain, num_boost_round, features, evals=evals, **kwargs)
    finally:
        if unit:
            dtrain.set_weight(np.empty(0))
    return (booster if renewal is None else renewal.finish(booster)), plan


def _on_device(features):
    return hasattr(features, "__cuda_array_interface__") or type(features).__module__.startswith("cudf")


def device_features(X, params):
    """``X`` as a CuPy array for ``train(features=...)`` when the booster and the objective run
    on CUDA and CuPy is installed (a numeric array; frames with categories stay on the
    callback path), else None."""
    if _device_for(params) != "cuda" or not isinstance(X, np.ndarray):
        return None
    try:
        import cupy
    except ImportError:
        return None
    return cupy.asarray(X)


def train_resident(
    params: Mapping[str, Any],
    dtrain: "xgboost.DMatrix",
    num_boost_round: int,
    features: Any,
    *,
    evals: Sequence[tuple["xgboost.DMatrix", str]] = (),
    obj: Any,
    maximize: bool | None = None,
    early_stopping_rounds: int | None = None,
    evals_result: dict | None = None,
    verbose_eval: bool | int = True,
    xgb_model: Any = None,
    callbacks: Sequence[Any] | None = None,
    custom_metric: Any = None,
) -> "xgboost.Booster":
    """``xgboost.train``'s loop (the same callbacks, evaluation, early stopping and result)
    with the training margins kept beside ``features`` instead of read from XGBoost each round.

    ``xgboost.train`` asks the booster for the training margins every round
    (``predict(output_margin=True, training=True)``), which returns a host array: on the GPU a
    device-to-host copy of every margin, every round. Here the margins are read once, at the
    start (base score, base margin or a model to continue all included), then advanced by each
    new iteration's trees: ``inplace_predict(features, iteration_range=(r - 1, r),
    base_margin=0)`` is exactly those trees' output, in float32 like XGBoost's own cache, and
    on CuPy / cuDF ``features`` it stays on the device, where the objective computes the
    gradients and ``Booster.boost`` takes them. ``features``: the rows of ``dtrain``, in order
    (checked after the first iteration against XGBoost's margins, one copy). Evaluation sets
    are scored as ``xgboost.train`` scores them (a host copy of their margins per round).
    """
    import xgboost
    from xgboost.callback import CallbackContainer, EarlyStopping, EvaluationMonitor

    evals = list(evals) if evals else []
    shape = getattr(features, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != dtrain.num_row() or shape[1] != dtrain.num_col():
        raise ValueError(
            f"features must be the {dtrain.num_row()} x {dtrain.num_col()} rows of dtrain, got shape {shape}"
        )
    callbacks = list(callbacks or [])
    if verbose_eval:
        callbacks.append(EvaluationMonitor(period=1 if verbose_eval is True else verbose_eval))
    if early_stopping_rounds:
        callbacks.append(EarlyStopping(rounds=early_stopping_rounds, maximize=maximize))
    container = CallbackContainer(callbacks, metric=custom_metric, output_margin=True)
    bst = container.before_training(
        xgboost.Booster(dict(params), [dtrain] + [d for d, _ in evals], model_file=xgb_model)
    )
    margin = bst.predict(dtrain, output_margin=True, training=True)
    if _on_device(features):
        import cupy

        margin = cupy.asarray(margin)
    zero = margin * 0
    for i in range(num_boost_round):
        if container.before_iteration(bst, i, dtrain, evals):
            break
        grad, hess = obj(margin, dtrain)
        bst.boost(dtrain, i, grad=grad, hess=hess)
        r = bst.num_boosted_rounds()
        margin += bst.inplace_predict(
            features, iteration_range=(r - 1, r), predict_type="margin", base_margin=zero, validate_features=False
        ).reshape(margin.shape)
        if i == 0:
            _check_rows(margin, bst.predict(dtrain, output_margin=True, training=True))
        if container.after_iteration(bst, i, dtrain, evals):
            break
    bst = container.after_training(bst)
    if evals_result is not None:
        evals_result.update(container.history)
    return bst.reset()


def _check_rows(margin, expected):
    got = margin.get() if hasattr(margin, "get") else np.asarray(margin)
    if not np.allclose(got, expected.reshape(got.shape), rtol=1e-5, atol=1e-5):
        raise ValueError("features are not the rows of dtrain: their margins differ from XGBoost's after one tree")


# what the objective, metric and callback of a WorkerRenewal share inside one Dask worker process
# (they reach the worker pickled apart, so they meet here, by the renewal's token)
_ON_WORKER: dict[str, dict[str, Any]] = {}


def _summed(a):
    """``a`` summed over the workers of an XGBoost collective (XGBoost's allreduce)."""
    from xgboost import collective

    a = np.asarray(a, np.float64)
    if collective.get_world_size() < 2:
        return a
    # (flat: some XGBoost releases return an n-D array's sum flattened)
    return np.asarray(collective.allreduce(a.ravel(), collective.Op.SUM)).reshape(a.shape)


def _allgather(*arrays):
    """Each array (rows first; None stays None) concatenated over the workers of an XGBoost
    collective in rank order: an allreduce of zero-padded slices."""
    from xgboost import collective

    size, rank = collective.get_world_size(), collective.get_rank()
    if size < 2:
        return arrays
    n = len(arrays[0])
    counts = np.zeros(size)
    counts[rank] = n
    counts = _summed(counts).astype(np.int64)
    start, total = int(counts[:rank].sum()), int(counts.sum())
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        a = np.asarray(a, np.float64)
        buffer = np.zeros((total, *a.shape[1:]))
        buffer[start : start + n] = a
        out.append(_summed(buffer))
    return out


def _gathered_steps(loss, residual, weight, leaf, n_leaves, column):
    """Each leaf's step over the rows of every worker of an XGBoost collective: the workers'
    leaves, residuals and weights are gathered (``_allgather``: 12-16 bytes a row for each
    tree) and every worker computes the same steps as one machine holding all the rows."""
    leaf, residual, weight = _allgather(leaf, residual, weight)
    return renewal_base.local_steps(loss, residual, weight, np.asarray(leaf, np.intp), n_leaves, column)


def _scale_rows(y, raw, w):
    """Labels, margins and weights of every worker's rows for an adaptive scale (``Loss.frozen``
    of them): all rows up to ``SCALE_ROWS``, else every ``ceil(n / SCALE_ROWS)``-th row of each
    worker, as the scale reads on one machine (16-24 bytes a row each round)."""
    from .losses.regression import SCALE_ROWS

    n = _summed(np.array([len(y)]))[0]
    step = max(1, -(-int(n) // SCALE_ROWS))
    y, raw = np.asarray(y)[::step], np.asarray(raw)[::step]
    return _allgather(y, raw, None if w is None else np.asarray(w)[::step])


class WorkerRenewal:
    """Leaf renewal inside each worker of ``xgboost.dask.train``, where XGBoost renews no leaves
    itself (3.4 on): each worker renews its model (``LeafRenewal`` on the worker's DMatrix)
    with every leaf's step over the rows of all workers (``_gathered_steps``), the step one
    machine holding all the rows computes, and the split curvature's scale from all rows
    (``_summed``), so every worker keeps the model one machine would train; the renewed values
    are written into each worker's model at the end. The objective (``obj``), ``metric()`` and
    ``callback()`` travel apart with the plan (without labels and data) and meet on the worker
    by ``token``."""

    def __init__(self, plan, learning_rate, kernel_threads=training.XGBOOST_KERNEL_THREADS):
        import uuid

        self.plan = plan.replace(y=None, w=None, data=None)
        self.learning_rate, self.kernel_threads = learning_rate, kernel_threads
        self.token = uuid.uuid4().hex

    def _state(self, dtrain=None):
        state = _ON_WORKER.setdefault(self.token, {})
        if "renewal" not in state and dtrain is not None:
            n = dtrain.num_row()
            plan = self.plan.replace(
                y=training.shape_labels(dtrain.get_label(), n),
                w=training.none_if_empty(dtrain.get_weight()),
                data=dtrain,
            )
            renewal = LeafRenewal(plan, self.learning_rate)
            renewal.steps_of = _gathered_steps
            renewal.begin(state["model"], state["model"].num_boosted_rounds())
            state["renewal"] = renewal
            # (across: the split curvature's scale from every worker's rows)
            state["objective"] = Objective.for_plan(plan, "cpu", self.kernel_threads, renewal=renewal, across=_summed)
            state["metric"] = renewal_base.RenewedMetric(Metric.for_plan(plan, "cpu", self.kernel_threads), renewal)
        return state

    def __call__(self, predt, dtrain):
        return self._state(dtrain)["objective"](predt, dtrain)

    # (the callables below are made in methods: Dask pickles such functions by value, with a copy
    # of the globals they name, so they reach the worker's state only through this class)
    def _metric(self, predt, dmat):
        return self._state()["metric"](predt, dmat)

    def _begin(self, model):
        state = self._state()
        state["model"] = model
        if "renewal" in state:
            state["renewal"].begin(model, model.num_boosted_rounds())

    def _sync(self):
        renewal = self._state().get("renewal")
        if renewal is not None:
            renewal.sync()

    def _finish(self, model):
        state = _ON_WORKER.pop(self.token, {})
        return state["renewal"].finish(model) if "renewal" in state else model

    def metric(self):
        """The loss's metric of the renewed model, for ``custom_metric``."""
        outer = self

        def metric(predt, dmat):
            return outer._metric(predt, dmat)

        metric.__name__ = training.metric_name(self.plan.loss)
        return metric

    def callback(self):
        import xgboost

        outer = self

        class _Renew(xgboost.callback.TrainingCallback):
            def before_iteration(self, model, epoch, evals_log):
                outer._begin(model)
                return False

            def after_iteration(self, model, epoch, evals_log):
                outer._sync()
                return False

            def after_training(self, model):
                return outer._finish(model)

        return _Renew()


def dask_train(client, loss, params, data, label=None, sample_weight=None, num_boost_round=10, **kwargs):
    """``xgboost.dask.train`` with this loss, on the data given once: ``data`` a dask array or
    DataFrame, ``label`` / ``sample_weight`` dask arrays or Series of its rows (a
    ``DaskDMatrix`` is built from them; ``kwargs`` go to ``xgboost.dask.train``). Returns its
    ``{"booster", "history"}``.

    The start (``base_score``), class-balanced counts and quantile scale are computed from all
    the labels (gathered once to the client: 8 bytes a row), then every worker runs the same
    objective on its partitions; an adaptive robust scale is re-estimated every round on each
    worker from every worker's residuals (``_scale_rows``, through XGBoost's allreduce). A
    quantile loss's leaves are renewed on the workers (``WorkerRenewal``) with each leaf's step
    over the rows of all of them. So the model is the single-machine one wherever the
    histogram cuts are.

    Deprecated: ``dask_train(client, loss, params, dtrain, labels, sample_weight, ...)`` with a
    ``DaskDMatrix`` and its labels passed a second time still trains, with a
    ``DeprecationWarning``.
    """
    import xgboost.dask

    if isinstance(data, xgboost.dask.DaskDMatrix):
        if label is None:
            raise ValueError("a DaskDMatrix's labels cannot be read back: pass the dask data and labels instead")
        warnings.warn(
            "dask_train(client, loss, params, dtrain, labels, ...) with a DaskDMatrix is deprecated: pass "
            "the data once, dask_train(client, loss, params, X, y, sample_weight, ...)",
            DeprecationWarning,
            stacklevel=2,
        )
        dtrain = data
    else:
        if label is None:
            raise ValueError("dask_train needs the labels: dask_train(client, loss, params, X, y, ...)")
        dtrain = xgboost.dask.DaskDMatrix(client, data, label, weight=sample_weight, enable_categorical=True)
    y = np.asarray(label.compute())
    w = None if sample_weight is None else np.asarray(sample_weight.compute())
    return _dask_train(client, loss, params, dtrain, y, w, num_boost_round, **kwargs)[0]


def _dask_train(client, loss, params, dtrain, y, w, num_boost_round, **kwargs):
    """``dask_train`` on a ``DaskDMatrix`` whose labels and weights, gathered, are ``y`` and
    ``w``; returns ``(xgboost.dask.train's output, the plan)``."""
    import xgboost.dask

    loss = training.get_loss(loss)
    plan = _plan(loss, params, y, w, num_boost_round)
    params = _booster_params(plan, params)
    device = _device_for(params)
    if plan.loss.renews_leaves and (device != "cpu" or kwargs.get("obj") is not None):
        warnings.warn(
            "leaf renewal on xgboost.dask runs with this package's CPU objective only: the leaves keep the "
            "curvature's Newton steps (renew_leaves=False trains that model without this warning)",
            UserWarning,
            stacklevel=3,
        )
        plan = plan.replace(loss=plan.loss.without_leaf_renewal())
    if plan.loss.renews_leaves:  # ours on each worker, each leaf's step from every worker's rows
        plan = plan.replace(renewal=training.BY_ADAPTER)
        worker = WorkerRenewal(plan, _learning_rate(params))
        kwargs["obj"] = worker
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), worker.callback()]
        kwargs.setdefault("custom_metric", worker.metric())
    # every worker reads its own partitions' labels and weights: the plan's stay on the client;
    # an adaptive scale is computed on each worker from every worker's residuals (_scale_rows)
    gather = _scale_rows if plan.loss.adaptive else None
    kwargs.setdefault("obj", Objective.for_plan(plan.replace(data=None), device, gather=gather))
    kwargs.setdefault("custom_metric", Metric.for_plan(plan.replace(data=None), device, gather=gather))
    return xgboost.dask.train(client, params, dtrain, num_boost_round, **kwargs), plan
