"""A report's lineage: the lake it was computed from, "as known on", and staleness (§8).

A build records the lake's high-water mark before it reads the lake (the writer lock is held,
so nothing is ingested meanwhile) and the instant before which an event can change the
report. Readers attach the staleness the store keeps (`recon.home.lineage`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from recon.core.config import BillingZones
from recon.core.errors import BadInputError
from recon.core.timezones import from_micros
from recon.home.lineage import ingest_floors, known_ingests, lake_mark
from recon.home.store import Store
from recon.reports.model import LakeMark, Report, ReportRequest
from recon.reports.usage import period_day_tables


def check_known_on(request: ReportRequest, now: datetime) -> None:
    """Refuse an "as known on" instant that has not happened yet (it would change later)."""
    if request.as_known_on is not None and request.as_known_on > now:
        raise BadInputError(
            f"asKnownOn {request.as_known_on.isoformat()} is in the future "
            f"(now is {now.isoformat()})",
            hint="give the instant you checked the invoice, or leave --as-known-on out",
        )


def changes_before(report: Report, request: ReportRequest, zones: BillingZones) -> datetime:
    """Events occurring before this instant can change the report; later ones cannot.

    The end of the period in the latest billing zone in use, or, for a point-in-time report,
    just after its instant (events at the instant count).
    """
    if request.category == "POINT_IN_TIME":
        assert report.as_of is not None
        return report.as_of + timedelta(microseconds=1)
    tables = period_day_tables(request, zones)
    return from_micros(max(t.end for t in tables.values()))


def begin_lineage(
    store: Store, report: Report, request: ReportRequest, zones: BillingZones
) -> ReportRequest:
    """Record on `report` the lake it is about to be computed from; the request to compute.

    For an "as known on" request only the ingests that had finished by then are read (and no
    snapshot is used); otherwise the lake's mark lets the usage start from a snapshot.
    """
    with store.connect() as con:
        seq, ingest = lake_mark(con, request.as_known_on)
        known = known_ingests(con, request.as_known_on) if request.as_known_on is not None else None
        lake = LakeMark(seq, ingest_floors(con)) if known is None else None
        con.execute(
            "UPDATE reports SET lake_seq = ?, lake_ingest = ?, as_known_on = ?, "
            "changes_before = ? WHERE id = ?",
            [seq, ingest, request.as_known_on, changes_before(report, request, zones), report.id],
        )
    return replace(request, known_ingests=known, lake=lake)
