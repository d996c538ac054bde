"""A membership pre-check for event ids, so ingest reads the lake only for ids it may hold.

Ingest must compare each incoming event with the lake's copy of the same event_id. Scanning
the lake for every batch makes ingest quadratic in the lake's size. This index holds a 64-bit
hash of every stored id (8 bytes per event, loaded once per ingest) in sorted runs: an id whose
hash is absent is certainly not stored, and only the batches with possible matches are looked
up in the lake. A hash collision only costs a lookup that finds nothing; it never decides a
row's fate.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

_SEED: Final = 0x5EC0
_MERGE_AT: Final = 8  # runs kept before they are merged into one, bounding lookups per batch


def id_hashes(ids: pl.Expr) -> pl.Expr:
    """The hash the index keeps for each event id."""
    return ids.hash(seed=_SEED)


class EventIdIndex:
    """Sorted runs of id hashes; `add` appends a run, `may_hold` answers per id."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    @classmethod
    def of(cls, stored_ids: pl.LazyFrame) -> EventIdIndex:
        """The index of the `event_id` column of `stored_ids` (streamed, hashes only)."""
        index = cls()
        hashes = stored_ids.select(id_hashes(pl.col("event_id")).alias("h")).collect(
            engine="streaming"
        )
        index.add(hashes["h"])
        return index

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def add(self, hashes: pl.Series) -> None:
        """Remember these hashes (as returned by `id_hashes`)."""
        if hashes.len() == 0:
            return
        self._runs.append(np.sort(hashes.to_numpy()))
        if len(self._runs) > _MERGE_AT:
            self._runs = [np.sort(np.concatenate(self._runs))]

    def may_hold(self, hashes: pl.Series) -> pl.Series:
        """True where an id with this hash may be stored; False means certainly not."""
        wanted = hashes.to_numpy()
        found = np.zeros(len(wanted), dtype=bool)
        for run in self._runs:
            at = np.searchsorted(run, wanted)
            inside = at < len(run)
            found[inside] |= run[at[inside]] == wanted[inside]
        return pl.Series("may_hold", found)
