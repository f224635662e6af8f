"""The README's quick start runs as printed, and says what it prints."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def quick_start():
    text = (ROOT / "README.md").read_text()
    section = text.split("[start:quickstart]", 1)[1].split("[end:quickstart]", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_quick_start_runs_and_its_claims_hold():
    code = quick_start()
    assert len(code.splitlines()) <= 30
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    mae = dict(re.findall(r"^(.+?) test MAE: ([\d.]+)$", out.stdout, re.M))
    assert float(mae["gbobjectives cauchy"]) < float(mae["LightGBM l1"])
    coverage = float(re.search(r"interval coverage: ([\d.]+)", out.stdout).group(1))
    assert 0.85 <= coverage <= 0.95
    p, share = map(float, re.search(r"mean P\(class 1\): ([\d.]+) class share: ([\d.]+)", out.stdout).groups())
    assert abs(p - share) <= 0.01
    # the figures the README quotes are the ones it prints (within 2%: thread counts and
    # library versions move the last digit)
    readme = (ROOT / "README.md").read_text()
    quoted = re.search(r"test MAE of ([\d.]+) for LightGBM's `l1` and ([\d.]+) for Cauchy", readme).groups()
    for q, got in zip(quoted, (mae["LightGBM l1"], mae["gbobjectives cauchy"]), strict=True):
        assert abs(float(q) / float(got) - 1) < 0.02, (q, got)
