"""Spreadsheet formula injection: text cells are neutralised when written, restored when read.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a
formula by spreadsheet programs. recon writes such a cell with a leading apostrophe (`'=cmd`
for `=cmd`), the convention spreadsheets show as plain text, and strips exactly that apostrophe
again when it reads a report CSV (ours or the vendor's), so reconciliation round-trips.
Numeric columns (quantities, deltas, dates) are never touched: `-1.500000` stays a number.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_CLASS = "[=+\\-@\\t\\r]"
NUMERIC_COLUMNS = frozenset(
    {
        "QUANTITY",
        "CONSUMPTION_START_DATE",
        "CONSUMPTION_END_DATE",
        "REPORT_DATE",
        "OUR_QUANTITY",
        "VENDOR_QUANTITY",
        "DELTA",
        "QUANTITY_DELTA",
        "MONEY_DELTA",
    }
)


def _text_columns(frame: pl.DataFrame, skip: Iterable[str]) -> list[str]:
    skipped = set(skip) | NUMERIC_COLUMNS
    return [c for c, t in frame.schema.items() if t == pl.String and c not in skipped]


def runs_as_formula(column: str) -> pl.Expr:
    """Whether each text cell of `column` is one a spreadsheet would run (starts with a trigger)."""
    return pl.col(column).str.contains(f"^{_TRIGGER_CLASS}")


def holds_formula(texts: pl.Series) -> bool:
    """Whether any of `texts` is a cell a spreadsheet would run."""
    return bool(texts.to_frame("t").select(runs_as_formula("t").any()).item())


def neutralised(frame: pl.DataFrame, skip: Iterable[str] = ()) -> pl.DataFrame:
    """Text cells that a spreadsheet would evaluate, prefixed with an apostrophe.

    Only columns that hold such a cell are rewritten (a report of millions of rows usually
    has none, and a copy of every text column is the biggest allocation of a write).
    """
    columns = _text_columns(frame, skip)
    if not columns:
        return frame
    flags = frame.select(runs_as_formula(c).any() for c in columns)
    touched = [c for c in columns if flags[c][0]]
    return frame.with_columns(
        pl.when(runs_as_formula(c)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in touched
    )


def restored(frame: pl.DataFrame, skip: Iterable[str] = ()) -> pl.DataFrame:
    """The inverse of `neutralised`: an apostrophe before a trigger character is dropped."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(f"^'{_TRIGGER_CLASS}"))
        .then(pl.col(c).str.slice(1))
        .otherwise(pl.col(c))
        .alias(c)
        for c in _text_columns(frame, skip)
    )
