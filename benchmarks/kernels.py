"""Kernel throughput: ``loss.grad_hess`` of every loss against a plain vectorised NumPy version
of the same formulas (as peer packages ship them) and against the memory floor.

- NumPy: whole-array expressions, one temporary per operation. Each is checked against
  gbobjectives on small data before timing (same curvature mode), so both compute the same thing.
- floor: the time to read the inputs and write the outputs once: a Numba loop, parallel like
  ours and with the same allocation, that writes ``g = y + z`` and ``h = y - z`` (k = 10 losses:
  reads the label once per row). Nothing that computes grad/hess can beat it by much.

Times are the median of ``--repeat`` calls after a warm-up (compilation excluded; cold start is
``benchmarks/cold_start.py``). Run ``python -m benchmarks.kernels`` (``--smoke``: tiny sizes).
Writes benchmarks/results/kernels.md and kernels.png.
"""

import os
import platform
import time

import numba
import numpy as np
from numba import njit, prange

import gbobjectives as gb

from ._report import parser_for, pyplot, save

K = 10


# ---- the NumPy versions --------------------------------------------------------------------------
def np_huber(y, z, d=1.0):
    r = z - y
    a = np.abs(r)
    inside = a <= d
    return np.where(inside, r, d * np.sign(r)), np.where(inside, 1.0, d / np.maximum(a, 1e-300)).astype(z.dtype)


def np_pseudo_huber(y, z, d=1.0):
    r = z - y
    s = np.sqrt(1.0 + (r / d) ** 2)
    return r / s, 1.0 / s


def np_logcosh(y, z, c=1.0):
    x = (z - y) / c
    t = np.tanh(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(x == 0, 1.0, t / x).astype(z.dtype)
    return c * t, h


def np_quantile(y, z, alpha=0.9, scale=1.0, eps=0.01):
    r = z - y
    g = np.where(r < 0, -alpha, 1.0 - alpha).astype(z.dtype) * scale
    return g, (0.5 * scale / (np.abs(r) + eps)).astype(z.dtype)


def _sigmoid(z):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def np_focal(y, z, gamma=2.0):
    s = 2.0 * y - 1.0
    pt = _sigmoid(s * z)
    q = 1.0 - pt
    logpt = np.log(pt)
    inner = gamma * pt * logpt - q
    g = s * q**gamma * inner
    dinner = gamma * (logpt + 1.0) + 1.0
    h = pt * q * (-gamma * q ** (gamma - 1.0) * inner + q**gamma * dinner)
    return g.astype(z.dtype), h.astype(z.dtype)


def np_cross_entropy(y, z):
    p = _sigmoid(z)
    return (p - y).astype(z.dtype), (p * (1.0 - p)).astype(z.dtype)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_softmax_cross_entropy(y, z):
    p = _softmax(z)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y.astype(np.int64)] = 1.0
    return (p - onehot).astype(z.dtype), (p * (1.0 - p)).astype(z.dtype)


def np_softmax_focal(y, z, gamma=2.0):
    p = _softmax(z)
    rows = np.arange(len(y))
    onehot = np.zeros_like(p)
    onehot[rows, y.astype(np.int64)] = 1.0
    u = p[rows, y.astype(np.int64)][:, None]
    q = 1.0 - u
    logu = np.log(u)
    f1 = gamma * q ** (gamma - 1.0) * logu - q**gamma / u
    f2 = -gamma * (gamma - 1.0) * q ** (gamma - 2.0) * logu + 2.0 * gamma * q ** (gamma - 1.0) / u + q**gamma / u**2
    du = u * (onehot - p)
    d2u = u * (onehot - p) ** 2 - u * p * (1.0 - p)
    return (f1 * du).astype(z.dtype), (f2 * du**2 + f1 * d2u).astype(z.dtype)


# (name, our loss, NumPy version, label kind)
CASES = [
    ("Huber", gb.Huber(1.0), np_huber, "reg"),
    ("PseudoHuber", gb.PseudoHuber(1.0), np_pseudo_huber, "reg"),
    ("LogCosh", gb.LogCosh(1.0), np_logcosh, "reg"),
    ("Quantile(0.9)", gb.Quantile(0.9, scale=1.0), np_quantile, "reg"),
    ("Focal(2) binary", gb.Focal(2.0, hessian="exact"), np_focal, "binary"),
    ("CrossEntropy binary", gb.CrossEntropy(hessian="exact"), np_cross_entropy, "binary"),
    (f"Focal(2) softmax k={K}", gb.Focal(2.0, hessian="exact"), np_softmax_focal, "multi"),
    (f"CrossEntropy softmax k={K}", gb.CrossEntropy(hessian="exact"), np_softmax_cross_entropy, "multi"),
]
FLOOR_LOSSES = ("Huber", "PseudoHuber", "Quantile(0.9)")  # the target: within 2x of the floor


