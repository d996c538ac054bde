"""Crash safety of the id codes: a killed ingest leaves no code without its text, no text twice.

A child `recon` process SIGKILLs itself at a chosen point: right after a dictionary file is
written (the batch's rows not staged yet), right before an ingest publishes (every code
written, no row in the lake), or mid-way through migrating an old lake. Random-time kills
follow, as in test_crash. After each kill the dictionaries hold every text once, every lake
row decodes to its own text, and the next run ends with the lake of an uninterrupted ingest.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.ingest.codes import CODED_COLUMNS, load_dictionaries, verify_codes
from recon.ingest.lake import scan_events
from tests.conftest import RECON, SAMPLE
from tests.reliability.test_crash import ENV, KILLS, kill_window, lake_contents, run_and_kill
from tests.unit.ingest.test_codes import old_format

BATCH_ENV = {**ENV, "RECON_INGEST_BATCH_ROWS": "300"}

# Runs `recon ARGS...` in a process that kills itself with SIGKILL at POINT, after COUNT calls.
_KILLER = """
import os, signal, sys
from recon.ingest import codes, codes_migrate, staging
from recon.serve.cli.main import main

point, count = sys.argv[1], int(sys.argv[2])
calls = [0]

def dying(module, name, before):
    original = getattr(module, name)
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if before and calls[0] == count:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if not before and calls[0] == count:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(module, name, wrapper)

if point == "dictionary":
    dying(codes, "write_parquet_atomically", before=False)
elif point == "publish":
    dying(staging.Staging, "publish", before=True)
elif point == "migration":
    dying(codes_migrate, "write_parquet_atomically", before=False)
sys.argv = ["recon", *sys.argv[3:]]
main()
"""


def killed_at(point: str, count: int, home: Path, *args: str) -> int:
    """Run recon with a kill at `point`; its exit code (-9 when the kill happened)."""
    done = subprocess.run(
        [sys.executable, "-c", _KILLER, point, str(count), "--home", str(home), *args],
        env=BATCH_ENV,
        capture_output=True,
        check=False,
    )
    return done.returncode


def assert_codes_sound(home: Path) -> None:
    """No text twice, dense codes, every lake row decodes to its own text."""
    assert verify_codes(Recon(home).layout) == []


def assert_every_text_coded_once(home: Path) -> None:
    """After a completed ingest of the same logs: the dictionaries hold exactly the lake's texts."""
    layout = Recon(home).layout
    lake = scan_events(layout).collect()
    words = load_dictionaries(layout)
    for name in set(CODED_COLUMNS.values()):
        columns = [c for c, d in CODED_COLUMNS.items() if d == name]
        texts = pl.concat([lake[c] for c in columns]).unique().sort()
        assert words[name].sort().equals(texts.rename(name)), name


def ingest(home: Path) -> None:
    subprocess.run(
        [RECON, "--home", str(home), "ingest", str(SAMPLE)],
        env=BATCH_ENV,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    home = tmp_path_factory.mktemp("reference") / "home"
    ingest(home)
    assert_codes_sound(home)
    return lake_contents(home)


@pytest.mark.parametrize(("point", "count"), [("dictionary", 1), ("dictionary", 7), ("publish", 1)])
def test_an_ingest_killed_after_writing_codes_is_completed_by_the_next(
    tmp_path, reference, point, count
):
    home = tmp_path / "home"
    assert killed_at(point, count, home, "ingest", str(SAMPLE)) == -signal.SIGKILL
    assert scan_events(Recon(home).layout).collect().height == 0  # nothing was published
    written = load_dictionaries(Recon(home).layout)
    assert sum(w.len() for w in written.values()) > 0  # but codes were
    assert_codes_sound(home)
    ingest(home)
    assert_codes_sound(home)
    assert_every_text_coded_once(home)
    assert lake_contents(home).equals(reference)


def test_a_killed_migration_is_finished_by_the_next_writer(tmp_path, reference):
    home = tmp_path / "home"
    ingest(home)
    report = ["report", "create", "--type", "USER", "--start", "2026-10-01", "--end", "2026-10-31"]
    old_format(Recon(home).layout)
    assert killed_at("migration", 3, home, *report) == -signal.SIGKILL
    problems = verify_codes(Recon(home).layout)
    assert len(problems) == 1
    assert "lake files lack code columns" in problems[0]
    done = subprocess.run(
        [RECON, "--home", str(home), *report], env=ENV, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "one-time lake migration" in done.stderr
    assert_codes_sound(home)
    assert_every_text_coded_once(home)
    assert lake_contents(home).equals(reference)


def test_ingests_killed_at_random_leave_sound_codes(tmp_path, reference):
    home = tmp_path / "home"
    rng = random.Random(15)
    interrupted = 0
    for number in range(KILLS):
        if number % 10 == 0:
            shutil.rmtree(tmp_path / "scratch", ignore_errors=True)
            low, high = kill_window(["--home", str(tmp_path / "scratch"), "ingest", str(SAMPLE)])
        interrupted += run_and_kill(
            ["--home", str(home), "ingest", str(SAMPLE)], rng.uniform(low, high)
        )
        if Recon(home).layout.codes.exists():
            assert_codes_sound(home)
    assert interrupted >= KILLS // 4, f"only {interrupted} of {KILLS} runs were interrupted"
    ingest(home)
    assert_codes_sound(home)
    assert_every_text_coded_once(home)
    assert lake_contents(home).equals(reference)
