"""How lineage reads on a terminal: the lake a report came from, and why it is stale (§8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recon import Report


def lake_text(report: Report) -> str:
    """`version 3 (ingest ...)`, and `as known on ...`: what the report was computed from."""
    if report.lake_seq is None:
        return ""
    text = f"version {report.lake_seq}" + (
        f" (ingest {report.lake_ingest})" if report.lake_ingest else " (empty)"
    )
    if report.as_known_on is not None:
        text += f", as known on {report.lineage_json()['asKnownOn']}"
    return text


def stale_text(report: Report) -> str:
    """`1 late event since ingest ... could change it; ...`: why a report is stale."""
    plural = "" if report.late_events == 1 else "s"
    return (
        f"{report.late_events:,} late event{plural} since ingest {report.late_since_ingest} "
        "could change it; delete it and create it again (recon run does)"
    )
