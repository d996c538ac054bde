"""Compaction: the lake's many small part files of one event date become one, answers unchanged.

Every ingest writes a part file per event date it touches, so years of daily ingests (and
late events) leave partitions of many small files. `compact_lake` rewrites each partition
with more than one file as a single file holding exactly the same rows (every column kept,
`ingest_id` too, so lineage and "as known on" still work), sorted by occurred_at.

Crash safety: the merged partition is built whole under `<home>/.compact/event_date=D/new/`
(written, flushed, renamed into place), then swapped with the lake's partition folder in one
atomic `renameat2(RENAME_EXCHANGE)`: a reader sees the old files or the new one, never both
and never neither. The old files end in the job folder, which is then removed. A process
killed at any point leaves a job folder that the next writer settles (`recover_compaction`):
deleted, since the lake holds either the old files or the complete new one. Where the file
system cannot exchange two folders, two renames are used; a kill between them leaves the
partition missing until the next writer moves the complete new folder in.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from recon.home.files import fsync_dir, write_parquet_atomically
from recon.home.layout import HomeLayout
from recon.ingest.codes import compact_dictionaries
from recon.ingest.codes_migrate import migrate_lake_codes
from recon.ingest.lake import event_schema, scan_event_files

Progress = Callable[[str, int, int], None]  # as ingest's progress


@dataclass
class CompactResult:
    """What a compaction did."""

    partitions: int = 0
    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    compacted: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "partitions": self.partitions,
            "compacted": len(self.compacted),
            "filesBefore": self.files_before,
            "filesAfter": self.files_after,
            "rowsRewritten": self.rows,
        }


def _jobs(layout: HomeLayout) -> Path:
    return layout.compaction


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2); False where that is not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, bytes(a), at_fdcwd, bytes(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def recover_compaction(layout: HomeLayout) -> int:
    """Settle compactions a killed process left; the caller holds the writer lock.

    A partition missing from the lake whose complete new folder waits in its job is moved in
    (the two-rename fallback was cut short); every job folder is then removed. Returns how
    many jobs were settled.
    """
    jobs = _jobs(layout)
    if not jobs.is_dir():
        return 0
    settled = 0
    for job in sorted(p for p in jobs.iterdir() if p.is_dir()):
        target = layout.events / job.name
        new = job / "new"
        if not target.exists() and new.is_dir():
            new.replace(target)
            fsync_dir(layout.events)
        shutil.rmtree(job, ignore_errors=True)
        settled += 1
    shutil.rmtree(jobs, ignore_errors=True)
    return settled


def _partition_rows(files: list[Path]) -> int:
    return int(pl.scan_parquet(files).select(pl.len()).collect().item())


def _compact_partition(layout: HomeLayout, partition: Path, files: list[Path]) -> int:
    """Rewrite one partition's files as one; returns its rows."""
    job = _jobs(layout) / partition.name
    shutil.rmtree(job, ignore_errors=True)
    build = job / "build"
    build.mkdir(parents=True)
    schema = event_schema()
    merged = (
        scan_event_files(files)
        .sort("occurred_at", "event_id", "ingest_id")
        .select([pl.col(c).cast(t) for c, t in schema.items()])
        .collect()
    )
    expected = _partition_rows(files)
    if merged.height != expected:  # never swap in anything but the same rows
        raise RuntimeError(f"compacting {partition.name} read {merged.height} of {expected} rows")
    write_parquet_atomically(merged, build / f"part-compact-{uuid.uuid4().hex[:12]}.parquet")
    fsync_dir(build)
    new = job / "new"
    build.replace(new)
    fsync_dir(job)
    if not _exchange(partition, new):
        partition.replace(job / "old")  # fallback: a kill here is settled by recovery
        new.replace(partition)
    fsync_dir(layout.events)
    shutil.rmtree(job, ignore_errors=True)
    return merged.height


def compact_lake(layout: HomeLayout, progress: Progress | None = None) -> CompactResult:
    """Merge each partition's part files into one; the caller holds the writer lock.

    Every column is carried, the id codes too (a lake an earlier recon wrote gets them
    first); each dictionary's files are merged into one as well, codes unchanged.
    """
    recover_compaction(layout)
    migrate_lake_codes(layout, progress)
    result = CompactResult()
    partitions = sorted(p for p in layout.events.glob("event_date=*") if p.is_dir())
    result.partitions = len(partitions)
    for number, partition in enumerate(partitions, start=1):
        files = sorted(partition.glob("*.parquet"))
        result.files_before += len(files)
        if len(files) > 1:
            if progress:
                step = f"compacting {partition.name} ({len(files)} files)"
                progress(step, number, len(partitions))
            result.rows += _compact_partition(layout, partition, files)
            result.compacted.append(partition.name)
            result.files_after += 1
        else:
            result.files_after += len(files)
    shutil.rmtree(_jobs(layout), ignore_errors=True)
    compact_dictionaries(layout)
    if progress:
        progress("done", len(partitions), len(partitions))
    return result
