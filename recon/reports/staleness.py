"""Reports as readers see them, with their lineage and staleness (§8).

Reading a report's status loads neither Polars nor the engine: only the store is read.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb

from recon.core.timezones import from_micros
from recon.home.lineage import staleness_of
from recon.reports.model import Report


def with_lineage(con: duckdb.DuckDBPyConnection, reports: list[Report]) -> list[Report]:
    """`reports` with their lineage and staleness as the store holds them."""
    if not reports:
        return reports
    ids = [r.id for r in reports]
    try:
        rows = con.execute(
            "SELECT id, lake_seq, lake_ingest, epoch_us(as_known_on) FROM reports "
            "WHERE id IN (SELECT unnest(?))",
            [ids],
        ).fetchall()
    except duckdb.Error:
        return reports  # a store from before lineage, read before any writer migrated it
    marks = {str(r[0]): r[1:] for r in rows}
    stale = staleness_of(con, ids)
    found = []
    for report in reports:
        seq, ingest, known_on = marks.get(report.id, (None, None, None))
        late = stale.get(report.id)
        found.append(
            replace(
                report,
                lake_seq=seq,
                lake_ingest=ingest,
                as_known_on=from_micros(known_on) if known_on is not None else None,
                late_events=late.late_events if late else 0,
                late_since_ingest=late.since_ingest if late else None,
            )
        )
    return found
