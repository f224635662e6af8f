"""Registry, package layout and import-time behaviour."""

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import CASES

import gbobjectives as gb

PKG = pathlib.Path(gb.__file__).parent


def test_every_registered_loss_has_test_cases():
    assert set(CASES) == set(gb.LOSSES)


@pytest.mark.parametrize("name", sorted(gb.LOSSES))
def test_get_loss_builds_each(name):
    loss = gb.get_loss(name)
    assert isinstance(loss, gb.Loss) and loss.name == name
    assert gb.get_loss(loss) is loss
    assert loss.with_hessian("exact").hessian == "exact"
    assert eval(repr(loss), vars(gb)) == loss  # noqa: S307 - repr round-trips


def test_aliases_and_class_balanced_base_by_name():
    assert isinstance(gb.get_loss("pinball", alpha=0.2), gb.Quantile)
    cb = gb.get_loss("class_balanced", base="focal", beta=0.9)
    assert isinstance(cb.base, gb.Focal) and cb.base.gamma == 2.0


# which package modules each layer may import (gbobjectives/__init__.py: imports point one way)
LAYERS = {
    "kernels": set(),
    "losses": {"kernels"},
    "checking": set(),
    "_training": {"losses"},  # the training plan and the adapters' callables
    "_renewal": {"losses", "kernels"},  # kernels: the CPU loops of leaf renewal (rows to leaves, corrections)
    "xgboost": {"losses", "_training", "_renewal", "kernels"},  # kernels: device arrays for the GPU path
    "lightgbm": {"losses", "_training", "_renewal"},
    "_frames": set(),  # the estimators' data frames
    "sklearn": {"losses", "_training", "xgboost", "lightgbm", "_frames"},  # estimators on the adapters
}


def _imports(path):
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            parts = path.relative_to(PKG).parts
            base = list(parts[: len(parts) - node.level])
            target = base + (node.module.split(".") if node.module else [])
            found.add(target[0] if target else (node.names[0].name))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gbobjectives"):
            found.add(node.module.split(".")[1])
    return found


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layers_import_only_upwards(layer):
    files = list((PKG / layer).rglob("*.py")) if (PKG / layer).is_dir() else [PKG / f"{layer}.py"]
    for f in files:
        own = {layer}
        bad = _imports(f) - LAYERS[layer] - own
        assert not bad, f"{f.relative_to(PKG)} imports {bad}"


def test_import_compiles_nothing_and_skips_cuda():
    code = (
        "import sys, gbobjectives\n"
        "from gbobjectives.kernels import cpu\n"
        "assert 'numba.cuda' not in sys.modules, 'cuda imported'\n"
        "assert 'sklearn' not in sys.modules, 'scikit-learn imported (estimators load on first use)'\n"
        "assert all(not f.signatures for f in [*cpu.PARALLEL.values(), *cpu.SERIAL.values()]), 'compiled'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_inverse_links():
    raw = np.array([-800.0, 0.0, 3.0, 800.0])
    p = gb.Focal().inverse_link(raw)
    np.testing.assert_allclose(p, [0.0, 0.5, 1 / (1 + np.exp(-3.0)), 1.0])
    P = gb.CrossEntropy().inverse_link(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    np.testing.assert_allclose(P, [[0.5, 0.5], [1.0, 0.0]])
    assert gb.Huber().inverse_link(raw) is not None and np.all(gb.Huber().inverse_link(raw) == raw)


def test_lint_clean():
    """ruff (with B015: comparisons that assert nothing) over the package, tests, benchmarks, notebooks."""
    ruff = pytest.importorskip("ruff")
    root = PKG.parent
    cmd = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--extend-select",
        "B015",
        "gbobjectives",
        "tests",
        "benchmarks",
        "notebooks",
    ]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    assert ruff and out.returncode == 0, out.stdout[-3000:]


def test_version_is_written_once():
    """The installed metadata reads the version from gbobjectives.__version__ (pyproject's
    dynamic version); the wheel ships py.typed and the license."""
    from importlib.metadata import metadata, version

    assert version("gbobjectives") == gb.__version__
    assert metadata("gbobjectives")["License-Expression"] == "MIT"
    assert (PKG / "py.typed").exists()
