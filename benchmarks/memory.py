"""Memory: the peak extra memory of one ``grad_hess`` call relative to the size of its inputs
and of its outputs.

Measured with ``tracemalloc`` (NumPy reports its buffers to it; the Numba loops allocate
nothing): peak traced bytes during the call, minus what was traced before. The target: no call
allocates more than its outputs (grad and hess, in the margin's dtype), i.e. ``extra / outputs``
<= 1. The last column is a call with ``out=(grad, hess)``, as the adapters make from the second
round on: it should allocate (next to) nothing. Run ``python -m benchmarks.memory`` (``--smoke``: small n). Writes
benchmarks/results/memory.md.
"""

import tracemalloc

import numpy as np

from ._report import parser_for, save
from .kernels import CASES, K, make


def peak_extra(fn):
    fn()  # warm-up: compilation allocates, the steady state does not
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del out
    return peak


def run(n):
    rows = []
    for name, loss, _, kind in CASES:
        for dtype in (np.float32, np.float64):
            m = n // K if kind == "multi" else n
            y, z = make(kind, m, dtype)
            w = np.ones(m, dtype)
            extra = peak_extra(lambda loss=loss, y=y, z=z: loss.grad_hess(y, z))
            extra_w = peak_extra(lambda loss=loss, y=y, z=z, w=w: loss.grad_hess(y, z, w))
            out = loss.grad_hess(y, z)
            extra_out = peak_extra(lambda loss=loss, y=y, z=z, out=out: loss.grad_hess(y, z, out=out))
            inputs, outputs = y.nbytes + z.nbytes, 2 * z.nbytes
            rows.append((name, np.dtype(dtype).name, inputs, outputs, extra, extra_w, extra_out))
            print(
                f"{name:28s} {np.dtype(dtype).name:8s} extra / outputs {extra / outputs:.3f} "
                f"(weighted {extra_w / outputs:.3f}), extra / inputs {extra / inputs:.3f}, "
                f"with out= {extra_out:,} bytes",
                flush=True,
            )
    return rows


def table(rows, n):
    lines = [
        f"{n:,} elements (k = 10 losses: {n // K:,} rows x 10). Command: `python -m benchmarks.memory`.",
        "",
        "| loss | dtype | inputs (MB) | outputs (MB) | peak extra (MB) | extra / outputs | extra / inputs "
        "| extra / outputs, weighted | peak extra with out= (bytes) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, dt, i, o, e, ew, eo in rows:
        lines.append(
            f"| {name} | {dt} | {i / 1e6:.1f} | {o / 1e6:.1f} | {e / 1e6:.2f} | {e / o:.3f} | {e / i:.3f} "
            f"| {ew / o:.3f} | {eo:,} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = parser_for(__doc__, "small n (CI)")
    args = parser.parse_args(argv)
    n = 20_000 if args.smoke else 1_000_000
    text = table(run(n), n)
    print(text)
    save("memory", args.smoke, "Memory of one grad_hess call", text)


if __name__ == "__main__":
    main()
