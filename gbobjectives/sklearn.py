"""scikit-learn estimators: a booster (XGBoost or LightGBM) trained with a gbobjectives loss.

```python
from gbobjectives import GBRegressor, GBClassifier, GBQuantileRegressor
GBRegressor(loss="huber").fit(X, y).predict(X)                      # target units
GBClassifier(loss="focal", backend="lightgbm").fit(X, labels).predict_proba(X)
GBQuantileRegressor(alpha=[0.05, 0.5, 0.95]).fit(X, y).predict_interval(X)
```

Layer 6 (estimators): built on the adapters (``xgboost``, ``lightgbm``); no loss math here.

- ``loss``: a registered name or a ``Loss``. A robust regression loss *given by name* gets an
  adaptive scale (``Loss.estimator_default``): Huber / pseudo-Huber ``delta``, log-cosh, Cauchy,
  Tukey and Welsch ``scale`` = ``c x 1.4826 x`` the median absolute deviation of the current
  residuals, re-estimated every round (``c``: each loss's 95%-efficiency constant); a ``Loss``
  object is used exactly as given (``Huber(2.0)``: that delta, fixed).
- ``backend``: ``"xgboost"`` or ``"lightgbm"``. ``n_estimators``, ``learning_rate``,
  ``max_depth``, ``n_jobs``, ``random_state``, ``device`` are translated to each library's
  names; any other keyword (``num_leaves``, ``min_child_weight``, ``subsample``, ...) goes to the
  booster unchanged.
- ``X``: arrays, scipy sparse matrices, or pandas DataFrames, whose ``category`` columns go to
  the boosters' native categorical splits (other columns must be numeric or boolean; polars
  frames and pyarrow tables are converted with ``to_pandas()``); see ``_frames``.
  ``feature_names_in_``, ``n_features_in_`` and ``is_categorical_`` (None without category
  columns) as in scikit-learn's HistGradientBoosting estimators.
- On data where LightGBM keeps no feature to split (tiny or constant), the LightGBM backend
  trains the optimal constant with a ``UserWarning`` (see ``gbobjectives.lightgbm.train``).
- The optimal constant start is computed at fit and saved in the booster (XGBoost
  ``base_score``; LightGBM: folded into the first trees), so ``booster_`` alone predicts right.
- ``fit(..., eval_set=[(X, y), ...], sample_weight_eval_set=...)`` records the package's metric
  for each set in ``evals_result_``; with ``early_stopping_rounds`` training stops when the
  last eval set (XGBoost) / any eval set (LightGBM's rule) stops improving, and prediction
  uses ``best_iteration_``.
- What users of the boosters' estimators reach for: ``feature_importances_``
  (``importance_type``), ``best_score_``, ``n_iter_``, ``get_booster()``, ``apply(X)``,
  ``predict(X, pred_contrib=True)`` (docs/guide/estimators.md lists them against XGBoost's and
  LightGBM's estimators).
- Dask: fitted on dask arrays or DataFrames while a ``distributed`` Client is active, the
  estimators train on the workers (``xgboost.dask`` / ``lightgbm.dask``; see the adapters'
  ``dask_train``), and every predict method returns a lazy dask array on dask input.
"""

import functools
import json
import numbers
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_consistent_length, check_is_fitted, validate_data

from . import _frames
from . import _training as training
from .losses import Quantile, get_loss

BACKENDS = ("xgboost", "lightgbm")
# how every X is checked (fit, eval sets, predict): the boosters take sparse input and NaN
_X_CHECKS = {"accept_sparse": ["csr", "csc"], "dtype": [np.float64, np.float32], "ensure_all_finite": "allow-nan"}

# importance_type -> each booster's name for it (the boosters' own meanings: XGBoost's "gain" is
# the mean gain of a feature's splits, LightGBM's the total)
_IMPORTANCE_TYPES = {
    "xgboost": {
        "gain": "gain",
        "total_gain": "total_gain",
        "weight": "weight",
        "split": "weight",
        "cover": "cover",
        "total_cover": "total_cover",
    },
    "lightgbm": {"gain": "gain", "total_gain": "gain", "split": "split", "weight": "split"},
}

# check name -> why it cannot pass; given to scikit-learn's parametrize_with_checks /
# check_estimator as ``expected_failed_checks`` (see each estimator's _expected_failed_checks).
# fit's validation data: (X, y) pairs, and a weight array (or None) for each
EvalSet = Sequence[tuple[Any, ArrayLike]] | None
EvalWeights = Sequence[ArrayLike | None] | None

_FLOAT32_WEIGHTS = (
    "the check compares float32 predictions at rtol 1e-7, one float32 ulp: a weighted row's "
    "gradient w * g is rounded to float32 once, a repeated row's g is rounded and summed w times, "
    "so a histogram can differ in its last bit; with the default adaptive Huber 2 of the check's "
    "15 predictions differ by 3e-8 (a fixed Huber(delta) does the same for some deltas, e.g. 0.05 "
    "and 0.2; tests/test_sklearn.py checks integer weights against repeated rows at rtol 1e-5)"
)
_LIGHTGBM_WEIGHTS = (
    "LightGBM bins features and counts min_data_in_leaf on rows, not weights, so integer weights "
    "do not equal repeated rows once it can split (its own l2 objective behaves the same); the "
    "check fits 3x the rows for an estimator with a cv parameter, enough for LightGBM to split"
)


def _is_dask(X):
    return hasattr(X, "__dask_graph__")


def _dask_client(X):
    """The active ``distributed`` Client when X is a dask collection, else None (dask data
    without a Client is computed into memory, as any array-like)."""
    if not _is_dask(X):
        return None
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _gathered(a):
    """A dask array or Series (or an in-memory array) as a NumPy array on the client; None stays."""
    if a is None:
        return None
    return np.asarray(a.compute() if _is_dask(a) else a)


