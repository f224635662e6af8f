"""Loss objects and their registry (layer 3; see ``gbobjectives/__init__.py``)."""

from typing import Any

from ..kernels.cpu import kernel_threads
from .base import Loss
from .classification import ClassBalanced, CrossEntropy, Focal, effective_number_weights, posterior_shift
from .regression import Cauchy, Huber, LogCosh, PseudoHuber, Quantile, Tukey, Welsch, robust_scale

LOSSES = {
    cls.name: cls
    for cls in (Huber, PseudoHuber, LogCosh, Quantile, Cauchy, Tukey, Welsch, Focal, CrossEntropy, ClassBalanced)
}

_ALIASES = {
    "pseudohuber": "pseudo_huber",
    "log_cosh": "logcosh",
    "pinball": "quantile",
    "lorentzian": "cauchy",
    "biweight": "tukey",
    "bisquare": "tukey",
    "logloss": "cross_entropy",
    "crossentropy": "cross_entropy",
    "classbalanced": "class_balanced",
}


def get_loss(name: "str | Loss", **params: Any) -> Loss:
    """The loss registered under ``name`` (see ``LOSSES``), built with ``params``.

    A ``Loss`` instance is returned unchanged (then no params are allowed). For
    ``"class_balanced"``, ``base`` may be a loss or a registered name.
    """
    if isinstance(name, Loss):
        if params:
            raise ValueError("parameters cannot be given with a loss instance")
        return name
    if not isinstance(name, str):
        raise ValueError(f"loss must be a name or a Loss, got {name!r}")
    key = name.lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; registered: {', '.join(sorted(LOSSES))}")
    if key == "class_balanced" and isinstance(params.get("base"), str):
        params["base"] = get_loss(params["base"])
    return LOSSES[key](**params)


__all__ = [
    "LOSSES",
    "Cauchy",
    "ClassBalanced",
    "CrossEntropy",
    "Focal",
    "Huber",
    "LogCosh",
    "Loss",
    "PseudoHuber",
    "Quantile",
    "Tukey",
    "Welsch",
    "robust_scale",
    "effective_number_weights",
    "posterior_shift",
    "get_loss",
    "kernel_threads",
]
