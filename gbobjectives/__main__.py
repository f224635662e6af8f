"""Demo: ``python -m gbobjectives``: what the package is for, on data that ships with
scikit-learn, each result beside what a user would pick instead (the boosters' estimators at
their defaults, the same number of rounds).

1. Dirty targets: diabetes with a share of the training targets 10x too large (unit mix-ups);
   test MAE of the redescending Cauchy loss against XGBoost's and LightGBM's robust objectives.
2. Intervals: a 90% interval's coverage and width on held-out rows, from our quantile model
   raw and conformalized, and from the natives' quantile objectives.
3. Probabilities: a rare class (digits: "is it a 9?", 10%), trained with focal loss and
   balanced class weights; our posterior against the link's output and XGBoost's
   ``scale_pos_weight``, by log loss and the mean probability against the class share.
4. Speed: a fit at a size where timing means something (30,000 x 20 rows), against the
   closest native objective, after a warm-up (compilation is measured by
   ``benchmarks/cold_start.py``).
5. The gradient check: the losses above, as the demo trains them (binary classification),
   against finite differences (``--check-all``: every registered loss, softmax included).
"""

import argparse
import time
import warnings

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


# the losses the demo trains with (the gradient check's default)
DEMO_LOSSES = ("cauchy", "quantile", "focal", "class_balanced")


