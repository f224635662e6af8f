"""Which curvature (``hessian=``) should each loss use by default? Measured, not guessed.

For every loss with more than one curvature, train XGBoost (hist) and LightGBM with each mode
on realistic data (data sets that ship with scikit-learn, plus seeded synthetic data whose target
is on a dollar-like scale with heavy-tailed noise) and report, over several seeds, the held-out
loss after a fixed budget of rounds, and the rounds needed to get within 1% of the best value any
mode reached. Run: ``python -m benchmarks.hessian_choice`` (``--smoke`` for a tiny run).
Writes benchmarks/results/hessian_choice.md.
"""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split

import gbobjectives as gb
import gbobjectives.lightgbm as gl
import gbobjectives.xgboost as gx

from ._report import parser_for, save


def dollars(n, seed):
    """Synthetic heavy-tailed regression on a price-like scale (thousands)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    signal = 3000 + 1500 * X[:, 0] + 800 * np.sin(2 * X[:, 1]) + 600 * X[:, 2] * X[:, 3]
    noise = rng.standard_t(2, n) * (200 + 150 * np.abs(X[:, 4]))  # heteroscedastic, heavy tails
    return X, signal + noise


def datasets(smoke):
    n = 600 if smoke else 20000
    d = load_diabetes()
    b = load_breast_cancer()
    g = load_digits()
    # breast cancer made imbalanced: keep 6% of the positives' share (seeded subsample)
    rng = np.random.default_rng(0)
    pos = np.flatnonzero(b.target == 0)
    keep = np.concatenate([np.flatnonzero(b.target == 1), rng.choice(pos, 22, replace=False)])
    return {
        "reg": [("diabetes", d.data, d.target), ("dollars", *dollars(n, 1))],
        "binary": [("breast_cancer_6pct", b.data[keep], (b.target[keep] == 0).astype(float))],
        "multi": [("digits", g.data, g.target.astype(float))],
    }


def scaled(y):
    """A data-scaled delta: 1.35 x the median absolute deviation of y (``Loss.scaled_to``)."""
    return gb.Huber().scaled_to(y).delta


def cases(y_reg_scale):
    d = y_reg_scale
    return [
        ("reg", "Huber(delta=1.35 MAD)", lambda h: gb.Huber(d, hessian=h), ["majorizer", "constant", "exact"]),
        (
            "reg",
            "PseudoHuber(delta=1.35 MAD)",
            lambda h: gb.PseudoHuber(d, hessian=h),
            ["majorizer", "exact", "constant"],
        ),
        ("reg", "LogCosh(scale=1.35 MAD)", lambda h: gb.LogCosh(d, hessian=h), ["majorizer", "exact", "constant"]),
        (
            "reg",
            "Quantile([0.1, 0.5, 0.9], renew_leaves=False)",  # the curvature's Newton steps as leaf values
            lambda h: gb.Quantile([0.1, 0.5, 0.9], hessian=h, renew_leaves=False),
            ["majorizer", "constant"],
        ),
        ("binary", "Focal(gamma=2)", lambda h: gb.Focal(2.0, hessian=h), ["floored", "exact"]),
        (
            "multi",
            "Focal(gamma=2), softmax",
            lambda h: gb.Focal(2.0, hessian=h),
            ["floored", "lightgbm", "xgboost", "exact"],
        ),
        ("multi", "CrossEntropy, softmax", lambda h: gb.CrossEntropy(hessian=h), ["floored", "lightgbm", "xgboost"]),
    ]


def run_one(framework, loss, Xtr, ytr, Xte, yte, rounds, n_classes):
    extra = {"num_class": n_classes} if n_classes else {}
    curve = []
    if framework == "xgboost":
        import xgboost as xgb

        dtr, dte = xgb.DMatrix(Xtr, label=ytr), xgb.DMatrix(Xte, label=yte)
        res = {}
        gx.train(
            loss,
            {"max_depth": 4, "eta": 0.1, "tree_method": "hist", "nthread": 2} | extra,
            dtr,
            rounds,
            evals=[(dte, "test")],
            evals_result=res,
            verbose_eval=False,
        )
        curve = res["test"][f"{loss.name}-loss"]
    else:
        import lightgbm as lgb

        res = {}
        dtr, dte = lgb.Dataset(Xtr, label=ytr), lgb.Dataset(Xte, label=yte)
        gl.train(
            loss,
            {"num_leaves": 15, "learning_rate": 0.1, "verbose": -1, "num_threads": 2} | extra,
            dtr,
            rounds,
            valid_sets=[dte],
            callbacks=[lgb.record_evaluation(res)],
        )
        curve = res["valid_0"][f"{loss.name}-loss"]
    return np.asarray(curve, float)


def study(data, seeds, rounds):
    """The table (markdown lines) for ``data``: {"reg" | "binary" | "multi": [(name, X, y), ...]}."""
    lines = [
        f"Held-out mean loss after {rounds} rounds (mean +- sd over {seeds} seed(s), 25% held out) and",
        "rounds to reach within 1% of the best held-out loss any mode reached (median; '>N' if never).",
        "XGBoost: hist, depth 4, eta 0.1; LightGBM: 15 leaves, learning rate 0.1.\n",
        "| data | loss | framework | hessian | final loss | rounds to 1% |",
        "|---|---|---|---|---|---|",
    ]
    for problem, sets in data.items():
        for dname, X, y in sets:
            n_classes = int(y.max()) + 1 if problem == "multi" else None
            for prob, label, make, modes in cases(scaled(y)):
                if prob != problem:
                    continue
                for framework in ("xgboost", "lightgbm"):
                    curves = {m: [] for m in modes}
                    for seed in range(seeds):
                        Xtr, Xte, ytr, yte = train_test_split(
                            X, y, test_size=0.25, random_state=seed, stratify=y if problem != "reg" else None
                        )
                        for m in modes:
                            curves[m].append(run_one(framework, make(m), Xtr, ytr, Xte, yte, rounds, n_classes))
                    best = [min(np.nanmin(c[s]) for c in curves.values()) for s in range(seeds)]
                    for m in modes:
                        finals = [c[-1] for c in curves[m]]
                        hit = []
                        for s, c in enumerate(curves[m]):
                            ok = np.flatnonzero(c <= best[s] + 0.01 * abs(best[s]))
                            hit.append(ok[0] + 1 if ok.size else np.inf)
                        med = np.median(hit)
                        lines.append(
                            f"| {dname} | {label} | {framework} | {m} | "
                            f"{np.mean(finals):.4g} +- {np.std(finals):.2g} | "
                            f"{'>' + str(rounds) if not np.isfinite(med) else int(med)} |"
                        )
    return lines


def main(argv=None):
    ap = parser_for(__doc__, "tiny sizes, 1 seed (CI)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args(argv)
    seeds = 1 if args.smoke else args.seeds
    rounds = 20 if args.smoke else args.rounds
    t0 = time.perf_counter()
    lines = study(datasets(args.smoke), seeds, rounds)
    lines.append(
        f"\n({time.perf_counter() - t0:.0f} s; command: python -m benchmarks.hessian_choice"
        f"{' --smoke' if args.smoke else ''})"
    )
    text = "\n".join(lines) + "\n"
    print(text)
    save("hessian_choice", args.smoke, "Curvature choice", text)


if __name__ == "__main__":
    main()
