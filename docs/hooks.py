"""MkDocs hook: the executed notebooks of ``notebooks/`` become gallery pages at build time
(markdown cells as they are, code cells fenced, text outputs fenced, figures embedded), so the
gallery always shows the committed notebooks and their outputs, with nothing copied by hand."""

import pathlib

import nbformat
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _page(path):
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        elif cell.cell_type == "code":
            parts.append(f"```python\n{cell.source}\n```")
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "image/png" in data:
                    parts.append(f'<img alt="figure" src="data:image/png;base64,{data["image/png"].strip()}">')
                elif "text/html" in data:
                    parts.append(f'<div class="nb-output">{data["text/html"]}</div>')
                elif "text/plain" in data:
                    parts.append(f"```text\n{data['text/plain']}\n```")
                elif out.get("output_type") == "stream":
                    parts.append(f"```text\n{out['text'].rstrip()}\n```")
    return "\n\n".join(parts) + "\n"


def on_files(files, config):
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(File.generated(config, f"gallery/{path.stem}.md", content=_page(path)))
    return files


def on_config(config):
    nav = config["nav"]
    stems = [p.stem for p in sorted(NOTEBOOKS.glob("*.ipynb"))]
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and "Gallery" in entry:
            nav[i] = {"Gallery": ["gallery/index.md"] + [f"gallery/{s}.md" for s in stems]}
    return config
