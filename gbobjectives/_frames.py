"""Data frames as the estimators take them: pandas frames keep their ``category`` columns (the
boosters split on them natively), other columns become float64; other frame libraries (polars,
pyarrow tables) are converted with their own ``to_pandas()``.

Part of the estimators' layer (``sklearn``); no loss math here. pandas is imported only when a
frame is passed.
"""

import numpy as np


def _pandas():
    import pandas

    return pandas


def is_pandas_frame(X):
    return type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "columns") and hasattr(X, "dtypes")


def to_pandas(X):
    """A pandas DataFrame for a polars DataFrame or a pyarrow Table (their ``to_pandas()``:
    dictionary / categorical columns become pandas ``category``); anything else unchanged."""
    module = type(X).__module__.split(".")[0]
    if module in ("polars", "pyarrow") and hasattr(X, "to_pandas") and hasattr(X, "columns"):
        return X.to_pandas()
    return X


def categorical_columns(frame):
    """Names of the ``category`` columns of a pandas frame, in column order."""
    pd = _pandas()
    return [c for c, dt in frame.dtypes.items() if isinstance(dt, pd.CategoricalDtype)]


def _is_numeric(dtype):
    pd = _pandas()
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    )


def categories_of(frame, categorical):
    """The categories of each of the ``categorical`` columns, by column name."""
    return {c: frame[c].cat.categories for c in categorical}


def normalized(frame, categorical, categories=None):
    """The frame the boosters get: ``categorical`` columns as ``category`` (they must be),
    every other column float64 (nullable and boolean columns too; missing values as NaN).
    ``categories``: the categories each categorical column had at fit (``categories_of``): a
    column is re-coded to them by value, and a value that is not among them (a category the
    fit never saw) becomes missing, as LightGBM and scikit-learn's HistGradientBoosting treat
    it, so both boosters predict it as the missing value (XGBoost itself raises on it). Raises
    ``ValueError`` naming string, object or other non-numeric columns."""
    pd = _pandas()
    bad = [c for c, dt in frame.dtypes.items() if not isinstance(dt, pd.CategoricalDtype) and not _is_numeric(dt)]
    if bad:
        listed = ", ".join(repr(c) for c in bad[:10])
        raise ValueError(
            f"column(s) {listed} are neither numeric nor 'category' (dtypes "
            f"{', '.join(str(frame.dtypes[c]) for c in bad[:10])}). Convert string columns to the pandas "
            "'category' dtype (df[col] = df[col].astype('category')), which XGBoost and LightGBM split on "
            "natively, or encode them yourself."
        )
    now = categorical_columns(frame)
    if now != list(categorical):
        raise ValueError(
            f"the model was fitted with 'category' columns {list(categorical)}, this frame has {now}: "
            "give every column the dtype it had at fit"
        )
    out = {}
    for c in frame.columns:
        col = frame[c]
        if c in categorical:
            out[c] = col if categories is None else col.cat.set_categories(categories[c])
        else:
            out[c] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)
