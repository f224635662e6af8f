"""Cold start: a fresh Python process's ``import gbobjectives`` time and its first
``grad_hess`` call per loss (which compiles, or loads from Numba's on-disk cache, the loop it
needs), with an empty and with a warm cache.

Each (loss, cache state) runs in its own process with ``NUMBA_CACHE_DIR`` pointing at a
temporary directory: "empty" is a new directory, "warm" the same directory again after the
empty run filled it. The first call uses 1,000 rows (the serial loop) and, separately, 200,000
(the parallel loop), as the adapters do. Run ``python -m benchmarks.cold_start`` (``--smoke``:
two losses). The first row is the floor: Numba alone, a one-line cached ``@njit`` loop timed the
same way. Writes benchmarks/results/cold_start.md.

``--fits``: the first ``fit`` of each estimator at its defaults instead (5,000 x 10 generated
rows), in a fresh process with an empty cache, then with the cache that fit left, beside the
closest native estimator's first fit in a fresh process; the import of scikit-learn, XGBoost and
LightGBM apart from ``import gbobjectives``. Writes benchmarks/results/cold_start_fits.md.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from ._report import parser_for, save

# Each child times its setup as "import", then the same two calls of ``call()``.
_TIMED = r"""
t1 = time.perf_counter()
call()
t_first = time.perf_counter() - t1
t2 = time.perf_counter()
call()
t_second = time.perf_counter() - t2
print(json.dumps({"import": t_import, "first": t_first, "second": t_second, "libs": globals().get("t_libs")}))
"""
CHILD = (
    r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import gbobjectives as gb
t_import = time.perf_counter() - t0
loss = eval(sys.argv[1], {"gb": gb})
kind, n = sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
if kind == "multi":
    y, z = rng.integers(0, 10, n).astype(float), rng.normal(size=(n, 10))
elif kind == "binary":
    y, z = (rng.random(n) < 0.1).astype(float), rng.normal(size=n)
elif kind == "reg3":  # three quantile levels: (n, 3) raw scores
    y, z = rng.normal(size=n), rng.normal(size=(n, 3))
else:
    y, z = rng.normal(size=n), rng.normal(size=n)
call = lambda: loss.grad_hess(y, z)
"""
    + _TIMED
)

