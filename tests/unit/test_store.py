"""The store's lock and its read-only SQL."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from recon.api import Recon
from recon.errors import BadInputError, LockedError
from recon.lake import HomeLayout
from recon.store import home_lock


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
    with pytest.raises(BadInputError, match=message):
        rc.sql(query)


def test_sql_reads_tables_and_lake_views(tmp_path):
    rc = Recon(tmp_path / "home")
    assert rc.sql("SELECT count(*) AS n FROM reports").item() == 0
    assert rc.sql("SELECT count(*) AS n FROM events").item() == 0
    assert rc.sql("EXPLAIN SELECT 1").height >= 1
