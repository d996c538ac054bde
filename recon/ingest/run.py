"""Ingest log files into the lake: read, check, deduplicate, store, and account for every row.

Every row read ends in exactly one of: accepted (appended to the lake), duplicate (its
event_id is stored with identical content), or quarantined (kept with a reason and the
original row). Re-ingesting a file changes nothing: its events are duplicates and its
quarantined rows are already kept (by file digest and row number).

An ingest's files become visible in the lake only together with its ledger entry, and a
failed ingest (a full disk included) leaves the lake exactly as it was (see `staging`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from recon.core import config
from recon.core.config import IngestSettings
from recon.core.contracts import events_contract
from recon.home.files import disk_full_error, is_disk_full, write_parquet_atomically
from recon.home.layout import HomeLayout, event_files
from recon.home.store import Store
from recon.ingest import events as ev
from recon.ingest.catalog import load_catalog
from recon.ingest.codes import CodeBook, code_columns, store_text_orders
from recon.ingest.codes_migrate import migrate_lake_codes
from recon.ingest.idindex import EventIdIndex, id_hashes
from recon.ingest.lake import (
    QUARANTINE_SCHEMA,
    event_schema,
    scan_event_files,
    scan_quarantine,
    scan_quarantine_files,
)
from recon.ingest.results import FileResult, IngestResult, Progress
from recon.ingest.sources import (
    SourceFile,
    UnreadableFileError,
    discover,
    originals,
    read_batches,
)
from recon.ingest.staging import (
    Staging,
    derived_stale,
    ledger_rows,
    mark_derived_stale,
    recover_staged,
)

__all__ = [
    "FileResult",
    "IngestResult",
    "Progress",
    "clear_leftovers",
    "derived_stale",
    "ingest_paths",
    "mark_derived_stale",
]


@dataclass
class _Chunk:
    """Raw rows from one or more consecutive files, processed together."""

    rows: pl.DataFrame
    columns: dict[int, list[str]]  # file number -> that file's columns (recon's names)
    names: dict[int, dict[str, str]]  # file number -> recon's name -> the file's own name
    zones: set[str]  # the zones declared for naive timestamps of these rows


def _chunks(
    sources: list[SourceFile],
    result: IngestResult,
    settings: IngestSettings,
    progress: Progress | None,
) -> Iterator[_Chunk]:
    """Batches of at most `RECON_INGEST_BATCH_ROWS` rows; small files grouped, large ones split."""
    limit = config.ingest_batch_rows()
    pending: list[pl.DataFrame] = []
    chunk = _Chunk(pl.DataFrame(), {}, {}, set())
    pending_rows = 0
    seq = 0
    for number, source in enumerate(sources, start=1):
        outcome = FileResult(
            path=str(source.path),
            format=source.label,
            sha256=source.sha256,
            notes=list(source.notes),
        )
        result.files.append(outcome)
        if progress:
            progress(f"reading {source.path.name}", number, len(sources))
        mapping, zone = settings.for_source(source.path)
        try:
            for batch, names in read_batches(source, limit, mapping):
                chunk.columns[number] = [c for c in batch.columns if not c.startswith("_")]
                chunk.names[number] = names
                if zone is not None:
                    chunk.zones.add(zone)
                pending.append(
                    batch.with_columns(
                        _seq=pl.int_range(seq, seq + batch.height, dtype=pl.Int64),
                        _sha256=pl.lit(source.sha256),
                        _file=pl.lit(number, pl.Int64),
                        _zone=pl.lit(zone, pl.String),
                    )
                )
                seq += batch.height
                pending_rows += batch.height
                if pending_rows >= limit:
                    chunk.rows = pl.concat(pending, how="diagonal_relaxed")
                    yield chunk
                    pending, pending_rows = [], 0
                    chunk = _Chunk(pl.DataFrame(), {}, {}, set())
        except UnreadableFileError as exc:
            outcome.error = str(exc)
    if pending:
        chunk.rows = pl.concat(pending, how="diagonal_relaxed")
        yield chunk


def _store_accepted(
    accepted: pl.DataFrame, folder: Path, ingest_id: str, part: str, book: CodeBook
) -> list[tuple[Path, pl.DataFrame]]:
    """Write accepted rows into the lake, one file per event date; (file, its event ids).

    The rows' codes are assigned (and their new texts' dictionary files written) first.
    """
    contract = events_contract()
    schema = event_schema()
    coded = set(code_columns())
    texts = accepted.with_columns(
        ingest_id=pl.lit(ingest_id),
        source_file=pl.col("_source_file"),
        source_row=pl.col("_source_row").cast(pl.Int64),
    ).select([pl.col(c).cast(t) for c, t in schema.items() if c not in coded])
    typed = book.encode(texts).select([pl.col(c).cast(t) for c, t in schema.items()])
    contract.validate(typed.head(0) if typed.is_empty() else typed)
    dated = typed.with_columns(_date=pl.col("occurred_at").dt.date())
    written = []
    for (day,), rows in dated.partition_by("_date", as_dict=True, maintain_order=True).items():
        path = folder / f"event_date={day}" / f"part-{part}.parquet"
        write_parquet_atomically(rows.drop("_date").sort("occurred_at", "event_id"), path)
        written.append((path, rows.select("event_id")))
    return written


def _store_quarantine(
    rejected: pl.DataFrame,
    chunk: _Chunk,
    layout: HomeLayout,
    staging: Staging,
    part: str,
    at: datetime,
) -> None:
    if rejected.is_empty():
        return
    raw = chunk.rows.filter(pl.col("_seq").is_in(rejected["_seq"].implode()))
    originals_by_seq = pl.concat(
        [
            group.select("_seq").with_columns(
                originals(
                    group.select([*chunk.columns.get(int(number), []), "_raw"]).rename(
                        chunk.names.get(int(number), {})
                    )
                )
            )
            for (number,), group in raw.partition_by("_file", as_dict=True).items()
        ],
        how="vertical",
    )
    kept = pl.concat(
        [
            scan_quarantine(layout).select("source_sha256", "source_row").collect(),
            scan_quarantine_files(staging.quarantine_files())
            .select("source_sha256", "source_row")
            .collect(),
        ]
    )
    rows = (
        rejected.join(originals_by_seq, on="_seq", how="left")
        .select(
            ingest_id=pl.lit(staging.ingest_id),
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
        write_parquet_atomically(rows, staging.quarantine / f"quarantine-{part}.parquet")


def clear_leftovers(layout: HomeLayout) -> int:
    """Remove temporary files an interrupted writer left behind; they were never published."""
    removed = 0
    for folder in (layout.events, layout.quarantine, layout.derived, layout.codes, layout.reports):
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
    *,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
    settings: IngestSettings | None = None,
) -> IngestResult:
    """Ingest files and folders into the home's lake; the caller holds the home lock.

    Rows are processed in bounded batches: each batch is checked against the lake as it is
    (including the batches before it), so the first occurrence of an event wins exactly as if
    everything had been read at once, and memory stays bounded for any input size.

    `settings` (default: the home's recon.toml `[ingest]`) name the partner's columns and the
    zone of naive timestamps; `columns` (recon's name → the log's column name) and `timezone`
    apply to every file of this call, on top of them. A full disk raises `DiskFullError`
    after the lake is put back exactly as it was.
    """
    chosen = (settings or config.load_settings(layout.root).ingest).with_call(columns, timezone)
    try:
        layout.ensure()
        clear_leftovers(layout)
        # The store first: a home exists (for readers) from the moment its first ingest starts.
        with Store(layout).connect():
            pass
        recover_staged(layout)
        migrate_lake_codes(layout)
    except Exception as exc:
        if is_disk_full(exc):
            raise _disk_full(exc, layout) from exc
        raise
    catalog = load_catalog(catalog_path, layout.verdicts, remember=True)
    ingest_id = f"{at.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    result = IngestResult(ingest_id=ingest_id)
    sources, skipped = discover(paths)
    result.skipped = [{"path": str(s.path), "reason": s.reason} for s in skipped]
    staging = Staging(layout, ingest_id)
    try:
        staging.begin()
        grown = _ingest_into(staging, sources, result, chosen, catalog, at, progress)
        staging.publish(_ledger(result, at))
    except BaseException as exc:
        staging.abandon()
        if isinstance(exc, Exception) and is_disk_full(exc):
            raise _disk_full(exc, layout) from exc
        raise
    store_text_orders(layout, grown)  # how reports order rows, break ties (a cache: `codes.py`)
    return result


def _disk_full(exc: Exception, layout: HomeLayout) -> Exception:
    return disk_full_error(
        exc,
        layout.root,
        "ingest",
        outcome="nothing of this ingest was kept, the lake is as it was",
        again="ingesting the same files again is safe (idempotent)",
    )


def _ingest_into(
    staging: Staging,
    sources: list[SourceFile],
    result: IngestResult,
    settings: IngestSettings,
    catalog: pl.DataFrame,
    at: datetime,
    progress: Progress | None,
) -> set[str]:
    """Check every row and write the accepted and quarantined ones into the staging folder.

    Returns the names of the dictionaries that got new codes.
    """
    layout = staging.layout
    # Hashes of every stored id and the file holding it, so a batch is never checked against
    # the whole lake: only the files that may hold its ids are read (linear ingest). Staged
    # files of this ingest join the index as they are written.
    known = EventIdIndex.of(event_files(layout))
    book = CodeBook(layout)
    for number, chunk in enumerate(_chunks(sources, result, settings, progress)):
        part = f"{staging.ingest_id}-{number:05d}"
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
        classified = ev.classified_rows(chunk.rows, stored, catalog, sorted(chunk.zones))
        _account(classified, result)
        accepted = classified.filter(pl.col("status") == ev.ACCEPTED)
        known.add_files(
            [
                (path, stored_ids.select(id_hashes(pl.col("event_id")))[:, 0])
                for path, stored_ids in _store_accepted(
                    accepted, staging.events, staging.ingest_id, part, book
                )
            ]
        )
        _store_quarantine(
            classified.filter(pl.col("status") == ev.QUARANTINED),
            chunk,
            layout,
            staging,
            part,
            at,
        )
    return book.grown


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


def _ledger(result: IngestResult, at: datetime) -> dict[str, object]:
    totals = [
        len(result.files),
        result.rows_read,
        result.accepted,
        result.duplicates,
        result.quarantined,
    ]
    files: list[list[object]] = [
        [
            f.path,
            f.sha256,
            f.format,
            f.rows_read,
            f.accepted,
            f.duplicates,
            f.quarantined,
            f.error,
        ]
        for f in result.files
    ]
    return ledger_rows(result.ingest_id, at, totals, files)