def gradient_table(n=2000, seed=0, names=LOSSES, softmax=True):
    """Worst relative errors of each loss's gradient and exact Hessian against finite
    differences on random weighted data (``softmax=False``: binary problems only)."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in names:
        for label, loss, y, raw in _demo_problems(name, rng, n):
            if not softmax and label == "4 classes":
                continue
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


def _splits(X, y, n_splits, seed=0, stratify=False):
    from sklearn.model_selection import train_test_split

    for i in range(n_splits):
        yield train_test_split(X, y, test_size=0.25, random_state=seed + i, stratify=y if stratify else None)


def robust_table(rounds=100, n_splits=3, shares=(0.2, 0.3)):
    """Test MAE on clean labels, mean over splits, with a share of training targets x10."""
    import lightgbm
    import xgboost
    from sklearn.datasets import load_diabetes

    from .sklearn import GBRegressor

    X, y = load_diabetes(return_X_y=True)
    models = {
        "gbobjectives Cauchy, XGBoost": lambda: GBRegressor("cauchy", n_estimators=rounds),
        "gbobjectives Cauchy, LightGBM": lambda: GBRegressor("cauchy", backend="lightgbm", n_estimators=rounds),
        "XGBoost reg:absoluteerror": lambda: xgboost.XGBRegressor(objective="reg:absoluteerror", n_estimators=rounds),
        "XGBoost reg:pseudohubererror": lambda: xgboost.XGBRegressor(
            objective="reg:pseudohubererror", n_estimators=rounds
        ),
        "LightGBM l1": lambda: lightgbm.LGBMRegressor(objective="l1", n_estimators=rounds, verbose=-1),
        "LightGBM huber": lambda: lightgbm.LGBMRegressor(objective="huber", n_estimators=rounds, verbose=-1),
    }
    mae = {(name, share): [] for name in models for share in shares}
    for i, (Xtr, Xte, ytr, yte) in enumerate(_splits(X, y, n_splits)):
        for share in shares:
            dirty = np.where(np.random.default_rng(100 + i).random(len(ytr)) < share, 10 * ytr, ytr)
            for name, make in models.items():
                mae[name, share].append(np.mean(np.abs(make().fit(Xtr, dirty).predict(Xte) - yte)))
    return [(name, [float(np.mean(mae[name, share])) for share in shares]) for name in models], shares


def interval_table(rounds=100, n_splits=3):
    """90% intervals (levels 0.05 / 0.95): coverage and mean width on held-out rows."""
    import lightgbm
    import xgboost
    from sklearn.datasets import load_diabetes

    from .sklearn import GBQuantileRegressor

    X, y = load_diabetes(return_X_y=True)
    levels = [0.05, 0.95]

    def ours(conformal):
        return lambda Xtr, ytr, Xte: (
            GBQuantileRegressor(levels, conformal=conformal, n_estimators=rounds, random_state=0)
            .fit(Xtr, ytr)
            .predict_interval(Xte)
        )

    def xgb(Xtr, ytr, Xte):
        model = xgboost.XGBRegressor(objective="reg:quantileerror", quantile_alpha=levels, n_estimators=rounds)
        return np.sort(model.fit(Xtr, ytr).predict(Xte), axis=1)

    def lgb(Xtr, ytr, Xte):
        cols = [
            lightgbm.LGBMRegressor(objective="quantile", alpha=a, n_estimators=rounds, verbose=-1)
            .fit(Xtr, ytr)
            .predict(Xte)
            for a in levels
        ]
        return np.sort(np.column_stack(cols), axis=1)

    methods = {
        "gbobjectives quantiles (one model)": ours(None),
        'gbobjectives, conformal="cv"': ours("cv"),
        "XGBoost reg:quantileerror (one model)": xgb,
        "LightGBM quantile (two models)": lgb,
    }
    cover = {name: [] for name in methods}
    width = {name: [] for name in methods}
    for Xtr, Xte, ytr, yte in _splits(X, y, n_splits):
        for name, predict in methods.items():
            lo, hi = predict(Xtr, ytr, Xte).T
            cover[name].append(np.mean((lo <= yte) & (yte <= hi)))
            width[name].append(np.mean(hi - lo))
    return [(name, float(np.mean(cover[name])), float(np.mean(width[name]))) for name in methods], len(y) // 4


def probability_table(rounds=100, n_splits=3):
    """A 10% class: held-out log loss, Brier score and mean probability against the share."""
    import xgboost
    from sklearn.datasets import load_digits
    from sklearn.metrics import brier_score_loss, log_loss

    from .sklearn import GBClassifier

    X, digit = load_digits(return_X_y=True)
    y = (digit == 9).astype(int)

    def ours(Xtr, ytr, Xte):
        clf = GBClassifier("focal", class_weight="balanced", n_estimators=rounds).fit(Xtr, ytr)
        return {
            "gbobjectives focal + balanced, predict_proba": clf.predict_proba(Xte)[:, 1],
            "the same model's link (sigmoid of the margin)": clf.loss_.inverse_link(clf.decision_function(Xte)),
        }

    def native(Xtr, ytr, Xte):
        balance = (1 - ytr.mean()) / ytr.mean()
        weighted = xgboost.XGBClassifier(scale_pos_weight=balance, n_estimators=rounds).fit(Xtr, ytr)
        plain = xgboost.XGBClassifier(n_estimators=rounds).fit(Xtr, ytr)
        return {
            "XGBoost logloss + scale_pos_weight": weighted.predict_proba(Xte)[:, 1],
            "XGBoost logloss, unweighted": plain.predict_proba(Xte)[:, 1],
        }

    scores = {}
    for Xtr, Xte, ytr, yte in _splits(X, y, n_splits, stratify=True):
        for name, p in (ours(Xtr, ytr, Xte) | native(Xtr, ytr, Xte)).items():
            p = np.clip(p, 1e-15, 1 - 1e-15)
            scores.setdefault(name, []).append((log_loss(yte, p), brier_score_loss(yte, p), p.mean()))
    return [(name, *np.mean(values, axis=0)) for name, values in scores.items()], float(y.mean())


def speed_table(rows=30_000, rounds=100, seed=0):
    """Fit time of our estimator over the closest native's, after a warm-up, one run each."""
    import lightgbm
    import xgboost

    from .sklearn import GBClassifier, GBRegressor

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 20))
    y = X[:, :5].sum(axis=1) + rng.standard_t(2, rows)
    labels = (X[:, 0] + rng.normal(size=rows) > 1.5).astype(int)
    cases = [
        (
            'GBRegressor("huber")',
            "XGBRegressor(reg:pseudohubererror)",
            y,
            lambda: GBRegressor("huber", n_estimators=rounds),
            lambda: xgboost.XGBRegressor(objective="reg:pseudohubererror", n_estimators=rounds),
        ),
        (
            'GBRegressor("huber", backend="lightgbm")',
            "LGBMRegressor(huber)",
            y,
            lambda: GBRegressor("huber", backend="lightgbm", n_estimators=rounds),
            lambda: lightgbm.LGBMRegressor(objective="huber", n_estimators=rounds, verbose=-1),
        ),
        (
            'GBClassifier("focal")',
            "XGBClassifier",
            labels,
            lambda: GBClassifier("focal", n_estimators=rounds),
            lambda: xgboost.XGBClassifier(n_estimators=rounds),
        ),
        (
            'GBClassifier("focal", backend="lightgbm")',
            "LGBMClassifier",
            labels,
            lambda: GBClassifier("focal", backend="lightgbm", n_estimators=rounds),
            lambda: lightgbm.LGBMClassifier(n_estimators=rounds, verbose=-1),
        ),
    ]
    out = []
    for ours_name, native_name, target, ours, native in cases:
        ours().set_params(n_estimators=2).fit(X, target)  # warm-up: compile (or load) this size's loops
        times = []
        for make in (ours, native):
            t = time.perf_counter()
            make().fit(X, target)
            times.append(time.perf_counter() - t)
        out.append((ours_name, native_name, *times))
    return out


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


