"""End to end on the CPU: training time with a gbobjectives loss vs the equivalent built-in
objective, XGBoost (hist) and LightGBM, on the same data and booster parameters.

Pairs (the loss is chosen so both optimise the same thing): Huber(delta=1e9) vs squared error,
PseudoHuber(1) vs ``reg:pseudohubererror``, CrossEntropy vs logistic, softmax CrossEntropy vs
multiclass, Quantile(0.9) vs the native quantile objective. Each pair runs alternately in one
process (built-in, ours, built-in, ours, ...) after one warm-up of each; the ratio is the median
over ``--pairs`` of ours/built-in, with the range. The data matrix (DMatrix / Dataset) is built
once and shared, so the times are training only; ours includes reading the labels, the start,
and the metric-free objective calls. A third contender in the same alternation, the zero-work
objective (``Replay``: our gradients recorded in one run, handed back each round without
computing, so the trees are ours), measures the floor of the libraries' custom-objective
interface. Run ``python -m benchmarks.end_to_end`` (1M x 20, 100 rounds;
``--lib XGBoost`` or ``--lib LightGBM`` for one half, written to end_to_end_<lib>.md; ``--smoke``
for tiny sizes). Writes benchmarks/results/end_to_end.md and .png.
"""

import os
import platform
import time

import numpy as np

import gbobjectives as gb
import gbobjectives.lightgbm as gl
import gbobjectives.xgboost as gx

from ._report import parser_for, pyplot, save

K = 4  # classes of the multiclass pair


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    signal = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] * X[:, 3]
    y_reg = signal + rng.standard_t(3, n)
    y_bin = (signal + rng.logistic(size=n) > 1.0).astype(np.float32)
    y_multi = np.digitize(signal + rng.normal(size=n), np.quantile(signal, [0.25, 0.5, 0.75])).astype(np.float32)
    return X, {"reg": y_reg.astype(np.float32), "binary": y_bin, "multi": y_multi}


# (name, label kind, our loss, XGBoost built-in params, LightGBM built-in params or None)
PAIRS = [
    ("Huber(1e9) vs squared error", "reg", gb.Huber(1e9), {"objective": "reg:squarederror"}, {"objective": "l2"}),
    (
        "PseudoHuber(1) vs pseudo-Huber",
        "reg",
        gb.PseudoHuber(1.0),
        {"objective": "reg:pseudohubererror", "huber_slope": 1.0},
        None,  # LightGBM has no pseudo-Huber objective
    ),
    (
        "CrossEntropy vs logistic",
        "binary",
        gb.CrossEntropy(),
        {"objective": "binary:logistic"},
        {"objective": "binary"},
    ),
    (
        f"softmax CrossEntropy vs multiclass (k={K})",
        "multi",
        gb.CrossEntropy(),
        {"objective": "multi:softprob", "num_class": K},
        {"objective": "multiclass", "num_class": K},
    ),
    (
        # the Newton-step model (the objective's cost alone); renewal's: benchmarks/renewal_cost.py
        "Quantile(0.9, renew_leaves=False) vs quantile",
        "reg",
        gb.Quantile(0.9, renew_leaves=False),
        {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
        {"objective": "quantile", "alpha": 0.9},
    ),
]


def xgb_runner(X, ys, rounds, threads):
    import xgboost

    base = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "nthread": threads, "max_bin": 256}
    mats = {k: xgboost.DMatrix(X, y, nthread=threads) for k, y in ys.items()}

    def builtin(kind, params):
        return lambda: xgboost.train(base | params, mats[kind], rounds)

    def ours(kind, loss, extra, **kw):  # kw: e.g. kernel_threads (else the adapter's default)
        return lambda: gx.train(loss, base | extra, mats[kind], rounds, custom_metric=None, **kw)

    def floor(kind, loss, extra):
        replay = Replay(gx.objective(loss))
        return replay.prepare(lambda: gx.train(loss, base | extra, mats[kind], rounds, custom_metric=None, obj=replay))

    return builtin, ours, floor


def lgb_runner(X, ys, rounds, threads):
    import lightgbm

    base = {"learning_rate": 0.1, "num_leaves": 63, "num_threads": threads, "verbosity": -1, "max_bin": 255}
    sets = {k: lightgbm.Dataset(X, y, params=base, free_raw_data=False).construct() for k, y in ys.items()}

    def builtin(kind, params):
        return lambda: lightgbm.train(base | params, sets[kind], rounds)

    # ours trains on its own copies (binned once, like the built-in's): gl.train puts the start
    # in the Dataset's init_score, which the built-in runs must not see
    own = {
        k: lightgbm.Dataset(X, y, params=base, reference=sets[k], free_raw_data=False).construct()
        for k, y in ys.items()
    }

    def ours(kind, loss, extra, **kw):
        return lambda: gl.train(loss, base | extra, own[kind], rounds, feval=None, **kw)

    def floor(kind, loss, extra):  # after a run of ours, which put our start in own[kind]
        replay = Replay(gl.objective(loss))
        setup = base | extra | {"objective": replay, "metric": "None"}
        return replay.prepare(lambda: lightgbm.train(setup, own[kind], rounds))

    return builtin, ours, floor


