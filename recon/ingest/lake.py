"""The Parquet event lake and its quarantine: how to read them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recon.core.contracts import dtype_of, events_contract
from recon.home.layout import HomeLayout, event_files

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


def event_schema() -> dict[str, pl.DataType]:
    """Column → Polars type of a stored event."""
    return {c.name: dtype_of(c.dtype) for c in events_contract().columns}


def scan_events(layout: HomeLayout) -> pl.LazyFrame:
    """All stored events, lazily; an empty lake gives an empty frame with the right columns."""
    return scan_event_files(event_files(layout))


def scan_known_events(layout: HomeLayout, ingests: tuple[str, ...] | None) -> pl.LazyFrame:
    """The stored events of some ingests (None: all), lazily: what was known at an instant."""
    events = scan_events(layout)
    if ingests is None:
        return events
    return events.filter(pl.col("ingest_id").is_in(list(ingests)))


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
    return scan_quarantine_files(sorted(layout.quarantine.glob("*.parquet")))


def scan_quarantine_files(files: list[Path]) -> pl.LazyFrame:
    """The rows of some quarantine part files, lazily (none: an empty frame)."""
    if not files:
        return pl.LazyFrame(schema=QUARANTINE_SCHEMA)
    return pl.scan_parquet(files, schema=QUARANTINE_SCHEMA)
