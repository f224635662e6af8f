"""Demo: ``python -m gbobjectives``.

Checks every registered loss's gradient and exact Hessian against finite differences on random
data and prints the worst errors.
"""

import argparse
import time

import numpy as np

from . import LOSSES, check_gradients, get_loss


def _demo_problems(name, rng, n):
    """(label, loss, y, raw) examples for one registered loss."""
    y_reg = rng.standard_t(3, n) * 2
    raw_reg = y_reg + rng.normal(0, 3, n)
    y_bin = (rng.uniform(size=n) < 0.1).astype(float)
    y_multi = rng.choice(4, size=n, p=[0.6, 0.25, 0.1, 0.05]).astype(float)
    raw_bin, raw_multi = rng.normal(0, 3, n), rng.normal(0, 3, (n, 4))
    if name == "quantile":
        levels = [0.05, 0.5, 0.95]
        return [("alpha=0.9", get_loss(name, alpha=0.9), y_reg, raw_reg),
                ("3 levels", get_loss(name, alpha=levels), y_reg, raw_reg[:, None] + np.arange(3))]
    if name in ("huber", "pseudo_huber", "logcosh"):
        return [("", get_loss(name), y_reg, raw_reg)]
    loss = get_loss(name, **({"base": get_loss("focal", gamma=2.0)} if name == "class_balanced" else {}))
    return [("binary", loss, y_bin, raw_bin), ("4 classes", loss, y_multi, raw_multi)]


def gradient_table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for name in LOSSES:
        for label, loss, y, raw in _demo_problems(name, rng, n):
            w = rng.uniform(0.5, 2.0, n)
            check = check_gradients(loss, y, raw, w)
            rows.append((f"{loss!r} {label}".strip(), check.grad_rel.max(), check.hess_rel.max(),
                         int(check.n_checked.sum()), check.ok(rtol=1e-6, atol=1e-7)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gbobjectives", description=__doc__)
    parser.add_argument("--rows", type=int, default=2000, help="random rows per loss")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = gradient_table(args.rows)
    print("## Gradient and exact-Hessian check (4th-order central differences, weighted rows)\n")
    print("| loss | worst rel. error, gradient | worst rel. error, Hessian | elements checked | ok |")
    print("|---|---|---|---|---|")
    for label, g, h, n, ok in rows:
        print(f"| {label} | {g:.1e} | {h:.1e} | {n} | {'yes' if ok else 'NO'} |")
    print(f"\n({time.perf_counter() - t0:.1f} s including Numba compilation)")
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
