"""Crash safety of `recon compact`: SIGKILL at random points loses nothing and doubles nothing.

Each round copies a fragmented home (the sample ingested in small batches, so every event
date holds several part files), starts `recon compact` and kills it after a random delay.
Right after the kill, before anyone settles anything, the lake holds exactly the original
rows (every column, `ingest_id` too); the next `recon compact` settles what was left and
ends with one file per event date and still exactly the same rows. RECON_KILLS sets how many
rounds (`make test-thorough`: 100).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.home.layout import event_files
from recon.ingest.lake import scan_events
from tests.conftest import RECON, SAMPLE
from tests.reliability.test_crash import ENV, KILLS, kill_window, run_and_kill


def _stored(home: Path) -> pl.DataFrame:
    return scan_events(Recon(home).layout).collect().sort("event_id", "ingest_id")


@pytest.fixture(scope="module")
def fragmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fragmented") / "home"
    subprocess.run(
        [RECON, "--home", str(home), "ingest", str(SAMPLE)],
        env={**ENV, "RECON_INGEST_BATCH_ROWS": "40"},
        check=True,
        capture_output=True,
    )
    return home


def test_killed_compactions_lose_and_double_nothing(tmp_path, fragmented):
    original = _stored(fragmented)
    partitions = len(list(Recon(fragmented).layout.events.glob("event_date=*")))
    assert len(event_files(Recon(fragmented).layout)) > 2 * partitions
    rng = random.Random(16)
    interrupted = 0
    for number in range(KILLS):
        home = tmp_path / f"home-{number}"
        if number % 10 == 0:
            scratch = tmp_path / "scratch"
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(fragmented, scratch)
            low, high = kill_window(["--home", str(scratch), "compact"])
        shutil.copytree(fragmented, home)
        interrupted += run_and_kill(["--home", str(home), "compact"], rng.uniform(low, high))
        seen = _stored(home)
        assert seen["event_id"].n_unique() == seen.height, "an event is stored twice"
        assert seen.equals(original), "the lake lost or changed rows"
        finish = subprocess.run(
            [RECON, "--home", str(home), "compact", "--json"],
            env=ENV,
            capture_output=True,
            check=False,
        )
        assert finish.returncode == 0, finish.stderr
        assert _stored(home).equals(original)
        assert len(event_files(Recon(home).layout)) == partitions
        assert not (home / ".compact").exists()
        shutil.rmtree(home)
    assert interrupted >= KILLS // 4, f"only {interrupted} of {KILLS} runs were interrupted"
    print(f"compact: {interrupted} of {KILLS} runs killed mid-way")  # shown with pytest -s
