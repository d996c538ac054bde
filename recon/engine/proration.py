"""Intervals → prorated USER-level quantities (billing rules §4), in closed form.

For an interval `[s, e)` clipped to the period, with `ks` the local day holding `s` and `ke`
the one holding the last microsecond before `e`, the quantity is

    (bounds[ks+1] - s) / len[ks]  +  (whole days strictly between)  +  (e - bounds[ke]) / len[ke]

(or `(e - s) / len[ks]` when both fall in one day). Each term is an exact multiple of
`1 / DayTable.unit`, so a row's quantity is an integer count of units, summed exactly and
rounded once, half-even, to 6 decimals. No row per subject per day is ever materialised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

from recon.core.quantity import MICROS, rounded_micros
from recon.core.timezones import DayTable
from recon.engine.intervals import ATTRIBUTES, INTERVAL_SCHEMA, KEY

# One USER report row: the grain every level of the roll-up is built from.
ROW_GRAIN: Final = ["partner_org_id", "subscription_id", *KEY]
_OPEN: Final = 2**62  # "still assigned" while merging; far beyond any real instant

USAGE_SCHEMA: Final[dict[str, pl.DataType]] = {
    **{c: pl.String() for c in ROW_GRAIN},
    "user_id": pl.String(),
    "workspace_id": pl.String(),
    "partner_name": pl.String(),
    "sub_partner_org_id": pl.String(),
    "customer_external_id": pl.String(),
    "subscriber_id": pl.String(),
    "zone": pl.String(),
    "units": pl.Int64(),
    "unit": pl.Int64(),
    "quantity_micros": pl.Int64(),
    "first_day": pl.Date(),
    "last_day": pl.Date(),
}


def merged_intervals(intervals: pl.LazyFrame) -> pl.LazyFrame:
    """Overlapping or touching intervals of one row merged, so time counts once.

    The rules engine never produces overlaps for one key; this makes the "a daily quantity
    never exceeds 1" rule hold for any input. Attributes come from the latest interval merged.
    """
    end = pl.col("end").dt.epoch("us").fill_null(_OPEN)
    previous_reach = end.cum_max().shift(1).over(ROW_GRAIN)
    starts_block = (pl.col("start").dt.epoch("us") > previous_reach).fill_null(True)
    carried = [c for c in INTERVAL_SCHEMA if c not in {*ROW_GRAIN, "start", "end", "subject_id"}]
    return (
        intervals.sort([*ROW_GRAIN, "start"])
        .with_columns(_block=starts_block.cast(pl.Int64).cum_sum())
        .group_by([*ROW_GRAIN, "_block"])
        .agg(
            start=pl.col("start").min(),
            end=pl.when(end.max() == _OPEN)
            .then(pl.lit(None, pl.Int64))
            .otherwise(end.max())
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC"),
            **{c: pl.col(c).last() for c in carried},
        )
        .drop("_block")
    )


def _clipped(intervals: pl.LazyFrame, table: DayTable, until: int) -> pl.LazyFrame:
    """Intervals as µs integers `s`, `e`, clipped to the period; empty ones dropped."""
    end = pl.col("end").dt.epoch("us").fill_null(until)
    return intervals.with_columns(
        s=pl.max_horizontal(pl.col("start").dt.epoch("us"), pl.lit(table.start)),
        e=pl.min_horizontal(end, pl.lit(min(table.end, until))),
    ).filter(pl.col("e") > pl.col("s"))


def interval_units(intervals: pl.LazyFrame, table: DayTable, until: int) -> pl.LazyFrame:
    """Each interval's exact quantity in units of `1 / table.unit`, with its first and last day.

    `until` (µs) ends intervals that are still open ("active until now").
    """
    bounds = pl.Series("bounds", table.bounds, dtype=pl.Int64)
    weight = pl.Series("weight", table.weight, dtype=pl.Int64)
    full = pl.Series("full", table.full, dtype=pl.Int64)
    days = pl.Series("days", table.days, dtype=pl.Date)
    ks = pl.col("_ks")
    ke = pl.col("_ke")
    same_day = (pl.col("e") - pl.col("s")) * pl.lit(weight).gather(ks)
    spans = (
        (pl.lit(bounds).gather(ks + 1) - pl.col("s")) * pl.lit(weight).gather(ks)
        + (pl.lit(full).gather(ke) - pl.lit(full).gather(ks + 1))
        + (pl.col("e") - pl.lit(bounds).gather(ke)) * pl.lit(weight).gather(ke)
    )
    return (
        _clipped(intervals, table, until)
        .with_columns(
            _ks=pl.lit(bounds).search_sorted(pl.col("s"), side="right").cast(pl.Int64) - 1,
            _ke=pl.lit(bounds).search_sorted(pl.col("e"), side="left").cast(pl.Int64) - 1,
        )
        .with_columns(
            units=pl.when(ks == ke).then(same_day).otherwise(spans),
            first_day=pl.lit(days).gather(ks),
            last_day=pl.lit(days).gather(ke),
        )
        .drop("_ks", "_ke")
    )


def _latest_key(column: str, time: str, *, filled: bool = False) -> pl.Expr:
    """Per row: "zero-padded epoch of `time` + value of `column`" (null if `filled` and empty).

    Its maximum over any rows names the latest value (see `_latest`), and the maximum of
    maxima over parts is the maximum over the whole, so keys combine across slices.
    """
    value = pl.col(column)
    key = pl.concat_str([pl.col(time).dt.epoch("us").cast(pl.String).str.zfill(20), value])
    return pl.when(value != "").then(key) if filled else key


def _value_of(key: pl.Expr) -> pl.Expr:
    return key.str.slice(20)


def _latest(column: str, time: str, *, filled: bool = False) -> pl.Expr:
    """In an aggregation: the value of `column` at the latest `time` (non-empty if `filled`).

    The maximum of "zero-padded epoch + value": the latest time wins and a tie on time goes
    to the greatest value, so the choice never depends on row order. A plain `max` keeps
    Polars on its fast aggregation path (no sort, no per-group filter). Null when no row
    qualifies.
    """
    return _value_of(_latest_key(column, time, filled=filled).max())


def partner_name_keys(parts: pl.LazyFrame) -> pl.LazyFrame:
    """partner_org_id → `_key`, the latest-name key of `parts` (before `finished_usage`).

    A lake processed in slices of customers harmonises everything within a slice except the
    partner name, whose rows span slices: the keys of every slice, folded by `partner_names`,
    give the name the whole lake would.
    """
    return parts.group_by("partner_org_id").agg(_key=_latest_key("partner_name", "_latest").max())


def partner_names(keys: pl.LazyFrame) -> pl.LazyFrame:
    """partner_org_id → partner_name from the `partner_name_keys` of every slice."""
    return keys.group_by("partner_org_id").agg(partner_name=_value_of(pl.col("_key").max()))


def _harmonised_attributes(usage: pl.LazyFrame) -> pl.LazyFrame:
    """One value per owner: partner name, customer external id, sub-partner, subscriber id.

    The latest (non-empty, where empty is possible) value wins, so every level agrees: an
    aggregation per owner joined back, with no sort and no window.
    """
    partners = usage.group_by("partner_org_id").agg(
        _partner_name=_latest("partner_name", "_latest")
    )
    customers = usage.group_by("customer_org_id").agg(
        _customer_external_id=_latest("customer_external_id", "_latest", filled=True).fill_null(""),
        _sub_partner_org_id=_latest("sub_partner_org_id", "_latest"),
    )
    subjects = usage.group_by(_SUBJECT).agg(
        _subscriber_id=_latest("subscriber_id", "_latest", filled=True).fill_null("")
    )
    return (
        usage.join(partners, on="partner_org_id", how="left", maintain_order="left")
        .join(customers, on="customer_org_id", how="left", maintain_order="left")
        .join(subjects, on=_SUBJECT, how="left", maintain_order="left")
        .with_columns(
            partner_name=pl.col("_partner_name"),
            customer_external_id=pl.col("_customer_external_id"),
            sub_partner_org_id=pl.col("_sub_partner_org_id"),
            subscriber_id=pl.col("_subscriber_id"),
        )
        .drop(
            "_latest",
            "_partner_name",
            "_customer_external_id",
            "_sub_partner_org_id",
            "_subscriber_id",
        )
    )


_SUBJECT: Final = ["customer_org_id", "subject_type", "subject_id"]


def _row_attributes() -> dict[str, pl.Expr]:
    """What a USER row shows besides its grain, from the intervals it is made of."""
    return {
        "user_id": pl.col("user_id").first(),
        "workspace_id": pl.col("workspace_id").first(),
        "partner_name": _latest("partner_name", "start"),
        "sub_partner_org_id": _latest("sub_partner_org_id", "start"),
        "customer_external_id": _latest("customer_external_id", "start", filled=True).fill_null(""),
        "subscriber_id": _latest("subscriber_id", "start", filled=True).fill_null(""),
        "_latest": pl.col("start").max(),
    }


def usage_in_zone(
    intervals: pl.LazyFrame, table: DayTable, until: int, *, merge: bool = True
) -> pl.LazyFrame:
    """USER-level rows of intervals billed in one zone: exact units, rounded quantity, days.

    `merge=False` skips merging overlaps, for intervals known not to overlap per row (those
    of `assignment_intervals`: one key is never assigned twice at once, and a row's grain
    includes its key).
    """
    merged = merged_intervals(intervals) if merge else intervals
    units = interval_units(merged, table, until)
    return (
        units.group_by(ROW_GRAIN)
        .agg(**_row_attributes(), **row_sums())
        .with_columns(**zone_columns(table))
    )


def row_sums() -> dict[str, pl.Expr]:
    """In an aggregation per USER row: its exact units and its first and last day."""
    return {
        "units": pl.col("units").sum(),
        "first_day": pl.col("first_day").min(),
        "last_day": pl.col("last_day").max(),
    }


def zone_columns(table: DayTable) -> dict[str, pl.Expr]:
    """A USER row's zone, its unit and its quantity rounded once (rows of `table`'s zone)."""
    unit = pl.lit(table.unit, pl.Int64)
    return {
        "zone": pl.lit(table.zone),
        "unit": unit,
        "quantity_micros": rounded_micros(pl.col("units"), unit),
    }


def user_usage(
    intervals: pl.LazyFrame,
    zone_of_customer: pl.LazyFrame,
    tables: Mapping[str, DayTable],
    until: int,
    *,
    merge: bool = True,
    ordered: bool = True,
) -> pl.LazyFrame:
    """USER-level usage over a period for intervals whose customers bill in several zones.

    `zone_of_customer` maps customer_org_id → zone; `tables` holds a DayTable per zone used.
    Rows with zero quantity are left out. Attributes are harmonised so that every level of
    the roll-up agrees on a customer's external id, sub-partner and partner name. `merge`
    is `usage_in_zone`'s; `ordered=False` leaves rows unsorted (the roll-up sorts anyway).
    """
    parts = zoned_usage(intervals, zone_of_customer, tables, until, merge=merge)
    return finished_usage(parts, ordered=ordered)


def zoned_usage(
    intervals: pl.LazyFrame,
    zone_of_customer: pl.LazyFrame,
    tables: Mapping[str, DayTable],
    until: int,
    *,
    merge: bool = True,
) -> pl.LazyFrame:
    """`user_usage` before attributes are harmonised across rows (see `finished_usage`).

    Rows of different customers are independent here, so a lake can be processed in slices
    of customers and the slices concatenated before `finished_usage`.
    """
    zoned = intervals.join(zone_of_customer, on="customer_org_id", how="left")
    parts = [
        usage_in_zone(zoned.filter(pl.col("zone") == zone).drop("zone"), table, until, merge=merge)
        for zone, table in sorted(tables.items())
    ]
    if not parts:
        return pl.LazyFrame(schema={**USAGE_SCHEMA, "_latest": pl.Datetime("us", "UTC")})
    return pl.concat(parts, how="vertical")


def finished_usage(parts: pl.LazyFrame, *, ordered: bool = True) -> pl.LazyFrame:
    """Harmonised attributes, zero rows dropped, the usage schema (and sorted, if `ordered`)."""
    usage = (
        _harmonised_attributes(parts)
        .filter(pl.col("quantity_micros") > 0)
        .select([pl.col(c).cast(t) for c, t in USAGE_SCHEMA.items()])
    )
    return usage.sort(ROW_GRAIN) if ordered else usage


def holdings_at(intervals: pl.LazyFrame, at: int) -> pl.LazyFrame:
    """Point-in-time quantities at instant `at` (µs): one row per USER row ever held by then.

    `quantity_micros` is 1 000 000 where the row is assigned at `at` (`start <= at < end`) and 0
    where it was held before but not now; CUSTOMER point-in-time counts the former and lists
    the latter with 0, USER point-in-time lists only the former. Rows come in no particular
    order (the caller sorts them as its reports need).
    """
    start = pl.col("start").dt.epoch("us")
    end = pl.col("end").dt.epoch("us")
    held = (start <= at) & (end.is_null() | (end > at))
    rows = (
        intervals.filter(start <= at)
        .group_by(ROW_GRAIN)
        .agg(
            **_row_attributes(),
            quantity_micros=pl.when(held.any()).then(MICROS).otherwise(0),
        )
        .with_columns(
            zone=pl.lit("UTC"),
            units=pl.lit(0, pl.Int64),
            unit=pl.lit(1, pl.Int64),
            first_day=pl.lit(None, pl.Date),
            last_day=pl.lit(None, pl.Date),
        )
    )
    return _harmonised_attributes(rows).select([pl.col(c).cast(t) for c, t in USAGE_SCHEMA.items()])


def daily_quantities(intervals: pl.LazyFrame, table: DayTable, until: int) -> pl.LazyFrame:
    """One row per USER row and local day with time assigned: `assigned_us / day_length_us`.

    This materialises days on purpose, for audit trails (`explain`) and tests; the report
    totals never go through it.
    """
    frame = table.frame().lazy()
    clipped = _clipped(merged_intervals(intervals), table, until)
    bounds = pl.Series("bounds", table.bounds, dtype=pl.Int64)
    return (
        clipped.with_columns(
            day_index=pl.int_ranges(
                pl.lit(bounds).search_sorted(pl.col("s"), side="right").cast(pl.Int64) - 1,
                pl.lit(bounds).search_sorted(pl.col("e"), side="left").cast(pl.Int64),
            )
        )
        .explode("day_index")
        .join(frame, on="day_index", how="left")
        .with_columns(
            assigned_us=pl.min_horizontal(pl.col("e"), pl.col("day_start") + pl.col("day_length"))
            - pl.max_horizontal(pl.col("s"), pl.col("day_start")),
        )
        .group_by([*ROW_GRAIN, "day"])
        .agg(pl.col("assigned_us").sum(), pl.col("day_length").first(), pl.col("weight").first())
        .sort([*ROW_GRAIN, "day"])
    )


__all__ = [
    "ATTRIBUTES",
    "ROW_GRAIN",
    "USAGE_SCHEMA",
    "daily_quantities",
    "finished_usage",
    "holdings_at",
    "interval_units",
    "merged_intervals",
    "partner_name_keys",
    "partner_names",
    "rounded_micros",
    "row_sums",
    "usage_in_zone",
    "user_usage",
    "zone_columns",
    "zoned_usage",
]
