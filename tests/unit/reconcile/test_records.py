"""Reconciliations are records: listed, deleted, the latest per report is what the
`discrepancies` view counts, and deleting a report deletes them (issue 19, item 11)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from recon.api import Recon
from recon.core.errors import BadInputError, NotFoundError
from recon.reports.model import ReportRequest
from tests.conftest import run

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}


def _vendor(rc: Recon, report_id: str, path: Path, quantity: str | None = None) -> Path:
    """Our own CSV as a vendor file; `quantity` replaces the first row's QUANTITY."""
    lines = Path(rc.get_report(report_id).csv_path or "").read_text().splitlines()
    if quantity is not None:
        cells = lines[1].split(",")
        cells[lines[0].split(",").index("QUANTITY")] = quantity
        lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def two_runs(rc, tmp_path):
    """A PARTNER report reconciled twice: first with a one-row difference, then matching."""
    report = rc.create_report(ReportRequest(type="PARTNER", **OCT))
    differs = rc.reconcile(report.id, _vendor(rc, report.id, tmp_path / "a.csv", "1.000000"))
    matches = rc.reconcile(report.id, _vendor(rc, report.id, tmp_path / "b.csv"))
    return report, differs, matches


def test_the_discrepancies_view_counts_only_the_latest_run_per_report(rc, two_runs, tmp_path):
    report, differs, matches = two_runs
    listed = rc.list_reconciliations()
    assert [(r.id, r.latest, r.discrepancies) for r in listed] == [
        (differs.id, False, 1),
        (matches.id, True, 0),
    ]
    assert rc.sql("SELECT class, count(*) FROM discrepancies GROUP BY class").rows() == []
    assert rc.sql("SELECT count(*) FROM all_discrepancies").rows() == [(1,)]
    latest = rc.sql("SELECT id, report_id FROM latest_reconciliations").rows()
    assert latest == [(matches.id, report.id)]

    # The same comparison again replaces its own record and becomes the latest.
    again = rc.reconcile(report.id, _vendor(rc, report.id, tmp_path / "a.csv", "1.000000"))
    assert again.id == differs.id
    assert rc.sql("SELECT class, count(*) FROM discrepancies GROUP BY class").rows() == [
        ("OVER_BILLED", 1)
    ]
    assert [r.id for r in rc.list_reconciliations(latest=True)] == [differs.id]


def test_list_filters_by_report_and_type(rc, two_runs):
    report, differs, matches = two_runs
    assert [r.id for r in rc.list_reconciliations(report_id=report.id)] == [differs.id, matches.id]
    assert [r.id for r in rc.list_reconciliations(report_type="partner")] == [
        differs.id,
        matches.id,
    ]
    assert rc.list_reconciliations(report_type="USER") == []
    assert rc.list_reconciliations(report_id="rpt-nope") == []
    record = rc.list_reconciliations(latest=True)[0].as_json()
    assert {k: record[k] for k in ("reportId", "type", "discrepancies", "latest")} == {
        "reportId": report.id,
        "type": "PARTNER",
        "discrepancies": 0,
        "latest": True,
    }
    assert record["discrepancyFile"] == str(
        rc.home / "reconciliations" / matches.id / "discrepancies.csv"
    )


def test_deleting_a_reconciliation_removes_its_rows_and_files(rc, two_runs):
    _, differs, matches = two_runs
    deleted = rc.delete_reconciliation(differs.id)
    assert deleted.id == differs.id
    assert not (rc.home / "reconciliations" / differs.id).exists()
    assert (rc.home / "reconciliations" / matches.id / "summary.json").exists()
    assert [r.id for r in rc.list_reconciliations()] == [matches.id]
    assert rc.sql("SELECT count(*) FROM all_discrepancies").rows() == [(0,)]
    with pytest.raises(NotFoundError, match="no reconciliation with id"):
        rc.delete_reconciliation(differs.id)


def test_deleting_a_report_deletes_its_reconciliations(rc, two_runs):
    report, differs, matches = two_runs
    other = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    kept = rc.reconcile(other.id, _vendor(rc, other.id, rc.home.parent / "c.csv"))
    rc.delete_report(report.id)
    assert [r.id for r in rc.list_reconciliations()] == [kept.id]
    assert not (rc.home / "reconciliations" / differs.id).exists()
    assert not (rc.home / "reconciliations" / matches.id).exists()
    assert rc.sql("SELECT count(*) FROM all_discrepancies").rows() == [(0,)]
    assert rc.sql("SELECT count(*) FROM reconciliations").rows() == [(1,)]


def test_reconcile_list_and_delete_on_the_command_line(rc, two_runs, tmp_path):
    report, differs, matches = two_runs
    listed = run(rc.home, "reconcile", "list", "--report", report.id, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)["items"]] == [differs.id, matches.id]
    typed = run(rc.home, "reconcile", "list", "--type", "USER", "--json")
    assert json.loads(typed.stdout) == {"items": []}
    table = run(rc.home, "reconcile", "list")
    assert differs.id in table.stdout and matches.id in table.stdout

    deleted = run(rc.home, "reconcile", "delete", differs.id)
    assert deleted.returncode == 0, deleted.stderr
    assert f"deleted reconciliation {differs.id}" in deleted.stdout
    missing = run(rc.home, "reconcile", "delete", differs.id)
    assert missing.returncode == 2
    assert "no reconciliation with id" in missing.stderr

    # The old form still compares.
    vendor = _vendor(rc, report.id, tmp_path / "again.csv")
    compared = run(rc.home, "reconcile", "--report", report.id, "--vendor", str(vendor))
    assert compared.returncode == 0, compared.stderr
    assert run(rc.home, "reconcile", "--report", report.id).returncode == 2


def test_an_unknown_type_filter_is_refused(rc):
    with pytest.raises(BadInputError, match="is not a report type"):
        rc.list_reconciliations(report_type="FOO")
