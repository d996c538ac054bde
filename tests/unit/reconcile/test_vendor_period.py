"""A vendor file of another period is refused, never reconciled as a match (issue 19, item 4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recon.reconcile.vendor import IncomparableError
from recon.reports.model import ReportRequest
from tests.conftest import FROZEN_NOW, RECON, REPO, SAMPLE

VENDOR_USER = REPO / "data" / "vendor" / "vendor-USER-2026-10.csv"


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


def in_september(line: str) -> str:
    """A vendor row with every consumption date moved from October to September."""
    return line.replace("2026-10-31", "2026-09-30").replace("2026-10-", "2026-09-")


@pytest.fixture(scope="module")
def october(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("period") / "home"
    assert run(home, "ingest", str(SAMPLE), "--json").returncode == 0
    created = run(
        home, "report", "create", "--type", "USER", "--start", "2026-10-01", "--end", "2026-10-31"
    )
    assert created.returncode == 0, created.stderr
    listed = json.loads(run(home, "report", "list", "--type", "USER", "--json").stdout)
    return home, listed["items"][0]["id"]


def test_the_october_file_reconciles(october):
    home, report_id = october
    done = run(home, "reconcile", "--report", report_id, "--vendor", str(VENDOR_USER))
    assert done.returncode == 1, done.stderr
    assert "MATCH 3,536, OVER_BILLED 4, UNDER_BILLED 8" in done.stdout


def test_a_september_file_against_october_is_refused(october, tmp_path):
    home, report_id = october
    september = tmp_path / "vendor-usage.csv"
    september.write_text(in_september(VENDOR_USER.read_text()))
    done = run(home, "reconcile", "--report", report_id, "--vendor", str(september), "--json")
    assert done.returncode == 2  # was 1 with "MATCH 3,536": every key matched, dates unread
    assert done.stdout == ""
    assert (
        f"error: vendor file {september} covers 2026-09-01..2026-09-30, but USER report "
        f"{report_id} is 2026-10-01..2026-10-31: no row of the file is in the report's period"
    ) in done.stderr


def test_some_rows_of_another_period_refuse_the_file_naming_how_many(october, tmp_path):
    home, report_id = october
    lines = VENDOR_USER.read_text().splitlines(keepends=True)
    mixed = tmp_path / "mixed.csv"
    # Data rows 4..48 (45 rows) moved to September; the other 3,523 stay in October.
    mixed.write_text("".join(lines[:4] + [in_september(x) for x in lines[4:49]] + lines[49:]))
    done = run(home, "reconcile", "--report", report_id, "--vendor", str(mixed))
    assert done.returncode == 2
    assert (
        f"error: vendor file {mixed} has 45 of 3,568 rows outside USER report {report_id}'s "
        "period 2026-10-01..2026-10-31 (e.g. row 4: 2026-09-"
    ) in done.stderr


def test_the_monthly_run_refuses_a_file_of_another_period(october, tmp_path):
    home, _ = october
    folder = tmp_path / "vendor"
    folder.mkdir()
    (folder / "usage.csv").write_text(in_september(VENDOR_USER.read_text()))  # no month in name
    shutil.copy(REPO / "data" / "vendor" / "vendor-PARTNER-2026-10.csv", folder)
    done = run(home, "run", "--month", "2026-10", "--vendor-dir", str(folder), "--json")
    assert done.returncode == 2
    summary = json.loads(done.stdout)
    user = next(r for r in summary["reports"] if r["type"] == "USER")
    assert user["reconciliation"] is None
    assert "covers 2026-09-01..2026-09-30, but USER report" in user["error"]


def test_a_point_in_time_file_of_another_day_is_refused(rc, tmp_path):
    report = rc.create_report(
        ReportRequest(
            type="CUSTOMER", category="POINT_IN_TIME", as_of=datetime(2026, 10, 10, 6, tzinfo=UTC)
        )
    )
    text = Path(report.csv_path or "").read_text()
    assert "2026-10-10T06:00:00" in text
    vendor = tmp_path / "vendor.csv"
    vendor.write_text(text.replace("2026-10-10T06:00:00", "2026-09-10T06:00:00"))
    with pytest.raises(
        IncomparableError,
        match=rf"covers REPORT_DATE 2026-09-10, but CUSTOMER report {report.id} is as of "
        r"2026-10-10 \(UTC\)",
    ):
        rc.reconcile(report.id, vendor)
    assert rc.reconcile(report.id, Path(report.csv_path or "")).exit_code == 0