def _block(block, names):
    if names is None:
        return block
    import pandas as pd

    return pd.DataFrame(block, columns=names)


def _predict_block(estimator, method, kwargs, names, block):
    return getattr(estimator, method)(_block(block, names), **kwargs)


def _warn_unknown_lightgbm(names):
    """LightGBM ignores parameters it does not know; warn about them as XGBoost itself does
    ("Parameters: { ... } are not used"), with the closest names LightGBM knows."""
    import difflib

    try:
        from lightgbm.basic import _ConfigAliases  # every parameter and alias (LGBM_DumpParamAliases)

        aliases = _ConfigAliases._get_all_param_aliases()
    except (ImportError, AttributeError):  # another LightGBM: leave the check to it
        return
    known = set(aliases) | {a for names_ in aliases.values() for a in names_}
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            warnings.warn(
                f"LightGBM does not know the parameter {name!r}; it is ignored{hint}", UserWarning, stacklevel=4
            )


class _GBBase(BaseEstimator):
    """Shared fit / predict plumbing; subclasses choose the loss and the output transform."""

    _common = (
        "backend",
        "n_estimators",
        "learning_rate",
        "max_depth",
        "early_stopping_rounds",
        "n_jobs",
        "random_state",
        "device",
        "importance_type",
    )

    def _set_common(self, args):
        """Store the parameters every estimator shares (from the caller's ``locals()``)."""
        for name in self._common:
            setattr(self, name, args[name])
        self._set_booster_params(args["booster_params"])

    def _set_booster_params(self, booster_params):
        self._booster_kwargs = dict(booster_params)

    def __getattr__(self, name):  # booster keywords read as attributes: est.num_leaves
        kwargs = self.__dict__.get("_booster_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---- parameters: the signature's, plus booster keywords ------------------------------------
    def get_params(self, deep=True):
        return super().get_params(deep) | self.__dict__.get("_booster_kwargs", {})

    def set_params(self, **params):
        own = self._get_param_names()
        super().set_params(**{k: v for k, v in params.items() if k in own})
        self._booster_kwargs = self.__dict__.get("_booster_kwargs", {}) | {
            k: v for k, v in params.items() if k not in own
        }
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values go down the boosters' learned default branch
        tags.input_tags.sparse = True
        return tags

    def _expected_failed_checks(self):
        return {}

    # ---- the booster's parameters ----------------------------------------------------------------
    def _check_params(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not isinstance(self.n_estimators, numbers.Integral) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive integer, got {self.n_estimators!r}")
        if not isinstance(self.learning_rate, numbers.Real) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if self.early_stopping_rounds is not None and (
            not isinstance(self.early_stopping_rounds, numbers.Integral) or self.early_stopping_rounds < 1
        ):
            raise ValueError(
                f"early_stopping_rounds must be None or a positive integer, got {self.early_stopping_rounds!r}"
            )
        self._importance_kind()

    def _booster_params(self):
        extra = self.__dict__.get("_booster_kwargs", {})
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n_jobs = self.n_jobs
        if n_jobs is not None and n_jobs < 0:
            n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
        params = {"learning_rate": self.learning_rate, "seed": seed}
        if self.max_depth is not None:
            params["max_depth"] = self.max_depth
        if self.backend == "xgboost":
            params |= {"tree_method": "hist", "device": self.device}
            if n_jobs is not None:
                params["nthread"] = n_jobs
        else:
            params |= {"verbosity": -1, "deterministic": True}
            if n_jobs is not None:
                params["num_threads"] = n_jobs
            if self.device != "cpu":
                params["device_type"] = self.device
        if self.backend == "lightgbm":
            _warn_unknown_lightgbm(extra)
        return params | extra

    # ---- fit -------------------------------------------------------------------------------------
    def _validate_X(self, X, reset):
        """X as the boosters get it: a pandas frame with ``category`` columns stays a frame
        (those columns normalised to float64 beside them; see ``_frames``), anything else a
        float array or sparse matrix, as scikit-learn validates it. ``reset``: at fit, record
        ``n_features_in_``, ``feature_names_in_`` and ``is_categorical_``."""
        X = _frames.to_pandas(X)
        frame = _frames.is_pandas_frame(X)
        if reset:
            cats = _frames.categorical_columns(X) if frame else []
            self.is_categorical_ = np.array([c in cats for c in X.columns]) if cats else None
            self._categories = _frames.categories_of(X, cats) if cats else None
        mask = getattr(self, "is_categorical_", None)
        if mask is None:
            if frame:  # clear errors for string columns, and for category columns the fit did not have
                X = _frames.normalized(X, [])
            return validate_data(self, X, reset=reset, **_X_CHECKS)
        if not frame:
            raise ValueError(
                f"{type(self).__name__} was fitted on a DataFrame with 'category' columns "
                f"{list(self.feature_names_in_[mask])}: pass a DataFrame with the same columns"
            )
        validate_data(self, X, reset=reset, skip_check_array=True)  # feature names and count
        categorical = [c for c, is_cat in zip(X.columns, mask, strict=True) if is_cat]
        X = _frames.normalized(X, categorical, self.__dict__.get("_categories"))
        numeric = X.columns[~mask]
        if len(numeric) and np.isinf(X[numeric].to_numpy()).any():
            raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
        return X

    def _validate_Xy(self, X, y, sample_weight, **y_checks):
        """Validated X (see ``_validate_X``), y and sample weights (float64 or None) of a fit."""
        y = validate_data(self, y=y, **y_checks)  # first: validating y alone forgets feature names
        X = self._validate_X(X, reset=True)
        check_consistent_length(X, y)
        w = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, y, w

    def _fit(self, X, y, sample_weight, eval_set, sample_weight_eval_set, loss, n_classes=None):
        """Train ``self.booster_`` on validated X, encoded labels ``y`` and checked weights;
        eval_set labels are encoded here."""
        self._check_params()
        if X.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples, got n_samples = {X.shape[0]}")
        if self.early_stopping_rounds is not None and not eval_set:
            raise ValueError("early_stopping_rounds needs an eval_set to watch")
        evals = []
        for i, (Xv, yv) in enumerate(eval_set or ()):
            Xv = self._validate_X(Xv, reset=False)
            wv = None if sample_weight_eval_set is None else sample_weight_eval_set[i]
            wv = None if wv is None else _check_sample_weight(wv, Xv, dtype=np.float64)
            evals.append((Xv, self._encode_eval(yv), wv))
        params = self._booster_params()
        if training.softmax_classes(n_classes):
            params["num_class"] = n_classes  # the same name in both libraries
        self.evals_result_ = {}
        if self.backend == "xgboost":
            plan = self._fit_xgboost(loss, params, X, y, sample_weight, evals)
        else:
            plan = self._fit_lightgbm(loss, params, X, y, sample_weight, evals)
        self.loss_ = plan.loss
        self._best_score()
        return self

    def _best_score(self):
        """``n_iter_`` and ``best_score_``: the last eval set's (last) metric at the best
        iteration, None without eval sets."""
        self.n_iter_ = self.best_iteration_ + 1
        self.best_score_ = None
        if self.evals_result_:
            history = list(self.evals_result_.values())[-1]
            self.best_score_ = float(list(history.values())[-1][self.best_iteration_])

    def _fit_xgboost(self, loss, params, X, y, w, evals):
        import xgboost

        from . import xgboost as gx

        nthread = params.get("nthread", -1)
        dtrain = xgboost.DMatrix(X, y, weight=w, missing=np.nan, nthread=nthread, enable_categorical=True)
        watch = [
            (
                xgboost.DMatrix(Xv, yv, weight=wv, missing=np.nan, nthread=nthread, enable_categorical=True),
                f"validation_{i}",
            )
            for i, (Xv, yv, wv) in enumerate(evals)
        ]
        booster, plan = gx._train(
            loss,
            params,
            dtrain,
            self.n_estimators,
            y,
            w,
            evals=watch,
            evals_result=self.evals_result_,
            early_stopping_rounds=self.early_stopping_rounds,
            verbose_eval=False,
            features=gx.device_features(X, params),  # on CUDA with CuPy: margins stay on the device
        )
        self.booster_ = self._best_rounds(booster)
        return plan

    def _best_rounds(self, booster):
        """An XGBoost booster of the rounds up to the best one (all without early stopping): the
        rounds after it go, so the booster (and a file saved from it) predicts what the
        estimator predicts, as LightGBM's best_iteration does for its own. Sets
        ``best_iteration_``."""
        kept = booster.num_boosted_rounds()
        if self.early_stopping_rounds and "best_iteration" in booster.attributes():
            kept = int(booster.attr("best_iteration")) + 1
        if kept < booster.num_boosted_rounds():
            best = booster.attributes()
            booster = booster[:kept]
            booster.set_attr(**{key: best[key] for key in ("best_iteration", "best_score") if key in best})
        self.best_iteration_ = kept - 1
        return booster

    def _fit_lightgbm(self, loss, params, X, y, w, evals):
        import lightgbm

        from . import lightgbm as gl

        dtrain = lightgbm.Dataset(X, y, weight=w, params=params)
        valid = [lightgbm.Dataset(Xv, yv, weight=wv, reference=dtrain) for Xv, yv, wv in evals]
        callbacks = [lightgbm.record_evaluation(self.evals_result_)]
        if self.early_stopping_rounds:
            callbacks.append(lightgbm.early_stopping(self.early_stopping_rounds, verbose=False))
        booster, plan = gl._train(
            loss,
            params,
            dtrain,
            self.n_estimators,
            y,
            w,
            valid_sets=valid or None,
            valid_names=[f"validation_{i}" for i in range(len(valid))] or None,
            callbacks=callbacks,
        )
        self.booster_ = booster
        best = booster.best_iteration if self.early_stopping_rounds else 0
        self.best_iteration_ = (best or booster.current_iteration()) - 1
        return plan

    def _encode_eval(self, y):
        return np.asarray(y, np.float64)

    # ---- on a Dask cluster ---------------------------------------------------------------------
    def _fit_cluster(self, client, X, y, sample_weight, eval_set, sample_weight_eval_set):
        """Train on the workers of ``client`` through ``xgboost.dask`` / ``lightgbm.dask``. The
        labels and weights are gathered to the client once (8 bytes a row each) for what needs
        all of them (the start, classes and class counts, the quantile and robust scales), and
        the encoded labels and training weights go back with X's partitions."""
        import dask.array as da

        self._check_params()
        if self.backend == "lightgbm" and (eval_set or sample_weight_eval_set is not None):
            raise ValueError(
                f"{type(self).__name__}(backend='lightgbm') on a Dask cluster does not take eval_set or "
                "early_stopping_rounds (lightgbm.dask cannot stop early): use backend='xgboost', or data in memory"
            )
        if self.early_stopping_rounds is not None and not eval_set:
            raise ValueError("early_stopping_rounds needs an eval_set to watch")
        X = self._cluster_rows(X)
        y_np, w_np = _gathered(y), _gathered(sample_weight)
        if y_np.shape[0] != X.shape[0] or (w_np is not None and w_np.shape[0] != X.shape[0]):
            raise ValueError(
                f"X has {X.shape[0]} rows, y {y_np.shape[0]}"
                + ("" if w_np is None else f", sample_weight {w_np.shape[0]}")
            )
        if X.shape[0] < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples, got n_samples = {X.shape[0]}")
        if w_np is not None:
            w_np = _check_sample_weight(w_np, y_np.reshape(-1, 1), dtype=np.float64)
        y_fit, loss, w_fit = self._targets(y_np, w_np)
        rows = X.chunks[0]
        dy = da.from_array(y_fit, chunks=rows)
        dw = None if w_fit is None else da.from_array(w_fit, chunks=rows)
        params = self._booster_params()
        k = self.__dict__.get("n_classes_")
        if training.softmax_classes(k):
            params["num_class"] = k
        if self.backend == "xgboost":
            import xgboost.dask

            from . import xgboost as gx

            dtrain = xgboost.dask.DaskDMatrix(client, X, dy, weight=dw)
            evals = []
            for i, (Xv, yv) in enumerate(eval_set or ()):
                Xv = self._cluster_rows(Xv, reset=False)
                yv = self._encode_eval(_gathered(yv))
                wv = None if sample_weight_eval_set is None else _gathered(sample_weight_eval_set[i])
                dyv = da.from_array(yv, chunks=Xv.chunks[0])
                dwv = None if wv is None else da.from_array(np.asarray(wv, np.float64), chunks=Xv.chunks[0])
                evals.append((xgboost.dask.DaskDMatrix(client, Xv, dyv, weight=dwv), f"validation_{i}"))
            out, plan = gx._dask_train(
                client, loss, params, dtrain, y_fit, w_fit, self.n_estimators,
                evals=evals, early_stopping_rounds=self.early_stopping_rounds,
            )  # fmt: skip
            self.evals_result_ = out["history"]
            self.booster_ = self._best_rounds(out["booster"])
        else:
            from . import lightgbm as gl

            self.booster_, plan = gl._dask_train(client, loss, params, X, dy, dw, self.n_estimators, y=y_fit, w=w_fit)
            self.evals_result_ = {}
            self.best_iteration_ = self.n_estimators - 1
        self.loss_ = plan.loss
        self._best_score()
        self._after_cluster_fit(X, y_fit, w_np)
        return self

    def _after_cluster_fit(self, X, y_fit, w):
        """What an estimator fits from the trained model on the cluster's rows (a classifier:
        its posterior shift)."""

    def _cluster_rows(self, X, reset=True):
        """A dask DataFrame or array as a dask array of float rows with all columns in one chunk;
        ``reset``: records ``n_features_in_`` / ``feature_names_in_`` (else checks the count)."""
        if reset:
            self.is_categorical_ = self._categories = None
        columns = getattr(X, "columns", None)
        if columns is not None:
            from pandas import CategoricalDtype
            from pandas.api.types import is_bool_dtype, is_numeric_dtype

            bad = [
                c
                for c, t in X.dtypes.items()
                if isinstance(t, CategoricalDtype) or not (is_numeric_dtype(t) or is_bool_dtype(t))
            ]
            if bad:
                raise ValueError(
                    f"on a Dask cluster the estimators take numeric columns only; {bad} are not "
                    "(category columns are supported with data in memory)"
                )
            if reset:
                self.feature_names_in_ = np.asarray(columns, dtype=object)
            X = X.to_dask_array(lengths=True)
        elif reset and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array, got {X.ndim}D")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_}"
            )
        return X.astype(np.float64).rechunk({1: -1})

    def _lazy(self, X, method, **kwargs):
        """``method`` over the row blocks of a dask array or DataFrame, lazily: a dask array."""
        rows = X.to_dask_array(lengths=True) if hasattr(X, "to_dask_array") else X
        rows = rows.rechunk({1: -1})
        names = self.__dict__.get("feature_names_in_")
        probe = getattr(self, method)(_block(np.zeros((1, rows.shape[1])), names), **kwargs)
        tail = probe.shape[1:]
        fn = functools.partial(_predict_block, self, method, kwargs, names)
        if not tail:
            return rows.map_blocks(fn, drop_axis=1, dtype=probe.dtype, chunks=(rows.chunks[0],))
        extra = tuple((t,) for t in tail)
        return rows.map_blocks(
            fn, dtype=probe.dtype, chunks=(rows.chunks[0], *extra), new_axis=list(range(2, 1 + len(tail)))
        )

    # ---- what users of the boosters' estimators reach for ----------------------------------------
    def get_booster(self):
        """The trained booster (``xgboost.Booster`` / ``lightgbm.Booster``), holding the rounds
        that predict (``n_iter_``) and the start: saved with ``save_model``, it predicts
        ``predict`` (regressors) or ``decision_function`` (classifiers) in plain XGBoost /
        LightGBM, without gbobjectives."""
        check_is_fitted(self, "booster_")
        return self.booster_

    def _importance_kind(self):
        kinds = _IMPORTANCE_TYPES[self.backend] if self.backend in BACKENDS else {}
        if self.importance_type not in kinds:
            raise ValueError(
                f"importance_type must be one of {sorted(kinds)} with backend={self.backend!r}, "
                f"got {self.importance_type!r}"
            )
        return kinds[self.importance_type]

    @property
    def feature_importances_(self) -> np.ndarray:
        """(n_features,) importances of the rounds that predict, by ``importance_type``, in the
        booster's own meaning (XGBoost: ``"gain"`` the mean gain of a feature's splits,
        ``"total_gain"``, ``"weight"`` / ``"split"`` their count, ``"cover"``, ``"total_cover"``;
        LightGBM: ``"gain"`` / ``"total_gain"`` the total gain, ``"split"`` / ``"weight"`` the
        count), normalised to sum to 1 as scikit-learn's ensembles are (all zeros when no tree
        splits)."""
        check_is_fitted(self, "booster_")
        kind = self._importance_kind()
        if self.backend == "xgboost":
            scores = self.booster_.get_score(importance_type=kind)
            names = self.booster_.feature_names or [f"f{i}" for i in range(self.n_features_in_)]
            values = np.array([scores.get(name, 0.0) for name in names], np.float64)
        else:
            values = np.asarray(self.booster_.feature_importance(kind, iteration=self.n_iter_), np.float64)
        total = values.sum()
        return values / total if total > 0 else values

    @property
    def n_features_(self):  # LightGBM's estimators' name for n_features_in_
        check_is_fitted(self, "booster_")
        return self.n_features_in_

    def apply(self, X: Any) -> np.ndarray:
        """Leaf indices, (n_samples, n_trees) integers: the leaf of each tree of the rounds that
        predict that each row falls in (a softmax or multi-level model has one tree per output
        and round, round-major), as the boosters' ``apply`` / ``pred_leaf``."""
        if _is_dask(X):
            return self._lazy(X, "apply")
        return self._booster_predict(X, "leaf").astype(np.int64)

    def _contributions(self, X):
        """TreeSHAP contributions in margin space: (n, n_features + 1), the last column the
        bias (the start included); (n, k, n_features + 1) for a softmax or multi-level model.
        Each row sums, over the last axis, to the raw score."""
        if _is_dask(X):
            return self._lazy(X, "_contributions")
        contrib = np.asarray(self._booster_predict(X, "contrib"), np.float64)
        p = self.n_features_in_ + 1
        if contrib.ndim == 2 and contrib.shape[1] != p:  # LightGBM: a row of k blocks of p
            contrib = contrib.reshape(contrib.shape[0], -1, p)
        return contrib

    def _booster_predict(self, X, kind):
        """The booster's ``"raw"`` scores, ``"leaf"`` indices or ``"contrib"`` (TreeSHAP) for the
        rounds that predict."""
        check_is_fitted(self, "booster_")
        X = self._validate_X(X, reset=False)
        if self.backend == "xgboost":
            import xgboost

            return self.booster_.predict(
                xgboost.DMatrix(X, missing=np.nan, enable_categorical=True),
                output_margin=kind == "raw",
                pred_leaf=kind == "leaf",
                pred_contribs=kind == "contrib",
                iteration_range=(0, self.n_iter_),
            )
        return self.booster_.predict(
            X,
            raw_score=kind == "raw",
            pred_leaf=kind == "leaf",
            pred_contrib=kind == "contrib",
            num_iteration=self.n_iter_,
        )

    # ---- predict ---------------------------------------------------------------------------------
    def _raw(self, X):
        """Raw scores (start included) of the best iteration: (n,) or (n, k), as float64 (XGBoost
        returns float32 margins, whose softmax rows would sum to 1 only within 2e-7)."""
        if _is_dask(X):
            return self._lazy(X, "_raw")
        return np.asarray(self._booster_predict(X, "raw"), np.float64)


class GBRegressor(RegressorMixin, _GBBase):
    """Gradient-boosted regressor with a robust loss (``"huber"``, ``"pseudo_huber"``,
    ``"logcosh"``, ``"cauchy"``, ``"tukey"``, ``"welsch"``, ``"quantile"``, or a regression
    ``Loss``). ``predict`` returns target units (for a multi-level ``Quantile``: one column per
    level, sorted). ``score`` is R^2.
    """

    def __init__(
        self,
        loss="huber",
        *,
        backend="xgboost",
        n_estimators=100,
        learning_rate=0.1,
        max_depth=None,
        early_stopping_rounds=None,
        n_jobs=None,
        random_state=None,
        device="cpu",
        importance_type="gain",
        **booster_params,
    ):
        self.loss = loss
        self._set_common(locals())

    def _loss(self, y, sample_weight):
        loss = get_loss(self.loss)
        if loss.classifier:
            raise ValueError(f"{type(loss).__name__} is a classification loss: use GBClassifier")
        return loss.estimator_default(y, sample_weight) if isinstance(self.loss, str) else loss

    def _expected_failed_checks(self):
        failed = super()._expected_failed_checks()
        if type(self) is GBRegressor and self.backend == "xgboost" and self.loss == "huber":  # the default
            for check in (
                "check_sample_weight_equivalence_on_dense_data",
                "check_sample_weight_equivalence_on_sparse_data",
            ):
                failed[check] = _FLOAT32_WEIGHTS
        return failed

    def fit(
        self,
        X: Any,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        eval_set: EvalSet = None,
        sample_weight_eval_set: EvalWeights = None,
    ) -> "GBRegressor":
        client = _dask_client(X)
        if client is not None:
            return self._fit_cluster(client, X, y, sample_weight, eval_set, sample_weight_eval_set)
        X, y, w = self._validate_Xy(X, y, sample_weight, y_numeric=True)
        y = np.asarray(y, np.float64)
        return self._fit(X, y, w, eval_set, sample_weight_eval_set, self._loss(y, w))

    def _targets(self, y, w):
        y = np.asarray(y, np.float64)
        return y, self._loss(y, w), w

    def predict(self, X: Any, *, pred_contrib: bool = False) -> np.ndarray:
        """Predictions in target units. ``pred_contrib=True``: the boosters' TreeSHAP
        contributions instead, (n, n_features + 1) with the bias last ((n, k, n_features + 1)
        for k quantile levels), whose rows sum to the raw score (``predict`` itself for these
        losses' identity link; for several levels, ``predict(X, sort=False)``)."""
        if pred_contrib:
            return self._contributions(X)
        if _is_dask(X):
            return self._lazy(X, "predict")
        raw = self._raw(X)  # checks fitted first
        return self.loss_.inverse_link(raw)


class GBQuantileRegressor(GBRegressor):
    """One booster for one or several quantile levels (pinball loss).

    ``predict``: (n,) for a single ``alpha``, else (n, k) quantiles in the order of the sorted
    levels, sorted per row so they never cross. ``predict_interval``: (n, 2), the lowest and
    highest levels (conformalized when ``conformal`` is set). ``score``: the mean over levels of
    scikit-learn's D^2 pinball score (the pinball analogue of R^2: 1 is perfect, 0 is the best
    constant).

    conformal: ``None``, ``"split"`` or ``"cv"``: conformalized quantile regression (Romano,
    Patterson and Candes 2019) of the interval between the lowest and the highest level, whose
    nominal miscoverage is ``a = alpha_lowest + 1 - alpha_highest`` (0.1 for 0.05 / 0.95). The
    conformity score of a row is ``max(q_lo - y, y - q_hi)``; ``conformal_offset_`` is their
    ``ceil((n + 1)(1 - a)) / n`` empirical quantile over n held-out rows, and
    ``predict_interval`` returns ``[q_lo - offset, q_hi + offset]`` (the offset may be negative:
    the interval then narrows).

    - ``"split"``: a random ``calibration_size`` share of the rows (seeded by ``random_state``)
      is held out; the model is trained on the rest. Guarantee: for a new row exchangeable with
      the training rows, ``P(y in interval) >= 1 - a`` (marginal, over the draw of the data and
      the row; not conditional on x, and not for shifted data).
    - ``"cv"``: ``cv`` folds (an integer: shuffled K-fold seeded by ``random_state``; or a
      scikit-learn splitter or iterable of index pairs): the scores are out-of-fold (each row
      scored by a model trained without its fold), and the model that predicts is refitted on
      every row, so no row is lost to calibration. Coverage is about ``1 - a`` in practice; the worst-case guarantee of
      cross-conformal methods is ``1 - 2a``. Costs ``cv + 1`` trainings.

    hessian, renew_leaves: as in ``Quantile`` (``renew_leaves=True``, the default, renews
    every leaf to the exact quantile of its rows' residuals, as the natives do; ``False`` keeps
    the curvature's Newton steps, which need many more rounds).

    Sample weights weight the training and the scores' quantile (the finite-sample guarantee is
    for unweighted exchangeable rows). Early stopping uses ``eval_set`` in every training.
    ``predict`` keeps returning the (unconformalized) quantiles.
    """

    def __init__(
        self,
        alpha=(0.05, 0.5, 0.95),
        *,
        conformal=None,
        calibration_size=0.25,
        cv=5,
        hessian=None,
        renew_leaves=True,
        backend="xgboost",
        n_estimators=100,
        learning_rate=0.1,
        max_depth=None,
        early_stopping_rounds=None,
        n_jobs=None,
        random_state=None,
        device="cpu",
        importance_type="gain",
        **booster_params,
    ):
        self.alpha = alpha
        self.conformal = conformal
        self.calibration_size = calibration_size
        self.cv = cv
        self.hessian = hessian
        self.renew_leaves = renew_leaves
        self._set_common(locals())

    def _miscoverage(self):
        levels = np.sort(np.atleast_1d(np.asarray(self.alpha, float)))
        if levels.size < 2:
            raise ValueError("conformal intervals need at least two quantile levels")
        return round(float(levels[0] + 1.0 - levels[-1]), 12)  # 0.05 + 1 - 0.95 is 0.1 - 3e-17

    def _check_conformal(self):
        if self.conformal not in (None, "split", "cv"):
            raise ValueError(f"conformal must be None, 'split' or 'cv', got {self.conformal!r}")
        if self.conformal == "split" and not (
            isinstance(self.calibration_size, numbers.Real) and 0.0 < self.calibration_size < 1.0
        ):
            raise ValueError(f"calibration_size must lie in (0, 1), got {self.calibration_size!r}")
        if (
            self.conformal == "cv"
            and isinstance(self.cv, numbers.Number)
            and (not isinstance(self.cv, numbers.Integral) or isinstance(self.cv, bool) or self.cv < 2)
        ):
            raise ValueError(f"cv must be an integer >= 2 or a cross-validation splitter, got {self.cv!r}")

    def fit(
        self,
        X: Any,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        eval_set: EvalSet = None,
        sample_weight_eval_set: EvalWeights = None,
    ) -> "GBQuantileRegressor":
        self._check_conformal()
        self.conformal_offset_ = None
        if self.conformal is not None and _dask_client(X) is not None:
            raise ValueError(
                "conformal intervals are not supported on a Dask cluster: fit with conformal=None there, "
                "or on data in memory"
            )
        if self.conformal is None:
            return super().fit(X, y, sample_weight, eval_set, sample_weight_eval_set)
        from sklearn.model_selection import KFold
        from sklearn.utils import _safe_indexing

        a = self._miscoverage()
        X, y, w = self._validate_Xy(X, y, sample_weight, y_numeric=True)
        y = np.asarray(y, np.float64)
        n = len(y)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if self.conformal == "split":
            n_cal = int(np.ceil(self.calibration_size * n))
            if not 1 <= n_cal < n - 1:
                raise ValueError(f"calibration_size={self.calibration_size} leaves no rows to train or calibrate on")
            order = np.random.default_rng(seed).permutation(n)
            folds = [(np.sort(order[n_cal:]), np.sort(order[:n_cal]))]
        elif isinstance(self.cv, numbers.Integral):
            folds = list(KFold(self.cv, shuffle=True, random_state=seed).split(np.zeros((n, 1))))
        else:  # a splitter or an iterable of (train, calibration) index pairs, as scikit-learn's cv=
            from sklearn.model_selection import check_cv

            folds = list(check_cv(self.cv).split(np.zeros((n, 1)), y))
        scores = np.empty(n)
        for train, cal in folds:
            self._fit_rows(X, y, w, train, eval_set, sample_weight_eval_set, _safe_indexing)
            q = self._quantiles(_safe_indexing(X, cal))
            scores[cal] = np.maximum(q[:, 0] - y[cal], y[cal] - q[:, -1])
        held = np.concatenate([cal for _, cal in folds])
        offset = conformal_quantile(scores[held], None if w is None else w[held], a)
        if self.conformal == "cv":  # the model that predicts sees every row
            self._fit_rows(X, y, w, np.arange(n), eval_set, sample_weight_eval_set, _safe_indexing)
        self.conformal_offset_ = offset
        return self

    def _fit_rows(self, X, y, w, rows, eval_set, sample_weight_eval_set, take):
        Xr, yr, wr = take(X, rows), y[rows], None if w is None else w[rows]
        return self._fit(Xr, yr, wr, eval_set, sample_weight_eval_set, self._loss(yr, wr))

    def _loss(self, y, sample_weight):
        alpha = self.alpha if np.ndim(self.alpha) == 0 else sorted(np.asarray(self.alpha, float).tolist())
        return Quantile(alpha, hessian=self.hessian, renew_leaves=self.renew_leaves)

    @property
    def alphas_(self):
        check_is_fitted(self, "booster_")
        return np.asarray(self.loss_.alphas)

    def predict(self, X: Any, sort: bool = True, *, pred_contrib: bool = False) -> np.ndarray:
        """Quantiles in target units: (n,) for one level, else (n, k) in the order of the sorted
        levels. ``sort=False`` returns the booster's own outputs, which may cross (to see how
        often they do); the default sorts each row so they never cross. ``pred_contrib=True``:
        TreeSHAP contributions (see ``GBRegressor.predict``), summing to ``sort=False``'s."""
        if pred_contrib:
            return self._contributions(X)
        if _is_dask(X):
            return self._lazy(X, "predict", sort=sort)
        return super().predict(X) if sort else self._raw(X)

    def _quantiles(self, X):
        """predict as (n, k), one column per level, also for a single level."""
        q = self.predict(X)
        return q.reshape(q.shape[0], -1)

    def predict_interval(self, X: Any) -> np.ndarray:
        """(n, 2): the quantiles at the lowest and the highest level (e.g. a 90% interval for
        levels 0.05 and 0.95), widened (or narrowed) by ``conformal_offset_`` when the model
        is conformalized (see the class docstring for what that guarantees)."""
        if _is_dask(X):
            return self._lazy(X, "predict_interval")
        q = self._quantiles(X)
        if q.shape[1] < 2:
            raise ValueError("predict_interval needs at least two quantile levels")
        offset = self.__dict__.get("conformal_offset_") or 0.0
        return np.column_stack([q[:, 0] - offset, q[:, -1] + offset])

    def score(self, X, y, sample_weight=None):
        from sklearn.metrics import d2_pinball_score

        q = self._quantiles(X)
        return float(
            np.mean(
                [d2_pinball_score(y, q[:, j], alpha=a, sample_weight=sample_weight) for j, a in enumerate(self.alphas_)]
            )
        )

    def _expected_failed_checks(self):
        failed = super()._expected_failed_checks()
        if np.ndim(self.alpha) > 0 and len(self.alpha) > 1:
            why = "predict returns one column per quantile level, (n, k), where the check requires y's shape (n,)"
            for check in ("check_estimator_sparse_array", "check_estimator_sparse_matrix"):
                failed[check] = why
        if self.backend == "lightgbm":
            for check in (
                "check_sample_weight_equivalence_on_dense_data",
                "check_sample_weight_equivalence_on_sparse_data",
            ):
                failed[check] = _LIGHTGBM_WEIGHTS
        if not self.renew_leaves:
            failed["check_regressors_train"] = (
                "the check sets alpha=0.01 (meant as a linear model's penalty), making this a 1% quantile "
                "model, and asks D^2 pinball > 0.5 after the default 100 rounds on its 200 rows: the "
                "majorizer's Newton steps (renew_leaves=False) reach 0.26-0.33 there; renewed leaves, the default, pass"
            )
        return failed


def conformal_quantile(scores, weights, miscoverage):
    """The ``ceil((n + 1)(1 - a)) / n`` empirical quantile of n conformity scores (weighted:
    the same level of their weighted distribution). Raises ``ValueError`` when n is too small
    for the level (``ceil((n + 1)(1 - a)) > n``: the quantile would be infinite)."""
    n = len(scores)
    level = np.ceil((n + 1) * (1.0 - miscoverage)) / n
    if level > 1.0:
        raise ValueError(
            f"{n} calibration rows are too few for a {1 - miscoverage:.0%} interval: need at least "
            f"{int(np.ceil(1.0 / miscoverage)) - 1}"
        )
    return float(np.quantile(scores, level, weights=weights, method="inverted_cdf"))


class GBClassifier(ClassifierMixin, _GBBase):
    """Gradient-boosted classifier with an imbalance-aware loss (``"focal"``,
    ``"cross_entropy"``, ``"class_balanced"``, or a classification ``Loss``).

    Labels of any type (strings included) are mapped through ``classes_`` (sorted, as in
    scikit-learn); two classes train a binary (sigmoid) model, more a softmax model.
    ``predict_proba`` returns class posteriors (``loss_.posterior``: focal's minimiser
    inverted, class weights undone as a prior shift; rows sum to 1), ``predict`` the class of the
    largest margin (for class weights, the cost-weighted decision argmax w_k x posterior_k);
    ``decision_function`` the raw margins, and ``loss_.inverse_link(decision_function(X))`` the
    link's output (sigmoid / softmax) as a booster's own predict_proba would give it.
    ``class_weight``: ``None``, ``"balanced"`` (weights
    ``n / (k * count)``) or a dict, multiplied into ``sample_weight``; a class-balanced loss takes
    its class counts from the training labels and ``sample_weight`` at fit, not from
    ``class_weight`` (so ``class_weight`` and the effective-number weights compose; counting
    class-weighted rows would make "balanced" classes look equally frequent).

    Cross-validation folds: the classes are those seen in the fit's ``y``; a class absent from
    a training fold gets no column in ``predict_proba`` and is never predicted (as with every
    scikit-learn classifier), and a training fold with a single class raises ``ValueError``.
    """

    def __init__(
        self,
        loss="focal",
        *,
        class_weight=None,
        backend="xgboost",
        n_estimators=100,
        learning_rate=0.1,
        max_depth=None,
        early_stopping_rounds=None,
        n_jobs=None,
        random_state=None,
        device="cpu",
        importance_type="gain",
        **booster_params,
    ):
        self.loss = loss
        self.class_weight = class_weight
        self._set_common(locals())

    def fit(
        self,
        X: Any,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        eval_set: EvalSet = None,
        sample_weight_eval_set: EvalWeights = None,
    ) -> "GBClassifier":
        client = _dask_client(X)
        if client is not None:
            return self._fit_cluster(client, X, y, sample_weight, eval_set, sample_weight_eval_set)
        X, y, w = self._validate_Xy(X, y, sample_weight)
        y_enc, loss, w_train = self._targets(y, w)
        self._fit(X, y_enc, w_train, eval_set, sample_weight_eval_set, loss, self.n_classes_)
        return self._posterior_fit(y_enc, self._raw(X), w)

    def _targets(self, y, w):
        """(encoded labels, the loss bound to them, training weights) from checked labels and
        sample weights; sets ``classes_``, ``n_classes_`` and the class weights."""
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"GBClassifier needs samples of at least 2 classes in the data, but it contains only one class: "
                f"{self.classes_[0]!r}"
            )
        loss = get_loss(self.loss)
        if not loss.classifier:
            raise ValueError(f"{type(loss).__name__} is a regression loss: use GBRegressor")
        k = self.n_classes_ = len(self.classes_)
        y_enc = y_enc.astype(np.float64)
        # class-balanced counts from y and sample_weight, before class_weight: counting the
        # class-weighted rows would make "balanced" classes look equal and undo the reweighting
        loss = loss.bind(y_enc, w, training.softmax_classes(k))
        self._class_weight = None  # per class: what predict_proba shifts the prior back by
        if self.class_weight is not None:
            self._class_weight = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            cw = compute_sample_weight(self.class_weight, y)
            w = cw if w is None else w * cw
        return y_enc, loss, w

    def _after_cluster_fit(self, X, y_fit, w):
        self._posterior_fit(y_fit, np.asarray(self._raw(X).compute()), w)

    def _posterior_fit(self, y_enc, raw, w):
        """``posterior_shift_`` and ``posterior_params_`` from the training rows' margins."""
        k = self.n_classes_
        weighted = np.ptp(self.loss_.training_weights(k, self._class_weight)) > 0
        self.posterior_shift_ = self.loss_.posterior_shift(y_enc, raw, w, self._class_weight) if weighted else None
        self.posterior_params_ = None
        constants = getattr(self.loss_, "posterior_constants", None)  # a user's Loss may not say
        if constants is not None:
            shift = self.posterior_shift_
            self.posterior_params_ = constants(k, self._class_weight) | {
                "shift": 0.0 if shift is None else np.ravel(shift).tolist()[0] if k == 2 else np.ravel(shift).tolist()
            }
            if self.backend == "xgboost":  # kept in the model file (booster.attr("gbobjectives_posterior"))
                self.booster_.set_attr(gbobjectives_posterior=json.dumps(self.posterior_params_))
        return self

    def _encode_eval(self, y):
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unseen = self.classes_[idx] != y
        if np.any(unseen):
            raise ValueError(f"eval_set has labels not seen in fit: {np.unique(y[unseen])[:5].tolist()}")
        return idx.astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        return self._raw(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class posteriors, (n, n_classes): ``loss_.posterior(decision_function(X),
        class_weight, shift=posterior_shift_)``. The ``class_weight`` the model was trained
        with is undone as a prior shift (``sample_weight`` is taken as the population the user
        wants, and kept); ``posterior_shift_`` (fitted on the training rows) makes the mean
        training posterior equal the training class shares (see
        ``gbobjectives.losses.posterior_shift``) for a model trained with class weights, where
        the inverted margins are otherwise too low on average (measured in
        ``benchmarks/quality.py --study binary``); None without class weights."""
        if _is_dask(X):
            return self._lazy(X, "predict_proba")
        raw = self._raw(X)  # checks fitted first
        p = self.loss_.posterior(raw, self.__dict__.get("_class_weight"), self.posterior_shift_)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    def predict(self, X: Any, *, pred_contrib: bool = False) -> np.ndarray:
        """The class of the largest margin (``pred_contrib=True``: the TreeSHAP contributions
        to ``decision_function``, (n, n_features + 1), or (n, k, n_features + 1) for k > 2
        classes, the bias last). Without class weights that is the argmax of
        ``predict_proba`` (the posterior transform is monotone); with them (``alpha``,
        class-balanced, ``class_weight``) it is the decision the weighted model was trained
        for, the cost-weighted Bayes decision argmax_k w_k x posterior_k, not the argmax of
        ``predict_proba``."""
        if pred_contrib:
            return self._contributions(X)
        if _is_dask(X):
            return self._lazy(X, "predict")
        raw = self._raw(X)  # checks fitted first
        if raw.ndim == 1:
            return self.classes_[(raw > 0).astype(int)]
        return self.classes_[np.argmax(raw, axis=1)]


__all__ = ["BACKENDS", "GBClassifier", "GBQuantileRegressor", "GBRegressor"]
