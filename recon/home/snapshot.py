"""The store readers open is a published snapshot that no writer ever touches.

A write session (the caller holds the home's writer lock) copies the published store to a
private file under `<home>/.store/`, writes there, checkpoints, and publishes with two renames:
the file becomes `.store/gen-<n>.duckdb` and `recon.duckdb` is replaced by a hard link to it.
So a reader (this process, another recon process, or any DuckDB client that opens
`recon.duckdb` read-only) sees a whole committed store, never waits for a writer and never
holds one up: the file it opened is never written again. A writer that dies leaves the
published store as it was; its private file is removed by the next writer.

Within one process readers share one in-memory DuckDB that attaches each published generation
read-only once; a read is a cursor of it (opening the file per read costs ~15 ms, and DuckDB's
per-path instance cache fails when threads open and close one file at once).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from recon.home.files import fsync_dir, fsync_file
from recon.home.layout import HomeLayout

_FOLDER = ".store"
_ATTEMPTS = 5


def _folder(layout: HomeLayout) -> Path:
    return layout.root / _FOLDER


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


# ---------------------------------------------------------------------------- writers


@dataclass
class _Session:
    work: Path
    depth: int = 0


_sessions: dict[Path, _Session] = {}  # by published path
_sessions_lock = threading.Lock()


@contextmanager
def writing(layout: HomeLayout) -> Iterator[tuple[Path, bool]]:
    """The private file a write session works on, and whether this is the outermost session.

    Nested sessions of one process share the file; the outermost publishes it when it ends
    (also after an error: what was committed stays committed, as in a store written in place).
    """
    key = layout.store
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = _Session(_begin(layout))
        session.depth += 1
        outer = session.depth == 1
    try:
        yield session.work, outer
    finally:
        with _sessions_lock:
            session.depth -= 1
            last = session.depth == 0
            if last:
                del _sessions[key]
        if last:
            _publish(layout, session.work)


def _begin(layout: HomeLayout) -> Path:
    folder = _folder(layout)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("write-*"):  # of a writer that died (we hold the lock)
        leftover.unlink(missing_ok=True)
    published = layout.store
    if published.exists() and _wal(published).exists():
        # A store an earlier recon wrote in place and left mid-write: replay its log first.
        con = duckdb.connect(str(published))
        con.execute("CHECKPOINT")
        con.close()
    work = folder / f"write-{os.getpid()}-{time.time_ns()}.duckdb"
    if published.exists():
        shutil.copyfile(published, work)
    return work


def _publish(layout: HomeLayout, work: Path) -> None:
    if not work.exists():
        return
    if _wal(work).exists():  # a session that could not checkpoint (an error mid-transaction)
        con = duckdb.connect(str(work))
        con.execute("CHECKPOINT")
        con.close()
    fsync_file(work)
    folder = _folder(layout)
    generation = folder / f"gen-{time.time_ns()}.duckdb"
    work.replace(generation)
    link = folder / f"link-{os.getpid()}-{time.time_ns()}"
    os.link(generation, link)
    link.replace(layout.store)
    fsync_dir(folder)
    fsync_dir(layout.root)
    for old in folder.glob("gen-*.duckdb"):
        if old != generation:
            old.unlink(missing_ok=True)  # readers that have it open keep reading it


# ---------------------------------------------------------------------------- readers

_reading_threads = threading.local()


@contextmanager
def reading() -> Iterator[None]:
    """Mark this thread as a reader: `Store.connect()` inside gives read-only connections."""
    before = getattr(_reading_threads, "on", False)
    _reading_threads.on = True
    try:
        yield
    finally:
        _reading_threads.on = before


def is_reading() -> bool:
    """Whether this thread is inside `reading()`."""
    return bool(getattr(_reading_threads, "on", False))


def current_file(layout: HomeLayout) -> Path | None:
    """The file behind the published store (its generation file when there is one)."""
    try:
        published = layout.store.stat()
    except FileNotFoundError:
        return None
    identity = (published.st_dev, published.st_ino)
    folder = _folder(layout)
    if folder.is_dir():
        for generation in folder.glob("gen-*.duckdb"):
            with contextlib.suppress(FileNotFoundError):
                found = generation.stat()
                if (found.st_dev, found.st_ino) == identity:
                    return generation
    return layout.store  # a home copied without its hard links, or one no writer has published


@dataclass
class _Attached:
    alias: str
    identity: tuple[int, int]
    users: int = 0


class _Readers:
    """One in-memory DuckDB per process that attaches published generations read-only."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._names = itertools.count()
        self._attached: dict[Path, _Attached] = {}

    def _identity(self, path: Path) -> tuple[int, int]:
        found = path.stat()
        return found.st_dev, found.st_ino

    def _acquire(self, path: Path) -> str | None:
        with self._lock:
            if self._con is None:
                self._con = duckdb.connect(":memory:")
            identity = self._identity(path)
            entry = self._attached.get(path)
            if entry is not None and entry.identity != identity:
                if entry.users:
                    return None  # the same name, now another file, still in use: go private
                self._con.execute(f"DETACH {entry.alias}")
                del self._attached[path]
                entry = None
            for other, idle in list(self._attached.items()):
                if other != path and idle.users == 0:  # a generation a writer has retired
                    self._con.execute(f"DETACH {idle.alias}")
                    del self._attached[other]
            if entry is None:
                alias = f"published_{next(self._names)}"
                self._con.execute(f"ATTACH '{_quoted(path)}' AS {alias} (READ_ONLY)")
                entry = self._attached[path] = _Attached(alias, identity)
            entry.users += 1
            return entry.alias

    def _release(self, path: Path, keep: Path | None) -> None:
        with self._lock:
            entry = self._attached.get(path)
            if entry is None:
                return
            entry.users -= 1
            if entry.users == 0 and path != keep and self._con is not None:
                self._con.execute(f"DETACH {entry.alias}")
                del self._attached[path]

    @contextmanager
    def cursor(self, layout: HomeLayout, path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
        alias = self._acquire(path)
        if alias is None or self._con is None:
            with _private(path) as con:
                yield con
            return
        cur = self._con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(f"USE {alias}")
            yield cur
        finally:
            cur.close()
            self._release(path, current_file(layout))


@contextmanager
def _private(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{_quoted(path)}' AS published (READ_ONLY)")
        con.execute("USE published")
        yield con
    finally:
        con.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


_readers = _Readers()


@contextmanager
def read_connection(layout: HomeLayout) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the published store (None when nothing was published yet).

    A generation a writer retires between finding and attaching it is looked up again.
    """
    for attempt in range(_ATTEMPTS):
        path = current_file(layout)
        if path is None:
            yield None
            return
        try:
            cursor = _readers.cursor(layout, path)
            con = cursor.__enter__()
        except (duckdb.IOException, FileNotFoundError):
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        with contextlib.ExitStack() as stack:
            stack.push(cursor)
            yield con
        return
