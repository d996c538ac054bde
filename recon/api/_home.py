"""The home behind the face: settings, the writer lock, readers, SQL."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import polars as pl

from recon.core import config
from recon.core.errors import LockedError
from recon.home import snapshot
from recon.home.layout import HomeLayout, event_files
from recon.home.lock import home_lock
from recon.home.sql import read_only_query
from recon.home.store import Store
from recon.ingest.run import derived_stale
from recon.ingest.staging import recover_staged
from recon.reports.derived import refresh_derived
from recon.reports.registry import fail_interrupted
from recon.reports.usage import UsageCache, load_catalog_for


class HomeFace:
    """One home: its layout, settings, catalog and store, and how to read and write it."""

    def __init__(self, home: str | Path | None = None, catalog: str | Path | None = None) -> None:
        """Open a home.

        Every write takes the home's writer lock for its length (threads of one process queue
        first), so writers never interleave. Reads take no lock: they read the published
        store, so they never wait for a writer, and they create nothing (a read-only copy of a
        home can be read).
        """
        self.layout = HomeLayout(config.resolve_home(home))
        self.settings = config.load_settings(self.layout.root)
        chosen = catalog or self.settings.catalog
        self.catalog_path = Path(chosen).resolve() if chosen else None
        self.store = Store(self.layout)
        self._thread_lock = threading.RLock()
        self._locked = False  # this process holds the home's writer lock
        self._usage_cache = UsageCache(self.layout)

    @contextmanager
    def _writing(self, wait_seconds: float | None = None) -> Iterator[None]:
        with self._thread_lock:
            if self._locked:  # nested in this thread's write
                yield
                return
            with home_lock(self.layout, wait_seconds=wait_seconds):
                self._locked = True
                try:
                    if self.layout.staging.is_dir():  # an ingest was killed mid-publish
                        recover_staged(self.layout)
                    yield
                finally:
                    self._locked = False

    def _reading(self) -> AbstractContextManager[None]:
        self.layout.require()  # a reader never creates a home
        return snapshot.reading()

    @property
    def home(self) -> Path:
        """The home folder."""
        return self.layout.root

    def catalog(self) -> pl.DataFrame:
        """The catalog in use (the home's, unless another was given)."""
        return load_catalog_for(self.layout, self.catalog_path)

    def ensure_home(self) -> None:
        """Create the home: folders, catalog and report store (a server starting on a new one)."""
        self.layout.ensure()
        with self.store.connect():
            pass

    def recover_interrupted(self) -> None:
        """Mark reports whose process ended mid-way as FAILED (they can never finish)."""
        with self._writing(), self.store.connect() as con:
            fail_interrupted(con, self.layout.reports)

    def sql(self, query: str) -> pl.DataFrame:
        """Run read-only SQL on the store; anything that would write or reach outside is refused.

        Derived tables and the store's views are brought up to date first, unless a writer is
        busy or the home is read-only: then it reads what was last published (a reader never
        waits for a writer, and never writes to a read-only home).
        """
        self.layout.require()
        root = self.layout.root
        if os.access(root, os.W_OK) and root.stat().st_mode & 0o222:
            with contextlib.suppress(LockedError), self._writing(wait_seconds=0):
                if derived_stale(self.layout) and event_files(self.layout):
                    refresh_derived(self.layout, self.catalog())
                self.store.refresh()  # tables exist and views point at the lake as it is now
        return read_only_query(self.layout, query)
