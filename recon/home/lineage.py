"""Lineage in the store: which state of the lake each report was computed from (§8).

Every ingest gets a sequence number (`ingests.seq`, the lake version it made). A report
records the newest ingest it saw (`reports.lake_seq`, `lake_ingest`), the instant before
which an event can change it (`changes_before`: the end of its period, or just after its
point in time) and, when asked for, the instant it was computed "as known on". When an
ingest publishes, the events it accepted that could change an already-built report are
counted per report into `late_events`, so whether a report is stale is a small query over
the store and never a scan of the lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from recon.home.layout import HomeLayout, event_files

LINEAGE_SCHEMA_SQL = """
ALTER TABLE ingests ADD COLUMN IF NOT EXISTS seq BIGINT;
ALTER TABLE ingests ADD COLUMN IF NOT EXISTS earliest_event TIMESTAMPTZ;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS lake_seq BIGINT;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS lake_ingest VARCHAR;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS as_known_on TIMESTAMPTZ;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS changes_before TIMESTAMPTZ;
ALTER TABLE reconciliations ADD COLUMN IF NOT EXISTS report_late_events BIGINT;
CREATE TABLE IF NOT EXISTS late_events (
    report_id VARCHAR NOT NULL,
    ingest_id VARCHAR NOT NULL,
    events BIGINT NOT NULL
);
"""

# Late events that count against a report: an "as known on" report is judged against its
# instant (only ingests that had finished by then count); any other against the lake now.
LINEAGE_VIEWS_SQL = """
CREATE OR REPLACE VIEW report_staleness AS
    SELECT l.report_id, sum(l.events)::BIGINT AS late_events,
           arg_min(l.ingest_id, i.seq) AS late_since_ingest
    FROM late_events l
    JOIN ingests i ON i.ingest_id = l.ingest_id
    JOIN reports r ON r.id = l.report_id
    WHERE r.status = 'COMPLETED' AND (r.as_known_on IS NULL OR i.finished_at <= r.as_known_on)
    GROUP BY l.report_id;
CREATE OR REPLACE VIEW report_lineage AS
    SELECT r.id AS report_id, r.type, r.category, r.billing_start_date, r.billing_end_date,
           r.lake_seq, r.lake_ingest, r.as_known_on, r.changes_before,
           r.status = 'COMPLETED' AND coalesce(s.late_events, 0) > 0 AS stale,
           coalesce(s.late_events, 0) AS late_events, s.late_since_ingest
    FROM reports r LEFT JOIN report_staleness s ON s.report_id = r.id;
CREATE OR REPLACE VIEW reconciliation_lineage AS
    SELECT c.id AS reconciliation_id, c.report_id, c.report_type, c.created,
           coalesce(c.report_late_events, 0) > 0 AS made_against_stale_report,
           coalesce(l.stale, false) AS report_stale_now,
           coalesce(l.late_events, 0) AS report_late_events_now
    FROM reconciliations c LEFT JOIN report_lineage l ON l.report_id = c.report_id;
"""


@dataclass(frozen=True)
class Staleness:
    """Whether a COMPLETED report is stale: how many late events, since which ingest."""

    late_events: int
    since_ingest: str | None

    @property
    def stale(self) -> bool:
        """True when events that could change the report arrived after it was built."""
        return self.late_events > 0


def next_ingest_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The lake version the next ingest makes (the caller holds the writer lock)."""
    row = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM ingests").fetchone()
    return int(row[0]) if row else 1


def lake_mark(
    con: duckdb.DuckDBPyConnection, known_on: datetime | None = None
) -> tuple[int, str | None]:
    """The lake's high-water mark: (seq, ingest id) of the newest ingest (by `known_on`)."""
    where = "WHERE finished_at <= ?" if known_on is not None else ""
    row = con.execute(
        f"SELECT seq, ingest_id FROM ingests {where} ORDER BY seq DESC LIMIT 1",
        [known_on] if known_on is not None else [],
    ).fetchone()
    return (0, None) if row is None else (int(row[0]), str(row[1]))


def ingest_floors(con: duckdb.DuckDBPyConnection) -> tuple[tuple[int, int], ...]:
    """(seq, earliest event in µs) of every ingest that added events, oldest first."""
    rows = con.execute(
        "SELECT seq, epoch_us(earliest_event) FROM ingests "
        "WHERE earliest_event IS NOT NULL ORDER BY seq"
    ).fetchall()
    return tuple((int(a), int(b)) for a, b in rows)


def known_ingests(con: duckdb.DuckDBPyConnection, known_on: datetime) -> tuple[str, ...]:
    """The ingests that had finished at `known_on`: their events are what was known then."""
    rows = con.execute(
        "SELECT ingest_id FROM ingests WHERE finished_at <= ? ORDER BY seq", [known_on]
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def _files_sql(files: list[Path]) -> str:
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], union_by_name = true)"


