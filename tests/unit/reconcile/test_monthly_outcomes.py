"""`recon run` never succeeds when it did nothing (issue 19, item 3).

A missing --logs path is exit 2 before any report is built; a run with no vendor file to compare
has its own outcome, NOTHING_COMPARED, exit 4; a partial vendor folder exits on what was
compared and lists the types that were not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FROZEN_NOW, RECON, REPO, SAMPLE

VENDOR = REPO / "data" / "vendor"
ALL_TYPES = ["PARTNER", "CUSTOMER", "LOCATION", "USER"]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [RECON, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RECON_NOW": FROZEN_NOW},
        check=False,
        timeout=300,
    )
    done.stderr = " ".join(done.stderr.split())  # as one line, however the console wrapped it
    return done


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run-outcomes") / "home"
    done = run(folder, "ingest", str(SAMPLE), "--json")
    assert done.returncode == 0, done.stderr
    return folder


def test_a_missing_logs_path_is_exit_2_before_any_report_is_built(tmp_path):
    home = tmp_path / "home"
    assert run(home, "ingest", str(SAMPLE), "--json").returncode == 0
    missing = tmp_path / "no-such-folder"
    assert run(home, "ingest", str(missing)).returncode == 2  # as recon ingest says

    done = run(home, "run", "--month", "2026-10", "--logs", str(missing), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert (
        f"error: log path {missing} does not exist (no such file or folder); "
        "nothing was ingested and no report was built"
    ) in done.stderr
    listed = json.loads(run(home, "report", "list", "--json").stdout)
    assert listed["items"] == []

    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run(home, "run", "--month", "2026-10", "--logs", str(empty))
    assert nothing.returncode == 2
    assert "error: no log files found in the --logs paths; no report was built" in nothing.stderr
    assert json.loads(run(home, "report", "list", "--json").stdout)["items"] == []


def test_no_vendor_files_is_nothing_compared_exit_4(home, tmp_path):
    done = run(home, "run", "--month", "2026-10", "--json")
    assert done.returncode == 4, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["outcome"], summary["exitCode"]) == ("NOTHING_COMPARED", 4)
    assert summary["notCompared"] == ALL_TYPES
    assert [r["reportStatus"] for r in summary["reports"]] == ["COMPLETED"] * 4

    # A vendor folder with no file of this month is the same: nothing was compared.
    other = tmp_path / "vendor"
    other.mkdir()
    shutil.copy(VENDOR / "vendor-USER-2026-10.csv", other / "vendor-USER-2026-09.csv")
    printed = run(home, "run", "--month", "2026-10", "--vendor-dir", str(other))
    assert printed.returncode == 4
    assert "outcome: NOTHING_COMPARED (exit 4)" in printed.stdout
    assert (
        "nothing to compare: PARTNER, CUSTOMER, LOCATION, USER: no vendor file for 2026-10; "
        "the reports were built, nothing was reconciled"
    ) in printed.stderr


def test_a_partial_vendor_folder_exits_on_what_was_compared(home, tmp_path):
    only_user = tmp_path / "only-user"
    only_user.mkdir()
    shutil.copy(VENDOR / "vendor-USER-2026-10.csv", only_user)
    done = run(home, "run", "--month", "2026-10", "--vendor-dir", str(only_user), "--json")
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["outcome"], summary["notCompared"]) == (
        "DISCREPANCIES",
        ["PARTNER", "CUSTOMER", "LOCATION"],
    )

    # Our own USER report as the vendor's file: what was compared matches, so exit 0, and the
    # types that were not compared are still named.
    ours = next(r for r in summary["reports"] if r["type"] == "USER")["csvPath"]
    matching = tmp_path / "matching"
    matching.mkdir()
    shutil.copy(home / ours if not Path(ours).is_absolute() else ours, matching / "user.csv")
    printed = run(home, "run", "--month", "2026-10", "--vendor-dir", str(matching))
    assert printed.returncode == 0, printed.stderr
    assert "outcome: ALL_MATCH (exit 0)" in printed.stdout
    assert "not compared: PARTNER, CUSTOMER, LOCATION: no vendor file for 2026-10" in (
        printed.stderr
    )
