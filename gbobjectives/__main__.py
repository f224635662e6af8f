"""Demo: ``python -m gbobjectives``.

1. Checks every registered loss's gradient and exact Hessian against finite differences on
   random data and prints the worst errors.
2. Trains XGBoost and LightGBM with every loss on data sets that ship with scikit-learn and
   compares, on a held-out quarter, the loss's own metric for the gbobjectives model and for
   the closest built-in objective, with the ratio of training times.
"""

import argparse
import time

import numpy as np

from . import LOSSES, check_gradients, get_loss


def _demo_problems(name, rng, n):
    """(label, loss, y, raw) examples for one registered loss."""
    y_reg = rng.standard_t(3, n) * 2
    raw_reg = y_reg + rng.normal(0, 3, n)
    y_bin = (rng.uniform(size=n) < 0.1).astype(float)
    y_multi = rng.choice(4, size=n, p=[0.6, 0.25, 0.1, 0.05]).astype(float)
    raw_bin, raw_multi = rng.normal(0, 3, n), rng.normal(0, 3, (n, 4))
    if name == "quantile":
        levels = [0.05, 0.5, 0.95]
        return [
            ("alpha=0.9", get_loss(name, alpha=0.9), y_reg, raw_reg),
            ("3 levels", get_loss(name, alpha=levels), y_reg, raw_reg[:, None] + np.arange(3)),
        ]
    if not get_loss(name).classifier:
        return [("", get_loss(name), y_reg, raw_reg)]
    loss = get_loss(name, **({"base": get_loss("focal", gamma=2.0)} if name == "class_balanced" else {}))
    return [("binary", loss, y_bin, raw_bin), ("4 classes", loss, y_multi, raw_multi)]


def gradient_table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for name in LOSSES:
        for label, loss, y, raw in _demo_problems(name, rng, n):
            w = rng.uniform(0.5, 2.0, n)
            check = check_gradients(loss, y, raw, w)
            rows.append(
                (
                    f"{loss!r} {label}".strip(),
                    check.grad_rel.max(),
                    check.hess_rel.max(),
                    int(check.n_checked.sum()),
                    check.ok(rtol=1e-6, atol=1e-7),
                )
            )
    return rows


