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

import numpy as np

from . import _training as T


class _PerDataset(T.Callable):
    """Labels and weights read once per Dataset; the CPU loops run on ``kernel_threads``
    threads during the call (see ``gbobjectives.kernel_threads``; None by default: Numba's pool,
    which shares LightGBM's OpenMP runtime)."""

    def __init__(self, loss, kernel_threads=T.LIGHTGBM_KERNEL_THREADS):
        super().__init__(loss, kernel_threads)


class Objective(_PerDataset):
    """``objective(preds, train_data) -> (grad, hess)`` for ``params["objective"]``."""

    _bind = True

    def __call__(self, preds, train_data):
        d = self._cache.get(preds, train_data)
        with self._threads:  # float32 and in the scores' (Fortran) order: LightGBM's own layout
            return self._grad_hess(d, preds, np.float32)


class Metric(_PerDataset):
    """``feval(preds, eval_data) -> (name, weighted mean loss, is_higher_better=False)``."""

    def __init__(self, loss, kernel_threads=T.LIGHTGBM_KERNEL_THREADS):
        super().__init__(T.check_metric_loss(loss), kernel_threads)
        self.name = T.metric_name(self.loss)

    def __call__(self, preds, eval_data):
        d = self._cache.get(preds, eval_data)
        with self._threads:
            return self.name, d.loss.mean(d.y, preds, d.w), False


def objective(loss, kernel_threads=T.LIGHTGBM_KERNEL_THREADS):
    return Objective(loss, kernel_threads)


def metric(loss, kernel_threads=T.LIGHTGBM_KERNEL_THREADS):
    return Metric(loss, kernel_threads)


def _weight(dataset):
    """Sample weights of a Dataset, constructed or not (get_weight() raises before)."""
    if dataset.weight is not None or getattr(dataset, "_handle", None) is None:
        return T.none_if_empty(dataset.weight)
    return T.none_if_empty(dataset.get_weight())


def _set_start(dataset, start, k):
    n = len(dataset.get_label())
    dataset.set_init_score(np.tile(start, (n, 1)) if k > 1 else np.full(n, start[0]))


def fold_init_score(booster, start):
    """Add the start to every leaf of the first iteration's trees (one tree per output)."""
    info = booster.dump_model(num_iteration=1, start_iteration=0)["tree_info"]  # first trees only
    for t, s in enumerate(np.atleast_1d(start)):
        for leaf in range(info[t]["num_leaves"]):
            booster.set_leaf_output(t, leaf, booster.get_leaf_output(t, leaf) + float(s))
    return booster


def train(
    loss,
    params,
    train_set,
    num_boost_round=100,
    *,
    valid_sets=None,
    init_score=True,
    kernel_threads=T.LIGHTGBM_KERNEL_THREADS,
    **kwargs,
):
    """``lightgbm.train`` with this loss: objective, metric and start set up.

    Sets ``num_class`` for multi-quantile, ``metric="None"`` (the default metric would read raw
    scores as probabilities) and ``feval``; binds class-balanced counts to the training labels;
    unless ``init_score=False``, puts the optimal constant in the Datasets' ``init_score``
    (this sets it on the Dataset objects you pass) and folds it into the returned model.
    ``kernel_threads``: threads of the objective's CPU loops (see ``Objective``).
    """
    import lightgbm

    params = dict(params)
    y = np.asarray(train_set.get_label())
    w = _weight(train_set)
    n_classes = int(params.get("num_class", 1) or 1)
    n_classes = n_classes if n_classes > 1 else None
    loss = T.bind(loss, y, n_classes, w)
    k = T.n_outputs(loss, n_classes)
    if k > 1:
        params["num_class"] = k
    params["objective"] = Objective(loss, kernel_threads)
    params.setdefault("metric", "None")
    kwargs.setdefault("feval", Metric(loss, kernel_threads))
    start = T.start(loss, y, w, n_classes) if init_score else None
    if start is not None:
        for ds in {id(d): d for d in [train_set, *(valid_sets or [])]}.values():
            _set_start(ds, start, k)
    if _no_feature_can_split(train_set, params):
        import warnings

        warnings.warn(NO_FEATURE_WARNING, UserWarning, stacklevel=2)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _skip_objective_reset]
    booster = lightgbm.train(params, train_set, num_boost_round, valid_sets=valid_sets, **kwargs)
    if start is not None:
        fold_init_score(booster, start)
    return booster


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


_skip_objective_reset.before_iteration = True
_skip_objective_reset.order = 0
