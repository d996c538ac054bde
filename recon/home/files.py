"""Writing files so that a reader sees the old version or the new one, never half of one.

Every writer here writes to a hidden temporary name beside the target (`.<name>.tmp`, which
`recon ingest` sweeps up after a crash), flushes it to disk when the file must survive a power
cut, then renames it into place: a rename within one folder is atomic.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import polars as pl

_BLOCK = 1 << 20


def temporary_path(path: Path) -> Path:
    """The hidden name a file is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.tmp")


def fsync_file(path: Path) -> None:
    """Flush a closed file's contents to disk."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def open_atomically(
    path: Path, *, durable: bool = True, mode: int | None = None
) -> Iterator[BinaryIO]:
    """A binary handle to `path`'s temporary file; renamed into place only if the block succeeds.

    `durable` flushes the file to disk before the rename; `mode` sets its permission bits
    (before it becomes visible). On any exception the temporary file is removed and `path` is
    left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        with tmp.open("wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomically(
    path: Path, data: bytes, *, durable: bool = True, mode: int | None = None
) -> None:
    """Write `data` to `path` atomically (see `open_atomically`)."""
    with open_atomically(path, durable=durable, mode=mode) as handle:
        handle.write(data)


def write_text_atomically(
    path: Path, text: str, *, durable: bool = True, mode: int | None = None
) -> None:
    """Write UTF-8 `text` to `path` atomically (see `open_atomically`)."""
    write_bytes_atomically(path, text.encode("utf-8"), durable=durable, mode=mode)


def write_with(path: Path, writer: Callable[[Path], object], *, durable: bool = True) -> None:
    """Let `writer` write the temporary file by name (Polars, DuckDB COPY), then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        writer(tmp)
        if durable:
            fsync_file(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write Parquet (zstd, with statistics) to `path` atomically and durably."""
    write_with(path, lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=True))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (files of any size)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
