"""Input checks shared by every loss: clear ValueErrors that name the parameter or the rows."""

import math
import weakref

import numpy as np

_MAX_LISTED = 5


def rows(mask):
    """Text listing the first offending row indices of a boolean mask (any shape: by row)."""
    bad = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    listed = ", ".join(str(i) for i in bad[:_MAX_LISTED])
    more = f" and {bad.size - _MAX_LISTED} more" if bad.size > _MAX_LISTED else ""
    return f"row{'s' if bad.size > 1 else ''} {listed}{more}"


def positive(name, value):
    value = _finite_float(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def non_negative(name, value):
    value = _finite_float(name, value)
    if value < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def open_unit(name, value):
    value = _finite_float(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return value


def _finite_float(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def is_device(a):
    """True for GPU arrays: ``__cuda_array_interface__`` (CuPy, numba device arrays) or a numba
    device array of the CUDA simulator (which has ``copy_to_host`` but no interface)."""
    if isinstance(a, np.ndarray):
        return False
    return hasattr(a, "__cuda_array_interface__") or hasattr(a, "copy_to_host")


def cuda_kernels():
    from ..kernels import cuda

    return cuda


def to_host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else (a.get() if is_device(a) else np.asarray(a))


def _device_checked(a, mode, k, host_check):
    """Device arrays: count bad entries on the device (once per array object and check: the
    adapters pass the same uploaded labels every round); re-check on the host to name rows."""
    cu = cuda_kernels()
    d = cu.as_device(a)
    done = getattr(d, "_gbo_checked", ())
    if (mode, k) in done:
        return d
    if d.size and cu.count_bad(d, mode, k):
        host_check(d.copy_to_host())
    try:
        d._gbo_checked = (*done, (mode, k))
    except AttributeError:  # an array type that takes no attributes: checked every call
        pass
    return d


# Host arrays whose passed checks are remembered: the adapters' own copies of a DMatrix's or
# Dataset's labels and weights, read once per data set and passed again every round. Their
# values are scanned on the first round only (a class-label scan of 1M rows costs about 0.8 ms,
# a sixth of a binary cross-entropy call). {id(array): (weak reference, checks passed)}
_REMEMBERED: dict = {}


def remember_checks(*arrays):
    """From now on, scan each of these host arrays once per kind of check: for arrays that
    their owner never writes to again (the adapters' per-data-set labels and weights). Arrays
    not given here, e.g. a user's own, are scanned on every call."""
    for a in arrays:
        if isinstance(a, np.ndarray) and id(a) not in _REMEMBERED:
            key = id(a)
            _REMEMBERED[key] = (weakref.ref(a, lambda _, key=key: _REMEMBERED.pop(key, None)), set())


_SCAN_ROWS = 1 << 16  # rows per block of a scan: its temporaries stay under 1 MB for any n


def _scan(given, check, scan, a):
    """Run ``scan`` (which raises on a bad value) over ``a`` unless ``given`` is a remembered
    array that passed ``check`` before."""
    entry = _REMEMBERED.get(id(given))
    if entry is None or entry[0]() is not given:
        _blockwise(scan, a)
    elif check not in entry[1]:
        _blockwise(scan, a)
        entry[1].add(check)


def _blockwise(scan, a):
    """``scan`` over blocks of rows, so that its temporary masks never outgrow a block (a call
    then allocates no more than its outputs); a bad block is scanned again whole, for the
    error's row numbers."""
    try:
        for i in range(0, a.shape[0], _SCAN_ROWS):
            scan(a[i : i + _SCAN_ROWS])
    except ValueError:
        scan(a)
        raise


def _finite_labels(y):
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"labels y are NaN or inf at {rows(bad)}")


def raw_scores(raw):
    """The raw margin as a float32/float64 array of shape (n,) or (n, k); never copied."""
    if is_device(raw):
        raw = cuda_kernels().as_device(raw)
    else:
        raw = np.asarray(raw)
    if raw.dtype not in (np.float32, np.float64):
        raise ValueError(f"raw scores must be float32 or float64, got dtype {raw.dtype}")
    if raw.ndim not in (1, 2) or raw.shape[0] == 0:
        raise ValueError(f"raw scores must have shape (n,) or (n, k) with n > 0, got {raw.shape}")
    return raw


def as_2d(a):
    """(n,) -> (n, 1) view; (n, k) unchanged."""
    return a.reshape(a.shape[0], 1) if a.ndim == 1 else a


def labels(y, n, device=False):
    """Labels as a numeric array with n rows; bool is viewed as uint8 (no copy). ``device``:
    checked and returned on the GPU (host labels are uploaded)."""
    if device:
        y = y if is_device(y) else np.asarray(y)
        if y.dtype == np.bool_:
            y = np.asarray(y).view(np.uint8)
        if y.dtype.kind not in "iuf" or y.ndim not in (1, 2) or y.shape[0] != n:
            return labels(to_host(y), n)  # raises the host error
        if y.dtype.kind != "f":  # integers cannot be NaN or inf
            return cuda_kernels().as_device(y)
        return _device_checked(y, 0, 0, lambda h: labels(h, n))
    y = np.asarray(y)
    if y.dtype == np.bool_:
        y = y.view(np.uint8)
    if y.dtype.kind not in "iuf":
        raise ValueError(f"labels y must be numeric, got dtype {y.dtype}")
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"labels y have shape {y.shape}, raw scores have {n} rows")
    if y.dtype.kind == "f":
        _scan(y, "finite", _finite_labels, y)
    return y


def class_labels(y, n, n_classes, device=False):
    """1-D integer-valued labels in 0..n_classes-1 (binary: 0/1)."""
    if device:
        y = labels(y, n, device=True)
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise ValueError(f"class labels must have shape (n,), got {y.shape}")
            y = y.reshape(n)
        return _device_checked(y, 1, n_classes, lambda h: class_labels(h, n, n_classes))
    given = y = labels(y, n)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise ValueError(f"class labels must have shape (n,), got {y.shape}")
        y = y[:, 0]
    _scan(given, ("classes", n_classes), lambda block: _class_ids(block, n_classes), y)
    return y


def _class_ids(y, n_classes):
    bad = (y < 0) | (y >= n_classes)
    if y.dtype.kind == "f":
        bad |= y != np.floor(y)
    if bad.any():
        what = "{0, 1}" if n_classes == 2 else f"the integers 0..{n_classes - 1}"
        raise ValueError(f"labels y must be in {what}; bad values at {rows(bad)}")


def output_dtype(dtype, default):
    """The dtype of grad/hess: ``default`` (the raw scores') for None, else float32 or float64."""
    if dtype is None:
        return default
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be None, float32 or float64, got {dtype!r}")
    return dt


def out_pair(out, raw, dtype):
    """A caller's ``out=(grad, hess)``: two writable host arrays of ``raw``'s shape and the output
    ``dtype`` that do not overlap (any memory order; the raw scores' own runs fastest)."""
    if is_device(raw):
        raise ValueError("out= takes host arrays; on the GPU let grad_hess allocate its outputs")
    if not isinstance(out, tuple | list) or len(out) != 2 or not all(isinstance(a, np.ndarray) for a in out):
        raise ValueError("out must be a pair (grad, hess) of NumPy arrays")
    g, h = out
    for name, a in (("grad", g), ("hess", h)):
        if a.shape != raw.shape or a.dtype != dtype:
            raise ValueError(f"out {name} must have shape {raw.shape} and dtype {dtype}, got {a.shape} {a.dtype}")
        if not a.flags.writeable:
            raise ValueError(f"out {name} is read-only")
    if np.may_share_memory(g, h):
        raise ValueError("out grad and hess must be separate arrays")
    return g, h


def weights(sample_weight, n, device=False):
    """Sample weights: None, or finite non-negative values of shape (n,)."""
    if sample_weight is None:
        return None
    if device:
        w = sample_weight if is_device(sample_weight) else np.asarray(sample_weight)
        if w.dtype.kind not in "iuf" or w.dtype == np.bool_ or w.shape != (n,):
            return weights(to_host(w), n)  # raises the host error
        return _device_checked(w, 2, 0, lambda h: weights(h, n))
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "iuf" or w.dtype == np.bool_:
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}")
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({n},)")
    _scan(sample_weight, "weights", _finite_non_negative, w)
    return w


def _finite_non_negative(w):
    bad = ~np.isfinite(w) if w.dtype.kind == "f" else np.zeros(w.shape[0], bool)
    if bad.any():
        raise ValueError(f"sample_weight is NaN or inf at {rows(bad)}")
    neg = w < 0
    if neg.any():
        raise ValueError(f"sample_weight is negative at {rows(neg)}")


def weight_sum(w, n):
    if w is None:
        total = float(n)
    elif is_device(w):
        total = cuda_kernels().total(w)
    else:
        total = float(np.sum(w, dtype=np.float64))
    if not total > 0.0:
        raise ValueError("sample_weight sums to 0: nothing to fit")
    return total
