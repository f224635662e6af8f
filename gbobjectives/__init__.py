"""gbobjectives: robust and imbalance-aware training objectives for XGBoost and LightGBM.

Layers (each module imports only from the layers above it in this list):

1. ``kernels/``: scalar loss math (``scalar``), the CPU loops (``cpu``), CUDA kernels (``cuda``).
2. ``losses/``: loss objects: parameters, validation, curvature choice, optimal constants.
3. ``checking``: finite-difference verification of any loss.
4. ``xgboost``, ``lightgbm``: adapters (objective, metric, ``train``), sharing ``_training``.
5. ``sklearn``: estimators built on the adapters (``GBRegressor``, ``GBClassifier``,
   ``GBQuantileRegressor``; importable from here, loaded on first use).

Importing the package compiles nothing and never imports CUDA.
"""

from .checking import GradientCheck, check_gradients
from .losses import (
    LOSSES,
    Cauchy,
    ClassBalanced,
    CrossEntropy,
    Focal,
    Huber,
    LogCosh,
    Loss,
    PseudoHuber,
    Quantile,
    Tukey,
    Welsch,
    get_loss,
    kernel_threads,
)

__version__ = "0.1.0"

_ESTIMATORS = ("GBClassifier", "GBQuantileRegressor", "GBRegressor")


def __getattr__(name):  # the estimators import scikit-learn: load them on first use only
    if name in _ESTIMATORS:
        from . import sklearn

        return getattr(sklearn, name)
    raise AttributeError(f"module 'gbobjectives' has no attribute {name!r}")


__all__ = [
    "LOSSES",
    "Cauchy",
    "ClassBalanced",
    "CrossEntropy",
    "Focal",
    "GBClassifier",
    "GBQuantileRegressor",
    "GBRegressor",
    "GradientCheck",
    "Huber",
    "LogCosh",
    "Loss",
    "PseudoHuber",
    "Quantile",
    "Tukey",
    "Welsch",
    "check_gradients",
    "get_loss",
    "kernel_threads",
]
