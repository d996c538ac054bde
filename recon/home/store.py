"""The embedded DuckDB report store: report registry, report rows, ingest ledger and views.

Writers hold the home's lock file first, so two recon processes never interleave their
writes, and write to a private copy that is published whole (`snapshot`); readers open the
published store read-only and never wait for a writer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from recon.core.contracts import events_contract
from recon.home import snapshot
from recon.home.columns import COLUMN_ORDERS_SQL
from recon.home.files import write_with
from recon.home.layout import HomeLayout, event_files
from recon.home.lineage import LINEAGE_SCHEMA_SQL, LINEAGE_VIEWS_SQL, migrate_lineage
from recon.home.records import (
    RECONCILIATION_VIEWS_SQL,
    migrate_after_schema,
    migrate_before_schema,
)

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS reports (
    id VARCHAR PRIMARY KEY,
    type VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    billing_start_date DATE,
    billing_end_date DATE,
    sub_partner_org_id VARCHAR,
    timezone VARCHAR NOT NULL,
    as_of TIMESTAMPTZ,
    created TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    errors VARCHAR NOT NULL DEFAULT '[]',
    csv_path VARCHAR,
    row_count BIGINT,
    total_quantity DECIMAL(38, 6),
    completed_at TIMESTAMPTZ,
    pid INTEGER,
    builder VARCHAR
);
CREATE TABLE IF NOT EXISTS ingests (
    ingest_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    files INTEGER,
    rows_read BIGINT,
    accepted BIGINT,
    duplicates BIGINT,
    quarantined BIGINT
);
CREATE TABLE IF NOT EXISTS ingested_files (
    ingest_id VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    sha256 VARCHAR,
    format VARCHAR,
    rows_read BIGINT,
    accepted BIGINT,
    duplicates BIGINT,
    quarantined BIGINT,
    error VARCHAR
);
CREATE TABLE IF NOT EXISTS reconciliations (
    id VARCHAR PRIMARY KEY,
    report_id VARCHAR NOT NULL,
    report_type VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    billing_start_date DATE,
    billing_end_date DATE,
    vendor_file VARCHAR NOT NULL,
    vendor_sha256 VARCHAR NOT NULL,
    tolerance DECIMAL(18, 6) NOT NULL,
    prices_file VARCHAR,
    currency VARCHAR,
    created TIMESTAMPTZ NOT NULL,
    counts VARCHAR NOT NULL,
    discrepancy_file VARCHAR NOT NULL,
    seq BIGINT
);
CREATE SEQUENCE IF NOT EXISTS reconciliation_seq;
CREATE TABLE IF NOT EXISTS all_discrepancies (
    reconciliation_id VARCHAR NOT NULL,
    report_id VARCHAR NOT NULL,
    class VARCHAR NOT NULL,
    partner_org_id VARCHAR, subscription_id VARCHAR, customer_org_id VARCHAR,
    user_id VARCHAR, workspace_id VARCHAR, service_name VARCHAR, sku VARCHAR,
    location_id VARCHAR, license_id VARCHAR,
    our_quantity DECIMAL(38, 6),
    vendor_quantity DECIMAL(38, 6),
    delta DECIMAL(38, 6),
    money_delta DECIMAL(38, 6),
    currency VARCHAR
);
"""
_REPORT_LINES_SQL = """
CREATE OR REPLACE VIEW report_lines AS
    SELECT r.type, r.category, r.billing_start_date, r.billing_end_date, r.sub_partner_org_id,
           r.timezone, r.created, l.*
    FROM report_rows l JOIN reports r ON r.id = l.report_id
    WHERE r.status = 'COMPLETED';
"""

# Every report's rows, as stored beside its CSV in `reports/<id>.parquet` and seen through
# the `report_rows` view (lower-case report columns; absent ones null).
REPORT_ROW_COLUMNS: dict[str, str] = {
    "report_id": "VARCHAR",
    "partner_name": "VARCHAR",
    "partner_org_id": "VARCHAR",
    "subscription_id": "VARCHAR",
    "service_name": "VARCHAR",
    "sku": "VARCHAR",
    "description": "VARCHAR",
    "consumption_start_date": "DATE",
    "consumption_end_date": "DATE",
    "quantity": "DECIMAL(38, 6)",
    "customer_org_id": "VARCHAR",
    "customer_external_id": "VARCHAR",
    "subscriber_id": "VARCHAR",
    "user_id": "VARCHAR",
    "workspace_id": "VARCHAR",
    "location_id": "VARCHAR",
    "license_id": "VARCHAR",
    "report_date": "TIMESTAMPTZ",
}


def report_rows_path(layout: HomeLayout, report_id: str) -> Path:
    """Where a report's rows are stored for SQL (beside its CSV)."""
    return layout.reports / f"{report_id}.parquet"


