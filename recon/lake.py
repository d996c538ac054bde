"""The home folder's layout and the Parquet event lake: where things live and how to read them."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recon._resources import default_catalog
from recon.schemas import DTYPES, events_contract

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "ingest_id": pl.String(),
    "source_file": pl.String(),
    "source_sha256": pl.String(),
    "source_row": pl.Int64(),
    "event_id": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
    "original": pl.String(),
    "quarantined_at": pl.Datetime("us", "UTC"),
}


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
    def lock(self) -> Path:
        """The lock file writers hold."""
        return self.root / ".recon.lock"

    def ensure(self) -> None:
        """Create the folders and seed the catalog on first use."""
        for folder in (self.events, self.quarantine, self.derived, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.catalog.exists():
            shutil.copyfile(default_catalog(), self.catalog)


def event_schema() -> dict[str, pl.DataType]:
    """Column → Polars type of a stored event."""
    return {c.name: DTYPES[c.dtype] for c in events_contract().columns}


def event_files(layout: HomeLayout) -> list[Path]:
    """The lake's event part files, in a stable order."""
    return sorted(layout.events.glob("event_date=*/*.parquet"))


def scan_events(layout: HomeLayout) -> pl.LazyFrame:
    """All stored events, lazily; an empty lake gives an empty frame with the right columns."""
    return scan_event_files(event_files(layout))


def scan_event_files(files: list[Path]) -> pl.LazyFrame:
    """The events of some of the lake's part files, lazily (none: an empty frame)."""
    schema = event_schema()
    if not files:
        return pl.LazyFrame(schema=schema)
    return pl.scan_parquet(
        files, schema=schema, hive_partitioning=False, missing_columns="insert"
    ).select(list(schema))


def lake_rows(layout: HomeLayout) -> int:
    """How many events the lake holds (from the Parquet footers, without reading rows)."""
    files = event_files(layout)
    if not files:
        return 0
    return int(pl.scan_parquet(files).select(pl.len()).collect().item())


def lake_fingerprint(layout: HomeLayout) -> tuple[tuple[str, int, int], ...]:
    """The event lake's files with sizes and modification times: changes when the lake does."""
    files = event_files(layout)
    return tuple((str(f), (st := f.stat()).st_size, st.st_mtime_ns) for f in files)


def scan_quarantine(layout: HomeLayout) -> pl.LazyFrame:
    """All quarantined rows, lazily."""
    files = sorted(layout.quarantine.glob("*.parquet"))
    if not files:
        return pl.LazyFrame(schema=QUARANTINE_SCHEMA)
    return pl.scan_parquet(files, schema=QUARANTINE_SCHEMA)


def write_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write Parquet to a temporary name, flush it to disk, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)
