"""Integer codes for the lake's id columns, assigned once at ingest and kept beside the lake.

Every stored event carries, beside each text column X of `CODED_COLUMNS`, a column `X_code`
(UInt32, never null) with `dictionary[X_code] == X`, so the rules can group, sort and join
integers and turn them back into text only for the rows a report writes. user_id and
workspace_id share the `subject` dictionary; the empty string is a text like any other.

A dictionary is a chain of Parquet files `lake/codes/dictionary=<name>/codes-<first>-<end>.parquet`
(codes first..end-1, columns `code`, `value`, in code order), appended to by the single writer
(who holds the home lock). A batch's new texts get the next codes and their file is written
(atomically, flushed) before any lake row using them is staged: a killed ingest can leave
codes whose rows never arrived (harmless: the next ingest finds those texts and reuses their
codes), never a row whose code is unknown, and a text never gets a second code.
Codes are never reassigned: compaction and migration copy them, `compact_dictionaries` only
merges a chain's files into one holding the same codes.

Readers list the lake's files before loading the dictionaries: a file listed then was coded
by dictionary files written before it, so every code it holds decodes.

Beside a dictionary of n codes, `order-<n>.parquet` may hold its codes sorted by their text
(`store_text_orders`, after an ingest is published): a report orders rows by text and breaks
ties between attributes through ranks, and sorting the texts of 10M subjects took it 2 s.
It is a cache of a pure function of the texts: a reader sorts them itself when it is missing,
stale (another n) or malformed (`load_text_order`); `verify_codes` checks its order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import polars as pl

from recon.core.errors import ReconError
from recon.home.files import fsync_dir, write_parquet_atomically
from recon.home.layout import HomeLayout, event_files

CODED_COLUMNS: Final[dict[str, str]] = {  # lake text column -> dictionary name
    "customer_org_id": "customer",
    "user_id": "subject",
    "workspace_id": "subject",
    "package": "package",
    "location_id": "location",
    "license_id": "license",
    "partner_org_id": "partner",
    "partner_name": "partner_name",
    "subscription_id": "subscription",
    "sub_partner_org_id": "sub_partner",
    "customer_external_id": "customer_external",
    "subscriber_id": "subscriber",
}
DICTIONARIES: Final[tuple[str, ...]] = tuple(dict.fromkeys(CODED_COLUMNS.values()))
CODE_TYPE: Final = pl.UInt32()
_FILE = re.compile(r"^codes-(\d{10})-(\d{10})\.parquet$")
_ORDER_GLOB = "order-*.parquet"
_ATTEMPTS = 5


def code_column(column: str) -> str:
    """The code column beside a text column: `customer_org_id` -> `customer_org_id_code`."""
    return f"{column}_code"


def code_columns() -> list[str]:
    """Every code column of a stored event, in `CODED_COLUMNS` order."""
    return [code_column(c) for c in CODED_COLUMNS]


def dictionary_folder(layout: HomeLayout, name: str) -> Path:
    """Where one dictionary's files live."""
    return layout.codes / f"dictionary={name}"


def _chain(folder: Path) -> tuple[list[tuple[int, int, Path]], list[Path]]:
    """The files that hold codes 0..n-1 once each, in order, and the stale ones.

    A file whose codes another (merged) file already holds is stale: a merge was cut short
    before it removed its inputs. A gap means a file was lost, which nothing here can mend.
    """
    ranges = []
    for path in folder.glob("codes-*.parquet") if folder.is_dir() else ():
        match = _FILE.match(path.name)
        if match:
            ranges.append((int(match[1]), int(match[2]), path))
    ranges.sort(key=lambda r: (r[0], -r[1]))
    chain: list[tuple[int, int, Path]] = []
    stale: list[Path] = []
    covered = 0
    for first, end, path in ranges:
        if end <= covered:
            stale.append(path)
        elif first == covered:
            chain.append((first, end, path))
            covered = end
        else:
            raise ReconError(
                f"the {folder.name} dictionary is broken: codes {covered}..{first - 1} are "
                f"missing (next file {path.name})",
                hint="restore lake/codes from the backup the lake came from",
            )
    return chain, stale


def _read_dictionary(layout: HomeLayout, name: str) -> pl.Series:
    folder = dictionary_folder(layout, name)
    for attempt in range(_ATTEMPTS):
        chain, _ = _chain(folder)
        if not chain:
            return pl.Series(name, [], pl.String())
        try:
            values = pl.scan_parquet([p for _, _, p in chain]).select("value").collect()
        except FileNotFoundError:  # a merge replaced the files between listing and reading
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        series = values.to_series().rename(name)
        if series.len() != chain[-1][1]:
            raise RuntimeError(f"the {name} dictionary's files hold {series.len()} codes")
        return series
    raise AssertionError("unreachable")


