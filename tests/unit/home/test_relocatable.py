"""A home is relocatable: copied, moved or restored, it reads its own files and never touches
another home's (issue 19, item 1)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from recon.api import Recon
from recon.reports.model import ReportRequest
from tests.conftest import run

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}
TYPES = ("PARTNER", "CUSTOMER", "LOCATION", "USER")


def _cp_a(source: Path, target: Path) -> None:
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def _vendor_folder(rc: Recon, folder: Path) -> Path:
    """Every October report type, its own CSV as the vendor's (so everything matches)."""
    folder.mkdir()
    for report_type in TYPES:
        report = rc.create_report(ReportRequest(type=report_type, **OCT))
        assert report.status == "COMPLETED"
        text = Path(report.csv_path or "").read_text()
        (folder / f"vendor-{report_type}-2026-10.csv").write_text(text)
    return folder


def test_deleting_a_report_in_a_copy_leaves_the_original_intact(rc, tmp_path):
    original = rc.home
    report = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    vendor = tmp_path / "vendor.csv"
    vendor.write_text(Path(report.csv_path or "").read_text())
    reconciled = rc.reconcile(report.id, vendor)
    copy = tmp_path / "copy"
    _cp_a(original, copy)

    shown = json.loads(run(copy, "report", "get", report.id, "--json").stdout)
    assert shown["csvPath"] == str(copy / "reports" / f"{report.id}.csv")
    deleted = run(copy, "report", "delete", report.id)
    assert deleted.returncode == 0, deleted.stderr

    assert not (copy / "reports" / f"{report.id}.csv").exists()
    assert not (copy / "reconciliations" / reconciled.id).exists()
    assert (original / "reports" / f"{report.id}.csv").exists()
    assert (original / "reports" / f"{report.id}.parquet").exists()
    assert (original / "reconciliations" / reconciled.id / "discrepancies.csv").exists()
    assert Recon(original).get_report(report.id).status == "COMPLETED"
    again = run(original, "reconcile", "--report", report.id, "--vendor", str(vendor))
    assert again.returncode == 0, again.stderr
    assert "MATCH 5" in again.stdout