def record_late_events(
    con: duckdb.DuckDBPyConnection, ingest_id: str, seq: int, files: list[Path]
) -> None:
    """Count, per built report, the events of ingest `seq` (in `files`) that could change it.

    Also records the ingest's earliest event (a snapshot after it is no longer valid). Runs in
    the transaction that writes the ingest's ledger rows, so both exist exactly when the
    ingest does. Only this ingest's files are read.
    """
    if not files:
        return
    con.execute(
        f"UPDATE ingests SET earliest_event = (SELECT min(occurred_at) FROM {_files_sql(files)}) "
        "WHERE ingest_id = ?",
        [ingest_id],
    )
    con.execute(
        "INSERT INTO late_events "
        "SELECT r.id, ?, count(*) FROM reports r "
        f"JOIN (SELECT occurred_at FROM {_files_sql(files)}) e "
        "ON e.occurred_at < r.changes_before "
        "WHERE r.lake_seq IS NOT NULL AND r.lake_seq < ? AND r.status <> 'FAILED' "
        "GROUP BY r.id",
        [ingest_id, seq],
    )


def staleness_of(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, Staleness]:
    """The staleness of the given reports (those without lineage are left out)."""
    if not ids:
        return {}
    try:
        rows = con.execute(
            "SELECT l.report_id, l.late_events, l.late_since_ingest FROM report_lineage l "
            "JOIN reports r ON r.id = l.report_id "
            "WHERE l.report_id IN (SELECT unnest(?)) AND r.status = 'COMPLETED'",
            [ids],
        ).fetchall()
    except duckdb.Error:
        return {}  # a store from before lineage (a reader of an unmigrated home)
    return {str(r[0]): Staleness(int(r[1]), r[2]) for r in rows}


def migrate_lineage(con: duckdb.DuckDBPyConnection, layout: HomeLayout) -> None:
    """Give homes from before lineage their ingest order and their reports' lineage.

    Ingests are numbered in the order they ran. A report built before lineage is taken to
    have seen every ingest that had finished when it was created; events of later ingests
    that could change it are counted from the lake once, here. Its period end is taken
    conservatively as 12:00 UTC after its last day (the latest local midnight of any zone).
    """
    con.execute(LINEAGE_SCHEMA_SQL)
    unnumbered = [
        str(r[0]) for r in con.execute("SELECT ingest_id FROM ingests WHERE seq IS NULL").fetchall()
    ]
    files = event_files(layout) if unnumbered else []  # read the lake only when migrating
    if files:
        con.execute(
            "UPDATE ingests SET earliest_event = e.earliest FROM (SELECT ingest_id, "
            f"min(occurred_at) AS earliest FROM {_files_sql(files)} GROUP BY ingest_id) e "
            "WHERE ingests.ingest_id = e.ingest_id AND ingests.ingest_id IN (SELECT unnest(?))",
            [unnumbered],
        )
    con.execute(
        "UPDATE ingests SET seq = o.n FROM (SELECT ingest_id, "
        "(SELECT coalesce(max(seq), 0) FROM ingests) + row_number() OVER "
        "(ORDER BY started_at, finished_at, ingest_id) AS n FROM ingests WHERE seq IS NULL) o "
        "WHERE ingests.ingest_id = o.ingest_id"
    )
    old = [
        str(r[0])
        for r in con.execute(
            "SELECT id FROM reports WHERE lake_seq IS NULL AND status = 'COMPLETED'"
        ).fetchall()
    ]
    if not old:
        return
    con.execute(
        "UPDATE reports SET "
        "lake_seq = (SELECT coalesce(max(i.seq), 0) FROM ingests i "
        "            WHERE i.finished_at <= reports.created), "
        "lake_ingest = (SELECT arg_max(i.ingest_id, i.seq) FROM ingests i "
        "               WHERE i.finished_at <= reports.created), "
        "changes_before = CASE WHEN category = 'POINT_IN_TIME' "
        "    THEN as_of + INTERVAL 1 MICROSECOND "
        "    ELSE ((billing_end_date + INTERVAL 1 DAY + INTERVAL 12 HOUR)::TIMESTAMP) "
        "         AT TIME ZONE 'UTC' END "
        "WHERE id IN (SELECT unnest(?))",
        [old],
    )
    files = files or event_files(layout)
    if not files:
        return
    con.execute(
        "INSERT INTO late_events "
        "SELECT r.id, i.ingest_id, count(*) FROM reports r "
        f"JOIN (SELECT ingest_id, occurred_at FROM {_files_sql(files)}) e "
        "ON e.occurred_at < r.changes_before "
        "JOIN ingests i ON i.ingest_id = e.ingest_id AND i.seq > r.lake_seq "
        "WHERE r.id IN (SELECT unnest(?)) "
        "GROUP BY r.id, i.ingest_id",
        [old],
    )
