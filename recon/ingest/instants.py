"""Reading `occurred_at` text as an instant: with an offset, or as a local time in a zone.

Pure Polars expressions. A naive local time in a declared zone: a time the clocks skip (the
hour lost when summer time starts) does not exist (null); a time that happens twice (the hour
repeated when it ends) is the earlier of the two instants, the summer-time one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_OFFSET = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"
AWARE_TIMESTAMP: Final = rf"^{_DATE}[Tt ]{_TIME}{_OFFSET}$"
NAIVE_TIMESTAMP_PATTERN: Final = rf"^{_DATE}[Tt ]{_TIME}$|^{_DATE}$"
NAIVE_DATETIME_PATTERN: Final = rf"^{_DATE}[Tt ]{_TIME}$"


def parsed_instant(column: str) -> pl.Expr:
    """Parse an offset-carrying ISO 8601 text to a UTC instant at microsecond resolution."""
    text = (
        pl.col(column)
        .str.replace(r"^(\S{10})[ t]", "${1}T")
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"([+-][0-9]{2})$", "${1}:00")
        .str.replace(r"([+-][0-9]{2})([0-9]{2})$", "${1}:${2}")
        .str.replace(r"T([0-9]{2}:[0-9]{2})([+-])", "T${1}:00${2}")
    )
    return text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False
    )


def common_instant(column: str) -> pl.Expr:
    """Parse the common forms (`2026-03-01T10:00:00Z`, `...+05:30`) to a UTC instant, else null.

    Where it gives an instant it is the one `parsed_instant` gives, which reads every other
    form too; trying this one first spares most rows that function's rewriting of the text.
    """
    return pl.col(column).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False
    )


def naive_local(column: str) -> pl.Expr:
    """Parse a naive ISO 8601 date and time (no offset) to a naive datetime, else null."""
    text = (
        pl.col(column)
        .str.replace(r"^(\S{10})[ t]", "${1}T")
        .str.replace(r"T([0-9]{2}:[0-9]{2})$", "T${1}:00")
    )
    return text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)


def localized(local: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """Each row's naive local time in its `_zone`, as a UTC instant.

    Null where the zone skips that time (it does not exist); of a time that happens twice,
    the earlier instant.
    """
    out: pl.Expr = pl.lit(None, pl.Datetime("us", "UTC"))
    for zone in sorted(set(zones)):
        instant = local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        out = (
            pl.when(pl.col("_zone") == zone)
            .then(instant.dt.convert_time_zone("UTC"))
            .otherwise(out)
        )
    return out


def read_instants(rows: pl.DataFrame, zones: Sequence[str]) -> pl.DataFrame:
    """`rows` with `_instant`, each `occurred_at` as a UTC instant (null where unreadable).

    Also `_local`: the naive local time of a row read in its declared `_zone`, else null.
    Most rows are in a common form and read at once; only the others are read the long way
    (`parsed_instant`, or `localized` for a naive time), which costs five text rewrites a row.
    """
    frame = rows.with_columns(
        _instant=common_instant("occurred_at"), _local=pl.lit(None, pl.Datetime("us"))
    )
    others = frame.select(pl.arg_where(pl.col("_instant").is_null())).to_series()
    if others.is_empty():
        return frame
    naive = pl.col("occurred_at").str.contains(NAIVE_TIMESTAMP_PATTERN)
    read = (
        frame[others]
        .with_columns(
            _local=pl.when(naive & pl.col("_zone").is_not_null()).then(naive_local("occurred_at"))
        )
        .with_columns(
            _instant=pl.when(naive)
            .then(localized(pl.col("_local"), zones))
            .otherwise(parsed_instant("occurred_at"))
        )
    )
    return frame.with_columns(
        frame["_instant"].clone().scatter(others, read["_instant"]),
        frame["_local"].clone().scatter(others, read["_local"]),
    )
