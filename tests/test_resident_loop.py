"""``gbobjectives.xgboost.train(features=...)``: the training loop that keeps the margins beside
the features (on the GPU: on the device) and advances them by each tree's output, instead of
reading them from XGBoost every round. Run here with NumPy features on the CPU, where it must
train exactly the model ``xgboost.train``'s own loop trains: same trees, same evaluation
history, same early stopping."""

import numpy as np
import pytest
import xgboost as xgb

import gbobjectives as gb
from gbobjectives import xgboost as gx

PARAMS = {"max_depth": 3, "learning_rate": 0.3, "tree_method": "hist", "seed": 0}


def data(problem, n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values take the default directions
    signal = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1])
    if problem == "binary":
        y = (signal + rng.logistic(size=n) > 2.0).astype(float)
    elif problem == "multi":
        y = np.digitize(signal + rng.normal(size=n), [-0.5, 0.8]).astype(float)
    else:
        y = 3 * signal + rng.standard_t(2, n)
    return X, y, rng.uniform(0.2, 3.0, n)


CASES = [
    (gb.Huber(1.0), "regression", {}),
    (gb.Tukey(), "regression", {}),  # adaptive scale, warm-up schedule: round-dependent objective
    (gb.Quantile([0.1, 0.5, 0.9]), "regression", {}),  # three output columns (num_target)
    (gb.Quantile(0.9, renew_leaves=True), "regression", {}),  # leaf renewal through the same loop
    (gb.Focal(2.0, 0.25), "binary", {}),
    (gb.Focal(2.0), "multi", {"num_class": 3}),
    (gb.ClassBalanced(beta=0.999), "multi", {"num_class": 3}),
]


@pytest.mark.parametrize(("loss", "problem", "extra"), CASES, ids=lambda c: getattr(c, "name", None))
@pytest.mark.parametrize("weighted", [False, True])
def test_resident_loop_trains_the_model_of_xgboost_train(loss, problem, extra, weighted):
    X, y, w = data(problem)
    Xv, yv, wv = data(problem, 300, seed=1)
    params = PARAMS | extra
    models, histories = [], []
    for features in (None, X):
        dtrain = xgb.DMatrix(X, y, weight=w if weighted else None)
        dvalid = xgb.DMatrix(Xv, yv, weight=wv if weighted else None)
        history = {}
        booster = gx.train(
            loss,
            params,
            dtrain,
            12,
            evals=[(dvalid, "valid")],
            evals_result=history,
            verbose_eval=False,
            features=features,
        )
        models.append(booster.save_raw("json"))
        histories.append(history)
    assert models[0] == models[1]
    assert histories[0] == histories[1] and len(histories[0]["valid"]) == 1
    assert len(next(iter(histories[0]["valid"].values()))) == 12


def test_early_stopping_and_continuation_as_xgboost_train():
    X, y, _ = data("regression")
    Xv, yv, _ = data("regression", 300, seed=1)
    loss = gb.Huber(1.0)
    params = PARAMS | {"learning_rate": 0.8}  # overfits fast: early stopping stops early
    results = []
    for features in (None, X):
        dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
        b = gx.train(
            loss,
            params,
            dtrain,
            200,
            evals=[(dvalid, "v")],
            early_stopping_rounds=5,
            verbose_eval=False,
            features=features,
        )
        more = gx.train(loss, params, dtrain, 3, xgb_model=b, verbose_eval=False, features=features)
        results.append((b.best_iteration, b.num_boosted_rounds(), b.save_raw("json"), more.save_raw("json")))
    assert results[0] == results[1]
    assert results[0][1] < 200 and results[0][0] < results[0][1]
    assert xgb.Booster(model_file=bytearray(results[0][3])).num_boosted_rounds() == results[0][1] + 3


def test_features_that_are_not_the_training_rows_raise():
    X, y, _ = data("regression")
    dtrain = xgb.DMatrix(X, y)
    with pytest.raises(ValueError, match="rows of dtrain"):
        gx.train(gb.Huber(1.0), PARAMS, dtrain, 3, features=X[::-1])  # same shape, other order
    with pytest.raises(ValueError, match="rows of dtrain"):
        gx.train(gb.Huber(1.0), PARAMS, dtrain, 3, features=X[:-1])
    with pytest.raises(ValueError, match="rows of dtrain"):
        gx.train(gb.Huber(1.0), PARAMS, dtrain, 3, features=X.ravel())


def test_device_features_only_on_cuda():
    X, _, _ = data("regression")
    assert gx.device_features(X, {"device": "cpu"}) is None
    assert gx.device_features(X, {}) is None
