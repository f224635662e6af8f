"""Shared fixtures: the registry-driven loss cases and a Numba cache keyed by kernel sources.

Numba's on-disk cache is invalidated by the timestamp of the file holding the compiled loop
only, not of the scalar functions it calls from another file: keying the cache directory on
the kernels' sources keeps a stale loop from ever being loaded while the math is edited.
"""

import hashlib
import os
import pathlib

_ROOT = pathlib.Path(__file__).resolve().parents[1]
_digest = hashlib.sha1(
    b"".join(p.read_bytes() for p in sorted((_ROOT / "gbobjectives" / "kernels").glob("*.py")))
).hexdigest()[:12]
os.environ.setdefault("NUMBA_CACHE_DIR", str(_ROOT / ".pytest_cache" / f"numba-{_digest}"))

# CUDA kernels are tested on a real GPU where the driver is present, else through Numba's CUDA
# simulator (CI). Decided before anything imports numba.cuda (the package never does on import).
import ctypes.util  # noqa: E402

REAL_CUDA = os.environ.get("GBO_REAL_CUDA", "auto")
if REAL_CUDA == "auto":
    REAL_CUDA = "1" if ctypes.util.find_library("cuda") else "0"
if REAL_CUDA == "0":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numba.core.config  # noqa: E402  (pytest's filterwarnings setting imports numba first)

numba.core.config.reload_config()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gbobjectives as gb  # noqa: E402

K = 4  # classes / levels used by the multi-output cases

# Every registered loss must appear here (tests/test_registry.py checks it): a new loss is then
# covered by every generic test. problem: "reg" (1-D), "reg_multi" (one column per level or
# target), "binary" (1-D margin), "multi" (K softmax columns).
CASES = {
    "huber": [
        ({"delta": 0.5}, "reg"),
        ({"delta": 3.0}, "reg"),
        ({"delta": 1.0}, "reg_multi"),
        ({"delta": "adaptive"}, "reg"),
    ],
    "pseudo_huber": [({"delta": 0.5}, "reg"), ({"delta": 2.0}, "reg_multi"), ({"delta": "adaptive", "c": 2.0}, "reg")],
    "logcosh": [({"scale": 1.0}, "reg"), ({"scale": 0.3}, "reg_multi"), ({"scale": "adaptive"}, "reg_multi")],
    # redescending: fixed scales inside and beyond most residuals (spread 3), and adaptive ones
    "cauchy": [({"scale": 2.0}, "reg"), ({}, "reg"), ({"scale": 1.0}, "reg_multi"), ({"c": 1.0}, "reg_multi")],
    "tukey": [({"scale": 6.0}, "reg"), ({}, "reg"), ({"scale": 4.0}, "reg_multi"), ({}, "reg_multi")],
    "welsch": [({"scale": 3.0}, "reg"), ({}, "reg_multi")],
    "quantile": [({"alpha": 0.1}, "reg"), ({"alpha": 0.5}, "reg"), ({"alpha": [0.05, 0.3, 0.7, 0.95]}, "reg_multi")],
    "focal": [
        ({"gamma": 0.5}, "binary"),
        ({"gamma": 2.0, "alpha": 0.25}, "binary"),
        ({"gamma": 2.0}, "multi"),
        ({"gamma": 1.0, "alpha": [0.5, 1.0, 2.0, 4.0]}, "multi"),
    ],
    "cross_entropy": [({}, "binary"), ({"alpha": 0.3}, "binary"), ({}, "multi")],
    "class_balanced": [
        ({"beta": 0.99}, "binary"),
        ({"base": gb.Focal(2.0), "beta": 0.9}, "binary"),
        ({"beta": 0.999}, "multi"),
        ({"base": gb.Focal(0.5), "beta": 0.99}, "multi"),
    ],
}

ALL_CASES = [
    pytest.param(name, params, problem, id=f"{name}-{problem}-{i}")
    for name, cases in CASES.items()
    for i, (params, problem) in enumerate(cases)
]


def make_data(problem, n=200, seed=0, spread=3.0, dtype=np.float64):
    """Labels, raw scores and weights for a problem type; classes are imbalanced."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 3.0, n)
    if problem == "reg":
        y = rng.standard_t(3, n) * 2
        raw = y + rng.normal(0, spread, n)
    elif problem == "reg_multi":
        y = rng.standard_t(3, n) * 2
        raw = y[:, None] + rng.normal(0, spread, (n, K))
    elif problem == "binary":
        y = (rng.uniform(size=n) < 0.2).astype(np.float64)
        raw = rng.normal(0, spread, n)
    else:
        y = rng.choice(K, size=n, p=[0.5, 0.3, 0.15, 0.05]).astype(np.float64)
        raw = rng.normal(0, spread, (n, K))
    return y, raw.astype(dtype), w


def build(name, params):
    return gb.get_loss(name, **params)
