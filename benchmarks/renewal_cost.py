"""Cost of a round with leaf renewal: milliseconds per boosting round of the native quantile
objective, of ``Quantile(0.9)`` (renewed leaves, the default), of ``Quantile(0.9,
renew_leaves=False)`` (Newton steps) and, on XGBoost, of the adapter's renewal (the route
XGBoost 3.4 and later take, forced here), at growing row counts.

Synthetic data: 20 normal features, a linear-plus-sine signal and t(3) noise; depth 6
(LightGBM: 31 leaves), learning rate 0.1, 2 threads. Each contender trains once to warm up
(compile time excluded), then the contenders alternate ``--repeats`` times; the median is
reported. A second table: several levels (0.05 / 0.5 / 0.95, one LightGBM model against the
native's three) over short and long trainings, the mean round of each (a cost that grew with
the number of trees would show there). The convergence side of the trade (fewer rounds to a given loss) is in
``benchmarks/time_to_quality.py``.

Run ``python -m benchmarks.renewal_cost`` (``--smoke``: tiny sizes). Writes
benchmarks/results/renewal_cost.md.
"""

import time

import numpy as np

import gbobjectives as gb
from gbobjectives import lightgbm as gl
from gbobjectives import xgboost as gx

from ._report import parser_for, save


def make(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20))
    return X, 3 * X[:, 0] + np.sin(2 * X[:, 1]) + X[:, 2] * X[:, 3] + rng.standard_t(3, n)


def contenders(X, y, rounds):
    """name -> (library, a function that trains ``rounds`` rounds)."""
    import lightgbm
    import xgboost

    d = xgboost.DMatrix(X, y)
    xp = {"tree_method": "hist", "max_depth": 6, "learning_rate": 0.1, "nthread": 2}
    ds = lightgbm.Dataset(X, y, free_raw_data=False).construct()
    lp = {"learning_rate": 0.1, "num_threads": 2, "verbosity": -1}

    def adapter_route():  # what XGBoost >= 3.4 runs: LeafRenewal
        real = gx.native_quantile_leaves
        gx.native_quantile_leaves = lambda: False
        try:
            gx.train(gb.Quantile(0.9), xp, d, rounds)
        finally:
            gx.native_quantile_leaves = real

    out = {
        "native reg:quantileerror": (
            "xgboost",
            lambda: xgboost.train(xp | {"objective": "reg:quantileerror", "quantile_alpha": 0.9}, d, rounds),
        ),
        "Quantile(0.9) (renewed by XGBoost)": ("xgboost", lambda: gx.train(gb.Quantile(0.9), xp, d, rounds)),
        "Quantile(0.9) (renewed by the adapter: XGBoost >= 3.4)": ("xgboost", adapter_route),
        "Quantile(0.9, renew_leaves=False)": (
            "xgboost",
            lambda: gx.train(gb.Quantile(0.9, renew_leaves=False), xp, d, rounds),
        ),
        "native quantile": (
            "lightgbm",
            lambda: lightgbm.train(lp | {"objective": "quantile", "alpha": 0.9}, ds, rounds),
        ),
        "Quantile(0.9) (renewed by the adapter)": ("lightgbm", lambda: gl.train(gb.Quantile(0.9), lp, ds, rounds)),
        "Quantile(0.9, renew_leaves=False) ": (
            "lightgbm",
            lambda: gl.train(gb.Quantile(0.9, renew_leaves=False), lp, ds, rounds),
        ),
    }
    if not gx.native_quantile_leaves():
        del out["Quantile(0.9) (renewed by XGBoost)"]
    return out


