"""Writing files so that a reader sees the old version or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl


def write_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write Parquet to a temporary name, flush it to disk, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)
