"""Start-up: a command loads only what it uses (`recon --help` and `report get` stay quick).

Measured by what a real `recon` process imports, not by a clock: Polars, PyArrow and Pandera
are the heavy modules (together about half a second to import), and neither reading the
help nor reading one report's status needs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLI_IN_PROCESS, FROZEN_NOW, SAMPLE

# Runs the CLI's entry point in this process, then lists the heavy modules it loaded.
PROBE = (
    CLI_IN_PROCESS
    + """
import json
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"polars", "pyarrow", "pandera"})
print("\\nLOADED " + json.dumps(heavy))
"""
)


def _loaded(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        check=False,
        env={"RECON_NOW": FROZEN_NOW, "PATH": "/usr/bin:/bin"},
    )
    line = done.stdout.rsplit("LOADED ", 1)[-1]
    return list(json.loads(line))


def test_help_loads_no_engine():
    assert _loaded("--help") == []


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from datetime import date

    from recon.api import Recon
    from recon.reports.model import ReportRequest

    home = tmp_path_factory.mktemp("startup") / "home"
    rc = Recon(home)
    rc.ingest([SAMPLE])
    report = rc.create_report(
        ReportRequest(type="PARTNER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    return home, report.id


def test_report_get_and_list_load_no_engine(built_home):
    home, report_id = built_home
    assert _loaded("--home", str(home), "report", "get", report_id, "--json") == []
    assert _loaded("--home", str(home), "report", "list") == []


def test_the_probe_sees_a_command_that_does_load_the_engine(built_home):
    home, _ = built_home  # SQL results are Polars frames
    assert "polars" in _loaded("--home", str(home), "sql", "SELECT 1 AS one")
