"""Where everything lives inside one recon home."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from recon.core.errors import NotFoundError
from recon.core.resources import default_catalog


@dataclass(frozen=True)
class HomeLayout:
    """Paths inside one recon home."""

    root: Path

    @property
    def events(self) -> Path:
        """Accepted events, Hive-partitioned by UTC event date."""
        return self.root / "lake" / "events"

    @property
    def quarantine(self) -> Path:
        """Rejected rows, one Parquet file per ingest."""
        return self.root / "lake" / "quarantine"

    @property
    def derived(self) -> Path:
        """Intervals and anomalies recomputed from the lake after each ingest."""
        return self.root / "lake" / "derived"

    @property
    def codes(self) -> Path:
        """The dictionaries of the lake's integer id codes (`recon.ingest.codes`)."""
        return self.root / "lake" / "codes"

    @property
    def codes_complete(self) -> Path:
        """The marker that every lake file carries its id codes (no migration left to do)."""
        return self.codes / "lake-coded"

    @property
    def reports(self) -> Path:
        """Completed report CSVs."""
        return self.root / "reports"

    @property
    def store(self) -> Path:
        """The DuckDB report store."""
        return self.root / "recon.duckdb"

    @property
    def catalog(self) -> Path:
        """The home's editable package catalog."""
        return self.root / "catalog.csv"

    @property
    def spill(self) -> Path:
        """Scratch space for work bigger than memory (DuckDB spills, usage parts)."""
        return self.root / ".spill"

    @property
    def verdicts(self) -> Path:
        """Which catalogs passed their contract (empty files named by a digest of each)."""
        return self.root / ".checked"

    @property
    def staging(self) -> Path:
        """Where an ingest writes its lake files until it publishes them with its ledger entry."""
        return self.root / ".staging"

    @property
    def compaction(self) -> Path:
        """Where `recon compact` builds merged partitions before it swaps them in."""
        return self.root / ".compact"

    @property
    def lock(self) -> Path:
        """The lock file writers hold."""
        return self.root / ".recon.lock"

    def require(self) -> None:
        """Refuse to read a home that was never created: readers create nothing.

        A home is a folder with a report store; `recon ingest` (any writer) creates it.
        """
        if not self.store.is_file():
            raise NotFoundError(
                f"{self.root} is not a recon home (there is no {self.store.name} in it)",
                hint="`recon ingest LOGS` creates it there; "
                "or pass --home (or set RECON_HOME) to an existing home",
            )

    def ensure(self) -> None:
        """Create the folders and seed the catalog on first use."""
        for folder in (self.events, self.quarantine, self.derived, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.catalog.exists():
            shutil.copyfile(default_catalog(), self.catalog)


def event_files(layout: HomeLayout) -> list[Path]:
    """The lake's event part files, in a stable order."""
    return sorted(layout.events.glob("event_date=*/*.parquet"))