# ---- the memory floor ------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _touch(y, z, g, h):
    for i in prange(z.shape[0]):
        g[i] = y[i] + z[i]
        h[i] = y[i] - z[i]


@njit(parallel=True, cache=True)
def _touch_rows(y, z, g, h):
    for i in prange(z.shape[0]):
        yi = y[i]
        for j in range(z.shape[1]):
            g[i, j] = z[i, j] + yi
            h[i, j] = z[i, j] - yi


def floor(y, z):
    g, h = np.empty_like(z), np.empty_like(z)
    (_touch if z.ndim == 1 else _touch_rows)(y, z, g, h)
    return g, h


# ---- data, checks, timing ------------------------------------------------------------------------------
def make(kind, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "multi":
        return rng.integers(0, K, n).astype(dtype), rng.normal(size=(n, K)).astype(dtype)
    if kind == "binary":
        return (rng.random(n) < 0.1).astype(dtype), rng.normal(size=n).astype(dtype)
    return rng.normal(size=n).astype(dtype) * 2, rng.normal(size=n).astype(dtype)


def check_same(loss, ref, kind):
    y, z = make(kind, 2000, np.float64, seed=1)
    g, h = loss.grad_hess(y, z)
    rg, rh = ref(y, z)
    np.testing.assert_allclose(g, rg, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(h, rh, rtol=1e-6, atol=1e-9)


def timed(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def run(sizes, repeat):
    rows = []
    for name, loss, ref, kind in CASES:
        check_same(loss, ref, kind)
        for dtype in (np.float32, np.float64):
            for n in sizes:
                m = n // K if kind == "multi" else n  # k = 10 losses: n elements = n/10 rows x 10
                y, z = make(kind, m, dtype)
                t_ours = timed(lambda loss=loss, y=y, z=z: loss.grad_hess(y, z), repeat)
                t_np = timed(lambda ref=ref, y=y, z=z: ref(y, z), repeat)
                t_floor = timed(lambda y=y, z=z: floor(y, z), repeat)
                rows.append((name, np.dtype(dtype).name, n, t_ours, t_np, t_floor))
                print(
                    f"{name:28s} {np.dtype(dtype).name:8s} n={n:>9,d}  ours {t_ours * 1e3:8.3f} ms  "
                    f"numpy {t_np / t_ours:6.1f}x slower  floor ratio {t_ours / t_floor:5.2f}",
                    flush=True,
                )
    return rows


def machine():
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__} "
        f"({numba.config.NUMBA_NUM_THREADS} threads, layer {numba.threading_layer()}), numpy {np.__version__}"
    )


def table(rows, repeat):
    lines = [
        f"Machine: {machine()}. Median of {repeat} calls. n = elements (k = 10 losses: n/10 rows x 10). "
        "Command: `python -m benchmarks.kernels`.",
        "",
        "| loss | dtype | n | gbobjectives (ms) | NumPy (ms) | NumPy / ours | floor (ms) | ours / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, dt, n, t, tn, tf in rows:
        lines.append(
            f"| {name} | {dt} | {n:.0e} | {t * 1e3:.3f} | {tn * 1e3:.3f} | {tn / t:.1f} "
            f"| {tf * 1e3:.3f} | {t / tf:.2f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name in dict.fromkeys(r[0] for r in rows):
        pts = [(r[2], r[4] / r[3]) for r in rows if r[0] == name and r[1] == "float64"]
        ax.plot(*zip(*pts, strict=True), marker="o", label=name)
    ax.axhline(5, color="grey", ls="--", lw=1, label="target 5x")
    ax.set(xscale="log", yscale="log", xlabel="elements", ylabel="NumPy time / gbobjectives time (float64)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = parser_for(__doc__, "tiny sizes (CI)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    sizes, repeat = ([10_000, 200_000], 2) if args.smoke else ([100_000, 1_000_000, 10_000_000], args.repeat)
    rows = run(sizes, repeat)
    text = table(rows, repeat)
    print(text)
    save("kernels", args.smoke, "Kernel throughput: grad_hess", text, lambda path: plot(rows, path))


if __name__ == "__main__":
    main()
