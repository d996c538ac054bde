"""A log larger than the memory it may use is ingested in bounded memory (streamed in batches).

The same ingest runs as a child process on a log of N rows and of 8N rows, with the same batch
size and the streaming CSV path forced. Peak RSS must not grow with the file: holding the file
would need about 8 times the memory for 8 times the rows. (`make test-thorough` uses bigger
files.)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import polars as pl

from tests.conftest import FROZEN_NOW, RECON, raw_row

ROWS = int(os.environ.get("RECON_MEMORY_ROWS", "40000"))


def write_log(path: Path, rows: int) -> None:
    base = pl.DataFrame([raw_row()])
    frame = base.select(pl.all().repeat_by(rows).explode()).with_columns(
        event_id=pl.format("m-{}", pl.int_range(rows)),
        user_id=pl.format("user-{}", pl.int_range(rows) % 5000),
        partner_name=pl.lit("P" * 200),  # fat rows, so the file outweighs the interpreter
        customer_external_id=pl.lit("X" * 150),
    )
    frame.write_csv(path)


def peak_rss_mib(home: Path, log: Path) -> float:
    env = {
        **os.environ,
        "RECON_NOW": FROZEN_NOW,
        "RECON_INGEST_BATCH_ROWS": "5000",
        "RECON_FAST_CSV_BYTES": "0",
    }
    process = subprocess.Popen(
        [RECON, "--home", str(home), "ingest", str(log), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024


def test_peak_memory_does_not_grow_with_the_log(tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_log(small, ROWS)
    write_log(large, ROWS * 8)
    assert large.stat().st_size > 7 * small.stat().st_size
    small_peak = peak_rss_mib(tmp_path / "a", small)
    large_peak = peak_rss_mib(tmp_path / "b", large)
    file_mib = large.stat().st_size / 2**20
    # Holding the large file would add at least its size over the small run's peak.
    assert large_peak - small_peak < file_mib * 0.5, (small_peak, large_peak, file_mib)