def _print_table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m gbobjectives", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="compile every loop a default fit uses into Numba's on-disk cache, then exit",
    )
    parser.add_argument("--rows", type=int, default=2000, help="random rows per loss in the gradient check")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds of every model")
    parser.add_argument("--speed-rows", type=int, default=30_000, help="rows of the speed comparison")
    parser.add_argument("--check-all", action="store_true", help="check every registered loss's gradients")
    parser.add_argument("--no-train", action="store_true", help="only the gradient check")
    args = parser.parse_args(argv)
    if args.warm_up:
        print(f"compiled or loaded from the cache in {warm_up():.1f} s")
        return 0
    t_all = time.perf_counter()
    r = args.rounds
    if not args.no_train:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the natives' small-data notices
            _sections(args)
    rows = gradient_table(args.rows, names=LOSSES if args.check_all else DEMO_LOSSES, softmax=args.check_all)
    print("## Gradients and exact Hessians against finite differences (weighted rows)\n")
    _print_table(
        ["loss", "worst rel. error, gradient", "worst rel. error, Hessian", "elements", "ok"],
        [(label, f"{g:.1e}", f"{h:.1e}", str(n), "yes" if ok else "NO") for label, g, h, n, ok in rows],
    )
    import lightgbm
    import numba
    import sklearn
    import xgboost

    more = "" if args.check_all else "; --check-all checks every registered loss, softmax too"
    print(f"({time.perf_counter() - t_all:.1f} s in all, {r} rounds a model, Numba compilation included{more};")
    print(
        f"XGBoost {xgboost.__version__}, LightGBM {lightgbm.__version__}, scikit-learn {sklearn.__version__}, "
        f"Numba {numba.__version__})"
    )
    return 0 if all(row[-1] for row in rows) else 1


def _sections(args):
    r = args.rounds
    t = time.perf_counter()
    table, shares = robust_table(r)
    print(f"## 1. Dirty targets: {' / '.join(f'{s:.0%}' for s in shares)} of the training targets 10x too large\n")
    print("scikit-learn's diabetes, test MAE against the clean targets (mean of 3 random 75/25 splits; lower is")
    print("better). The natives' robust objectives at their defaults, the same rounds; XGBoost's pseudo-Huber")
    print("(huber_slope=1) and LightGBM's huber (alpha=0.9) keep slopes in target units, and these targets run")
    print("from 25 to 346.\n")
    best = {s: min(v[i] for name, v in table if "gbobjectives" not in name) for i, s in enumerate(shares)}
    _print_table(
        ["model", *[f"MAE, {s:.0%} dirty" for s in shares], *[f"/ best native, {s:.0%}" for s in shares]],
        [
            (name, *[f"{v:.1f}" for v in values], *[f"{v / best[s]:.2f}x" for v, s in zip(values, shares, strict=True)])
            for name, values in table
        ],
    )
    table, n_test = interval_table(r)
    print("## 2. A 90% prediction interval (levels 0.05 and 0.95)\n")
    print(f"diabetes, coverage and mean width on {n_test} held-out rows (mean of 3 splits): a quantile model's")
    print("raw interval is too narrow on new rows; conformalized (cross-validated) it covers.\n")
    _print_table(
        ["interval", "coverage (goal 0.90)", "mean width"],
        [(name, f"{c:.3f}", f"{w:.1f}") for name, c, w in table],
    )
    print(f"Closest to 0.90: {min(table, key=lambda row: abs(row[1] - 0.9))[0]}.\n")
    table, share = probability_table(r)
    print('## 3. Probabilities of a rare class: digits, "is it a 9?"\n')
    print("Held-out log loss and Brier score (lower is better) and mean probability against the class share")
    print(f"({share:.3f}), mean of 3 stratified splits. Class weights and focal loss distort the link's output;")
    print("the estimators' predict_proba undoes both.\n")
    _print_table(
        ["probabilities", "log loss", "Brier", "mean P(9)"],
        [(name, f"{ll:.4f}", f"{b:.4f}", f"{m:.3f}") for name, ll, b, m in table],
    )
    print(f"Lowest log loss here: {min(table, key=lambda row: row[1])[0]}.\n")
    table = speed_table(args.speed_rows, r)
    print(f"## 4. Speed: one fit of {args.speed_rows:,} x 20 rows, {r} rounds, after a warm-up\n")
    print("One run each on this machine: a rough ratio (benchmarks/end_to_end.py measures it properly).\n")
    _print_table(
        ["gbobjectives", "native", "gbobjectives s", "native s", "ratio"],
        [(ours, native, f"{a:.2f}", f"{b:.2f}", f"{a / b:.1f}x") for ours, native, a, b in table],
    )
    print(f"({time.perf_counter() - t:.1f} s for the four sections)\n")


if __name__ == "__main__":
    raise SystemExit(main())
