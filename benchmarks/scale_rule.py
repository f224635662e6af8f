"""Which scale, read once off the training labels, should a robust loss get?

A fixed ``delta=1`` means nothing for a target in dollars or minutes. Candidates, each computed
from the training labels at fit (weighted where weights are given). (A loss given by name to the
estimators trains the adaptive scale instead, ``c x 1.4826 x MAD`` of the current residuals every
round; ``benchmarks/quality.py --study robust`` compares it with the ``1.35 MAD`` rule below.)

- ``1.0``: the fixed default of the loss classes (and of most peer packages);
- ``1.35 MAD``: 1.35 x the median absolute deviation of y from its median (Huber's tuning
  constant applied to a robust spread of y);
- ``q90``: the 0.9-quantile of |y - median(y)| (scikit-learn's GradientBoostingRegressor rule,
  applied once to the labels instead of at every stage);
- ``adaptive q90``: scikit-learn's rule itself, re-estimated at every round from the current
  residuals (a moving loss; measured to see whether it is worth building).

Trains XGBoost (hist) and LightGBM on real heavy-tailed targets, clean and with 20% of training
targets corrupted by gross outliers, and reports MAE / RMSE on clean test targets, mean and
spread over seeds. Run ``python -m benchmarks.scale_rule`` (``--smoke`` for a tiny run).
Writes benchmarks/results/scale_rule.md.
"""

import numpy as np
from sklearn.model_selection import train_test_split

import gbobjectives as gb
import gbobjectives.lightgbm as gl
import gbobjectives.xgboost as gx

from . import data
from ._report import parser_for, save

LOSSES = {"Huber": gb.Huber, "PseudoHuber": gb.PseudoHuber, "LogCosh": gb.LogCosh}


RULES = {
    "1.0": lambda y: 1.0,
    "1.35 MAD": lambda y: gb.Huber().scaled_to(y).delta,  # Loss.scaled_to
    "q90": lambda y: float(np.quantile(np.abs(y - np.median(y)), 0.9)),
}


class Adaptive:
    """scikit-learn's GradientBoostingRegressor rule: delta = 0.9-quantile of |residual|, per round."""

    def __init__(self, cls):
        self.cls = cls

    def __call__(self, predt, dtrain):
        y = dtrain.get_label()
        delta = max(float(np.quantile(np.abs(y - predt), 0.9)), 1e-12)
        return self.cls(delta).grad_hess(y, predt)


def fit_predict(backend, loss, Xtr, ytr, Xte, rounds, seed, adaptive=None):
    if backend == "xgboost":
        import xgboost

        params = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "seed": seed, "nthread": 2}
        dtr = xgboost.DMatrix(Xtr, ytr)
        if adaptive is not None:
            booster = xgboost.train(params | {"base_score": float(np.median(ytr))}, dtr, rounds, obj=adaptive)
        elif loss is None:
            booster = xgboost.train(params | {"objective": "reg:squarederror"}, dtr, rounds)
        else:
            booster = gx.train(loss, params, dtr, rounds)
        return booster.predict(xgboost.DMatrix(Xte), output_margin=True)
    import lightgbm

    params = {"learning_rate": 0.1, "num_leaves": 63, "seed": seed, "verbosity": -1, "num_threads": 2}
    ds = lightgbm.Dataset(Xtr, ytr)
    if adaptive is not None:
        return None  # the moving rule is measured with XGBoost only
    if loss is None:
        return lightgbm.train(params | {"objective": "l2"}, ds, rounds).predict(Xte)
    return gl.train(loss, params, ds, rounds).predict(Xte, raw_score=True)


def run(smoke):
    n, rounds, seeds = (2000, 20, [0]) if smoke else (30000, 300, [0, 1, 2])
    sets = {"diamonds price": data.diamonds_price, "flights arr_delay": data.flights_delay}
    rows = []
    for set_name, load in sets.items():
        X, y, _ = load(n=int(n * 1.5), seed=0)
        for frac in (0.0, 0.2):
            for backend in ("xgboost", "lightgbm"):
                res = {}
                for seed in seeds:
                    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=1 / 3, random_state=seed)
                    ytr = data.contaminate(ytr, frac, seed)
                    candidates = [("squared error", None, None, None)]
                    for lname, cls in LOSSES.items():
                        for rname, rule in RULES.items():
                            candidates.append((lname, rname, cls(rule(ytr)), None))
                        if backend == "xgboost":
                            candidates.append((lname, "adaptive q90", None, Adaptive(cls)))
                    for lname, rname, loss, adaptive in candidates:
                        pred = fit_predict(backend, loss, Xtr, ytr, Xte, rounds, seed, adaptive)
                        if pred is None:
                            continue
                        err = yte - pred
                        mae, rmse = np.mean(np.abs(err)), np.sqrt(np.mean(err**2))
                        res.setdefault((lname, rname), []).append((mae, rmse))
                for (lname, rname), vals in res.items():
                    vals = np.array(vals)
                    rows.append((set_name, f"{frac:.0%}", backend, lname, rname or "-", vals.mean(0), vals.std(0)))
                    print(rows[-1][:5], np.round(vals.mean(0), 2), flush=True)
    return rows, n, rounds, seeds


def table(rows, n, rounds, seeds):
    lines = [
        f"Clean-test MAE / RMSE (mean ± sd over seeds {seeds}); {n} training rows, {rounds} rounds, "
        "XGBoost hist depth 6 / LightGBM 63 leaves, learning rate 0.1. Command: `python -m benchmarks.scale_rule`.",
        "",
        "| data | outliers | backend | loss | scale rule | MAE | RMSE |",
        "|---|---|---|---|---|---|---|",
    ]
    for set_name, frac, backend, lname, rname, mean, sd in rows:
        lines.append(
            f"| {set_name} | {frac} | {backend} | {lname} | {rname} | {mean[0]:.2f} ± {sd[0]:.2f} "
            f"| {mean[1]:.2f} ± {sd[1]:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    args = parser.parse_args(argv)
    text = table(*run(args.smoke))
    print(text)
    save("scale_rule", args.smoke, "Default scale of robust losses given by name", text)


if __name__ == "__main__":
    main()
