"""XGBoost on the GPU (device="cuda", tree_method="hist"): built-in objective vs gbobjectives
on the CPU path, on the GPU path through ``xgboost.train``'s loop (margins copied to the host
every round), and on the GPU path through ``gbobjectives.xgboost.train_resident`` (margins kept
on the device beside CuPy features; needs CuPy), end to end.

``python -m benchmarks.gpu`` (needs a CUDA GPU, xgboost with CUDA and numba-cuda);
``--smoke`` runs tiny sizes on whatever is there (CPU booster, CPU path) so the script cannot rot.
Runs alternate within one process; each figure is the median of ``--repeats`` runs.
Writes benchmarks/results/gpu.md.
"""

import statistics
import time

import numpy as np
import xgboost as xgb

import gbobjectives as gb
import gbobjectives.xgboost as gx
from gbobjectives import _training

from ._report import parser_for, save


def _data(n, kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20)).astype(np.float32)
    signal = X[:, 0] * 2 + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3]
    if kind == "binary":
        return X, (signal + rng.logistic(size=n) > 1.5).astype(np.float32)
    return X, (signal + rng.standard_t(3, n)).astype(np.float32)


CASES = [
    ("Huber(1) vs reg:pseudohubererror", "reg", gb.Huber(1.0), {"objective": "reg:pseudohubererror"}),
    (
        "Quantile(0.9, renew_leaves=False) vs reg:quantileerror",  # the objective's cost alone
        "reg",
        gb.Quantile(0.9, renew_leaves=False),
        {"objective": "reg:quantileerror", "quantile_alpha": 0.9},
    ),
    ("Focal(gamma=0) vs binary:logistic", "binary", gb.Focal(0.0), {"objective": "binary:logistic"}),
]


def _features(X, params):
    """The features for the resident loop: the CuPy array the estimators would pass on the GPU
    (None without CuPy), the NumPy array itself in smoke mode (CPU)."""
    if params["device"] == "cpu":
        return X
    features = gx.device_features(X, params)
    if features is None:
        print("no CuPy (or numba.cuda cannot use the GPU): no resident-loop column")
    return features


def main(argv=None):
    ap = parser_for(__doc__)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    on_gpu = not args.smoke
    if args.smoke:
        args.rows, args.rounds, args.repeats = [2000], 5, 1
    device = "cuda" if on_gpu else "cpu"
    base = {"tree_method": "hist", "device": device, "max_depth": 6, "eta": 0.1}
    lines = [
        f"XGBoost {xgb.__version__}, device={device}, hist, 20 features, {args.rounds} rounds, "
        f"median of {args.repeats}\n",
        "Floor: a Python objective that computes nothing (returns the same device gradients every",
        "round): what XGBoost's callback protocol itself costs (host copy of the margins, the call).\n",
        "Resident: the GPU path in gbobjectives.xgboost.train_resident (features as a CuPy array).\n",
        "| case | rows | built-in (s) | floor (s) | gbobjectives CPU path (s) | gbobjectives GPU path (s) | "
        "resident (s) | floor / built-in | CPU path / built-in | GPU path / built-in | resident / built-in |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in args.rows:
        for label, kind, loss, native in CASES:
            X, y = _data(n, kind)
            dtrain = xgb.QuantileDMatrix(X, label=y) if on_gpu else xgb.DMatrix(X, label=y)
            plan = _training.TrainingPlan.of(loss, y)
            bound, start = plan.loss, float(plan.start[0])
            base_native = {"base_score": 1 / (1 + np.exp(-start))} if kind == "binary" else {"base_score": start}
            runs = {"native": [], "floor": [], "cpu": [], "gpu": [], "resident": []}
            features = _features(X, base)

            def fit(
                which,
                dtrain=dtrain,
                native=native,
                bound=bound,
                start=start,
                base_native=base_native,
                features=features,
            ):
                t = time.perf_counter()
                if which == "native":
                    b = xgb.train(base | native | base_native, dtrain, args.rounds)
                elif which == "floor":
                    inner = gx.objective(bound, device="cuda" if on_gpu else "cpu")
                    cache = []

                    def fixed(predt, d):
                        if not cache:
                            cache.extend(inner(predt, d))
                        return cache[0], cache[1]

                    b = xgb.train(
                        base | {"base_score": start, "disable_default_eval_metric": 1}, dtrain, args.rounds, obj=fixed
                    )
                elif which == "resident":
                    b = gx.train_resident(
                        base | {"base_score": start, "disable_default_eval_metric": 1},
                        dtrain,
                        args.rounds,
                        features,
                        obj=gx.objective(bound, device="cuda" if on_gpu else "cpu"),
                        verbose_eval=False,
                    )
                else:
                    dev = "cuda" if which == "gpu" else "cpu"
                    b = xgb.train(
                        base | {"base_score": start, "disable_default_eval_metric": 1},
                        dtrain,
                        args.rounds,
                        obj=gx.objective(bound, device=dev),
                    )
                b.predict(dtrain, iteration_range=(0, 1))  # force completion
                return time.perf_counter() - t

            contenders = [c for c in runs if (c != "gpu" or on_gpu) and (c != "resident" or features is not None)]
            for which in contenders:  # warm-up (compilation, CUDA context)
                fit(which)
            for _ in range(args.repeats):
                for which in contenders:
                    runs[which].append(fit(which))
            med = {k: statistics.median(v) if v else float("nan") for k, v in runs.items()}
            lines.append(
                f"| {label} | {n:,} | {med['native']:.2f} | {med['floor']:.2f} | {med['cpu']:.2f} | "
                f"{med['gpu']:.2f} | {med['resident']:.2f} | {med['floor'] / med['native']:.2f} | "
                f"{med['cpu'] / med['native']:.2f} | {med['gpu'] / med['native']:.2f} | "
                f"{med['resident'] / med['native']:.2f} |"
            )
            print(lines[-1], flush=True)
    if on_gpu:
        from numba import cuda

        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else name
        lines.append(
            f"\nGPU: {name}"
            f"; command: python -m benchmarks.gpu --rows {' '.join(map(str, args.rows))} --rounds {args.rounds}"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    save("gpu", not on_gpu, "XGBoost on the GPU: training time against the built-in objective", text)


if __name__ == "__main__":
    main()
