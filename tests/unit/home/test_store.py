"""The store's lock and its read-only SQL."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from recon.api import Recon
from recon.core.errors import BadInputError, LockedError
from recon.home.layout import HomeLayout
from recon.home.lock import home_lock
from tests.conftest import SAMPLE


def _hold(root: str, ready, release) -> None:  # pragma: no cover - runs in a child process
    with home_lock(HomeLayout(__import__("pathlib").Path(root))):
        ready.set()
        release.wait(30)


def test_a_second_writer_fails_fast_naming_the_holder(tmp_path):
    layout = HomeLayout(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    child.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        with (
            pytest.raises(LockedError, match=f"is locked by PID {child.pid}"),
            home_lock(layout, wait_seconds=0.2),
        ):
            pass
        assert time.monotonic() - started < 10
    finally:
        release.set()
        child.join(30)
    with home_lock(layout, wait_seconds=0.2):
        pass


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("INSERT INTO reports (id) VALUES ('x')", "a INSERT statement is refused"),
        ("ATTACH 'other.duckdb'", "a ATTACH statement is refused"),
        ("SET enable_external_access = true", "a SET statement is refused"),
        ("SELECT * FROM read_parquet('/etc/*.parquet')", "SQL failed"),
        ("SELEC 1", "SQL does not parse"),
    ],
)
def test_sql_is_read_only(tmp_path, query, message):
    rc = Recon(tmp_path / "home")
    rc.ensure_home()  # a reader never creates one
    with pytest.raises(BadInputError, match=message):
        rc.sql(query)


def test_sql_reads_tables_and_lake_views(tmp_path):
    rc = Recon(tmp_path / "home")
    rc.ensure_home()  # a reader never creates one
    assert rc.sql("SELECT count(*) AS n FROM reports").item() == 0
    assert rc.sql("SELECT count(*) AS n FROM events").item() == 0
    assert rc.sql("EXPLAIN SELECT 1").height >= 1


def _month_report(rc: Recon, report_type: str = "USER"):
    from datetime import date

    from recon.reports.model import ReportRequest

    report = rc.create_report(
        ReportRequest(type=report_type, start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    assert report.status == "COMPLETED", report.errors
    return report


def test_report_rows_are_typed_and_tie_to_the_registry(tmp_path):

    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE])
    user = _month_report(rc, "USER")
    partner = _month_report(rc, "PARTNER")
    kinds = rc.sql(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM report_rows)"
    ).rows()
    assert ("quantity", "DECIMAL(38,6)") in kinds
    assert ("consumption_start_date", "DATE") in kinds
    assert ("report_date", "TIMESTAMP WITH TIME ZONE") in kinds
    totals = rc.sql(
        "SELECT report_id, count(*), CAST(sum(quantity) AS VARCHAR) FROM report_rows "
        "GROUP BY report_id ORDER BY report_id"
    ).rows()
    expected = sorted((r.id, r.row_count, r.total_quantity) for r in (user, partner) if r.row_count)
    assert totals == expected
    # Deleting a report takes its rows out of SQL and its rows file off the disk.
    rc.delete_report(user.id)
    assert rc.sql("SELECT DISTINCT report_id FROM report_rows").rows() == [(partner.id,)]
    assert not (rc.layout.reports / f"{user.id}.parquet").exists()


def test_rows_stored_in_a_table_by_earlier_versions_move_to_files(tmp_path):

    import duckdb

    from recon.home.store import REPORT_ROW_COLUMNS

    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE])
    report = _month_report(rc, "CUSTOMER")
    before = rc.sql("SELECT * FROM report_rows ORDER BY ALL")
    # Turn the home into what an earlier version left: the rows in a table, no rows file.
    rows_file = rc.layout.reports / f"{report.id}.parquet"
    con = duckdb.connect(str(rc.layout.store))
    columns = ", ".join(f"{c} {t}" for c, t in REPORT_ROW_COLUMNS.items())
    con.execute("DROP VIEW report_lines")
    con.execute("DROP VIEW report_rows")
    con.execute(f"CREATE TABLE report_rows ({columns})")
    con.execute(f"INSERT INTO report_rows SELECT * FROM read_parquet('{rows_file}')")
    con.execute("DROP TABLE home_meta")  # earlier versions kept no home_meta
    con.close()
    rows_file.unlink()

    again = Recon(tmp_path / "home")
    after = again.sql("SELECT * FROM report_rows ORDER BY ALL")
    assert before.height > 100
    assert after.equals(before)
    assert rows_file.exists()
    kind = again.sql(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'report_rows'"
    ).item()
    assert kind == "VIEW"
    assert again.sql("SELECT count(*) FROM report_lines").item() == before.height
