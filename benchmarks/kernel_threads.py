"""Threads of the objective's CPU loops inside a booster's training: serial (``kernel_threads=1``)
against Numba's whole pool (``kernel_threads=None``), both against the built-in objective. The
adapters' defaults follow from it: XGBoost ``"auto"`` (serial below 2M elements per call, the
pool from there), LightGBM ``None``.

When XGBoost or LightGBM calls a Python objective, its own OpenMP threads have just finished a
parallel region and are still busy-waiting; a parallel loop then runs a second pool on the same
cores. This measures what that costs. Same data, pairs and booster parameters as
``benchmarks/end_to_end.py`` (1M x 20), fewer rounds; alternating runs in one process (built-in,
serial, pool, ...) after a warm-up of each; ratios to the built-in, median over ``--pairs``.
Run ``python -m benchmarks.kernel_threads`` (``--smoke``: tiny sizes). Writes
benchmarks/results/kernel_threads.md.
"""

import os
import platform
import sys

import numpy as np

from ._report import parser_for, save
from .end_to_end import PAIRS, data, lgb_runner, seconds, xgb_runner

SHOWN = ("Huber(1e9)", "CrossEntropy", "softmax")  # pairs measured (by name prefix)


def run(n, d, rounds, pairs, threads, libs):
    X, ys = data(n, d)
    rows = []
    for lib, make in (("XGBoost", xgb_runner), ("LightGBM", lgb_runner)):
        if lib not in libs:
            continue
        builtin, ours, _ = make(X, ys, rounds, threads)
        for name, kind, loss, xgb_params, lgb_params in PAIRS:
            params = xgb_params if lib == "XGBoost" else lgb_params
            if params is None or not name.startswith(SHOWN):
                continue
            extra = {"num_class": params["num_class"]} if "num_class" in params else {}
            runs = [
                builtin(kind, params),
                ours(kind, loss, extra, kernel_threads=1),
                ours(kind, loss, extra, kernel_threads=None),
            ]
            for r in runs:  # warm-up
                r()
            times = np.array([[seconds(r) for r in runs] for _ in range(pairs)])  # alternating
            serial, pool = times[:, 1] / times[:, 0], times[:, 2] / times[:, 0]
            rows.append((lib, name, float(np.median(times[:, 0])), serial, pool))
            print(
                f"{lib:8s} {name:45s} built-in {rows[-1][2]:6.2f} s  serial {np.median(serial):.3f}  "
                f"pool {np.median(pool):.3f}",
                flush=True,
            )
    return rows


def table(rows, n, d, rounds, pairs, threads, command="python -m benchmarks.kernel_threads"):
    lines = [
        f"{n:,} rows x {d} features, {rounds} rounds, booster on {threads} threads, median of {pairs} "
        f"alternating triples ({platform.processor() or platform.machine()}, {os.cpu_count()} cores). "
        f"Command: `{command}`.",
        "",
        "Ratios: training time with gbobjectives / with the built-in objective (range in brackets). "
        'Defaults: XGBoost `kernel_threads="auto"` (serial below 2M elements per call: the 1M-row '
        "element-wise pairs; the pool from there: softmax 1M x 4), LightGBM `None` (the pool).",
        "",
        "| library | pair | built-in (s) | kernel_threads=1 (serial) | kernel_threads=None (Numba pool) |",
        "|---|---|---|---|---|",
    ]
    for lib, name, ta, serial, pool in rows:
        cells = [f"{np.median(r):.3f} [{r.min():.3f} - {r.max():.3f}]" for r in (serial, pool)]
        lines.append(f"| {lib} | {name} | {ta:.2f} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--lib", nargs="*", choices=["XGBoost", "LightGBM"], default=["XGBoost", "LightGBM"])
    args = parser.parse_args(argv)
    n, rounds, pairs = (5000, 3, 1) if args.smoke else (args.rows, args.rounds, args.pairs)
    rows = run(n, 20, rounds, pairs, args.threads, args.lib)
    command = " ".join(["python -m benchmarks.kernel_threads", *(argv if argv is not None else sys.argv[1:])])
    text = table(rows, n, 20, rounds, pairs, args.threads, command)
    print(text)
    save("kernel_threads", args.smoke, "Kernel threads inside training: serial vs Numba's pool", text)


if __name__ == "__main__":
    main()
