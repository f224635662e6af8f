"""The CPU loops: one parallel loop per shape of loss, serving every loss kind.

Layer 2: imports only ``scalar``. Weights are applied here and nowhere else:
``w`` is the per-row sample weight and ``cw`` a per-class weight indexed by the integer label
(focal's alpha and class-balanced weights both live there); either may be None or empty (none).
Compiled lazily on first call and cached on disk (``cache=True``).

Each loop exists twice, compiled from the same source: ``parallel=True`` for large inputs and a
serial twin for small ones (below ``PARALLEL_MIN_ELEMENTS``), where starting a thread pool costs
more than it saves. ``kernel_threads(n)`` overrides the choice for a block of code: the adapters
run the loops serially inside a booster's training, where Numba's pool would compete with the
booster's own OpenMP threads (measured by ``benchmarks/kernel_threads.py``).

The element-wise loop runs over one column at a time as a flat 1-D loop, and is compiled once
per (loss kind, curvature mode, and for focal the common gamma 0, 1 or 2), each a global
constant of its copy, with absent weights passed as None. Every branch left in the loop then
depends on the element alone, so LLVM turns the loop into AVX code (with the arithmetic-only exp
and log1p of ``elementary.py``); a loop-invariant branch on a runtime parameter or weight would
keep it scalar. Measured by ``benchmarks/kernels.py``.

Below ``ONE_SIGNATURE_MAX_ELEMENTS`` elements the public functions pass the loops float64,
C-ordered copies (see ``_run``), so that a small fit compiles each loop once, not once per
dtype its callers use; above it they pass the callers' arrays as they are.

Shapes: ``z`` is 2-D ``(n, k)`` (a 1-D margin is passed as an ``(n, 1)`` view), in any memory
order; ``y`` is ``(n, 1)`` or ``(n, k)`` for the element-wise loops and ``(n,)`` class ids for the
softmax loops. Outputs are written into preallocated arrays. The public functions at the end
take the same arguments as their twins in ``cuda.py``.
"""

import functools
import hashlib
import pathlib
import threading
import types

import numba
import numpy as np
from numba import njit, prange

from .elementary import inlined
from .scalar import (
    ELEMENTWISE,
    FOCAL,
    exp,
    row_class_weight,
    softmax_focal_coefs,
    softmax_focal_elem,
    softmax_focal_value,
)

ROW_BLOCK = 256  # softmax rows per block (scratch: the block's exps, k x 256, and 8 x 256)
KIND = HMODE = -1  # placeholders: only the per-kind copies are compiled, each with its own
FIXED_PARAM = -1.0  # >= 0: the loss's first parameter (focal gamma) as a constant of the copy
# placeholders too: each element-wise copy calls its kind's functions (scalar.ELEMENTWISE)
elem_value = elem_grad_hess = None


@inlined
def _weight(w, cw, i, label):
    """Sample weight of row i (``w`` None: 1) times the class weight of its label (``cw`` None:
    none). A None argument is a type of its own, so its branch is compiled away."""
    wi = 1.0 if w is None else w[i]
    if cw is not None:
        wi *= cw[int(label)]
    return wi


def _elementwise_grad_hess(params, y, z, w, cw, g, h):
    param = params[0] if FIXED_PARAM < 0.0 else FIXED_PARAM
    q_scale = params[1]
    q_eps = params[2]
    for i in prange(z.shape[0]):
        yi = np.float64(y[i])
        gg, hh = elem_grad_hess(HMODE, yi, np.float64(z[i]), param, q_scale, q_eps)
        wi = _weight(w, cw, i, yi)
        g[i] = gg * wi
        h[i] = hh * wi


def _elementwise_value(params, y, z, w, cw, out):
    param = params[0] if FIXED_PARAM < 0.0 else FIXED_PARAM
    for i in prange(z.shape[0]):
        yi = np.float64(y[i])
        out[i] = elem_value(yi, np.float64(z[i]), param) * _weight(w, cw, i, yi)


