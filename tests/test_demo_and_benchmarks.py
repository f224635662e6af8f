"""The demo and every benchmark script run end to end in smoke mode, so they cannot rot."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "gbobjectives", "--rows", "300", "--rounds", "5"],
        ["-m", "benchmarks.hessian_choice", "--smoke"],
        ["-m", "benchmarks.gpu", "--smoke"],
        ["-m", "benchmarks.scale_rule", "--smoke"],
        ["-m", "benchmarks.kernels", "--smoke"],
        ["-m", "benchmarks.end_to_end", "--smoke"],
        ["-m", "benchmarks.kernel_threads", "--smoke"],
        ["-m", "benchmarks.cold_start", "--smoke"],
        ["-m", "benchmarks.cold_start", "--fits", "--smoke"],
        ["-m", "benchmarks.memory", "--smoke"],
        ["-m", "benchmarks.reused_outputs", "--smoke"],
        ["-m", "benchmarks.quality", "--smoke"],
        ["-m", "benchmarks.time_to_quality", "--smoke"],
        ["-m", "benchmarks.renewal_cost", "--smoke"],
        ["-m", "benchmarks.scale_out", "--smoke"],
    ],
    ids=[
        "demo",
        "hessian_choice",
        "gpu",
        "scale_rule",
        "kernels",
        "end_to_end",
        "kernel_threads",
        "cold_start",
        "cold_start_fits",
        "memory",
        "reused_outputs",
        "quality",
        "time_to_quality",
        "renewal_cost",
        "scale_out",
    ],
)
def test_runs(args):
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) >= (2 if "--fits" in args else 4), out.stdout  # a header and its rows
    if args[1] == "gbobjectives":
        assert "| NO |" not in out.stdout  # every gradient check passed
