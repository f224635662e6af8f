"""What every benchmark script shares: its argument parser (``parser_for``), and what it does
with its result (``save``: the markdown table, and a plot, under benchmarks/results/; smoke runs
beside the real ones, ``*_smoke.*``, git-ignored)."""

import argparse
import pathlib

RESULTS = pathlib.Path(__file__).parent / "results"


def parser_for(doc, smoke_help="tiny sizes (CI)"):
    """The argument parser every benchmark starts from: the first line of its docstring as the
    description, and ``--smoke`` (the small run CI makes, written beside the real results)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help=smoke_help)
    parser.add_argument(
        "--tag", default=None, help="write results/<stem>_<tag>.md beside the usual file (e.g. another XGBoost)"
    )
    return parser


def versions():
    """The versions of the libraries a result was measured with, as one line."""
    import importlib.metadata as metadata

    found = []
    for package in ("xgboost", "lightgbm", "scikit-learn", "numpy", "numba"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def save(stem, smoke, title, text, plot=None, tag=None):
    """Write ``results/<stem>.md`` (``<stem>_<tag>.md`` with a tag, ``..._smoke.md`` for a smoke
    run) with ``title`` over ``text`` and the libraries' versions under it; ``plot(path)``, if
    given, draws the ``.png`` beside it."""
    RESULTS.mkdir(exist_ok=True)
    name = "_".join([stem, *([tag] if tag else []), *(["smoke"] if smoke else [])])
    md, png = RESULTS / f"{name}.md", RESULTS / f"{name}.png"  # (a tag may hold dots: "xgboost-3.4")
    md.write_text(f"# {title}\n\n{text.rstrip()}\n\nMeasured with {versions()}.\n")
    written = [md]
    if plot is not None:
        plot(png)
        written.append(png)
    print("wrote", ", ".join(str(p) for p in written))


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