# The floor: Numba alone, a one-line cached @njit loop (parallel like ours from 100,000 rows), in
# a module file beside the cache, timed the same way ("import" = numpy + numba + that module).
FLOOR = "floor: one-line cached @njit loop"
FLOOR_MODULE = """
import numba


@numba.njit(cache=True, parallel=PARALLEL)
def twice(a, out):
    for i in numba.prange(a.size):
        out[i] = 2.0 * a[i]
"""
FLOOR_CHILD = (
    r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
sys.path.insert(0, sys.argv[1])
import floor_mod
t_import = time.perf_counter() - t0
a = np.ones(int(sys.argv[3])); out = np.empty_like(a)
call = lambda: floor_mod.twice(a, out)
"""
    + _TIMED
)

FIT_CHILD = (
    r"""
import json, sys, time
t0 = time.perf_counter()
import lightgbm, numpy as np, sklearn, xgboost
t_libs = time.perf_counter() - t0
t0 = time.perf_counter()
import gbobjectives as gb
t_import = time.perf_counter() - t0
estimator, backend, native = sys.argv[1], sys.argv[2], sys.argv[3] == "native"
rng = np.random.default_rng(0)
X = rng.normal(size=(5000, 10))
y = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.standard_t(3, 5000)
if estimator == "GBClassifier":
    y = (y > 1.5).astype(int)
if not native:
    call = lambda: getattr(gb, estimator)(backend=backend).fit(X, y)
else:  # the closest native estimator(s) at their defaults; the quantile regressor: one per level
    lib = xgboost if backend == "xgboost" else lightgbm
    prefix = "XGB" if backend == "xgboost" else "LGBM"
    if estimator == "GBQuantileRegressor":
        if backend == "xgboost":
            models = [lib.XGBRegressor(objective="reg:quantileerror", quantile_alpha=a) for a in (0.05, 0.5, 0.95)]
        else:
            models = [lib.LGBMRegressor(objective="quantile", alpha=a, verbosity=-1) for a in (0.05, 0.5, 0.95)]
    else:
        kind = "Classifier" if estimator == "GBClassifier" else "Regressor"
        models = [getattr(lib, prefix + kind)(**({} if backend == "xgboost" else {"verbosity": -1}))]
    call = lambda: [m.fit(X, y) for m in models]
"""
    + _TIMED
)
ESTIMATORS = ["GBRegressor", "GBClassifier", "GBQuantileRegressor"]

LOSSES = [
    (FLOOR, "floor"),
    ("gb.Huber(1.0)", "reg"),
    ("gb.PseudoHuber(1.0)", "reg"),
    ("gb.LogCosh(1.0)", "reg"),
    ("gb.Quantile([0.05, 0.5, 0.95])", "reg3"),
    ("gb.Focal(2.0)", "binary"),
    ("gb.Focal(2.0)", "multi"),
    ("gb.ClassBalanced(gb.CrossEntropy(), counts=[90, 10])", "binary"),
]


def child(loss, kind, n, cache):
    code = CHILD
    if kind == "floor":
        module = os.path.join(cache, "floor_mod.py")
        if not os.path.exists(module):  # written once: a new mtime would invalidate the cache
            with open(module, "w") as f:
                f.write(FLOOR_MODULE.replace("PARALLEL", str(n >= 100_000)))
        code, loss = FLOOR_CHILD, cache
    return _spawn(code, [loss, kind, str(n)], cache)


def fit_child(estimator, backend, cache, native=False):
    return _spawn(FIT_CHILD, [estimator, backend, "native" if native else "ours"], cache)


def _spawn(code, args, cache):
    """Run ``code`` in a fresh process with Numba's cache in ``cache``; its timings (JSON)."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=dict(os.environ, NUMBA_CACHE_DIR=cache),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"the child for {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


NATIVES = {
    ("GBRegressor", "xgboost"): "XGBRegressor",
    ("GBRegressor", "lightgbm"): "LGBMRegressor",
    ("GBClassifier", "xgboost"): "XGBClassifier",
    ("GBClassifier", "lightgbm"): "LGBMClassifier",
    ("GBQuantileRegressor", "xgboost"): "3 XGBRegressor (reg:quantileerror)",
    ("GBQuantileRegressor", "lightgbm"): "3 LGBMRegressor (quantile)",
}


def _median(values):
    return float(np.median(list(values)))


def run_fits(estimators, backends, repeats):
    lines = [
        "Fresh process per cell; each estimator at its defaults on 5,000 x 10 generated rows (a t(3) "
        "noisy target; its sign above 1.5 for GBClassifier). 'libraries': importing scikit-learn, XGBoost "
        "and LightGBM, which the natives need too; 'import': `import gbobjectives` after them. "
        "'empty cache': a new Numba cache directory (a new install, container or worker); 'warm': a new "
        "process with the cache the first one left. The native: the closest booster estimator(s) at "
        "their defaults, first fit in a fresh process (for the quantile regressor one model per level, "
        f"0.05 / 0.5 / 0.95). Each figure the median of {repeats} runs (each with a new cache). "
        "Command: `python -m benchmarks.cold_start --fits`.",
        "",
        "| estimator | backend | libraries (s) | import (s) | first fit, empty cache (s) | first fit, warm cache (s) "
        "| empty - warm (s) | import + empty (s) | native | native fit (s) | warm / native |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for estimator in estimators:
        for backend in backends:
            runs = []
            for _ in range(repeats):  # each a new cache: empty, warm, then the native
                with tempfile.TemporaryDirectory() as cache:
                    runs.append([fit_child(estimator, backend, cache, native=flag) for flag in (False, False, True)])
            empty, warm, native = ({key: _median(r[i][key] for r in runs) for key in runs[0][i]} for i in range(3))
            lines.append(
                f"| {estimator} | {backend} | {warm['libs']:.2f} | {warm['import']:.2f} | {empty['first']:.2f} "
                f"| {warm['first']:.2f} "
                f"| {empty['first'] - warm['first']:.2f} | {empty['import'] + empty['first']:.2f} "
                f"| {NATIVES[estimator, backend]} | {native['first']:.2f} | {warm['first'] / native['first']:.1f}x |"
            )
            print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def run(losses, sizes):
    rows = []
    for loss, kind in losses:
        for n in sizes:
            with tempfile.TemporaryDirectory() as cache:
                empty = child(loss, kind, n, cache)
                warm = child(loss, kind, n, cache)
            label = loss + (" softmax k=10" if kind == "multi" else "")
            rows.append((label, n, empty, warm))
            print(
                f"{label:50s} n={n:>7,d} import {warm['import']:.2f}s  first call: empty cache {empty['first']:.2f}s, "
                f"warm {warm['first']:.3f}s  (import + first, warm: {warm['import'] + warm['first']:.2f}s)",
                flush=True,
            )
    return rows


def table(rows):
    lines = [
        "Fresh process per cell. Command: `python -m benchmarks.cold_start`.",
        "",
        "| loss | rows | import (s) | first call, empty cache (s) | first call, warm cache (s) "
        "| import + first call, warm (s) | second call (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, n, empty, warm in rows:
        lines.append(
            f"| {label} | {n:,} | {warm['import']:.2f} | {empty['first']:.2f} | {warm['first']:.3f} "
            f"| {warm['import'] + warm['first']:.2f} | {warm['second'] * 1e3:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = parser_for(__doc__, "two losses, small inputs only (CI)")
    parser.add_argument("--fits", action="store_true", help="the first fit of each estimator instead")
    parser.add_argument("--repeats", type=int, default=3, help="--fits: runs per cell, each column's median")
    args = parser.parse_args(argv)
    if args.fits:
        estimators, backends = (ESTIMATORS[:1], ["xgboost"]) if args.smoke else (ESTIMATORS, ["xgboost", "lightgbm"])
        text = run_fits(estimators, backends, 1 if args.smoke else args.repeats)
        print(text)
        save("cold_start_fits", args.smoke, "Cold start: the first fit of each estimator", text, tag=args.tag)
        return
    losses, sizes = (LOSSES[:2] + LOSSES[5:7], [1000]) if args.smoke else (LOSSES, [1000, 200_000])
    text = table(run(losses, sizes))
    print(text)
    save("cold_start", args.smoke, "Cold start: import and first call", text, tag=args.tag)


if __name__ == "__main__":
    main()