@inlined
def _softmax_block(y, z, w, cw, i0, zt, ex, tt, wv, cf):
    """The sums of rows i0 .. i0 + nb - 1 (nb = ``tt.size``), in passes over the block's rows
    one class at a time, each a loop that LLVM vectorises. The block is first copied transposed,
    zt[j, r] = z[i0 + r, j] (row by row: sequential reads in either memory order), so that the
    passes read contiguous memory. Then ex[j, r] = exp(z - zmax) (the arithmetic exp), cf[0]
    zmax, cf[1] s_oth, cf[2] e_t, cf[3] z_t - zmax; tt and wv the rows' labels and weights. The
    row's math is then ``scalar.softmax_focal_*`` of cf[1:4]."""
    nb = tt.size
    k = z.shape[1]
    for r in range(nb):
        t, wi = row_class_weight(y, w, cw, i0 + r)
        tt[r] = t
        wv[r] = wi
        for j in range(k):
            zt[j, r] = np.float64(z[i0 + r, j])
    for r in range(nb):
        cf[0, r] = zt[0, r]
    for j in range(1, k):
        for r in range(nb):
            cf[0, r] = max(cf[0, r], zt[j, r])
    for r in range(nb):
        cf[1, r] = 0.0
    for j in range(k):
        for r in range(nb):
            ex[j, r] = exp(zt[j, r] - cf[0, r])
            cf[1, r] += ex[j, r] if j != tt[r] else 0.0  # the other classes, never 1 - p_t
    for r in range(nb):
        cf[2, r] = ex[tt[r], r]
        cf[3, r] = zt[tt[r], r] - cf[0, r]


@inlined
def _softmax_scratch(k):
    """zt, ex, ht, tt, wv, cf for one block of ROW_BLOCK rows (see ``_softmax_block``)."""
    return (
        np.empty((k, ROW_BLOCK)),
        np.empty((k, ROW_BLOCK)),
        np.empty((k, ROW_BLOCK)),
        np.empty(ROW_BLOCK, np.int64),
        np.empty(ROW_BLOCK),
        np.empty((8, ROW_BLOCK)),
    )


