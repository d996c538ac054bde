"""The published store: readers hold no retired copy, reads publish nothing, errors stay true."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest

from recon.api import Recon
from recon.core.errors import LockedError
from recon.home import snapshot
from recon.home.store import transaction
from recon.reports.model import ReportRequest


def _open_retired_generations() -> list[str]:
    """Store generations this process still has open although a writer deleted them."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if "gen-" in target and target.endswith("(deleted)"):
            found.append(target)
    return found


def test_readers_let_go_of_every_generation_a_writer_retires(rc):
    for _ in range(8):
        rc.recover_interrupted()  # a write: publishes a new generation
        assert rc.list_reports() == []  # a read of the newest one
    assert _open_retired_generations() == []


def test_a_query_publishes_nothing_once_derived_tables_are_fresh(rc):
    rc.sql("SELECT count(*) FROM intervals")  # the first after an ingest computes them
    published = snapshot.current_file(rc.layout)
    assert published is not None
    before = published.stat().st_ino
    for _ in range(3):
        assert rc.sql("SELECT count(*) AS n FROM events").item() == 7
    after = snapshot.current_file(rc.layout)
    assert after is not None
    assert after.stat().st_ino == before


def test_a_write_waits_for_another_thread_of_the_process_only_as_long_as_the_lock_wait(
    rc, monkeypatch
):
    monkeypatch.setenv("RECON_LOCK_WAIT", "0.2")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with rc._writing():  # what a report being built in the server's thread does
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert holding.wait(10)
        with pytest.raises(LockedError, match="busy with another write of this process"):
            rc.create_report(
                ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
            )
    finally:
        release.set()
        worker.join()
    assert rc.list_reports() == []


def test_a_failed_commit_is_the_error_raised_not_the_refused_rollback(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute("CREATE TABLE t (a INTEGER)")
    failed_commit = pytest.raises(duckdb.TransactionException, match="no transaction is active")
    with failed_commit, transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("COMMIT")  # so the helper's own COMMIT fails, and ROLLBACK is refused
    with pytest.raises(ValueError, match="boom"), transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
        raise ValueError("boom")
    assert con.execute("SELECT a FROM t").fetchall() == [(1,)]


def test_a_home_that_never_had_a_writer_reads_as_empty(tmp_path):
    rc = Recon(tmp_path / "home")
    rc.ensure_home()
    assert rc.list_reports() == []