def point_report_rows(
    con: duckdb.DuckDBPyConnection, layout: HomeLayout, *, temp: bool = False
) -> None:
    """(Re)define the `report_rows` view over the row files of the COMPLETED reports.

    Called in the transaction that completes or deletes a report, so the view changes with
    the report's status: rows of a report still being written, or of a failed one, are never
    seen. A file someone removed by hand is left out rather than breaking every query.
    `temp` defines it for this connection only (a reader, see `views_of_this_home`).
    """
    ids = [
        row[0]
        for row in con.execute(
            "SELECT id FROM reports WHERE status = 'COMPLETED' ORDER BY created, id"
        ).fetchall()
    ]
    files = [p for p in (report_rows_path(layout, i) for i in ids) if p.exists()]
    if files:
        listed = ", ".join(sql_literal(p) for p in files)
        columns = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in REPORT_ROW_COLUMNS.items())
        body = f"SELECT {columns} FROM read_parquet([{listed}])"
    else:
        body = (
            "SELECT "
            + ", ".join(f"NULL::{t} AS {c}" for c, t in REPORT_ROW_COLUMNS.items())
            + " WHERE false"
        )
    kind = "TEMP VIEW" if temp else "VIEW"
    con.execute(f"CREATE OR REPLACE {kind} report_rows AS {body}")