def run(sizes, rounds, repeats):
    rows = []
    for n in sizes:
        X, y = make(n)
        runs = contenders(X, y, rounds)
        times = {name: [] for name in runs}
        for _, fit in runs.values():
            fit()  # warm-up
        for _ in range(repeats):
            for name, (_, fit) in runs.items():
                t0 = time.perf_counter()
                fit()
                times[name].append((time.perf_counter() - t0) / rounds * 1e3)
        native = {lib: np.median(times[name]) for name, (lib, _) in runs.items() if name.startswith("native")}
        for name, (lib, _) in runs.items():
            ms = float(np.median(times[name]))
            rows.append((lib, n, name.strip(), ms, ms / native[lib]))
            print(f"{lib:8s} {n:>9,} {name:58s} {ms:8.2f} ms/round  {ms / native[lib]:.2f}x native", flush=True)
    return rows


LEVELS = (0.05, 0.5, 0.95)


def run_levels(n, rounds_list, repeats):
    """Several levels on LightGBM: (rounds, model, ms / round, x native) for each training length."""
    import lightgbm

    X, y = make(n)
    ds = lightgbm.Dataset(X, y, free_raw_data=False).construct()
    ours = lightgbm.Dataset(X, y, free_raw_data=False).construct()  # (train sets its init_score: 3 columns)
    lp = {"learning_rate": 0.1, "num_threads": 2, "verbosity": -1}
    rows = []
    for rounds in rounds_list:
        runs = {
            "native quantile, one model per level": lambda r=rounds: [
                lightgbm.train(lp | {"objective": "quantile", "alpha": a}, ds, r) for a in LEVELS
            ],
            "Quantile(levels) (renewed by the adapter)": lambda r=rounds: gl.train(
                gb.Quantile(list(LEVELS)), lp, ours, r
            ),
            "Quantile(levels, renew_leaves=False)": lambda r=rounds: gl.train(
                gb.Quantile(list(LEVELS), renew_leaves=False), lp, ours, r
            ),
        }
        times = {name: [] for name in runs}
        for fit in runs.values():
            fit()  # warm-up
        for _ in range(repeats):
            for name, fit in runs.items():
                t0 = time.perf_counter()
                fit()
                times[name].append((time.perf_counter() - t0) / rounds * 1e3)
        native = float(np.median(times["native quantile, one model per level"]))
        for name in runs:
            ms = float(np.median(times[name]))
            rows.append((rounds, name, ms, ms / native))
            print(
                f"lightgbm {n:>9,} {rounds:>5} rounds {name:44s} {ms:8.2f} ms/round  {ms / native:.2f}x native",
                flush=True,
            )
    return rows


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sizes, rounds, repeats = ((2000,), 3, 1) if args.smoke else ((10_000, 100_000, 300_000), 30, args.repeats)
    level_rounds = (3,) if args.smoke else (100, 1000)
    level_n = 2000 if args.smoke else 10_000
    t0 = time.perf_counter()
    rows = run(sizes, rounds, repeats)
    level_rows = run_levels(level_n, level_rounds, repeats)
    lines = [
        f"Milliseconds per boosting round ({rounds} rounds, median of {repeats} alternating runs, compile "
        "time excluded by a warm-up), 2 threads, 20 features, depth 6 (LightGBM: 31 leaves); 'x native': "
        "over the native quantile objective's, same library and rows.",
        "",
        "| library | rows | model | ms / round | x native |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {lib} | {n:,} | {name} | {ms:.2f} | {r:.2f} |" for lib, n, name, ms, r in rows]
    lines += [
        "",
        f"Several levels (LightGBM, {level_n:,} rows, alphas 0.05 / 0.5 / 0.95): the mean round of a training of "
        "each length; the native trains one model per level (their times summed).",
        "",
        "| rounds | model | ms / round | x native |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r} | {name} | {ms:.2f} | {x:.2f} |" for r, name, ms, x in level_rows]
    command = "python -m benchmarks.renewal_cost" + (" --smoke" if args.smoke else "")
    text = "\n".join(lines) + f"\n\n({time.perf_counter() - t0:.0f} s; command: `{command}`)\n"
    print(text)
    save("renewal_cost", args.smoke, "Cost of a round with leaf renewal", text)


if __name__ == "__main__":
    main()
