"""Reused outputs: what the adapters gain by writing grad and hess into the same pair of arrays
every round (``grad_hess(..., out=)``, from the second round on) instead of new ones.

A new output array is new memory unless the allocator hands back pages it kept; otherwise the
loop faults in (and the kernel zeroes) every page it writes. Which happens depends on the
process's allocation history (glibc raises its mmap threshold when a large block is freed, up
to 32 MB, and trims the heap top above twice that), so every run here is a fresh process making
one training, as a user's script does. Per run: the objective's median time per round (from
round 3), its minor page faults per call, and the training's wall time. Modes alternate in
pairs: ``reused`` (the package as shipped) and ``fresh`` (the adapters' reuse switched off);
medians over ``--pairs``. Same data and booster parameters as ``benchmarks/end_to_end.py``.
Run ``python -m benchmarks.reused_outputs`` (``--smoke``: tiny sizes). Writes
benchmarks/results/reused_outputs.md.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

import gbobjectives as gb

from ._report import parser_for, save

LOSSES = {  # name: (label kind, loss, extra booster params)
    "Huber(1e9)": ("reg", gb.Huber(1e9), {}),
    "CrossEntropy": ("binary", gb.CrossEntropy(), {}),
    "softmax CrossEntropy (k=4)": ("multi", gb.CrossEntropy(), {"num_class": 4}),
    # 1M x 10 float32 outputs: 40 MB each, above glibc's largest mmap threshold (32 MB)
    "softmax CrossEntropy (k=10)": ("multi10", gb.CrossEntropy(), {"num_class": 10}),
}
MODES = ("reused", "fresh")


def child(lib, name, mode, n, rounds, threads):
    """One training in this (fresh) process; prints its figures as JSON."""
    import gbobjectives._training as training
    import gbobjectives.lightgbm as gl
    import gbobjectives.xgboost as gx

    from .end_to_end import data

    if mode == "fresh":
        training.takes_out = lambda loss: False  # the adapters then allocate new outputs every round
    calls = []
    cls = gx.Objective if lib == "XGBoost" else gl.Objective
    call = cls.__call__

    def timed(self, *args):
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        result = call(self, *args)
        calls.append((time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults))
        return result

    cls.__call__ = timed
    kind, loss, extra = LOSSES[name]
    X, ys = data(n, 20)
    signal = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] * X[:, 3]
    ys["multi10"] = np.digitize(signal, np.quantile(signal, np.linspace(0.1, 0.9, 9))).astype(np.float32)
    if lib == "XGBoost":
        import xgboost

        params = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "nthread": threads, "max_bin": 256}
        train_set = xgboost.DMatrix(X, ys[kind], nthread=threads)
        t = time.perf_counter()
        gx.train(loss, params | extra, train_set, rounds, custom_metric=None)
    else:
        import lightgbm

        params = {"learning_rate": 0.1, "num_leaves": 63, "num_threads": threads, "verbosity": -1, "max_bin": 255}
        train_set = lightgbm.Dataset(X, ys[kind], params=params).construct()
        t = time.perf_counter()
        gl.train(loss, params | extra, train_set, rounds, feval=None)
    total = time.perf_counter() - t
    steady = np.array(calls[2:] or calls)
    print(
        json.dumps({"ms": float(np.median(steady[:, 0])) * 1e3, "faults": float(np.median(steady[:, 1])), "s": total})
    )


def one_run(lib, name, mode, n, rounds, threads):
    cmd = [sys.executable, "-m", "benchmarks.reused_outputs", "--child", lib, name, mode]
    cmd += ["--n", str(n), "--rounds", str(rounds), "--threads", str(threads)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=root).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(n, rounds, pairs, threads, libs, losses=tuple(LOSSES)):
    rows = []
    for lib in libs:
        for name in losses:
            got = {mode: [] for mode in MODES}
            for _ in range(pairs):
                for mode in MODES:
                    got[mode].append(one_run(lib, name, mode, n, rounds, threads))
            med = {
                mode: {key: float(np.median([r[key] for r in runs])) for key in ("ms", "faults", "s")}
                for mode, runs in got.items()
            }
            rows.append((lib, name, med))
            r, f = med["reused"], med["fresh"]
            print(
                f"{lib:8s} {name:28s} objective {r['ms']:.2f} vs {f['ms']:.2f} ms/round "
                f"(faults {r['faults']:.0f} vs {f['faults']:.0f}), training {r['s']:.2f} vs {f['s']:.2f} s",
                flush=True,
            )
    return rows


def table(rows, n, rounds, pairs, threads, command="python -m benchmarks.reused_outputs"):
    lines = [
        f"{n:,} rows x 20 features, {rounds} rounds, {threads} threads, one training per fresh process, "
        f"medians over {pairs} pairs (reused, fresh). Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores. Command: `{command}`.",
        "",
        "| library | loss | objective ms/round, reused | fresh | fresh / reused | page faults per call, reused "
        "| fresh | training s, reused | fresh | fresh / reused |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lib, name, med in rows:
        r, f = med["reused"], med["fresh"]
        lines.append(
            f"| {lib} | {name} | {r['ms']:.2f} | {f['ms']:.2f} | {f['ms'] / r['ms']:.2f} | {r['faults']:.0f} "
            f"| {f['faults']:.0f} | {r['s']:.2f} | {f['s']:.2f} | {f['s'] / r['s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    parser.add_argument("--child", nargs=3, metavar=("LIB", "LOSS", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--lib", choices=("XGBoost", "LightGBM"), action="append")
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, args.n, args.rounds, args.threads)
        return
    if args.smoke:  # one library, three losses: each cell is two fresh processes
        args.n, args.rounds, args.pairs = 2_000, 4, 1
    libs = args.lib or (["LightGBM"] if args.smoke else ["XGBoost", "LightGBM"])
    rows = run(args.n, args.rounds, args.pairs, args.threads, libs, list(LOSSES)[:3] if args.smoke else tuple(LOSSES))
    text = table(rows, args.n, args.rounds, args.pairs, args.threads)
    print(text)
    save("reused_outputs", args.smoke, "Reused outputs: grad/hess written into the same arrays every round", text)


if __name__ == "__main__":
    main()