def _migrate_report_rows(con: duckdb.DuckDBPyConnection, layout: HomeLayout) -> None:
    """Move rows from the `report_rows` table of earlier versions into per-report files."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_name = 'report_rows' AND table_catalog = current_database()"
    ).fetchone()
    if kind is None or kind[0] != "BASE TABLE":
        return
    layout.reports.mkdir(parents=True, exist_ok=True)
    with transaction(con):
        ids = con.execute("SELECT id FROM reports WHERE status = 'COMPLETED'").fetchall()
        for (report_id,) in ids:
            path = report_rows_path(layout, report_id)
            if not path.exists():

                def copy(tmp: Path, report_id: str = report_id) -> None:
                    con.execute(
                        f"COPY (SELECT {', '.join(REPORT_ROW_COLUMNS)} FROM report_rows "
                        f"WHERE report_id = ?) TO {sql_literal(tmp)} "
                        "(FORMAT parquet, COMPRESSION zstd)",
                        [report_id],
                    )

                write_with(path, copy)
        con.execute("DROP VIEW IF EXISTS report_lines")
        con.execute("DROP TABLE report_rows")


# Empty stand-ins for the lake views while a folder has no files yet.
_SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "uint32": "UINTEGER"}
_EMPTY_VIEWS = {
    "quarantine": "SELECT NULL::VARCHAR AS ingest_id, NULL::VARCHAR AS source_file, "
    "NULL::VARCHAR AS source_sha256, NULL::BIGINT AS source_row, NULL::VARCHAR AS event_id, "
    "NULL::VARCHAR AS reason, NULL::VARCHAR AS detail, NULL::VARCHAR AS original, "
    "NULL::TIMESTAMPTZ AS quarantined_at WHERE false",
    "id_codes": "SELECT NULL::VARCHAR AS dictionary, NULL::UINTEGER AS code, "
    "NULL::VARCHAR AS value WHERE false",
}


def _empty_events_sql() -> str:
    """The `events` view of an empty lake: the columns of `schemas/events.yaml`, no rows."""
    columns = [
        f"NULL::{_SQL_TYPES.get(c.dtype, 'TIMESTAMPTZ')} AS {c.name}"
        for c in events_contract().columns
    ]
    return f"SELECT {', '.join(columns)}, NULL::DATE AS event_date WHERE false"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any error; the error raised is the first one.

    DuckDB refuses a ROLLBACK after a COMMIT that failed ("no transaction is active"); that
    refusal must not hide why the COMMIT failed.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def sql_literal(text: str | Path) -> str:
    """A SQL string literal for `text` (a path or a value; quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def _lake_views(layout: HomeLayout, *, temp: bool = False) -> list[str]:
    view = "CREATE OR REPLACE TEMP VIEW" if temp else "CREATE OR REPLACE VIEW"
    statements = []
    if event_files(layout):
        glob = sql_literal(layout.events / "event_date=*" / "*.parquet")
        statements.append(
            f"{view} events AS SELECT * "
            f"FROM read_parquet({glob}, hive_partitioning = true, union_by_name = true)"
        )
    else:
        statements.append(f"{view} events AS {_empty_events_sql()}")
    if any(layout.quarantine.glob("*.parquet")):
        glob = sql_literal(layout.quarantine / "*.parquet")
        statements.append(f"{view} quarantine AS SELECT * FROM read_parquet({glob})")
    else:
        statements.append(f"{view} quarantine AS {_EMPTY_VIEWS['quarantine']}")
    if any(layout.codes.glob("dictionary=*/codes-*.parquet")):
        glob = sql_literal(layout.codes / "dictionary=*" / "codes-*.parquet")
        statements.append(
            f"{view} id_codes AS SELECT dictionary, code, value "
            f"FROM read_parquet({glob}, hive_partitioning = true)"
        )
    else:
        statements.append(f"{view} id_codes AS {_EMPTY_VIEWS['id_codes']}")
    for name in ("intervals", "anomalies"):
        path = layout.derived / f"{name}.parquet"
        if path.exists():
            statements.append(f"{view} {name} AS SELECT * FROM read_parquet({sql_literal(path)})")
        elif temp:  # shadow a stored view that may read another home's file
            missing = sql_literal(f"{name} are not computed in this home yet: run recon sql")
            statements.append(f"{view} {name} AS SELECT error({missing}) AS {name}")
        else:  # not computed yet (recon sql computes them first when the lake has events)
            statements.append(f"DROP VIEW IF EXISTS {name}")
    return statements


_HOME_META_SQL = """
CREATE TABLE IF NOT EXISTS home_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
"""


def written_here(con: duckdb.DuckDBPyConnection, layout: HomeLayout) -> bool:
    """Whether this version of recon, at this home's path, last prepared the store.

    False for a store from an earlier version (no `home_meta`: it may need migrating) and for
    a home that was copied or moved (its views name the old place).
    """
    try:
        row = con.execute("SELECT value FROM home_meta WHERE key = 'root'").fetchone()
    except duckdb.CatalogException:
        return False
    return row is not None and row[0] == str(layout.root)


def views_of_this_home(con: duckdb.DuckDBPyConnection, layout: HomeLayout) -> None:
    """Make a reader's views read this home's files, whatever path wrote the store.

    The stored views name files by absolute path (DuckDB resolves relative ones against the
    working folder). A home that was copied or moved keeps views pointing at the old place
    until a writer opens it; a reader then gets per-connection views over its own files, so
    no reader ever reads another home's lake or report rows.
    """
    if written_here(con, layout):
        return
    for statement in _lake_views(layout, temp=True):
        con.execute(statement)
    point_report_rows(con, layout, temp=True)


class Store:
    """One home's DuckDB file."""

    def __init__(self, layout: HomeLayout) -> None:
        self.layout = layout
        self._prepared = False
        self._prepare_lock = threading.Lock()

    @contextmanager
    def connect(self, *, read_only: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection in UTC: read-only to the published store, or a write session.

        `read_only` defaults to True inside `snapshot.reading()` (a reading command), else
        False. A read never waits and never writes; with nothing published yet it sees empty
        tables. A write (the caller holds the writer lock) works on a private copy that is
        published when the outermost write connection closes (`snapshot`). The first writable
        connection of this Store creates the tables and (re)points the lake views at the
        home's files; `refresh` does it again on demand.
        """
        if read_only or (read_only is None and snapshot.is_reading()):
            with snapshot.read_connection(self.layout) as published:
                if published is not None:
                    views_of_this_home(published, self.layout)
                    yield published
                    return
            con = duckdb.connect(":memory:")
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute(SCHEMA_SQL)
                con.execute(COLUMN_ORDERS_SQL)
                con.execute(LINEAGE_SCHEMA_SQL)
                con.execute(RECONCILIATION_VIEWS_SQL)
                con.execute(LINEAGE_VIEWS_SQL)
                point_report_rows(con, self.layout)
                con.execute(_REPORT_LINES_SQL)
                yield con
            finally:
                con.close()
            return
        with snapshot.writing(self.layout) as (work, outer):
            con = duckdb.connect(str(work))
            try:
                con.execute("SET TimeZone = 'UTC'")
                if not self._prepared:
                    with self._prepare_lock:
                        if not self._prepared:
                            self._prepare(con)
                yield con
                if outer:
                    con.execute("CHECKPOINT")  # the file is whole before it is published
            finally:
                con.close()

    def _prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        migrate_before_schema(con)
        con.execute(SCHEMA_SQL)
        con.execute("ALTER TABLE reports ADD COLUMN IF NOT EXISTS builder VARCHAR")
        con.execute(COLUMN_ORDERS_SQL)
        migrate_after_schema(con, self.layout)
        migrate_lineage(con, self.layout)
        con.execute(RECONCILIATION_VIEWS_SQL)
        con.execute(LINEAGE_VIEWS_SQL)
        _migrate_report_rows(con, self.layout)
        point_report_rows(con, self.layout)
        con.execute(_REPORT_LINES_SQL)
        for statement in _lake_views(self.layout):
            con.execute(statement)
        con.execute(_HOME_META_SQL)
        con.execute("INSERT OR REPLACE INTO home_meta VALUES ('root', ?)", [str(self.layout.root)])
        self._prepared = True

    def prepared_here(self) -> bool:
        """Whether the published store needs no writer's preparing (`written_here`)."""
        with self.connect(read_only=True) as con:
            return written_here(con, self.layout)

    def refresh(self) -> None:
        """Create missing tables and re-point the lake views (after the lake changed)."""
        self._prepared = False
        with self.connect():
            pass
