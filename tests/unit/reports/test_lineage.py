"""Billing rules §8: every report records the lake it came from; late events make it stale."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import duckdb
import pytest

from recon.api import Recon
from recon.core.errors import BadInputError, ConflictError
from recon.reports.model import ReportRequest
from tests.conftest import raw_row

OCTOBER = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))


def _late(write_csv, name: str, **fields: str):
    """A log file of one late ASSIGN for customer C1 (a new user, WEBEX_CALLING)."""
    row = raw_row(event_id=name, user_id=f"late-{name}", location_id="L1", **fields)
    return write_csv(f"{name}.csv", [row])


def _ingest_at(rc: Recon, monkeypatch, instant: str, path) -> str:
    monkeypatch.setenv("RECON_NOW", instant)
    result = rc.ingest([path])
    assert result.accepted == 1
    return result.ingest_id


def _first_ingest(rc: Recon) -> str:
    row = rc.sql("SELECT ingest_id FROM ingests ORDER BY seq LIMIT 1").row(0)
    return str(row[0])


def test_a_report_records_the_lake_version_it_was_computed_from(rc):
    report = rc.create_report(OCTOBER)
    lineage = report.as_json()["lineage"]
    assert lineage == {
        "lakeVersion": 1,
        "lastIngestId": _first_ingest(rc),
        "asKnownOn": None,
        "stale": False,
        "lateEvents": 0,
        "lateSinceIngestId": None,
    }
    assert report.total_quantity == "49.250000"


def test_a_late_event_in_the_period_makes_the_report_stale_and_says_since_when(
    rc, write_csv, monkeypatch
):
    report = rc.create_report(OCTOBER)
    late = _ingest_at(
        rc,
        monkeypatch,
        "2026-11-22T09:00:00Z",
        _late(write_csv, "x1", occurred_at="2026-10-02T00:00:00Z"),
    )
    _ingest_at(
        rc,
        monkeypatch,
        "2026-11-23T09:00:00Z",
        _late(write_csv, "x2", occurred_at="2026-10-31T23:59:59Z"),
    )
    seen = rc.get_report(report.id)
    assert seen.stale
    assert (seen.late_events, seen.late_since_ingest) == (2, late)
    assert seen.total_quantity == "49.250000"  # readable, unchanged, and says it is stale
    listed = {r.id: r for r in rc.list_reports()}
    assert listed[report.id].stale
    assert rc.sql(
        f"SELECT stale, late_events FROM report_lineage WHERE report_id = '{report.id}'"
    ).row(0) == (True, 2)


def test_an_event_after_the_period_leaves_the_report_fresh(rc, write_csv, monkeypatch):
    report = rc.create_report(OCTOBER)
    _ingest_at(
        rc,
        monkeypatch,
        "2026-11-22T09:00:00Z",
        _late(write_csv, "x1", occurred_at="2026-11-01T00:00:00Z"),
    )
    seen = rc.get_report(report.id)
    assert not seen.stale
    assert seen.late_events == 0


def test_the_period_end_is_the_end_of_the_last_day_in_the_billing_zone(rc, write_csv, monkeypatch):
    # Billed in Auckland (UTC+13 in October), Oct 31 ends at 2026-10-31T11:00Z.
    request = ReportRequest(
        type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31), timezone="Pacific/Auckland"
    )
    report = rc.create_report(request)
    _ingest_at(
        rc,
        monkeypatch,
        "2026-11-22T09:00:00Z",
        _late(write_csv, "x1", occurred_at="2026-10-31T11:00:00Z"),
    )
    assert not rc.get_report(report.id).stale
    _ingest_at(
        rc,
        monkeypatch,
        "2026-11-22T10:00:00Z",
        _late(write_csv, "x2", occurred_at="2026-10-31T10:59:59Z"),
    )
    assert rc.get_report(report.id).late_events == 1


@pytest.mark.parametrize(
    ("occurred_at", "stale"),
    [("2026-10-15T00:00:00Z", True), ("2026-10-15T00:00:01Z", False)],
)
def test_a_point_in_time_report_is_stale_for_events_at_or_before_its_instant(
    rc, write_csv, monkeypatch, occurred_at, stale
):
    request = ReportRequest(
        type="USER", category="POINT_IN_TIME", as_of=datetime(2026, 10, 15, tzinfo=UTC)
    )
    report = rc.create_report(request)
    _ingest_at(
        rc, monkeypatch, "2026-11-22T09:00:00Z", _late(write_csv, "x1", occurred_at=occurred_at)
    )
    assert rc.get_report(report.id).stale is stale


def test_as_known_on_reproduces_what_the_logs_said_then(rc, write_csv, monkeypatch):
    late = _late(write_csv, "x1", occurred_at="2026-10-02T00:00:00Z")
    _ingest_at(rc, monkeypatch, "2026-11-25T09:00:00Z", late)
    monkeypatch.setenv("RECON_NOW", "2026-11-26T00:00:00Z")
    now = rc.create_report(OCTOBER)
    then = rc.create_report(
        ReportRequest(
            type="USER",
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
            as_known_on=datetime(2026, 11, 24, tzinfo=UTC),
        )
    )
    assert (now.total_quantity, then.total_quantity) == ("79.250000", "49.250000")
    assert then.as_json()["lineage"]["asKnownOn"] == "2026-11-24T00:00:00.000000Z"
    assert then.lake_seq == 1
    # A later late event makes the current report stale, not the reproduction of the past:
    # it is judged against what had been ingested by its instant.
    _ingest_at(
        rc,
        monkeypatch,
        "2026-11-27T09:00:00Z",
        _late(write_csv, "x2", occurred_at="2026-10-03T00:00:00Z"),
    )
    assert rc.get_report(now.id).stale
    assert not rc.get_report(then.id).stale
    # ... and the same instant asked again conflicts, as the same period does (§6).
    with pytest.raises(ConflictError, match="as known on"):
        rc.create_report(
            ReportRequest(
                type="USER",
                start=date(2026, 10, 1),
                end=date(2026, 10, 31),
                as_known_on=datetime(2026, 11, 24, tzinfo=UTC),
            )
        )


def test_as_known_on_before_any_ingest_is_an_empty_report(rc):
    report = rc.create_report(
        ReportRequest(
            type="USER",
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
            as_known_on=datetime(2026, 11, 1, tzinfo=UTC),
        )
    )
    assert (report.status, report.row_count, report.lake_seq) == ("COMPLETED", 0, 0)


def test_as_known_on_in_the_future_is_refused(rc):
    with pytest.raises(BadInputError, match="asKnownOn"):
        rc.create_report(
            ReportRequest(
                type="USER",
                start=date(2026, 10, 1),
                end=date(2026, 10, 31),
                as_known_on=datetime(2026, 12, 1, tzinfo=UTC),
            )
        )


def test_a_home_from_before_lineage_is_migrated_and_its_reports_judged(rc, write_csv, monkeypatch):
    report = rc.create_report(OCTOBER)
    home = rc.home.parent / "old-home"  # a copy, made standalone as an earlier version left it
    shutil.copytree(rc.home, home)
    shutil.rmtree(home / ".store")
    (home / "recon.duckdb").chmod(0o644)
    con = duckdb.connect(str(home / "recon.duckdb"))
    for view in ("reconciliation_lineage", "report_lineage", "report_staleness"):
        con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE late_events")
    for table, column in (
        ("reports", "lake_seq"),
        ("reports", "lake_ingest"),
        ("reports", "as_known_on"),
        ("reports", "changes_before"),
        ("reconciliations", "report_late_events"),
        ("ingests", "seq"),
    ):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.close()
    old = Recon(home)
    assert old.get_report(report.id).lake_seq is None  # a reader does not migrate
    late = _ingest_at(
        old,
        monkeypatch,
        "2026-11-22T09:00:00Z",
        _late(write_csv, "x1", occurred_at="2026-10-05T00:00:00Z"),
    )
    seen = Recon(home).get_report(report.id)
    assert (seen.lake_seq, seen.late_events, seen.late_since_ingest) == (1, 1, late)
