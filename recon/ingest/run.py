"""Ingest log files into the lake: read, check, deduplicate, store, and account for every row.

Every row read ends in exactly one of: accepted (appended to the lake), duplicate (its
event_id is stored with identical content), or quarantined (kept with a reason and the
original row). Re-ingesting a file changes nothing: its events are duplicates and its
quarantined rows are already kept (by file digest and row number).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from recon.core import config
from recon.core.contracts import events_contract
from recon.home.files import write_atomically
from recon.home.layout import HomeLayout, event_files
from recon.home.store import Store
from recon.ingest import events as ev
from recon.ingest.catalog import load_catalog
from recon.ingest.idindex import EventIdIndex, id_hashes
from recon.ingest.lake import (
    QUARANTINE_SCHEMA,
    event_schema,
    scan_event_files,
    scan_quarantine,
)
from recon.ingest.sources import (
    SourceFile,
    UnreadableFileError,
    discover,
    originals,
    read_batches,
)


@dataclass
class FileResult:
    """What happened to one file."""

    path: str
    format: str
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None
    sha256: str | None = None


@dataclass
class IngestResult:
    """Counts for one ingest; `rows_read == accepted + duplicates + quarantined` always."""

    ingest_id: str
    files: list[FileResult] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        """Rows read from all files."""
        return sum(f.rows_read for f in self.files)

    @property
    def accepted(self) -> int:
        """Rows appended to the lake."""
        return sum(f.accepted for f in self.files)

    @property
    def duplicates(self) -> int:
        """Rows whose event was already stored with identical content."""
        return sum(f.duplicates for f in self.files)

    @property
    def quarantined(self) -> int:
        """Rows rejected with a reason."""
        return sum(f.quarantined for f in self.files)

    @property
    def failed_files(self) -> list[FileResult]:
        """Files that could not be read at all."""
        return [f for f in self.files if f.error]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "ingest_id": self.ingest_id,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "quarantine_reasons": dict(sorted(self.reasons.items())),
            "files": [asdict(f) for f in self.files],
            "skipped": self.skipped,
        }


Progress = Callable[[str, int, int], None]


@dataclass
class _Chunk:
    """Raw rows from one or more consecutive files, processed together."""

    rows: pl.DataFrame
    columns: dict[int, list[str]]  # file number -> that file's own columns


def _chunks(
    sources: list[SourceFile], result: IngestResult, progress: Progress | None
) -> Iterator[_Chunk]:
    """Batches of at most `RECON_INGEST_BATCH_ROWS` rows; small files grouped, large ones split."""
    limit = config.ingest_batch_rows()
    pending: list[pl.DataFrame] = []
    columns: dict[int, list[str]] = {}
    pending_rows = 0
    seq = 0
    for number, source in enumerate(sources, start=1):
        outcome = FileResult(path=str(source.path), format=source.kind, sha256=source.sha256)
        result.files.append(outcome)
        if progress:
            progress(f"reading {source.path.name}", number, len(sources))
        try:
            for batch in read_batches(source, limit):
                columns[number] = [c for c in batch.columns if not c.startswith("_")]
                pending.append(
                    batch.with_columns(
                        _seq=pl.int_range(seq, seq + batch.height, dtype=pl.Int64),
                        _sha256=pl.lit(source.sha256),
                        _file=pl.lit(number, pl.Int64),
                    )
                )
                seq += batch.height
                pending_rows += batch.height
                if pending_rows >= limit:
                    yield _Chunk(pl.concat(pending, how="diagonal_relaxed"), columns)
                    pending, columns, pending_rows = [], {}, 0
        except UnreadableFileError as exc:
            outcome.error = str(exc)
    if pending:
        yield _Chunk(pl.concat(pending, how="diagonal_relaxed"), columns)


def _store_accepted(
    accepted: pl.DataFrame, layout: HomeLayout, ingest_id: str, part: str
) -> list[tuple[Path, pl.DataFrame]]:
    """Write accepted rows into the lake, one file per event date; (file, its event ids)."""
    contract = events_contract()
    typed = accepted.with_columns(
        ingest_id=pl.lit(ingest_id),
        source_file=pl.col("_source_file"),
        source_row=pl.col("_source_row").cast(pl.Int64),
    ).select([pl.col(c).cast(t) for c, t in event_schema().items()])
    contract.validate(typed.head(0) if typed.is_empty() else typed)
    dated = typed.with_columns(_date=pl.col("occurred_at").dt.date())
    written = []
    for (day,), rows in dated.partition_by("_date", as_dict=True, maintain_order=True).items():
        path = layout.events / f"event_date={day}" / f"part-{part}.parquet"
        write_atomically(rows.drop("_date").sort("occurred_at", "event_id"), path)
        written.append((path, rows.select("event_id")))
    return written


def _store_quarantine(
    rejected: pl.DataFrame,
    chunk: _Chunk,
    layout: HomeLayout,
    ingest_id: str,
    part: str,
    at: datetime,
) -> None:
    if rejected.is_empty():
        return
    raw = chunk.rows.filter(pl.col("_seq").is_in(rejected["_seq"].implode()))
    originals_by_seq = pl.concat(
        [
            group.select("_seq").with_columns(
                originals(group.select([*chunk.columns.get(int(number), []), "_raw"]))
            )
            for (number,), group in raw.partition_by("_file", as_dict=True).items()
        ],
        how="vertical",
    )
    kept = scan_quarantine(layout).select("source_sha256", "source_row").collect()
    rows = (
        rejected.join(originals_by_seq, on="_seq", how="left")
        .select(
            ingest_id=pl.lit(ingest_id),
            source_file=pl.col("_source_file"),
            source_sha256=pl.col("_sha256"),
            source_row=pl.col("_source_row").cast(pl.Int64),
            event_id=pl.col("event_id"),
            reason=pl.col("reason"),
            detail=pl.col("detail"),
            original=pl.col("_original"),
            quarantined_at=pl.lit(at).dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")),
        )
        .join(kept, on=["source_sha256", "source_row"], how="anti")
        .unique(["source_sha256", "source_row"], keep="first", maintain_order=True)
        .select([pl.col(c).cast(t) for c, t in QUARANTINE_SCHEMA.items()])
    )
    if rows.height:
        write_atomically(rows, layout.quarantine / f"quarantine-{part}.parquet")


DERIVED = ("intervals", "anomalies")


def derived_stale(layout: HomeLayout) -> bool:
    """True when the lake changed since intervals and anomalies were last computed."""
    return any(not (layout.derived / f"{name}.parquet").exists() for name in DERIVED)


def mark_derived_stale(layout: HomeLayout) -> None:
    """Forget the derived files; they are rebuilt when someone asks for them.

    Rebuilding walks the whole lake, so it is left out of ingest: ingest memory stays bounded
    by its batch size whatever the size of the lake.
    """
    for name in DERIVED:
        (layout.derived / f"{name}.parquet").unlink(missing_ok=True)


def clear_leftovers(layout: HomeLayout) -> int:
    """Remove temporary files an interrupted writer left behind; they were never published."""
    removed = 0
    for folder in (layout.events, layout.quarantine, layout.derived, layout.reports):
        if folder.exists():
            for leftover in folder.rglob(".*.tmp"):
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed


def ingest_paths(
    paths: Iterable[Path],
    layout: HomeLayout,
    catalog_path: Path,
    at: datetime,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest files and folders into the home's lake; the caller holds the home lock.

    Rows are processed in bounded batches: each batch is checked against the lake as it is
    (including the batches before it), so the first occurrence of an event wins exactly as if
    everything had been read at once, and memory stays bounded for any input size.
    """
    layout.ensure()
    clear_leftovers(layout)
    catalog = load_catalog(catalog_path)
    ingest_id = f"{at.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    result = IngestResult(ingest_id=ingest_id)
    sources, skipped = discover(paths)
    result.skipped = [{"path": str(s.path), "reason": s.reason} for s in skipped]
    wrote = False
    # Hashes of every stored id and the file holding it, so a batch is never checked against
    # the whole lake: only the files that may hold its ids are read (linear ingest).
    known = EventIdIndex.of(event_files(layout))
    for number, chunk in enumerate(_chunks(sources, result, progress)):
        part = f"{ingest_id}-{number:05d}"
        ids = (
            chunk.rows.select(pl.col("event_id").cast(pl.String).str.strip_chars()).unique()
            if ("event_id" in chunk.rows.columns)
            else pl.DataFrame(schema={"event_id": pl.String})
        )
        # The lake's copies of this batch's ids, from the files that may hold them.
        holding = known.files_for(ids.select(id_hashes(pl.col("event_id")))[:, 0])
        stored = (
            scan_event_files(holding)
            .select(ev.content_columns())
            .join(ids.lazy(), on="event_id", how="semi")
            .collect(engine="streaming")
        )
        classified = ev.classified_rows(chunk.rows.lazy(), stored.lazy(), catalog).collect(
            engine="in-memory"
        )
        _account(classified, result)
        accepted = classified.filter(pl.col("status") == ev.ACCEPTED)
        known.add_files(
            [
                (path, stored_ids.select(id_hashes(pl.col("event_id")))[:, 0])
                for path, stored_ids in _store_accepted(accepted, layout, ingest_id, part)
            ]
        )
        _store_quarantine(
            classified.filter(pl.col("status") == ev.QUARANTINED),
            chunk,
            layout,
            ingest_id,
            part,
            at,
        )
        wrote = True
    if wrote:
        mark_derived_stale(layout)
    _record(result, layout, at)
    return result


