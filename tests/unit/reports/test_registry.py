"""An IN_PROGRESS report is never stuck: its builder is a process, not only a PID."""

from __future__ import annotations

from datetime import date

from recon.reports.model import ReportRequest
from recon.reports.registry import BUILDING

OCT = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))


def test_a_report_this_process_is_building_stays_in_progress(rc):
    report, _ = rc.begin_report(OCT)
    try:
        assert rc.get_report(report.id).status == "IN_PROGRESS"
    finally:
        BUILDING.discard(report.id)


def test_a_report_of_an_earlier_process_with_the_same_pid_is_failed(rc):
    """A server restarted in a container is PID 1 again: its old reports must not hang."""
    report, _ = rc.begin_report(OCT)
    with rc._writing(), rc.store.connect() as con:
        con.execute("UPDATE reports SET builder = '1-an-earlier-process' WHERE id = ?", [report.id])
    seen = rc.get_report(report.id)
    assert (seen.status, seen.errors[0]["code"]) == ("FAILED", "INTERRUPTED")
    rc.recover_interrupted()  # the next writer records it
    assert rc.delete_report(report.id).status == "FAILED"
    again = rc.create_report(OCT)  # no conflict with the period any more
    assert again.status == "COMPLETED"
    BUILDING.discard(report.id)


def test_a_report_whose_build_ended_without_a_status_is_failed(rc):
    """E.g. the build's own `fail_report` failed (a full disk): it is no longer being built."""
    report, _ = rc.begin_report(OCT)
    BUILDING.discard(report.id)
    seen = rc.get_report(report.id)
    assert (seen.status, seen.errors[0]["code"]) == ("FAILED", "INTERRUPTED")
