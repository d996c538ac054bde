"""Run the notebooks papermill-style, for `make notebook` and the test suite.

Parameters are injected after the cell tagged `parameters`, the notebook runs with nbclient,
and it can be written as HTML.

    python notebooks/execute.py [--html-dir DIR] [--figures-dir DIR] [NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ["monthly_reconciliation.ipynb", "proration_rules.ipynb"]


def with_parameters(
    notebook: nbformat.NotebookNode, parameters: dict[str, Any]
) -> nbformat.NotebookNode:
    """A copy of the notebook with an `injected-parameters` cell after its `parameters` cell."""
    copy = deepcopy(notebook)
    index = next(
        (
            i
            for i, cell in enumerate(copy.cells)
            if "parameters" in cell.get("metadata", {}).get("tags", [])
        ),
        None,
    )
    if index is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    copy.cells.insert(index + 1, cell)
    return copy


def execute(path: Path, parameters: dict[str, Any], timeout: int = 600) -> nbformat.NotebookNode:
    """Execute a notebook in its own folder; raises on the first failing cell."""
    notebook = with_parameters(nbformat.read(path, as_version=4), parameters)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return notebook


def to_html(notebook: nbformat.NotebookNode, target: Path) -> Path:
    """Write an executed notebook as standalone HTML."""
    from nbconvert import HTMLExporter  # noqa: PLC0415 - only `make notebook` needs it

    body, _ = HTMLExporter().from_notebook_node(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    """Execute both notebooks on the bundled sample and write HTML."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--html-dir", type=Path, default=HERE.parent / "build" / "notebooks")
    parser.add_argument("--figures-dir", type=Path, default=None)
    parser.add_argument("params", nargs="*", help="NAME=VALUE parameters for the monthly notebook")
    args = parser.parse_args(argv)
    overrides = dict(p.split("=", 1) for p in args.params)
    for name in NOTEBOOKS:
        parameters: dict[str, Any] = {}
        if args.figures_dir is not None:
            parameters["figures_dir"] = str(args.figures_dir.resolve())
        if name == "monthly_reconciliation.ipynb":
            parameters.update(overrides)
        executed = execute(HERE / name, parameters)
        written = to_html(executed, args.html_dir / name.replace(".ipynb", ".html"))
        print(f"executed {name} -> {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
