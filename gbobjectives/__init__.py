"""gbobjectives: robust and imbalance-aware training objectives for XGBoost and LightGBM.

Layers (each module imports only from the layers above it in this list; the modules'
docstrings use the same numbers, and ``tests/test_registry.py`` enforces the direction):

0. ``kernels/elementary``: exp, expm1, log1p as plain arithmetic, so the CPU loops vectorise.
1. ``kernels/scalar``: the per-element math of every loss, the one definition.
2. ``kernels/cpu``, ``kernels/cuda``: the loops over the elements, one per device.
3. ``losses/``: loss objects: parameters, validation, curvature choice, optimal constants.
4. ``checking``: finite-difference verification of any loss.
5. the adapters: ``_training`` (the training plan: the loss bound once, labels, weights,
   classes, start, how leaves are renewed; the base of the objective and metric callables),
   ``_renewal`` (leaf renewal beside a booster: the shared base and its bookkeeping),
   ``xgboost``, ``lightgbm`` (objective, metric, renewal and ``train`` for each booster);
   ``_frames``: data frames for the estimators.
6. ``sklearn``: estimators built on the adapters (``GBRegressor``, ``GBClassifier``,
   ``GBQuantileRegressor``; importable from here, loaded on first use); ``__main__``: the demo
   and ``--warm-up``.

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
