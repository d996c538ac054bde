"""Compare our report with the vendor's, row by row (billing rules §7), as pure transforms.

Rows are matched on the report type's key columns (a full outer join). With `delta = vendor -
ours` and a tolerance `t`: `OVER_BILLED` when delta > t, `UNDER_BILLED` when delta < -t,
`MISSING_FROM_VENDOR` when only we have usage, `NOT_IN_OUR_RECORDS` when only the vendor does,
`MATCH` otherwise (a one-sided row within the tolerance is a MATCH too: no usage either way).
Quantities are integer millionths throughout, so classification is exact.

Why not datacompy: it reports generic column differences, while billing needs a domain
classification with a tolerance, money per SKU and summaries by service and customer. That is a
join and a few expressions; a comparison library would add a dependency and a translation step.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from recon.core.quantity import MICROS, as_text, divided_half_even, micros, micros_of_decimal

MATCH: Final = "MATCH"
OVER_BILLED: Final = "OVER_BILLED"
UNDER_BILLED: Final = "UNDER_BILLED"
MISSING_FROM_VENDOR: Final = "MISSING_FROM_VENDOR"
NOT_IN_OUR_RECORDS: Final = "NOT_IN_OUR_RECORDS"
CLASSES: Final = (MATCH, OVER_BILLED, UNDER_BILLED, MISSING_FROM_VENDOR, NOT_IN_OUR_RECORDS)


def compared_rows(
    ours: pl.DataFrame, vendor: pl.DataFrame, key: list[str], tolerance_micros: int
) -> pl.DataFrame:
    """Every key of either side with OUR_QUANTITY, VENDOR_QUANTITY, DELTA (millionths) and CLASS.

    `ours` and `vendor` hold report rows as text with the same columns.
    """
    left = ours.select(*key, _ours=micros(pl.col("QUANTITY")))
    right = vendor.select(*key, _vendor=micros(pl.col("QUANTITY")))
    joined = left.join(right, on=key, how="full", coalesce=True, nulls_equal=True)
    ours_q = pl.col("_ours").fill_null(0)
    vendor_q = pl.col("_vendor").fill_null(0)
    delta = vendor_q - ours_q
    tolerance = pl.lit(tolerance_micros, pl.Int64)
    classification = (
        pl.when(delta.abs() <= tolerance)
        .then(pl.lit(MATCH))
        .when(pl.col("_vendor").is_null())
        .then(pl.lit(MISSING_FROM_VENDOR))
        .when(pl.col("_ours").is_null())
        .then(pl.lit(NOT_IN_OUR_RECORDS))
        .when(delta > tolerance)
        .then(pl.lit(OVER_BILLED))
        .otherwise(pl.lit(UNDER_BILLED))
    )
    return joined.select(
        *key,
        OUR_QUANTITY=pl.col("_ours"),
        VENDOR_QUANTITY=pl.col("_vendor"),
        DELTA=delta,
        CLASS=classification,
    ).sort(key)


def with_money(
    compared: pl.DataFrame, prices: pl.DataFrame | None, period_days: int
) -> pl.DataFrame:
    """Add MONEY_DELTA (millionths of the currency, vendor minus ours) and CURRENCY by SKU.

    PACKAGE_DAY prices multiply the quantity delta; MONTH prices multiply the delta in
    package-months (quantity / days in the period). SKUs without a price get nulls, which
    `unpriced_skus` and the summaries' UNPRICED_SKUS then name.
    """
    if prices is None:
        return compared.with_columns(
            MONEY_DELTA=pl.lit(None, pl.Int64), CURRENCY=pl.lit(None, pl.String)
        )
    table = prices.select(
        SKU=pl.col("SKU"),
        _price=micros_of_decimal(pl.col("UNIT_PRICE")),
        _days=pl.when(pl.col("UNIT") == "MONTH").then(pl.lit(period_days)).otherwise(pl.lit(1)),
        CURRENCY=pl.col("CURRENCY"),
    )
    return (
        compared.join(table, on="SKU", how="left")
        .with_columns(
            MONEY_DELTA=divided_half_even(
                pl.col("DELTA").cast(pl.Int128) * pl.col("_price"),
                pl.col("_days").cast(pl.Int128) * MICROS,
            )
        )
        .drop("_price", "_days")
    )


def discrepancies(compared: pl.DataFrame) -> pl.DataFrame:
    """The rows that are not MATCH, as text, ready for the discrepancy CSV."""
    return (
        compared.filter(pl.col("CLASS") != MATCH)
        .with_columns(
            OUR_QUANTITY=pl.when(pl.col("OUR_QUANTITY").is_not_null()).then(
                as_text(pl.col("OUR_QUANTITY"))
            ),
            VENDOR_QUANTITY=pl.when(pl.col("VENDOR_QUANTITY").is_not_null()).then(
                as_text(pl.col("VENDOR_QUANTITY"))
            ),
            DELTA=as_text(pl.col("DELTA")),
            MONEY_DELTA=pl.when(pl.col("MONEY_DELTA").is_not_null()).then(
                as_text(pl.col("MONEY_DELTA"))
            ),
        )
        .select("CLASS", pl.exclude("CLASS"))
        .sort("CLASS", *[c for c in compared.columns if c not in _VALUE_COLUMNS])
    )


_VALUE_COLUMNS: Final = {
    "OUR_QUANTITY",
    "VENDOR_QUANTITY",
    "DELTA",
    "CLASS",
    "MONEY_DELTA",
    "CURRENCY",
}


def _unpriced() -> pl.Expr:
    """Rows whose money the total leaves out: no price, and a quantity delta that is not 0."""
    return pl.col("MONEY_DELTA").is_null() & (pl.col("DELTA") != 0)


def unpriced_skus(priced: pl.DataFrame) -> pl.DataFrame:
    """SKUs the price list lacks whose rows differ: SKU, ROWS (that differ), QUANTITY_DELTA.

    Only meaningful when a price list was given. A SKU without a price whose rows all agree
    exactly is not listed: its money delta is 0 at any price, so no total leaves it out.
    """
    return (
        priced.filter(_unpriced())
        .group_by("SKU")
        .agg(ROWS=pl.len().cast(pl.Int64), QUANTITY_DELTA=pl.col("DELTA").sum())
        .with_columns(QUANTITY_DELTA=as_text(pl.col("QUANTITY_DELTA")))
        .sort("SKU")
    )


def summary_by(compared: pl.DataFrame, column: str, priced: bool = False) -> pl.DataFrame:
    """Per value of `column`: rows per class, the net quantity delta and the money delta.

    A price list has one currency (checked when it is read), so money sums are in it. With a
    price list (`priced`), UNPRICED_SKUS names the SKUs whose differing rows the group's
    MONEY_DELTA leaves out (space-separated; empty when it leaves nothing out).
    """
    counts = [(pl.col("CLASS") == c).sum().alias(c) for c in CLASSES]
    unpriced = pl.col("SKU").filter(_unpriced()).unique().sort().str.join(" ")
    return (
        compared.group_by(column)
        .agg(
            *counts,
            QUANTITY_DELTA=pl.col("DELTA").sum(),
            MONEY_DELTA=pl.col("MONEY_DELTA").sum(),
            CURRENCY=pl.col("CURRENCY").drop_nulls().first(),
            UNPRICED_SKUS=unpriced if priced else pl.lit(None, pl.String),
        )
        .with_columns(
            QUANTITY_DELTA=as_text(pl.col("QUANTITY_DELTA")),
            MONEY_DELTA=pl.when(pl.col("CURRENCY").is_not_null()).then(
                as_text(pl.col("MONEY_DELTA"))
            ),
        )
        .sort(column)
    )
