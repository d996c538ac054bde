"""The notebooks run in the test suite so they never rot, and their charts are real images."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import matplotlib.image
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebook_runner", NOTEBOOKS / "execute.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_images(folder: Path, names: set[str]) -> None:
    written = {p.stem for p in folder.glob("*.png")}
    assert names <= written, f"missing charts: {names - written}"
    for name in names:
        data = (folder / f"{name}.png").read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        pixels = matplotlib.image.imread(folder / f"{name}.png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert pixels.std() > 0.01  # not a blank canvas


def _errors(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        output.get("ename", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


@pytest.mark.parametrize("name", ["monthly_reconciliation.ipynb", "proration_rules.ipynb"])
def test_committed_notebooks_carry_no_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert any("parameters" in c.metadata.get("tags", []) for c in notebook.cells)


def test_monthly_reconciliation_runs_on_the_sample(tmp_path):
    runner = _runner()
    figures = tmp_path / "figures"
    executed = runner.execute(
        NOTEBOOKS / "monthly_reconciliation.ipynb",
        {
            "home": str(tmp_path / "home"),
            "figures_dir": str(figures),
            "month": "2026-10",
            "tz": "UTC",
        },
    )
    assert _errors(executed) == []
    _assert_images(
        figures,
        {
            "quarantine_reasons",
            "daily_licenses",
            "quantity_by_package",
            "top_customers",
            "discrepancy_classes",
            "delta_by_service",
            "delta_by_customer",
        },
    )
    text = "\n".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in executed.cells
        for o in c.get("outputs", [])
    )
    assert "exit code 1" in text
    html = runner.to_html(executed, tmp_path / "monthly.html")
    assert html.read_text().count("<img") >= 7


def test_proration_rules_runs_and_draws_the_dst_day(tmp_path):
    runner = _runner()
    executed = runner.execute(NOTEBOOKS / "proration_rules.ipynb", {"figures_dir": str(tmp_path)})
    assert _errors(executed) == []
    _assert_images(tmp_path, {"proration_timeline"})
    tables = "\n".join(
        str(o.get("data", {}).get("text/plain", ""))
        for c in executed.cells
        for o in c.get("outputs", [])
    )
    assert "13.0 h of 25.0 h" in tables and "12.0 h of 25.0 h" in tables
    assert "IMPLICIT_PACKAGE_CHANGE" in tables


def test_a_notebook_without_a_parameters_cell_is_refused():
    runner = _runner()
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        runner.with_parameters(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), {"x": 1}
        )