def load_dictionaries(
    layout: HomeLayout, names: Iterable[str] | None = None
) -> dict[str, pl.Series]:
    """Dictionary name -> its texts (String) where position == code (codes dense 0..n-1).

    All dictionaries by default. List the lake's files (`scan_events`) first, then load:
    every code in a file listed before is then known.
    """
    return {name: _read_dictionary(layout, name) for name in names or DICTIONARIES}


def order_path(layout: HomeLayout, name: str, size: int) -> Path:
    """Where the text order of a dictionary of `size` codes is kept."""
    return dictionary_folder(layout, name) / f"order-{size:010d}.parquet"


def store_text_orders(layout: HomeLayout, names: Iterable[str]) -> None:
    """Write the codes in text order of the dictionaries `names`.

    Reports order USER rows by the ranks of the key's columns (a wrong order fails the
    contract's key check) and break ties between attributes by the ranks of the others
    (checked as they are used: `recon.engine.coded.Ranked`).

    The writer calls this holding the home lock, after it stored new codes; older orders are
    removed. A cache: on a full disk it is left out (reports then sort the texts).
    """
    for name in sorted(set(names)):
        texts = _read_dictionary(layout, name)
        path = order_path(layout, name, texts.len())
        try:  # written again even if present: a wrong one is replaced
            write_parquet_atomically(pl.DataFrame({"code": texts.arg_sort().cast(CODE_TYPE)}), path)
        except OSError:
            path.unlink(missing_ok=True)
            continue
        for old in dictionary_folder(layout, name).glob(_ORDER_GLOB):
            if old != path:
                old.unlink(missing_ok=True)


def load_text_order(layout: HomeLayout, name: str, size: int) -> pl.Series | None:
    """The stored codes of a dictionary of `size` codes in the order of their texts.

    None when none is stored for this many codes, or it is unreadable or not each of the
    `size` codes once. Its order is not checked here (that costs half of sorting the texts):
    `verify_codes` checks it, a USER report ordered by it checks its rows' order, and the
    ranks that break ties check it as they gather the texts in order (`engine.coded.Ranked`).
    """
    path = order_path(layout, name, size)
    try:
        order = pl.read_parquet(path, columns=["code"]).to_series()
    except (OSError, pl.exceptions.PolarsError):  # missing, stale or unreadable: sort
        return None
    if order.len() != size or order.dtype != CODE_TYPE or order.null_count():
        return None
    if size and order.max() >= size:  # type: ignore[operator]
        return None
    if not pl.zeros(size, pl.Boolean, eager=True).scatter(order, True).all():
        return None  # a code twice, another never: not an order of these codes
    return order


def _text_order_problem(layout: HomeLayout, name: str, texts: pl.Series) -> str | None:
    """What is wrong with the stored text order of a dictionary (None: right or absent)."""
    path = order_path(layout, name, texts.len())
    if not path.is_file():
        return None
    order = load_text_order(layout, name, texts.len())
    if order is not None:
        ordered = texts.gather(order)
        if texts.len() < 2 or (ordered.slice(1) > ordered.slice(0, texts.len() - 1)).all():
            return None
    return f"dictionary {name}: {path.name} does not hold its codes in text order (delete it)"


def lake_has_codes(layout: HomeLayout) -> bool:
    """Whether every lake file carries every code column (read from the Parquet footers)."""
    return all(file_has_codes(f) for f in event_files(layout))


def file_has_codes(path: Path) -> bool:
    """Whether one lake file carries every code column."""
    return set(code_columns()) <= set(pl.read_parquet_schema(path))


def _refuse_lost(layout: HomeLayout, name: str) -> None:
    """Refuse to start a dictionary afresh while coded rows use its codes (it was deleted)."""
    if event_files(layout):
        raise ReconError(
            f"the {name} dictionary ({dictionary_folder(layout, name)}) is missing while the "
            "lake holds coded events",
            hint="restore lake/codes from the backup the lake came from",
        )


