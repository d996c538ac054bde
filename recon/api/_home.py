"""The home behind the face: settings, the writer lock, readers, SQL."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from recon.core import config
from recon.core.errors import LockedError
from recon.home import snapshot
from recon.home.layout import HomeLayout, event_files
from recon.home.lock import home_lock
from recon.home.store import Store
from recon.ingest.staging import recover_staged
from recon.reports.registry import fail_interrupted

if TYPE_CHECKING:
    import polars as pl

    from recon.ingest.compact import CompactResult
    from recon.ingest.run import Progress
    from recon.reports.usage import UsageCache


def _migrate_codes(layout: HomeLayout) -> None:
    """Give the lake files of an earlier recon their id codes (once), saying so on stderr."""
    from recon.ingest.codes_migrate import migrate_lake_codes  # noqa: PLC0415

    log = logging.getLogger("recon.migrate")

    def notice(step: str, number: int, total: int) -> None:
        if number in (1, total) or number % 50 == 0:
            log.warning("recon: one-time lake migration, %s (%d of %d)", step, number, total)

    migrate_lake_codes(layout, notice)


class HomeFace:
    """One home: its layout, settings, catalog and store, and how to read and write it."""

    def __init__(
        self,
        home: str | Path | None = None,
        catalog: str | Path | None = None,
        *,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> None:
        """Open a home.

        `engine` computes USER usage for the reports built here: `embedded` or `spark` (on
        `spark_master`, else RECON_SPARK_MASTER, else local[*]); unset, recon.toml's [engine]
        decides, else embedded.

        Every write takes the home's writer lock for its length (threads of one process queue
        first), so writers never interleave. Reads take no lock: they read the published
        store, so they never wait for a writer, and they create nothing (a read-only copy of a
        home can be read).
        """
        self.layout = HomeLayout(config.resolve_home(home))
        self.settings = config.load_settings(self.layout.root)
        chosen = catalog or self.settings.catalog
        self.engine = self.settings.engine.chosen(engine, spark_master, config.spark_master())
        self.catalog_path = Path(chosen).resolve() if chosen else None
        self.store = Store(self.layout)
        self._thread_lock = threading.RLock()
        self._locked = False  # this process holds the home's writer lock
        self._usage_cache_: UsageCache | None = None

    @property
    def _usage_cache(self) -> UsageCache:
        """USER usage kept between reports of one period (made on first use: it loads Polars)."""
        if self._usage_cache_ is None:
            from recon.reports.usage import UsageCache  # noqa: PLC0415

            self._usage_cache_ = UsageCache(self.layout)
        return self._usage_cache_

    @contextmanager
    def _writing(self, wait_seconds: float | None = None) -> Iterator[None]:
        wait = config.lock_wait_seconds() if wait_seconds is None else wait_seconds
        if not self._thread_lock.acquire(timeout=wait):  # another thread of ours is writing
            raise LockedError(
                f"home {self.layout.root} is busy with another write of this process",
                hint="wait until it is done (a report being built), then try again",
            )
        try:
            if self._locked:  # nested in this thread's write
                yield
                return
            with home_lock(self.layout, wait_seconds=wait):
                self._locked = True
                try:
                    if self.layout.staging.is_dir():  # an ingest was killed mid-publish
                        recover_staged(self.layout)
                    if self.layout.compaction.is_dir():  # a compaction was killed
                        from recon.ingest.compact import recover_compaction  # noqa: PLC0415

                        recover_compaction(self.layout)
                    if self.layout.events.is_dir() and not self.layout.codes_complete.is_file():
                        _migrate_codes(self.layout)  # a lake an earlier recon wrote
                    yield
                finally:
                    self._locked = False
        finally:
            self._thread_lock.release()

    def _reading(self) -> AbstractContextManager[None]:
        self.layout.require()  # a reader never creates a home
        return snapshot.reading()

    @property
    def home(self) -> Path:
        """The home folder."""
        return self.layout.root

    def catalog(self) -> pl.DataFrame:
        """The catalog in use (the home's, unless another was given), checked.

        While this process holds the home's writer lock, a pass is recorded, so the next
        process need not import Pandera to check the same catalog again. A reading command
        records nothing (in a server, a reader may record while another thread writes).
        """
        from recon.reports.usage import load_catalog_for  # noqa: PLC0415

        return load_catalog_for(self.layout, self.catalog_path, remember=self._locked)

    def ensure_home(self) -> None:
        """Create the home: folders, catalog and report store (a server starting on a new one)."""
        self.layout.ensure()
        with self.store.connect():
            pass

    def compact(self, progress: Progress | None = None) -> CompactResult:
        """Merge the lake's small part files, partition by partition; no answer changes.

        Holds the writer lock; a kill at any point loses and doubles nothing (the next
        writer settles what was left).
        """
        from recon.ingest.compact import compact_lake  # noqa: PLC0415

        self.layout.require()
        with self._writing():
            return compact_lake(self.layout, progress)

    def recover_interrupted(self) -> None:
        """Mark reports whose process ended mid-way as FAILED (they can never finish)."""
        with self._writing(), self.store.connect() as con:
            fail_interrupted(con, self.layout.reports)

    def sql(self, query: str) -> pl.DataFrame:
        """Run read-only SQL on the store; anything that would write or reach outside is refused.

        After an ingest, the derived tables (intervals, anomalies) are recomputed first, and a
        store an earlier version or another path prepared is brought up to date, unless a
        writer is busy or the home is read-only: then it reads what was last published (a
        reader never waits for a writer, and never writes to a read-only home). Otherwise it
        only reads: it takes no lock and publishes nothing.
        """
        from recon.home.sql import read_only_query  # noqa: PLC0415
        from recon.reports.derived import refresh_derived  # noqa: PLC0415

        self.layout.require()
        stale = self._derived_stale()
        if (stale or not self.store.prepared_here()) and _writable(self.layout.root):
            with contextlib.suppress(LockedError), self._writing(wait_seconds=0):
                if self._derived_stale():  # again, now that no one else writes
                    refresh_derived(self.layout, self.catalog())
                self.store.refresh()  # tables migrated, views point at this home's files
        return read_only_query(self.layout, query)

    def _derived_stale(self) -> bool:
        from recon.ingest.run import derived_stale  # noqa: PLC0415

        return derived_stale(self.layout) and bool(event_files(self.layout))


def _writable(root: Path) -> bool:
    return os.access(root, os.W_OK) and bool(root.stat().st_mode & 0o222)