def test_a_moved_home_reconciles_and_runs(rc, tmp_path):
    vendor_dir = _vendor_folder(rc, tmp_path / "vendor")
    customer = rc.list_reports(report_type="CUSTOMER")[0]
    first = run(rc.home, "run", "--month", "2026-10", "--vendor-dir", str(vendor_dir))
    assert first.returncode == 0, first.stdout + first.stderr
    moved = tmp_path / "moved"
    rc.home.rename(moved)

    reconciled = run(
        moved,
        "reconcile",
        "--report",
        customer.id,
        "--vendor",
        str(vendor_dir / "vendor-CUSTOMER-2026-10.csv"),
    )
    assert reconciled.returncode == 0, reconciled.stderr
    again = run(moved, "run", "--month", "2026-10", "--vendor-dir", str(vendor_dir), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert [r["csvPath"] for r in summary["reports"]] == [
        str(moved / "reports" / f"{r['reportId']}.csv") for r in summary["reports"]
    ]
    assert [r["reconciliation"]["discrepancies"] for r in summary["reports"]] == [0, 0, 0, 0]
    assert [r["reused"] for r in summary["reports"]] == [True, True, True, True]


def test_regenerating_in_a_copy_leaves_the_original_csvs(rc, tmp_path):
    _vendor_folder(rc, tmp_path / "vendor")
    originals = {p.name: p.read_text() for p in (rc.home / "reports").glob("*.csv")}
    assert len(originals) == 4
    copy = tmp_path / "copy"
    _cp_a(rc.home, copy)

    regenerated = run(copy, "run", "--month", "2026-10", "--regenerate", "--json")
    assert regenerated.returncode != 3, regenerated.stderr
    assert len(json.loads(regenerated.stdout)["reports"]) == 4

    assert {p.name: p.read_text() for p in (rc.home / "reports").glob("*.csv")} == originals
    assert [r.status for r in Recon(rc.home).list_reports()] == ["COMPLETED"] * 4
    assert not {p.name for p in (copy / "reports").glob("*.csv")} & set(originals)


@pytest.fixture
def old_home(rc, tmp_path):
    """A home as an earlier version left it, copied from elsewhere: absolute paths that point
    outside it (at decoy files), and every run's rows in a `discrepancies` table."""
    report = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    vendor = tmp_path / "vendor.csv"
    vendor.write_text(Path(report.csv_path or "").read_text())
    reconciled = rc.reconcile(report.id, vendor, tolerance="0")
    decoys = tmp_path / "elsewhere"
    (decoys / "reports").mkdir(parents=True)
    (decoys / "reconciliations" / reconciled.id).mkdir(parents=True)
    decoy_csv = decoys / "reports" / f"{report.id}.csv"
    decoy_csv.write_text("not yours\n")
    decoy_rec = decoys / "reconciliations" / reconciled.id / "discrepancies.csv"
    decoy_rec.write_text("not yours\n")
    con = duckdb.connect(str(rc.home / "recon.duckdb"))
    con.execute("DROP VIEW discrepancies")
    con.execute("DROP VIEW latest_reconciliations")
    con.execute("ALTER TABLE all_discrepancies RENAME TO discrepancies")
    con.execute("UPDATE reports SET csv_path = ?", [str(decoy_csv)])
    con.execute("UPDATE reconciliations SET discrepancy_file = ?", [str(decoy_rec)])
    con.close()
    return rc.home, report.id, reconciled.id, decoy_csv, decoy_rec


def test_an_old_home_is_migrated_and_never_follows_an_absolute_path(old_home):
    home, report_id, rec_id, decoy_csv, decoy_rec = old_home
    opened = Recon(home)

    assert opened.get_report(report_id).csv_path == str(home / "reports" / f"{report_id}.csv")
    assert opened.columns.reset() == []  # any writer migrates the store
    stored = opened.sql("SELECT csv_path FROM reports").rows()
    assert stored == [(f"reports/{report_id}.csv",)]
    stored = opened.sql("SELECT discrepancy_file FROM reconciliations").rows()
    assert stored == [(f"reconciliations/{rec_id}/discrepancies.csv",)]
    assert opened.sql("SELECT count(*) FROM all_discrepancies").rows() == [(0,)]

    opened.delete_report(report_id)
    assert decoy_csv.read_text() == "not yours\n"
    assert decoy_rec.read_text() == "not yours\n"
    assert not (home / "reports" / f"{report_id}.csv").exists()
    assert not (home / "reconciliations" / rec_id).exists()


def test_a_reader_of_a_copied_home_reads_the_copys_files_only(rc, tmp_path):
    """The store's views name files by path; a reader of a copy (here read-only, so nothing
    re-points them) must read the copy's lake and report rows, never the original's."""
    report = rc.create_report(ReportRequest(type="USER", **OCT))
    assert report.status == "COMPLETED"
    copy = tmp_path / "copy"
    _cp_a(rc.home, copy)
    moved = tmp_path / "original-moved-away"
    rc.home.rename(moved)  # the original's paths no longer exist
    subprocess.run(["chmod", "-R", "a-w", str(copy)], check=True)
    try:
        events = run(copy, "sql", "SELECT count(*) AS n FROM events", "--format", "csv")
        assert events.returncode == 0, events.stderr
        assert events.stdout.splitlines() == ["n", "7"]
        rows = run(
            copy,
            "sql",
            f"SELECT count(*) AS n FROM report_rows WHERE report_id = '{report.id}'",
            "--format",
            "csv",
        )
        assert rows.returncode == 0, rows.stderr
        assert rows.stdout.splitlines() == ["n", "5"]
        lines = run(copy, "sql", "SELECT count(*) AS n FROM report_lines", "--format", "csv")
        assert lines.returncode == 0, lines.stderr
        assert lines.stdout.splitlines() == ["n", "5"]
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)