def _training_cases():
    """(loss name, loss factory(y), problem, built-in objective per framework)."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

    d, b, g = load_diabetes(), load_breast_cancer(), load_digits()
    reg = (d.data, d.target)
    binary = (b.data, (b.target == 0).astype(float))
    multi = (g.data, g.target.astype(float))

    def delta(y):  # a fixed delta from the labels (Loss.scaled_to): 1.35 x median absolute deviation
        return get_loss("huber").scaled_to(y).delta

    levels = [0.1, 0.5, 0.9]
    return [
        (
            "Huber",
            lambda y: get_loss("huber", delta=delta(y)),
            reg,
            lambda y: (
                {"objective": "reg:pseudohubererror", "huber_slope": delta(y)},
                {"objective": "huber", "alpha": delta(y)},
            ),
        ),
        (
            "PseudoHuber",
            lambda y: get_loss("pseudo_huber", delta=delta(y)),
            reg,
            lambda y: (
                {"objective": "reg:pseudohubererror", "huber_slope": delta(y)},
                {"objective": "huber", "alpha": delta(y)},
            ),
        ),
        (
            "LogCosh",
            lambda y: get_loss("logcosh", scale=delta(y)),
            reg,
            lambda y: (
                {"objective": "reg:pseudohubererror", "huber_slope": delta(y)},
                {"objective": "fair", "fair_c": delta(y)},
            ),
        ),
        (
            "Quantile(0.1/0.5/0.9)",
            lambda y: get_loss("quantile", alpha=levels),
            reg,
            lambda y: (
                {"objective": "reg:quantileerror", "quantile_alpha": levels},
                {"objective": "quantile", "alpha": levels},
            ),
        ),
        (
            "CrossEntropy",
            lambda y: get_loss("cross_entropy"),
            binary,
            lambda y: ({"objective": "binary:logistic"}, {"objective": "binary"}),
        ),
        (
            "Focal(2)",
            lambda y: get_loss("focal", gamma=2.0),
            binary,
            lambda y: ({"objective": "binary:logistic"}, {"objective": "binary"}),
        ),
        (
            "ClassBalanced(CE)",
            lambda y: get_loss("class_balanced", beta=0.999),
            binary,
            lambda y: ({"objective": "binary:logistic"}, {"objective": "binary"}),
        ),
        (
            "softmax CrossEntropy",
            lambda y: get_loss("cross_entropy"),
            multi,
            lambda y: ({"objective": "multi:softprob", "num_class": 10}, {"objective": "multiclass", "num_class": 10}),
        ),
        (
            "softmax Focal(2)",
            lambda y: get_loss("focal", gamma=2.0),
            multi,
            lambda y: ({"objective": "multi:softprob", "num_class": 10}, {"objective": "multiclass", "num_class": 10}),
        ),
    ]


# the same booster settings for the built-in objectives and for gbobjectives
XGB_PARAMS = {"max_depth": 4, "eta": 0.1, "nthread": 2}
LGB_PARAMS = {"num_leaves": 15, "learning_rate": 0.1, "verbose": -1, "num_threads": 2}


def _native_raw(framework, params, Xtr, ytr, Xte, rounds):
    """Raw scores of the built-in objective on Xte (quantile in LightGBM: one model a level)."""
    import lightgbm as lgb
    import xgboost as xgb

    if framework == "xgboost":
        booster = xgb.train(XGB_PARAMS | params, xgb.DMatrix(Xtr, label=ytr), rounds)
        return booster.predict(xgb.DMatrix(Xte), output_margin=True)
    base = LGB_PARAMS
    if params["objective"] == "quantile":
        cols = [
            lgb.train(base | params | {"alpha": a}, lgb.Dataset(Xtr, label=ytr), rounds).predict(Xte)
            for a in params["alpha"]
        ]
        return np.stack(cols, axis=1)
    return lgb.train(base | params, lgb.Dataset(Xtr, label=ytr), rounds).predict(Xte, raw_score=True)


def _ours_raw(framework, loss, extra, Xtr, ytr, Xte, rounds):
    import lightgbm as lgb
    import xgboost as xgb

    from . import lightgbm as gl
    from . import xgboost as gx

    if framework == "xgboost":
        booster = gx.train(loss, XGB_PARAMS | extra, xgb.DMatrix(Xtr, label=ytr), rounds)
        return booster.predict(xgb.DMatrix(Xte), output_margin=True)
    base = LGB_PARAMS
    return gl.train(loss, base | extra, lgb.Dataset(Xtr, label=ytr), rounds).predict(Xte)


def training_table(rounds=100, seed=0):
    from sklearn.model_selection import train_test_split

    rows = []
    for label, make, (X, y), natives in _training_cases():
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
        loss = make(ytr)
        multi = y.max() > 1 and label.startswith("softmax")
        extra = {"num_class": 10} if multi else {}
        bound = loss.with_counts(ytr, 10 if multi else None) if loss.name == "class_balanced" else loss
        for framework, native in zip(("xgboost", "lightgbm"), natives(ytr), strict=True):
            _ours_raw(framework, loss, extra, Xtr, ytr, Xte, 1)  # untimed: Numba compiles on first use
            t = time.perf_counter()
            ours = _ours_raw(framework, loss, extra, Xtr, ytr, Xte, rounds)
            t_ours = time.perf_counter() - t
            t = time.perf_counter()
            theirs = _native_raw(framework, native, Xtr, ytr, Xte, rounds)
            t_native = time.perf_counter() - t
            rows.append(
                (
                    label,
                    framework,
                    native["objective"],
                    bound.mean(yte, ours),
                    bound.mean(yte, np.asarray(theirs, np.float64).reshape(ours.shape)),
                    t_ours / t_native,
                )
            )
    return rows


def warm_up(verbose=True):
    """Compile, or load from Numba's on-disk cache, every loop a fit at default settings uses:
    each estimator with each registered loss by name on both backends (tiny data: the serial
    loops, float32 for LightGBM), and each loss's parallel loops on large arrays. Later
    processes load them from the cache instead of compiling. Returns the seconds it took."""
    import warnings

    from .losses import LOSSES as registry
    from .sklearn import GBClassifier, GBQuantileRegressor, GBRegressor

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] + rng.normal(size=60)
    classes = rng.integers(0, 3, 60)
    big = 2_100_000  # above every parallel threshold (kernels.cpu.AUTO_PARALLEL_MIN_ELEMENTS)
    for name in registry:
        t = time.perf_counter()
        for backend in ("xgboost", "lightgbm"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "quantile":
                    GBQuantileRegressor(n_estimators=2, backend=backend).fit(X, y)
                elif not get_loss(name).classifier:
                    GBRegressor(name, n_estimators=2, backend=backend).fit(X, y)
                else:
                    GBClassifier(name, n_estimators=2, backend=backend).fit(X, classes > 0)
                    GBClassifier(name, n_estimators=2, backend=backend).fit(X, classes)
        for _, loss, yy, raw in _demo_problems(name, rng, 8):
            reps = -(-big // raw.size)
            y_big = np.tile(yy, (reps,) + (1,) * (yy.ndim - 1))
            raw_big = np.tile(raw, (reps,) + (1,) * (raw.ndim - 1))
            for dtype in (np.float64, np.float32):
                loss.grad_hess(y_big, raw_big.astype(dtype), dtype=dtype)
                loss.grad_hess(y_big, raw_big.astype(dtype), np.ones(len(y_big)), dtype=dtype)
            loss.value(y_big, raw_big)
        if verbose:
            print(f"{name:16s} {time.perf_counter() - t:6.1f} s", flush=True)
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gbobjectives", description=__doc__)
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="compile every loop a default fit uses into Numba's on-disk cache, then exit",
    )
    parser.add_argument("--rows", type=int, default=2000, help="random rows per loss")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds in the training table")
    parser.add_argument("--no-train", action="store_true", help="only the gradient check")
    args = parser.parse_args(argv)
    if args.warm_up:
        print(f"compiled or loaded from the cache in {warm_up():.1f} s")
        return 0
    t0 = time.perf_counter()
    rows = gradient_table(args.rows)
    print("## Gradient and exact-Hessian check (4th-order central differences, weighted rows)\n")
    print("| loss | worst rel. error, gradient | worst rel. error, Hessian | elements checked | ok |")
    print("|---|---|---|---|---|")
    for label, g, h, n, ok in rows:
        print(f"| {label} | {g:.1e} | {h:.1e} | {n} | {'yes' if ok else 'NO'} |")
    print(f"\n({time.perf_counter() - t0:.1f} s including Numba compilation)")
    if not args.no_train:
        t0 = time.perf_counter()
        print(
            f"\n## Training: {args.rounds} rounds, held-out quarter of scikit-learn's diabetes /"
            " breast_cancer (label: malignant) / digits\n"
        )
        print("Metric: the gbobjectives loss's own held-out mean loss, for the model trained with it and for")
        print("the closest built-in objective. Time ratio: gbobjectives / built-in (one run each after a")
        print("warm-up; small data, so noisy: see benchmarks/ for timings).\n")
        print("| loss | framework | built-in | metric, gbobjectives | metric, built-in | time ratio |")
        print("|---|---|---|---|---|---|")
        for label, fw, native, ours, theirs, ratio in training_table(args.rounds):
            print(f"| {label} | {fw} | {native} | {ours:.4g} | {theirs:.4g} | {ratio:.2f} |")
        print(f"\n({time.perf_counter() - t0:.1f} s)")
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
