"""Scale out: rows per second of the estimators on a Dask LocalCluster (1 and 2 worker
processes) and in memory, both boosters, beside their own Dask estimators; and what LightGBM's
fixed robust scale on a cluster costs against the adaptive one in memory.

Run ``python -m benchmarks.scale_out`` (``--smoke``: small, for CI). On the 2-core development
machine two workers share the two cores with the client and the scheduler, so the figures show
the overhead of going through Dask and whether results hold, not a speed-up: a speed-up needs
workers on separate machines (or at least separate cores) and data larger than one machine
holds.
"""

import time
import warnings

import numpy as np

from ._report import parser_for, save


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10))
    y = X[:, :4].sum(axis=1) + rng.standard_t(2, n) + 50
    dirty = rng.random(n) < 0.2
    y_dirty = np.where(dirty, 10 * y, y)
    return X, y, y_dirty


def _timed(fit):
    t = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - t


def run(n, rounds, worker_counts):
    import dask.array as da
    import lightgbm as lgb
    import xgboost as xgb
    import xgboost.dask as xd
    from distributed import Client, LocalCluster

    import gbobjectives as gb

    X, y, _ = _data(n)
    Xt = _data(20_000, seed=1)[0]
    rows = []
    cases = {
        'GBRegressor("huber"), XGBoost': lambda: gb.GBRegressor("huber", n_estimators=rounds),
        'GBRegressor("huber"), LightGBM': lambda: gb.GBRegressor("huber", backend="lightgbm", n_estimators=rounds),
        "XGBRegressor / DaskXGBRegressor (native)": None,
        "LGBMRegressor / DaskLGBMRegressor (native)": None,
    }
    in_memory = {}
    for name, make in cases.items():
        if make is None:
            make = (
                (lambda: xgb.XGBRegressor(n_estimators=rounds, learning_rate=0.1))
                if "XGB" in name
                else (lambda: lgb.LGBMRegressor(n_estimators=rounds, verbose=-1))
            )
        make().fit(X[:2000], y[:2000])  # warm-up
        model, seconds = _timed(lambda make=make: make().fit(X, y))
        in_memory[name] = model
        rows.append((name, "in memory", n / seconds))
    for workers in worker_counts:
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            chunk = -(-n // (2 * workers))
            dX = da.from_array(X, chunks=(chunk, X.shape[1])).persist()
            dy = da.from_array(y, chunks=chunk).persist()
            for name, make in cases.items():
                if make is None:
                    if "XGB" in name:
                        make = lambda: xd.DaskXGBRegressor(n_estimators=rounds, learning_rate=0.1)  # noqa: E731
                    else:
                        make = lambda: lgb.DaskLGBMRegressor(n_estimators=rounds, verbose=-1)  # noqa: E731
                    native = True
                else:
                    native = False

                def fit(make=make, native=native, dX=dX, dy=dy):
                    model = make()
                    if native:
                        model.client = client
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return model.fit(dX, dy)

                fit()  # warm-up: each worker process compiles (or loads) the loops on first use
                model, seconds = _timed(fit)
                pred = model.predict(da.from_array(Xt, chunks=10_000)).compute()
                gap = float(np.mean(np.abs(pred - in_memory[name].predict(Xt))))
                rows.append((name, f"{workers} worker{'s' if workers > 1 else ''}", n / seconds, gap))
    return rows


def robust_cost(n, rounds, workers=2):
    """Test MAE of Cauchy with 20% gross errors: adaptive in memory, and on LightGBM's Dask
    (the scale fixed at the start's residuals), against the clean test labels."""
    import dask.array as da
    from distributed import Client, LocalCluster

    import gbobjectives as gb

    X, _, y_dirty = _data(n)
    Xt, yt, _ = _data(20_000, seed=1)
    out = []
    local = gb.GBRegressor("cauchy", backend="lightgbm", n_estimators=rounds).fit(X, y_dirty)
    out.append(("in memory, scale adapted every round", float(np.mean(np.abs(local.predict(Xt) - yt)))))
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        chunk = -(-n // (2 * workers))
        dX, dy = da.from_array(X, chunks=(chunk, X.shape[1])), da.from_array(y_dirty, chunks=chunk)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dist = gb.GBRegressor("cauchy", backend="lightgbm", n_estimators=rounds).fit(dX, dy)
        out.append(
            (
                f"LightGBM Dask, {workers} workers, scale fixed at the start's",
                float(np.mean(np.abs(dist.predict(Xt) - yt))),
            )
        )
    return out


def main(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    n, rounds, counts = (4000, 10, [1]) if args.smoke else (args.rows, 100, [1, 2])
    rows = run(n, rounds, counts)
    lines = [
        f"{n:,} rows x 10 features, {rounds} rounds; rows per second of one fit (warm), and the mean absolute",
        "difference of the cluster model's test predictions from the same estimator's in-memory model.",
        "",
        "| estimator | where | rows / s | mean gap to in-memory |",
        "|---|---|---|---|",
    ]
    for row in rows:
        gap = f"{row[3]:.4f}" if len(row) > 3 else ""
        lines.append(f"| {row[0]} | {row[1]} | {row[2]:,.0f} | {gap} |")
    cost = robust_cost(n, rounds)
    lines += [
        "",
        "Cauchy with 20% of the training targets 10x too large, test MAE on clean labels (LightGBM):",
        "",
        "| training | test MAE |",
        "|---|---|",
        *[f"| {name} | {mae:.3f} |" for name, mae in cost],
        "",
        "Two workers share this machine's 2 cores with the client and the scheduler: the figures show",
        "Dask's overhead and that the models agree, not a speed-up.",
    ]
    text = "\n".join(lines)
    print(text)
    save("scale_out", args.smoke, "Scale out on Dask", text)


if __name__ == "__main__":
    main()