class CodeBook:
    """The dictionaries as the writer (holding the home lock) extends them; texts -> codes.

    Each dictionary is held as a Polars `Categories` mapping of its own, seeded with the
    stored texts in code order, so its physical ids are the codes and a text not seen yet
    gets the next one; encoding a column is one cast, without a join per batch.
    """

    def __init__(self, layout: HomeLayout) -> None:
        self.layout = layout
        self._seeds: dict[str, pl.Series] = {}  # name -> its texts as Categorical: keeps the map
        self._counts: dict[str, int] = {}  # name -> codes stored in its files
        self.grown: set[str] = set()  # dictionaries given new codes (`store_text_orders`)

    def _dtype(self, name: str) -> pl.DataType:
        if name not in self._seeds:
            _, stale = _chain(dictionary_folder(self.layout, name))
            for path in stale:
                path.unlink(missing_ok=True)
            values = _read_dictionary(self.layout, name)
            if values.is_empty() and self.layout.codes_complete.is_file():
                _refuse_lost(self.layout, name)
            seed = values.cast(pl.Categorical(pl.Categories.random()))
            expected = pl.int_range(values.len(), dtype=CODE_TYPE, eager=True)
            if not seed.to_physical().equals(expected, check_names=False):
                raise RuntimeError(f"the {name} dictionary could not be loaded in code order")
            self._seeds[name] = seed
            self._counts[name] = values.len()
        return self._seeds[name].dtype

    def _store_new(self, name: str, coded: pl.DataFrame, columns: list[str]) -> None:
        """Write the texts that got codes in this frame to the dictionary's next file."""
        start = self._counts[name]
        new = (
            pl.concat(
                [
                    coded.select(value=pl.col(c), code=pl.col(code_column(c)))
                    .filter(pl.col("code") >= start)
                    .unique("code")
                    for c in columns
                ],
                how="vertical",
            )
            .unique("code")
            .sort("code")
        )
        if new.is_empty():
            return
        end = start + new.height
        if new["code"][-1] != end - 1:
            raise RuntimeError(f"the {name} dictionary got codes that are not {start}..{end - 1}")
        folder = dictionary_folder(self.layout, name)
        write_parquet_atomically(
            new.select("code", "value"), folder / f"codes-{start:010d}-{end:010d}.parquet"
        )
        self._counts[name] = end
        self.grown.add(name)

    def encode(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` with `X_code` beside each coded text column X it has; new texts get codes.

        The codes of new texts are on disk before this returns, so the caller may store rows.
        """
        present = {c: d for c, d in CODED_COLUMNS.items() if c in frame.columns}
        if frame.is_empty():  # nothing to code: the dictionaries need not be loaded
            empty = (pl.lit(None, CODE_TYPE).alias(code_column(c)) for c in present)
            return frame.with_columns(empty)
        coded = frame.with_columns(
            pl.col(c).cast(self._dtype(d)).to_physical().alias(code_column(c))
            for c, d in present.items()
        )
        for name in DICTIONARIES:
            columns = [c for c, d in present.items() if d == name]
            if columns:
                self._store_new(name, coded, columns)
        return coded


def compact_dictionaries(layout: HomeLayout) -> int:
    """Merge each dictionary's files into one holding the same codes; the caller holds the lock.

    The merged file is written before its inputs are removed; a kill between the two leaves
    stale inputs that every reader skips and the next writer that codes rows removes.
    """
    merged = 0
    for name in DICTIONARIES:
        folder = dictionary_folder(layout, name)
        chain, stale = _chain(folder)
        for path in stale:
            path.unlink(missing_ok=True)
        if len(chain) < 2:
            continue
        whole = pl.read_parquet([p for _, _, p in chain])
        write_parquet_atomically(whole, folder / f"codes-{0:010d}-{chain[-1][1]:010d}.parquet")
        for _, _, path in chain:
            path.unlink(missing_ok=True)
        fsync_dir(folder)
        merged += len(chain)
    return merged


def verify_codes(layout: HomeLayout) -> list[str]:
    """What is wrong with the lake's codes (nothing: an empty list).

    Every dictionary holds each text once and codes 0..n-1 in order, and its stored text
    order (if any) sorts its texts; every lake file has every code column; every lake row's
    code decodes to the text beside it.
    """
    problems: list[str] = []
    tables: dict[str, pl.LazyFrame] = {}
    for name in DICTIONARIES:
        chain, _ = _chain(dictionary_folder(layout, name))
        stored = (
            pl.read_parquet([p for _, _, p in chain])
            if chain
            else pl.DataFrame(schema={"code": CODE_TYPE, "value": pl.String()})
        )
        if not stored["code"].equals(pl.int_range(stored.height, dtype=CODE_TYPE, eager=True)):
            problems.append(f"dictionary {name}: codes are not 0..{stored.height - 1} in order")
        if stored["value"].n_unique() != stored.height:
            twice = stored.filter(pl.col("value").is_duplicated())["value"].unique().sort()
            problems.append(f"dictionary {name}: texts with two codes: {twice.head(5).to_list()}")
        problem = _text_order_problem(layout, name, stored["value"])
        if problem:
            problems.append(problem)
        tables[name] = stored.lazy()
    files = event_files(layout)
    uncoded = [f.name for f in files if not file_has_codes(f)]
    if uncoded:
        problems.append(f"{len(uncoded)} lake files lack code columns, e.g. {uncoded[0]}")
        return problems
    if not files:
        return problems
    lake = pl.scan_parquet(files, hive_partitioning=False)
    for column, name in CODED_COLUMNS.items():
        bad = (
            lake.select(column, code=pl.col(code_column(column)))
            .join(tables[name], on="code", how="left")
            .filter(pl.col("value").is_null() | (pl.col("value") != pl.col(column)))
            .collect()
        )
        if bad.height:
            first = bad.row(0, named=True)
            problems.append(
                f"{bad.height} rows of {column} do not decode to their text, e.g. code "
                f"{first['code']} -> {first['value']!r} beside {first[column]!r}"
            )
    return problems
