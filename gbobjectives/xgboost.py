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

import numpy as np

from . import _training as T


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


class _DeviceAware(T.Callable):
    """Per-DMatrix inputs, cached once (labels and weights uploaded once on the GPU path and
    released with the DMatrix); raw scores uploaded each round. ``kernel_threads``: threads of
    the CPU loops during the call (see ``gbobjectives.kernel_threads``); ``"auto"`` by default:
    serial for short calls, as XGBoost's own OpenMP threads are still spinning then."""

    _state = ("loss", "device", "kernel_threads")

    def __init__(self, loss, device="cpu", kernel_threads=T.XGBOOST_KERNEL_THREADS):
        self.device = check_device(device)
        super().__init__(loss, kernel_threads)

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

    _bind = True

    def __call__(self, predt, dtrain):
        d = self._inputs(predt, dtrain)
        with self._threads:
            return self._grad_hess(d, self._raw(predt))


class Metric(_DeviceAware):
    """``custom_metric(predt, dmatrix) -> (name, weighted mean loss)``; lower is better."""

    def __init__(self, loss, device="cpu", kernel_threads=T.XGBOOST_KERNEL_THREADS):
        super().__init__(T.check_metric_loss(loss), device, kernel_threads)
        self.name = T.metric_name(self.loss)

    def __call__(self, predt, dmat):
        d = self._inputs(predt, dmat)
        with self._threads:
            return self.name, d.loss.mean(d.y, self._raw(predt), d.w)


def objective(loss, device="cpu", kernel_threads=T.XGBOOST_KERNEL_THREADS):
    return Objective(loss, device, kernel_threads)


def metric(loss, device="cpu", kernel_threads=T.XGBOOST_KERNEL_THREADS):
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


def _setup(loss, params, y, w, init_score, kwargs, kernel_threads=T.XGBOOST_KERNEL_THREADS):
    """Params and callables for training ``loss`` on labels ``y`` / weights ``w``."""
    params = dict(params)
    n_classes = _n_classes(params)
    loss = T.bind(loss, y, n_classes, w)
    k = T.n_outputs(loss, n_classes)
    if k > 1 and n_classes is None:
        params.setdefault("num_target", k)
    if init_score and "base_score" not in params:
        start = T.start(loss, y, w, n_classes)
        params["base_score"] = start.tolist() if start.size > 1 else float(start[0])
    params.setdefault("disable_default_eval_metric", 1)
    device = _device_for(params)
    kwargs.setdefault("obj", Objective(loss, device, kernel_threads))
    kwargs.setdefault("custom_metric", Metric(loss, device, kernel_threads))
    return params, kwargs


def train(
    loss,
    params,
    dtrain,
    num_boost_round=10,
    *,
    evals=(),
    init_score=True,
    kernel_threads=T.XGBOOST_KERNEL_THREADS,
    **kwargs,
):
    """``xgboost.train`` with this loss: objective, metric and start set up.

    Sets ``base_score`` to ``loss.init_score`` on the training labels/weights (unless
    ``init_score=False`` or params has one; saved in the model), ``num_target`` for
    multi-quantile, ``disable_default_eval_metric``, and binds class-balanced counts to the
    training data. With ``params["device"] = "cuda"`` the objective and metric run on the GPU
    when numba.cuda can use it (else on the CPU, with the booster still on the GPU).
    ``kernel_threads``: threads of the objective's CPU loops (see ``Objective``).
    """
    import xgboost

    y = T.shape_labels(dtrain.get_label(), dtrain.num_row())
    w = T.none_if_empty(dtrain.get_weight())
    params, kwargs = _setup(loss, params, y, w, init_score, kwargs, kernel_threads)
    return xgboost.train(params, dtrain, num_boost_round, evals=evals, **kwargs)


def dask_train(client, loss, params, dtrain, labels, sample_weight=None, num_boost_round=10, **kwargs):
    """``xgboost.dask.train`` with this loss. ``labels`` / ``sample_weight``: the dask arrays
    the ``DaskDMatrix`` was built from; the start (``base_score``) and class-balanced counts
    are computed from all of them (gathered once to the client: 8 bytes a row), then every
    worker runs the same objective on its partitions.
    """
    import xgboost.dask

    y = np.asarray(labels.compute())
    w = None if sample_weight is None else np.asarray(sample_weight.compute())
    params, kwargs = _setup(loss, params, y, w, True, kwargs)
    return xgboost.dask.train(client, params, dtrain, num_boost_round, **kwargs)
