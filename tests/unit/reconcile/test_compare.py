"""Billing rules §7: matching, classes, the tolerance boundary and money, with literal answers."""

from __future__ import annotations

import polars as pl
import pytest

from recon.core.quantity import divided_half_even
from recon.reconcile.compare import (
    compared_rows,
    discrepancies,
    summary_by,
    with_money,
)

KEY = ["PARTNER_ORG_ID", "SUBSCRIPTION_ID", "SERVICE_NAME", "SKU"]


def side(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """(service, sku, quantity) rows of a PARTNER report."""
    return pl.DataFrame(
        [
            {
                "PARTNER_ORG_ID": "P1",
                "SUBSCRIPTION_ID": "S1",
                "SERVICE_NAME": s,
                "SKU": k,
                "QUANTITY": q,
            }
            for s, k, q in rows
        ],
        schema=dict.fromkeys([*KEY, "QUANTITY"], pl.String),
    )


def classes(ours, vendor, tolerance=0):
    out = compared_rows(side(ours), side(vendor), KEY, tolerance)
    return [(r["SERVICE_NAME"], r["CLASS"], r["DELTA"]) for r in out.iter_rows(named=True)]


def test_every_class():
    ours = [
        ("A", "a", "10.000000"),
        ("B", "b", "10.000000"),
        ("C", "c", "10.000000"),
        ("D", "d", "4.500000"),
    ]
    vendor = [
        ("A", "a", "10.000000"),
        ("B", "b", "12.250000"),
        ("C", "c", "9.000000"),
        ("E", "e", "1.000000"),
    ]
    assert classes(ours, vendor) == [
        ("A", "MATCH", 0),
        ("B", "OVER_BILLED", 2_250_000),
        ("C", "UNDER_BILLED", -1_000_000),
        ("D", "MISSING_FROM_VENDOR", -4_500_000),
        ("E", "NOT_IN_OUR_RECORDS", 1_000_000),
    ]


@pytest.mark.parametrize(
    ("vendor_quantity", "expected"),
    [
        ("10.010000", "MATCH"),  # exactly at the tolerance
        ("10.010001", "OVER_BILLED"),  # just above
        ("9.990000", "MATCH"),
        ("9.989999", "UNDER_BILLED"),
    ],
)
def test_the_tolerance_boundary(vendor_quantity, expected):
    assert (
        classes([("A", "a", "10.000000")], [("A", "a", vendor_quantity)], tolerance=10_000)[0][1]
        == expected
    )


def test_one_sided_rows_within_the_tolerance_are_a_match():
    assert classes([("A", "a", "0.000001")], [], tolerance=1) == [("A", "MATCH", -1)]
    assert classes([], [("A", "a", "0.000000")]) == [("A", "MATCH", 0)]


def test_empty_key_values_match_each_other():
    ours = side([("A", "", "1.000000")])
    vendor = side([("A", "", "1.000000")])
    assert compared_rows(ours, vendor, KEY, 0)["CLASS"].to_list() == ["MATCH"]


def test_money_per_package_day_and_per_month():
    prices = pl.DataFrame(
        {
            "SKU": ["a", "b"],
            "UNIT_PRICE": ["0.10", "9"],
            "UNIT": ["PACKAGE_DAY", "MONTH"],
            "CURRENCY": ["EUR", "EUR"],
        }
    )
    compared = compared_rows(
        side([("A", "a", "10.000000"), ("B", "b", "31.000000"), ("C", "c", "1.000000")]),
        side([("A", "a", "12.500000"), ("B", "b", "15.500000"), ("C", "c", "2.000000")]),
        KEY,
        0,
    )
    money = with_money(compared, prices, period_days=31)
    assert money.select("SERVICE_NAME", "MONEY_DELTA", "CURRENCY").rows() == [
        ("A", 250_000, "EUR"),  # 2.5 days at 0.10
        ("B", -4_500_000, "EUR"),  # half a month at 9.00
        ("C", None, None),  # no price for SKU c
    ]


def test_money_rounds_half_to_even_in_both_directions():
    values = pl.DataFrame({"n": [5, 15, -5, -15, 7], "d": [10, 10, 10, 10, 10]})
    assert values.select(q=divided_half_even(pl.col("n"), pl.col("d")))["q"].to_list() == [
        0,
        2,
        0,
        -2,
        1,
    ]


def test_discrepancy_rows_are_text_and_leave_matches_out():
    compared = with_money(
        compared_rows(
            side([("A", "a", "1.000000"), ("B", "b", "2.000000")]),
            side([("A", "a", "1.000000")]),
            KEY,
            0,
        ),
        None,
        31,
    )
    rows = discrepancies(compared)
    assert rows.columns[0] == "CLASS"
    assert rows.select(
        "CLASS", "SERVICE_NAME", "OUR_QUANTITY", "VENDOR_QUANTITY", "DELTA"
    ).rows() == [
        ("MISSING_FROM_VENDOR", "B", "2.000000", None, "-2.000000"),
    ]


def test_summary_counts_classes_and_nets_deltas():
    prices = pl.DataFrame(
        {"SKU": ["a"], "UNIT_PRICE": ["1"], "UNIT": ["PACKAGE_DAY"], "CURRENCY": ["USD"]}
    )
    compared = with_money(
        compared_rows(
            side([("A", "a", "1.000000"), ("A", "a2", "5.000000")]),
            side([("A", "a", "3.000000"), ("A", "a2", "5.000000")]),
            KEY,
            0,
        ),
        prices,
        30,
    )
    summary = summary_by(compared, "SERVICE_NAME")
    assert summary.rows(named=True) == [
        {
            "SERVICE_NAME": "A",
            "MATCH": 1,
            "OVER_BILLED": 1,
            "UNDER_BILLED": 0,
            "MISSING_FROM_VENDOR": 0,
            "NOT_IN_OUR_RECORDS": 0,
            "QUANTITY_DELTA": "2.000000",
            "MONEY_DELTA": "2.000000",
            "CURRENCY": "USD",
            "UNPRICED_SKUS": None,
        }
    ]
