"""Read partner log files (CSV, JSON Lines, Parquet) into raw rows of text, with lineage.

Each raw frame carries every column of the file as text plus `_source_row` (the 1-based data
row: the header is not counted; for JSON Lines, non-blank lines) and `_original` (the row as
read, as JSON). A file that cannot be read at all raises `UnreadableFileError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recon.errors import BadInputError

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class UnreadableFileError(BadInputError):
    """A log file that cannot be parsed as its format at all."""


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it is, its format and a digest of its bytes."""

    path: Path
    kind: str
    sha256: str


@dataclass(frozen=True)
class SkippedPath:
    """A path that was named or found but is not a log file recon reads."""

    path: Path
    reason: str


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


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
        found.append(SourceFile(path, kind, _digest(path)))

    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                consider(child, named=False)
        elif path.is_file():
            consider(path, named=True)
        else:
            skipped.append(SkippedPath(path, "no such file or folder"))
    return found, skipped


def _with_lineage(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.rename({c: c.strip().lower().lstrip("\ufeff") for c in frame.columns})
    text = frame.select(pl.all().cast(pl.String))
    original = (
        text.select(pl.struct(pl.all()).struct.json_encode().alias("_original"))
        if text.width
        else pl.DataFrame({"_original": ["{}"] * text.height})
    )
    return pl.concat([text, original], how="horizontal").with_row_index("_source_row", offset=1)


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8")
    except pl.exceptions.NoDataError:
        return pl.DataFrame()
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise UnreadableFileError(
            f"{path}: cannot be read as CSV: {str(exc).splitlines()[0]}",
            hint="check the delimiter (,) and the quoting, or re-export the file",
        ) from exc


def _json_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as handle:
        number = 0
        for raw_line in handle:
            line = raw_line.decode("utf-8", errors="replace").strip()
            if line:
                number += 1
                yield number, line


def _read_jsonl(path: Path) -> pl.DataFrame:
    """JSON Lines; a line that is not a JSON object becomes a row with only `_malformed` set."""
    records: list[dict[str, object]] = []
    for _, line in _json_lines(path):
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            records.append(
                {
                    "_malformed": f"not valid JSON ({exc.msg} at column {exc.colno})",
                    "_raw": line[:2000],
                }
            )
            continue
        if not isinstance(value, dict):
            records.append(
                {"_malformed": "a JSON Lines row must be an object", "_raw": line[:2000]}
            )
            continue
        records.append(
            {
                str(k): None if v is None else (v if isinstance(v, str) else json.dumps(v))
                for k, v in value.items()
            }
        )
    if not records:
        return pl.DataFrame()
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    return pl.DataFrame(
        [[r.get(c) for c in columns] for r in records],
        schema=dict.fromkeys(columns, pl.String),
        orient="row",
    )


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UnreadableFileError(
            f"{path}: cannot be read as Parquet: {str(exc).splitlines()[0]}",
            hint="the file may be truncated or not Parquet; re-export it",
        ) from exc
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


_IDENTIFYING = ("event_id", "occurred_at", "action")


def read_source(source: SourceFile) -> pl.DataFrame:
    """The raw rows of one file, all text, with `_source_row`, `_original` and `_source_file`.

    A file with rows but none of the columns that make an event log (event_id, occurred_at,
    action) is some other file, such as a vendor billing report: it is refused as a whole
    rather than quarantined row by row.
    """
    if source.kind == "csv":
        frame = _read_csv(source.path)
    elif source.kind == "jsonl":
        frame = _read_jsonl(source.path)
    else:
        frame = _read_parquet(source.path)
    names = {c.strip().lower().lstrip("\ufeff") for c in frame.columns}
    if frame.height and not names & set(_IDENTIFYING):
        raise UnreadableFileError(
            f"{source.path}: not an event log (it has none of the columns "
            f"{', '.join(_IDENTIFYING)}; it has {', '.join(sorted(names)[:6])}"
            f"{', ...' if len(names) > 6 else ''})",
            hint="move it out of the log folder, or fix its header",
        )
    malformed = "_malformed" in frame.columns
    if malformed:
        raw = frame.select("_malformed", "_raw")
        frame = frame.drop("_malformed", "_raw")
    out = _with_lineage(frame)
    if malformed:
        out = out.with_columns(
            _malformed=raw["_malformed"],
            _original=pl.when(raw["_malformed"].is_not_null())
            .then(pl.lit(raw["_raw"]))
            .otherwise(pl.col("_original")),
        )
    return out.with_columns(_source_file=pl.lit(str(source.path)))
