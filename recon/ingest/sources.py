"""Read partner log files (CSV, JSON Lines, Parquet) as batches of raw text rows, with lineage.

Which files are logs and how to open them (gzip, zip members, UTF-16) is `formats`; the
partner's column names and the check that a file has every required column is `columns`.

Each batch carries the file's columns as text plus `_source_row` (the 1-based data row: the CSV
header is not counted; for JSON Lines, non-blank lines), `_malformed` (why a row could not be
parsed, else null) and `_original` (the row as read, as JSON, at most 64 KiB).

Files are streamed in batches of at most `RECON_INGEST_BATCH_ROWS` rows, so a log larger than
memory is read in bounded memory. A well-formed CSV under `RECON_FAST_CSV_BYTES` is parsed by
Polars in one go; anything else (larger, invalid UTF-8, ragged rows) goes through Python's csv
module row by row, so that one bad row never costs the good rows of the same file. Only a file
that cannot be read as its format at all, or that lacks a required column, raises
`UnreadableFileError` (before any of its rows is handed out).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import sys
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import polars as pl

from recon.core import config
from recon.ingest.columns import UnreadableFileError, check_columns, clean_name, renames
from recon.ingest.formats import SkippedPath, SourceFile, discover, open_raw, open_text_bytes

ORIGINAL_LIMIT = 64 * 1024

__all__ = [
    "Batch",
    "SkippedPath",
    "SourceFile",
    "UnreadableFileError",
    "discover",
    "originals",
    "read_batches",
]


class Batch(NamedTuple):
    """Raw rows of one file, with recon's column names; `names` maps a renamed one back."""

    rows: pl.DataFrame
    names: dict[str, str]


# ------------------------------------------------------------------------------ helpers


def _clean_header(names: list[str]) -> list[str]:
    out, seen = [], set()
    for i, name in enumerate(names):
        clean = clean_name(name) or f"column_{i + 1}"
        while clean in seen:
            clean += "_dup"
        seen.add(clean)
        out.append(clean)
    return out


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
    limit = config.fast_csv_bytes()
    if source.size > limit and not (source.gzip or source.utf16):
        return None
    with open_text_bytes(source) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        return None
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
    with (
        open_text_bytes(source) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle,
    ):
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
    with open_text_bytes(source) as handle:
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

    with open_raw(source) as handle:
        try:
            # A plain file by name (pyarrow reads it natively); a zip member by its handle.
            parquet = pq.ParquetFile(handle if source.member else source.path)
            header = _clean_header(parquet.schema_arrow.names)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise UnreadableFileError(
                f"{source.path}: cannot be read as Parquet: {str(exc).splitlines()[0]}",
                hint="the file may be truncated or not Parquet; re-export it",
            ) from exc
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
        except Exception as exc:  # a row group beyond the damage cannot be read
            raise UnreadableFileError(
                f"{source.path}: Parquet is damaged after row {first - 1}: "
                f"{str(exc).splitlines()[0]}",
                hint="the rows before it were read; re-export the file and ingest it again",
            ) from exc


# ------------------------------------------------------------------------------ all formats

# What a damaged gzip stream or zip member raises while it is read.
_DAMAGED = (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile)


def _format_batches(source: SourceFile, size: int) -> Iterator[pl.DataFrame]:
    if source.problem:
        raise UnreadableFileError(source.problem, hint="re-export or unpack the file")
    if source.kind == "csv":
        batches = _csv_batches(source, size)
    elif source.kind == "jsonl":
        batches = _jsonl_batches(source, size)
    else:
        batches = _parquet_batches(source, size)
    read = 0
    try:
        for batch in batches:
            read += batch.height
            yield batch
    except _DAMAGED as exc:
        where = "gzip stream" if source.gzip else "zip member" if source.member else "file"
        raise UnreadableFileError(
            f"{source.path}: the {where} is damaged after row {read}: {exc}",
            hint="re-export or re-compress the file and ingest it again",
        ) from exc


def read_batches(
    source: SourceFile, size: int | None = None, columns: Mapping[str, str] | None = None
) -> Iterator[Batch]:
    """The raw rows of one file, in batches; every value is text (or null when absent).

    `columns` maps recon's names to the file's (see `columns.renames`). The first batch's
    header decides whether the file is an event log with every required column; a file that
    is not is refused before any of its rows is handed out.
    """
    size = size or config.ingest_batch_rows()
    mapping = dict(columns or {})
    checked = False
    for batch in _format_batches(source, size):
        header = [c for c in batch.columns if not c.startswith("_")]
        renamed = renames(str(source.path), header, mapping)
        if not checked and header:
            check_columns(str(source.path), [renamed.get(c, c) for c in header], mapping)
        checked = True
        with_raw = (
            batch if "_raw" in batch.columns else batch.with_columns(_raw=pl.lit(None, pl.String))
        )
        yield Batch(
            with_raw.rename(renamed).with_columns(_source_file=pl.lit(str(source.path))),
            {canonical: own for own, canonical in renamed.items()},
        )


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