def _account(classified: pl.DataFrame, result: IngestResult) -> None:
    by_file = {f.path: f for f in result.files}
    counts = classified.group_by("_source_file", "status").len()
    for path, status, n in counts.iter_rows():
        outcome = by_file[path]
        outcome.rows_read += n
        if status == ev.ACCEPTED:
            outcome.accepted += n
        elif status == ev.DUPLICATE:
            outcome.duplicates += n
        else:
            outcome.quarantined += n
    reasons = classified.filter(pl.col("status") == ev.QUARANTINED).group_by("reason").len()
    for reason, n in reasons.iter_rows():
        result.reasons[str(reason)] = result.reasons.get(str(reason), 0) + int(n)


def _record(result: IngestResult, layout: HomeLayout, at: datetime) -> None:
    with Store(layout).connect() as con:
        con.execute(
            "INSERT INTO ingests VALUES (?, ?, now(), ?, ?, ?, ?, ?)",
            [
                result.ingest_id,
                at,
                len(result.files),
                result.rows_read,
                result.accepted,
                result.duplicates,
                result.quarantined,
            ],
        )
        for f in result.files:
            con.execute(
                "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    result.ingest_id,
                    f.path,
                    f.sha256,
                    f.format,
                    f.rows_read,
                    f.accepted,
                    f.duplicates,
                    f.quarantined,
                    f.error,
                ],
            )
