"""Coded events for tests: dictionaries that hand out codes in a random order, as arrival does."""

from __future__ import annotations

import random

import polars as pl

from recon.engine.coded import CODED, CodedIds

DICTIONARY = {c: ("subject" if c in ("user_id", "workspace_id") else c) for c in CODED}


def shuffled_codes(events: pl.DataFrame, rnd: random.Random) -> tuple[pl.DataFrame, CodedIds]:
    """The events coded by dictionaries in arrival-like (random) order, with unused values."""
    values: dict[str, list[str]] = {}
    for column, name in DICTIONARY.items():
        values.setdefault(name, []).extend(events[column].to_list())
    texts: dict[str, pl.Series] = {}
    for name, seen in values.items():
        distinct = sorted(set(seen) | {f"unused-{name}-{i}" for i in range(rnd.randint(0, 3))})
        rnd.shuffle(distinct)
        texts[name] = pl.Series(distinct, dtype=pl.String)
    coded = events.with_columns(
        **{
            c: pl.col(c).replace_strict(
                texts[n], pl.int_range(len(texts[n]), eager=True), return_dtype=pl.UInt32
            )
            for c, n in DICTIONARY.items()
        }
    )
    return coded, CodedIds({c: texts[n] for c, n in DICTIONARY.items()})
