"""Read partner log files (CSV, JSON Lines, Parquet) as batches of raw text rows, with lineage.

Each batch carries the file's columns as text plus `_source_row` (the 1-based data row: the CSV
header is not counted; for JSON Lines, non-blank lines), `_malformed` (why a row could not be
parsed, else null) and `_original` (the row as read, as JSON, at most 64 KiB).

Files are streamed in batches of at most `RECON_INGEST_BATCH_ROWS` rows, so a log larger than
memory is read in bounded memory. A well-formed CSV under `RECON_FAST_CSV_BYTES` is parsed by
Polars in one go; anything else (larger, invalid UTF-8, ragged rows) goes through Python's csv
module row by row, so that one bad row never costs the good rows of the same file. Only a file
that cannot be read as its format at all raises `UnreadableFileError`.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recon.core import config
from recon.core.errors import BadInputError
from recon.home.files import file_sha256

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
ORIGINAL_LIMIT = 64 * 1024
IDENTIFYING = ("event_id", "occurred_at", "action")


class UnreadableFileError(BadInputError):
    """A log file that cannot be parsed as its format at all."""


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it is, its format and a digest of its bytes."""

    path: Path
    kind: str
    sha256: str
    size: int


@dataclass(frozen=True)
class SkippedPath:
    """A path that was named or found but is not a log file recon reads."""

    path: Path
    reason: str


def discover(paths: Iterable[Path]) -> tuple[list[SourceFile], list[SkippedPath]]:
    """Expand files and folders (recursively) into log files, sorted by path within a folder."""
    found: list[SourceFile] = []
    skipped: list[SkippedPath] = []

    def consider(path: Path, *, named: bool) -> None:
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None:
            if named or not path.name.startswith("."):
                skipped.append(
                    SkippedPath(path, f"not a log file (expected {', '.join(sorted(SUFFIXES))})")
                )
            return
        found.append(SourceFile(path, kind, file_sha256(path), path.stat().st_size))

    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                consider(child, named=False)
        elif path.is_file():
            consider(path, named=True)
        else:
            skipped.append(SkippedPath(path, "no such file or folder"))
    return found, skipped


# ------------------------------------------------------------------------------ helpers


def _clean_header(names: list[str]) -> list[str]:
    out, seen = [], set()
    for i, name in enumerate(names):
        clean = name.strip().lower().lstrip("\ufeff") or f"column_{i + 1}"
        while clean in seen:
            clean += "_dup"
        seen.add(clean)
        out.append(clean)
    return out


def _check_identifying(source: SourceFile, header: list[str]) -> None:
    if set(header) & set(IDENTIFYING):
        return
    joined = ",".join(header)
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
        if delimiter in joined:
            raise UnreadableFileError(
                f"{source.path}: the header is separated by {name}, not commas",
                hint="export the log as comma-separated CSV",
            )
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    raise UnreadableFileError(
        f"{source.path}: not an event log (it has none of the columns "
        f"{', '.join(IDENTIFYING)}; it has {shown})",
        hint="move it out of the log folder, or fix its header",
    )


def _frame(
    columns: list[str], rows: list[list[str | None]], malformed: list[str | None], first_row: int
) -> pl.DataFrame:
    data = (
        pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
        if columns
        else (pl.DataFrame({"_empty": [None] * len(rows)}).drop("_empty"))
    )
    return data.with_columns(
        _source_row=pl.int_range(first_row, first_row + len(rows), dtype=pl.Int64),
        _malformed=pl.Series(malformed, dtype=pl.String),
    )


