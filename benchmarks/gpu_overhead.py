"""Where the time of one GPU-path objective call goes (n rows, float32 margins from the host,
as XGBoost hands them over). ``python -m benchmarks.gpu_overhead [n]``; needs a CUDA GPU."""

import sys
import time

import numpy as np
from numba import cuda

import gbobjectives as gb
from gbobjectives.kernels import cuda as gcu


def timed(label, fn, reps=50):
    fn()
    cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    cuda.synchronize()
    print(f"{label:45s} {1e3 * (time.perf_counter() - t) / reps:8.3f} ms")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    y = rng.normal(size=n).astype(np.float32)
    predt = rng.normal(size=n).astype(np.float32)
    dy, dp = cuda.to_device(y), cuda.to_device(predt)
    loss = gb.Huber(1.0)
    timed("upload predt (pageable H2D)", lambda: cuda.to_device(predt))
    timed("count_bad(labels) (validation)", lambda: gcu.count_bad(dy, 0))
    timed("2 device_array outputs", lambda: (cuda.device_array(n, np.float32), cuda.device_array(n, np.float32)))
    timed("to_device of a (1, 3) params array", lambda: cuda.to_device(np.zeros((1, 3))))
    timed("loss.grad_hess(device y, device predt)", lambda: loss.grad_hess(dy, dp))
    timed("full: upload + grad_hess", lambda: loss.grad_hess(dy, cuda.to_device(predt)))
    timed("CPU path: loss.grad_hess(host)", lambda: loss.grad_hess(y, predt), reps=10)


if __name__ == "__main__":
    main()