class Replay:
    """The zero-work objective: our objective's (grad, hess) recorded over one training run,
    then handed back round by round without computing anything. Same trees as ours, no
    objective work: what remains is the library's own cost of a Python objective (margins out,
    gradients in, the call itself), the floor any custom objective pays."""

    def __init__(self, objective):
        self.objective, self.saved, self.next = objective, [], None

    def __call__(self, predt, data):
        if self.next is None:  # recording
            g, h = self.objective(predt, data)
            self.saved.append((np.array(g), np.array(h)))
            return g, h
        g, h = self.saved[self.next]
        self.next += 1
        return g, h

    def __deepcopy__(self, memo):  # lightgbm.train deep-copies params: keep one recording
        return self

    def prepare(self, train):
        """Record one run of ``train``; return a runner that replays it."""
        train()

        def run():
            self.next = 0
            return train()

        return run


def seconds(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(n, d, rounds, pairs, threads, libs=("XGBoost", "LightGBM")):
    X, ys = data(n, d)
    rows = []
    for lib, make in (("XGBoost", xgb_runner), ("LightGBM", lgb_runner)):
        if lib not in libs:
            continue
        builtin, ours, floor = make(X, ys, rounds, threads)
        for name, kind, loss, xgb_params, lgb_params in PAIRS:
            params = xgb_params if lib == "XGBoost" else lgb_params
            if params is None:
                continue
            extra = {"num_class": params["num_class"]} if "num_class" in params else {}
            a, b = builtin(kind, params), ours(kind, loss, extra)
            a(), b()  # warm-up: compilation, caches (and ours' start, which the LightGBM floor reuses)
            c = floor(kind, loss, extra)  # its recording run is its warm-up
            ta, tb, tc = [], [], []
            for _ in range(pairs):  # alternating: built-in, ours, zero-work floor, ...
                ta.append(seconds(a))
                tb.append(seconds(b))
                tc.append(seconds(c))
            ratios, floors = np.array(tb) / np.array(ta), np.array(tc) / np.array(ta)
            rows.append((lib, name, float(np.median(ta)), float(np.median(tb)), ratios, floors))
            print(
                f"{lib:8s} {name:45s} built-in {np.median(ta):7.2f} s  ours {np.median(tb):7.2f} s  "
                f"ratio {np.median(ratios):.3f} [{ratios.min():.3f}, {ratios.max():.3f}]  "
                f"zero-work objective {np.median(floors):.3f}",
                flush=True,
            )
    return rows


def table(rows, n, d, rounds, pairs, threads, command="python -m benchmarks.end_to_end"):
    lines = [
        f"{n:,} rows x {d} features, {rounds} rounds, {threads} threads, median of {pairs} alternating pairs "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores). "
        f"Command: `{command}`.",
        "",
        "'zero-work objective': our objective's gradients recorded in one run and handed back each round "
        "without computing (same trees as ours), timed in the same alternation: the floor of the libraries' "
        "custom-objective interface.",
        "",
        "| library | pair | built-in (s) | gbobjectives (s) | ratio (median) | ratio range "
        "| zero-work objective / built-in (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for lib, name, ta, tb, r, f in rows:
        lines.append(
            f"| {lib} | {name} | {ta:.2f} | {tb:.2f} | {np.median(r):.3f} | {r.min():.3f} - {r.max():.3f} "
            f"| {np.median(f):.3f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{lib}: {name}" for lib, name, *_ in rows]
    pos = np.arange(len(rows))
    ax.barh(pos - 0.2, [np.median(r[4]) for r in rows], 0.4, color="tab:blue", label="gbobjectives")
    ax.barh(pos + 0.2, [np.median(r[5]) for r in rows], 0.4, color="tab:grey", label="zero-work Python objective")
    ax.set_yticks(pos, labels)
    ax.axvline(1.05, color="grey", ls="--", lw=1, label="target 1.05x")
    ax.set(xlabel="training time, gbobjectives / built-in")
    ax.legend()
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--lib", nargs="*", choices=["XGBoost", "LightGBM"], default=["XGBoost", "LightGBM"])
    args = parser.parse_args(argv)
    n, rounds, pairs = (5000, 5, 1) if args.smoke else (args.rows, args.rounds, args.pairs)
    rows = run(n, 20, rounds, pairs, args.threads, args.lib)
    command = "python -m benchmarks.end_to_end" + ("" if len(args.lib) == 2 else f" --lib {args.lib[0]}")
    text = table(rows, n, 20, rounds, pairs, args.threads, command)
    print(text)
    title = "End to end: training time vs the built-in objective (CPU)"
    stem = "end_to_end" if len(args.lib) == 2 else f"end_to_end_{args.lib[0].lower()}"
    save(stem, args.smoke, title, text, lambda path: plot(rows, path))


if __name__ == "__main__":
    main()