def _surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _printable(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


# ------------------------------------------------------------------------------ CSV


def _csv_fast(source: SourceFile) -> pl.DataFrame | None:
    """The whole file through Polars, or None when it needs the careful path."""
    if source.size > config.fast_csv_bytes():
        return None
    data = source.path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not data.strip():
        return pl.DataFrame()
    try:
        return pl.read_csv(data, infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.NoDataError:
        return pl.DataFrame()
    except pl.exceptions.PolarsError:
        return None


def _csv_careful(source: SourceFile, size: int) -> Iterator[pl.DataFrame]:
    """Row by row with Python's csv module: invalid UTF-8 and ragged rows become bad rows."""
    csv.field_size_limit(sys.maxsize)
    with source.path.open(
        "r", encoding="utf-8-sig", errors="surrogateescape", newline=""
    ) as handle:
        reader = csv.reader(handle, strict=False)
        try:
            header_raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableFileError(
                f"{source.path}: the header cannot be read as CSV: {exc}",
                hint="re-export the file as CSV",
            ) from exc
        header = _clean_header([_printable(h) for h in header_raw])
        _check_identifying(source, header)
        rows: list[list[str | None]] = []
        malformed: list[str | None] = []
        raws: list[str | None] = []
        first = 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rows.append([None] * len(header))
                malformed.append(f"CSV syntax error: {exc}")
                raws.append(None)
            else:
                problem = None
                if len(record) != len(header):
                    problem = f"has {len(record)} fields, the header has {len(header)}"
                bad = [h for h, v in zip(header, record, strict=False) if _surrogates(v)]
                if bad:
                    problem = f"invalid UTF-8 in {', '.join(bad[:3])}"
                values: list[str | None] = [_printable(v) for v in record[: len(header)]]
                values += [None] * (len(header) - len(values))
                rows.append(values)
                malformed.append(problem)
                raws.append(
                    json.dumps([_printable(v) for v in record], ensure_ascii=False)
                    if problem
                    else None
                )
            if len(rows) >= size:
                yield _frame(header, rows, malformed, first).with_columns(
                    _raw=pl.Series(raws, dtype=pl.String)
                )
                first += len(rows)
                rows, malformed, raws = [], [], []
        if rows:
            yield _frame(header, rows, malformed, first).with_columns(
                _raw=pl.Series(raws, dtype=pl.String)
            )


def _csv_batches(source: SourceFile, size: int) -> Iterator[pl.DataFrame]:
    whole = _csv_fast(source)
    if whole is None:
        yield from _csv_careful(source, size)
        return
    if whole.width == 0 or (whole.height == 0 and not whole.columns):
        return
    header = _clean_header(whole.columns)
    whole = whole.rename(dict(zip(whole.columns, header, strict=True)))
    if whole.height:
        _check_identifying(source, header)
    for offset in range(0, whole.height, size):
        part = whole.slice(offset, size)
        yield part.with_columns(
            _source_row=pl.int_range(offset + 1, offset + 1 + part.height, dtype=pl.Int64),
            _malformed=pl.lit(None, pl.String),
        )


# ------------------------------------------------------------------------------ JSON Lines


def _jsonl_batches(source: SourceFile, size: int) -> Iterator[pl.DataFrame]:
    """A line that is not a JSON object, or not UTF-8, becomes a bad row with `_raw` kept."""
    records: list[dict[str, str | None]] = []
    first, number = 1, 0
    with source.path.open("rb") as handle:
        for raw_line in handle:
            text = raw_line.decode("utf-8", errors="surrogateescape").strip()
            if not text:
                continue
            number += 1
            if _surrogates(text):
                records.append({"_malformed": "invalid UTF-8", "_raw": _printable(text)})
            else:
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    value = None
                    records.append(
                        {
                            "_malformed": f"not valid JSON ({exc.msg} at column {exc.colno})",
                            "_raw": text,
                        }
                    )
                else:
                    if isinstance(value, dict):
                        records.append(
                            {
                                str(k).strip().lower(): None
                                if v is None
                                else (v if isinstance(v, str) else json.dumps(v))
                                for k, v in value.items()
                            }
                        )
                    else:
                        records.append(
                            {"_malformed": "a JSON Lines row must be an object", "_raw": text}
                        )
            if len(records) >= size:
                yield _json_frame(records, first)
                first += len(records)
                records = []
    if records:
        yield _json_frame(records, first)


def _json_frame(records: list[dict[str, str | None]], first: int) -> pl.DataFrame:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    names = [c for c in columns if c not in ("_malformed", "_raw")] + ["_malformed", "_raw"]
    frame = pl.DataFrame(
        [[r.get(c) for c in names] for r in records],
        schema=dict.fromkeys(names, pl.String),
        orient="row",
    )
    return frame.with_columns(_source_row=pl.int_range(first, first + frame.height, dtype=pl.Int64))


# ------------------------------------------------------------------------------ Parquet


def _parquet_text(frame: pl.DataFrame) -> pl.DataFrame:
    as_text = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            as_text.append(
                pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            )
        elif isinstance(dtype, pl.Datetime):
            as_text.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
        else:
            as_text.append(pl.col(name).cast(pl.String))
    return frame.select(as_text)


def _parquet_batches(source: SourceFile, size: int) -> Iterator[pl.DataFrame]:
    import pyarrow.parquet as pq  # noqa: PLC0415 - slow to import, and only Parquet logs need it

    try:
        parquet = pq.ParquetFile(source.path)
        header = _clean_header(parquet.schema_arrow.names)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise UnreadableFileError(
            f"{source.path}: cannot be read as Parquet: {str(exc).splitlines()[0]}",
            hint="the file may be truncated or not Parquet; re-export it",
        ) from exc
    if parquet.metadata.num_rows:
        _check_identifying(source, header)
    first = 1
    try:
        for batch in parquet.iter_batches(batch_size=size):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = _parquet_text(frame)
            frame = frame.rename(dict(zip(frame.columns, header, strict=True)))
            yield frame.with_columns(
                _source_row=pl.int_range(first, first + frame.height, dtype=pl.Int64),
                _malformed=pl.lit(None, pl.String),
            )
            first += frame.height
    except UnreadableFileError:
        raise
    except Exception as exc:  # a row group beyond the damage cannot be read
        raise UnreadableFileError(
            f"{source.path}: Parquet is damaged after row {first - 1}: {str(exc).splitlines()[0]}",
            hint="the rows before it were read; re-export the file and ingest it again",
        ) from exc


# ------------------------------------------------------------------------------ all formats


def read_batches(source: SourceFile, size: int | None = None) -> Iterator[pl.DataFrame]:
    """The raw rows of one file, in batches; every value is text (or null when absent)."""
    size = size or config.ingest_batch_rows()
    if source.kind == "csv":
        batches = _csv_batches(source, size)
    elif source.kind == "jsonl":
        batches = _jsonl_batches(source, size)
    else:
        batches = _parquet_batches(source, size)
    for batch in batches:
        with_raw = (
            batch if "_raw" in batch.columns else batch.with_columns(_raw=pl.lit(None, pl.String))
        )
        yield with_raw.with_columns(_source_file=pl.lit(str(source.path)))


def originals(batch: pl.DataFrame) -> pl.Series:
    """Each row as read, as a JSON object of its file's columns (or the raw text of a bad line)."""
    columns = [c for c in batch.columns if not c.startswith("_")]
    encoded = (
        batch.select(pl.struct(columns).struct.json_encode().alias("o"))["o"]
        if columns
        else pl.Series("o", ["{}"] * batch.height)
    )
    return (
        batch.select(
            pl.when(pl.col("_raw").is_not_null())
            .then(pl.col("_raw"))
            .otherwise(encoded)
            .str.slice(0, ORIGINAL_LIMIT)
        )
        .to_series()
        .rename("_original")
    )