def _softmax_grad_hess(gamma, hmode, factor, y, z, w, cw, g, h):
    gamma = gamma if FIXED_PARAM < 0.0 else FIXED_PARAM
    n, k = z.shape
    for b in prange((n + ROW_BLOCK - 1) // ROW_BLOCK):  # blocks of rows, in vectorised passes
        i0 = b * ROW_BLOCK
        nb = min(ROW_BLOCK, n - i0)
        zt, ex, ht, tt, wv, cf = _softmax_scratch(k)
        tt, wv = tt[:nb], wv[:nb]
        _softmax_block(y, z, w, cw, i0, zt, ex, tt, wv, cf)
        for r in range(nb):  # the rows' shared coefficients, over cf[1:4]
            s_all, q, p_t, f, c2, qg, q_div = softmax_focal_coefs(cf[1, r], cf[2, r], cf[3, r], gamma)
            cf[1, r], cf[2, r], cf[3, r], cf[4, r] = s_all, q, p_t, f
            cf[5, r], cf[6, r], cf[7, r] = c2, qg, q_div
        gt = zt  # zt is spent: the block's weighted gradients, transposed
        for j in range(k):  # every class of every row
            for r in range(nb):
                gj, hj = softmax_focal_elem(
                    ex[j, r] / cf[1, r], tt[r] == j, cf[2, r], cf[3, r], cf[4, r], cf[5, r],
                    cf[6, r], cf[7, r], HMODE,
                )  # fmt: skip
                gt[j, r] = wv[r] * gj
                ht[j, r] = wv[r] * factor * hj
        for r in range(nb):  # written back row by row, like the reads
            for j in range(k):
                g[i0 + r, j] = gt[j, r]
                h[i0 + r, j] = ht[j, r]


def _softmax_value(gamma, y, z, w, cw, out):
    gamma = gamma if FIXED_PARAM < 0.0 else FIXED_PARAM
    n, k = z.shape
    for b in prange((n + ROW_BLOCK - 1) // ROW_BLOCK):
        i0 = b * ROW_BLOCK
        nb = min(ROW_BLOCK, n - i0)
        zt, ex, _, tt, wv, cf = _softmax_scratch(k)
        tt, wv = tt[:nb], wv[:nb]
        _softmax_block(y, z, w, cw, i0, zt, ex, tt, wv, cf)
        for r in range(nb):
            out[i0 + r] = softmax_focal_value(cf[1, r], cf[2, r], cf[3, r], gamma) * wv[r]


def _mean_abs_residual(y, z, w):
    """Per column, the (weighted) mean of |y - z|: the scale the quantile curvature needs."""
    n, k = z.shape
    ky = y.shape[1]
    nw = w.shape[0]
    out = np.zeros(k)
    for j in range(k):
        num = 0.0
        den = 0.0
        for i in prange(n):
            wi = w[i] if nw > 0 else 1.0
            yij = np.float64(y[i, j] if ky > 1 else y[i, 0])
            num += wi * abs(yij - np.float64(z[i, j]))
            den += wi
        out[j] = num / den if den > 0.0 else 0.0
    return out


MAX_PARTITIONS = 8  # quickselect's median-of-three pivots per leaf; then Weyl-sequence positions


def _leaf_quantiles(alpha, residual, w, leaf, out, start, total, vbuf, wbuf):
    """Per leaf, the weighted alpha-quantile of its rows' residuals: the smallest residual whose
    cumulative weight (residuals ascending) reaches ``alpha`` times the leaf's total weight
    (``inverted_cdf``; a relative 1e-12 of slack absorbs the rounding of the sums). ``leaf``:
    each row's leaf, an index into ``out``; ``w`` None: weight 1. A leaf without rows, or with
    zero total weight, keeps its value in ``out``. The caller passes the scratch arrays (``start``
    n_leaves + 1 integers, ``total`` n_leaves, ``vbuf`` (2, n) and ``wbuf`` (2, n), or (2, 0)
    when ``w`` is None), so nothing is allocated here.

    A counting sort gathers each leaf's rows into ``vbuf[0]``; then per leaf a quickselect finds
    the quantile without sorting, expected linear time: each step a branch-free three-way
    partition from row ``a`` of the buffers into the other row around a pivot (ties go in one
    step), until the pivot is the quantile. A partition that branches on the comparisons
    mispredicts about one value in two: 13 ns a row against 3.6 unweighted and 8.9 weighted, on
    t(3) samples of 1,000-10,000 rows. The first ``MAX_PARTITIONS`` pivots are medians of three
    (first, middle, last); later ones, should an order of the values defeat those, are taken at
    positions of a Weyl sequence (the fractional parts of k times the golden ratio), spread over
    the range whatever its order. Each step removes at least the pivot's value, so it ends.
    One function with no allocation, no call, no sort and no array variable reassigned (the
    buffers' rows are swapped by an index), because each of those costs compile time on a first
    fit: a separately compiled function or a NumPy allocation 0.03-0.3 s, a sort 0.2 s or more."""
    n = residual.shape[0]
    n_leaves = out.shape[0]
    weighted = w is not None
    start[:] = 0
    total[:] = 0.0
    for i in range(n):
        start[leaf[i] + 1] += 1
        total[leaf[i]] += w[i] if weighted else 1.0
    for m in range(n_leaves):
        start[m + 1] += start[m]
    for i in range(n):  # counting sort; start[m] is leaf m's fill position until restored
        t = start[leaf[i]]
        vbuf[0, t] = residual[i]
        if weighted:
            wbuf[0, t] = w[i]
        start[leaf[i]] = t + 1
    for m in range(n_leaves - 1, 0, -1):
        start[m] = start[m - 1]
    start[0] = 0
    for m in prange(n_leaves):
        lo, hi = start[m], start[m + 1]
        if hi == lo or total[m] <= 0.0:
            continue
        threshold = alpha * total[m] * (1.0 - 1e-12)
        a = 0
        step = 0
        while True:
            if step < MAX_PARTITIONS:
                x, y, z = vbuf[a, lo], vbuf[a, (lo + hi) // 2], vbuf[a, hi - 1]
                p = max(min(x, y), min(max(x, y), z))
            else:
                p = vbuf[a, lo + int(((step * 0.6180339887498949) % 1.0) * (hi - lo))]
            step += 1
            # vbuf[a, lo:hi] into vbuf[1 - a, lo:hi]: below p from lo up, above it from hi down,
            # equal ones dropped (each value written to both ends, the ends moved by the comparisons)
            nl = lo
            nh = hi - 1
            below = 0.0
            equal = 0.0
            for i in range(lo, hi):
                vi = vbuf[a, i]
                vbuf[1 - a, nl] = vi
                vbuf[1 - a, nh] = vi
                lt = np.int64(vi < p)
                gt = np.int64(vi > p)
                if weighted:
                    wi = wbuf[a, i]
                    wbuf[1 - a, nl] = wi
                    wbuf[1 - a, nh] = wi
                    below += wi * lt
                    equal += wi * (1 - lt - gt)
                nl += lt
                nh -= gt
            if not weighted:
                below = float(nl - lo)
                equal = float(nh + 1 - nl)
            if below >= threshold:
                hi = nl
            elif below + equal >= threshold or nh + 1 == hi:  # (nothing above p: rounding of the sums)
                out[m] = p
                break
            else:
                threshold -= below + equal
                lo = nh + 1
            a = 1 - a


@inlined
def _slot(mid, x):
    """The count of the ascending midpoints ``mid`` that are <= x: the index of the value
    nearest x among the ascending leaf values (halfway: the higher). A count rather than a
    binary search: no data-dependent branch (NumPy's searchsorted mispredicts about one
    comparison in two)."""
    c = 0
    for j in range(mid.shape[0]):
        c += x >= mid[j]
    return c


@inlined
def _off_leaf(v, x, score):
    """1 when a tree output ``x`` is farther from its leaf's value ``v`` than the rounding of
    the row's cached ``score`` allows (a relative 1e-12): a row of a leaf missing from the
    values; else 0."""
    return 1 if abs(v - x) > 1e-12 * (abs(score) + abs(v)) + 1e-300 else 0


def _tree_rows(mid, slot_leaf, values, cached, seen, correction, y, leaf, residual):
    """One pass over the training rows of a new tree (one output column): each row's leaf from
    the tree's output for it, the change of its cached score since last ``seen`` (the nearest
    leaf value, ``_slot``), into ``leaf``; its residual against the renewed model before this
    tree, ``y - (seen + correction)``, into ``residual``. Returns the count of rows off their
    leaf's value (``_off_leaf``)."""
    bad = 0
    for i in prange(cached.shape[0]):
        x = cached[i] - seen[i]
        lf = slot_leaf[_slot(mid, x)]
        leaf[i] = lf
        bad += _off_leaf(values[lf], x, cached[i])
        residual[i] = y[i] - (seen[i] + correction[i])
    return bad


def _add_leaf_change(mid, slot_leaf, change, cached, seen, correction):
    """``correction += change`` of each row's leaf, the leaf found from the tree's output for
    the row (``cached - seen``, as in ``_tree_rows``): a data set brought up to a renewed
    tree."""
    for i in prange(cached.shape[0]):
        correction[i] += change[slot_leaf[_slot(mid, cached[i] - seen[i])]]


PARALLEL_MIN_ELEMENTS = 100_000
# kernel_threads("auto"): serial below this many elements (a 1M-row element-wise call: 1-3 ms
# serially) and parallel from it (a 1M x 4 softmax call: about 20 ms), as measured inside
# XGBoost's training on 2 cores by benchmarks/kernel_threads.py
AUTO_PARALLEL_MIN_ELEMENTS = 2_000_000
FIXED_GAMMAS = (0.0, 1.0, 2.0)  # focal gammas compiled as constants (others: a runtime parameter)

# Numba's disk cache checks only the timestamp of the file that holds a cached function (this
# one), not of the functions it inlines (scalar.py, elementary.py): an edited formula would run
# stale machine code. Every loop's name therefore carries a hash of the sources, so a change
# compiles anew.
SOURCE_HASH = hashlib.sha256(
    b"".join((pathlib.Path(__file__).parent / f).read_bytes() for f in ("elementary.py", "scalar.py", "cpu.py"))
).hexdigest()[:10]

_SOURCES = {
    "elementwise_grad_hess": _elementwise_grad_hess,
    "elementwise_value": _elementwise_value,
    "softmax_grad_hess": _softmax_grad_hess,
    "softmax_value": _softmax_value,
    "mean_abs_residual": _mean_abs_residual,
    "leaf_quantiles": _leaf_quantiles,
    "tree_rows": _tree_rows,
    "add_leaf_change": _add_leaf_change,
}

# compiled loops, created on first use: {(name, constants...): dispatcher}
PARALLEL: dict = {}
SERIAL: dict = {}


def _copy(func, name, parallel, constants):
    """The same source under another name (its own on-disk cache entry, keyed by the sources'
    hash), with ``constants`` overriding its globals, compiled serially or in parallel.
    ``error_model="numpy"``: a float division by zero gives inf/NaN like NumPy instead of a
    check and a Python exception per division, which would stop vectorisation."""
    glb = dict(func.__globals__, **constants) if constants else func.__globals__
    if "KIND" in constants:  # an element-wise loop: its kind's math only (scalar.ELEMENTWISE)
        glb["elem_value"], glb["elem_grad_hess"] = ELEMENTWISE[constants["KIND"]]
    twin = types.FunctionType(func.__code__, glb, name, func.__defaults__, func.__closure__)
    twin.__qualname__ = name
    return njit(parallel=parallel, cache=True, error_model="numpy")(twin)


_LOCAL = threading.local()  # .threads: the kernel_threads in force on this thread (None: none)


class kernel_threads:  # noqa: N801 (used like a function: ``with kernel_threads(1): ...``)
    """Threads for the CPU loops called inside ``with kernel_threads(n):``, on this thread.

    - ``1``: every loop's serial twin, on the calling thread;
    - ``n > 1``: the parallel loops (from ``PARALLEL_MIN_ELEMENTS`` elements) on at most ``n``
      of Numba's threads;
    - ``"auto"``: serial below ``AUTO_PARALLEL_MIN_ELEMENTS`` elements, Numba's whole pool from
      there: for calls made while another OpenMP pool is still busy-waiting (XGBoost's), where
      a short loop loses more to the contention than a second pool saves;
    - ``None``: no change (parallel from ``PARALLEL_MIN_ELEMENTS``, on Numba's whole pool).

    ``n`` is checked when the object is made; one object may be entered again and again (and
    nested). Measured by ``benchmarks/kernel_threads.py``.
    """

    def __init__(self, n):
        if n not in (None, "auto") and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1):
            raise ValueError(f"kernel_threads must be None, 'auto' or an integer >= 1, got {n!r}")
        self.n = n if n in (None, "auto") else int(n)

    def __enter__(self):
        pool = self.n if isinstance(self.n, int) and self.n > 1 else None
        _LOCAL.__dict__.setdefault("saved", []).append(
            (getattr(_LOCAL, "threads", None), pool and numba.get_num_threads())
        )
        if self.n is not None:
            _LOCAL.threads = self.n
        if pool:
            numba.set_num_threads(min(pool, numba.config.NUMBA_NUM_THREADS))
        return self

    def __exit__(self, *exc):
        _LOCAL.threads, pool = _LOCAL.saved.pop()
        if pool is not None:
            numba.set_num_threads(pool)

    def __repr__(self):
        return f"kernel_threads({self.n!r})"


def loop(name, size, **constants):
    """The loop ``name`` with ``constants`` (KIND, HMODE, FIXED_PARAM) as compile-time globals,
    parallel for ``size`` elements or more (see ``kernel_threads``), else its serial twin."""
    threads = getattr(_LOCAL, "threads", None)
    parallel = threads != 1 and size >= (AUTO_PARALLEL_MIN_ELEMENTS if threads == "auto" else PARALLEL_MIN_ELEMENTS)
    table = PARALLEL if parallel else SERIAL
    key = (name, *sorted(constants.items()))
    f = table.get(key)
    if f is None:
        tag = "_".join(f"{v:g}" for _, v in sorted(constants.items()))
        full = f"{name}_{tag}_{SOURCE_HASH}{'' if parallel else '_serial'}".replace("-", "m").replace(".", "p")
        f = table[key] = _copy(_SOURCES[name], full, parallel, constants)
    return f


# Below this many elements the element-wise, softmax and scale loops run on float64 C-ordered
# copies of their inputs, a sample weight always an array (ones when absent), and write through
# float64 scratch: one compiled signature per loop, whatever dtypes and memory orders the callers
# pass. A fit's start passes float64 labels and margins and its booster float32 ones, so a small
# fit would otherwise compile (or load) each loop twice (``benchmarks/cold_start.py --fits``
# measures the first fits). The copies cost a Huber float32 call of 99,999 elements 0.11 ms
# against 0.04 ms without them (timed directly, 200 calls): small beside a booster's round there.
ONE_SIGNATURE_MAX_ELEMENTS = 100_000


def _none_if_empty(a):
    return None if a is None or a.shape[0] == 0 else a


def _f64(a):
    return None if a is None else np.ascontiguousarray(a, np.float64)


@functools.lru_cache(maxsize=4)
def _ones(n):
    """n ones, made once per n (the loops only read them; writeable, so that the loops' type
    for them is that of a caller's weights)."""
    return np.ones(n)


def _run(f, size, args, outs, weight=None):
    """``f(*args, *outs)``; below ``ONE_SIGNATURE_MAX_ELEMENTS`` elements with every array of
    ``args`` (labels and weights included) as float64 and C-ordered, ``outs`` through float64
    scratch where they are not, and the sample weight ``args[weight]`` (an index, or None; the
    margins come just before it) as ones where it is None or empty."""
    if size >= ONE_SIGNATURE_MAX_ELEMENTS:
        return f(*args, *outs)
    args = [_f64(a) if isinstance(a, np.ndarray) else a for a in args]
    if weight is not None and (args[weight] is None or args[weight].shape[0] == 0):
        args[weight] = _ones(args[weight - 1].shape[0])  # as many as the margins' rows
    scratch = [_f64(o) if o.dtype == np.float64 else np.empty(o.shape) for o in outs]
    result = f(*args, *scratch)
    for o, s in zip(outs, scratch, strict=True):
        if s is not o:
            o[...] = s
    return result


def _fixed_gamma(gamma):
    """{"FIXED_PARAM": gamma} for the gammas compiled as constants, else {}."""
    return {"FIXED_PARAM": float(gamma)} if float(gamma) in FIXED_GAMMAS else {}


def _per_column(name, kind, params, y2, z2, w, cw, outs, **constants):
    """Run the element-wise loop ``name`` on each column (k = 1: the whole array, contiguous)."""
    if kind == FOCAL:
        constants |= _fixed_gamma(params[0, 0])
    f = loop(name, z2.size, KIND=kind, **constants)
    w, cw = _none_if_empty(w), _none_if_empty(cw)
    for j in range(z2.shape[1]):
        args = (params[j], y2[:, j if y2.shape[1] > 1 else 0], z2[:, j], w, cw)
        _run(f, z2.size, args, [o[:, j] for o in outs], weight=3)


def elementwise_grad_hess(kind, hmode, params, y2, z2, w, cw, g, h):
    _per_column("elementwise_grad_hess", kind, params, y2, z2, w, cw, (g, h), HMODE=hmode)


def elementwise_value(kind, params, y2, z2, w, cw, out):
    _per_column("elementwise_value", kind, params, y2, z2, w, cw, (out,))


def softmax_grad_hess(gamma, hmode, factor, y, z, w, cw, g, h):
    f = loop("softmax_grad_hess", z.size, HMODE=hmode, **_fixed_gamma(gamma))
    _run(f, z.size, (gamma, hmode, factor, y, z, w, cw), [g, h], weight=5)


def softmax_value(gamma, y, z, w, cw, out):
    f = loop("softmax_value", z.size, **_fixed_gamma(gamma))
    _run(f, z.size, (gamma, y, z, w, cw), [out], weight=3)


def mean_abs_residual(y2, z2, w):
    return _run(loop("mean_abs_residual", z2.size), z2.size, (y2, z2, w), [])


def leaf_quantiles(alpha, residual, w, leaf, out, **constants):
    """See ``_leaf_quantiles``; ``constants``: compile-time globals (``MAX_PARTITIONS``) for the
    tests."""
    n, w = residual.shape[0], _none_if_empty(w)
    m = n if w is not None else 0
    scratch = (np.empty(out.shape[0] + 1, np.int64), np.empty(out.shape[0]), np.empty((2, n)), np.empty((2, m)))
    loop("leaf_quantiles", n, **constants)(float(alpha), residual, w, leaf, out, *scratch)


def _lookup_size(mid, rows):
    """The size that picks the lookup loops' twin: the rows (each row's pass over the leaves'
    midpoints vectorises; below ``PARALLEL_MIN_ELEMENTS`` rows a parallel twin saves a few
    microseconds a tree and costs a second compile on a first fit)."""
    return rows


def tree_rows(mid, slot_leaf, values, cached, seen, correction, y, leaf, residual):
    f = loop("tree_rows", _lookup_size(mid, cached.shape[0]))
    return f(mid, slot_leaf, values, cached, seen, correction, y, leaf, residual)


def add_leaf_change(mid, slot_leaf, change, cached, seen, correction):
    loop("add_leaf_change", _lookup_size(mid, cached.shape[0]))(mid, slot_leaf, change, cached, seen, correction)
