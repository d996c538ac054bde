"""Spilled USER usage in key buckets, so its USER rows are sorted one bucket at a time.

A large lake's usage is computed in slices of customers (a hash of the id), so every slice
holds rows from all over the USER key's order, and putting them in order took a sort of all
the rows at once (DuckDB, spilling: 16 s of a 63 s USER report at 10M subjects). The coded
kernel can instead hand each slice's rows with words whose order is the key's text order
(`recon.engine.coded.text_order_words`; ranks of the lake's dictionaries, so they compare
across slices). The first slice, a sample of customers like any other, fixes cut points of
the leading word; every slice writes its rows split at those points, one file per bucket;
then bucket by bucket, in order, the rows are read, sorted in memory by the words, and
written: the buckets' files one after another are all the rows in order.

Rows without words (a slice the text kernel computed) end the bucketing: the parts are then
read as one relation and sorted by the roll-up's SQL, as before. Empty slices leave it be.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from recon.engine.coded import ORDER_WORD


class KeyBuckets:
    """The files of one spilled usage, split into `count` buckets of its order words.

    `add` each slice's rows in turn; `parts` are all the files written, and `buckets` the
    files of each bucket in order (empty when a slice had no words: no bucketing). Only
    bucket files hold the `words` columns.
    """

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.count = max(1, count)
        self.parts: list[Path] = []
        self.words: tuple[str, ...] = ()
        self._cuts: pl.Series | None = None
        self._files: list[list[Path]] = [[] for _ in range(self.count)]
        self._bucketed = True
        self._slices = 0

    def add(self, rows: pl.DataFrame) -> None:
        """Write one slice's rows: split into buckets, or as one part without words."""
        number = self._slices
        self._slices += 1
        words = tuple(c for c in rows.columns if c.startswith(ORDER_WORD))
        plain = self.folder / f"part-{number:04d}.parquet"
        if rows.is_empty():  # nothing to order (the text kernel hands back empty slices)
            self._write(rows.drop(words), plain)
            return
        if not words or (self.words and words != self.words):
            self._bucketed = False
        if not self._bucketed:
            self._write(rows.drop(words), plain)
            return
        self.words = words
        if self._cuts is None:
            self._cuts = cut_points(rows[words[0]], self.count)
        bucket = self._cuts.search_sorted(rows[words[0]], side="right")
        for (index,), group in (
            rows.with_columns(_bucket=bucket).partition_by("_bucket", as_dict=True).items()
        ):
            path = self.folder / f"bucket-{index:04d}-part-{number:04d}.parquet"
            self._write(group.drop("_bucket"), path)
            self._files[int(index)].append(path)

    def buckets(self) -> tuple[tuple[Path, ...], ...]:
        """Each bucket's files, buckets in key order (empty: the rows are not bucketed)."""
        if not self._bucketed or self._cuts is None:
            return ()
        return tuple(tuple(files) for files in self._files)

    def _write(self, rows: pl.DataFrame, path: Path) -> None:
        rows.write_parquet(path, compression="lz4", statistics=False)
        self.parts.append(path)


def cut_points(leading: pl.Series, count: int) -> pl.Series:
    """`count - 1` values of `leading` splitting it into `count` runs of about equal size."""
    ordered = leading.sort()
    return ordered.gather([len(ordered) * i // count for i in range(1, count)])


def bucket_frames(
    buckets: Sequence[Sequence[Path]], words: Sequence[str], partner_names: pl.DataFrame
) -> Iterator[pl.DataFrame]:
    """Each bucket's usage rows, sorted by `words` (so in `USER_ORDER`), words dropped.

    The partner name is the one `partner_names` gives across all slices (as in the SQL
    relation of spilled usage).
    """
    across = pl.col("partner_org_id").replace_strict(
        partner_names["partner_org_id"], partner_names["partner_name"], default=None
    )
    for files in buckets:
        if not files:
            continue
        rows = pl.read_parquet(list(files)).sort(list(words)).drop(words)
        yield rows.with_columns(partner_name=pl.coalesce(across, "partner_name"))
