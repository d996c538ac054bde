"""Billing rules §4: fractional-day quantities, DST days, rounding once half-even."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from recon.core.timezones import day_table, to_micros
from recon.engine.intervals import assignment_intervals
from recon.engine.proration import daily_quantities, merged_intervals, user_usage
from tests.conftest import events_frame, make_event

NOW = to_micros(datetime(2030, 1, 1, tzinfo=UTC))


def usage(
    rows: list[dict[str, Any]],
    catalog: pl.DataFrame,
    start: date,
    end: date,
    zone: str = "UTC",
    until: int = NOW,
) -> list[tuple[str, str, date, date]]:
    intervals = assignment_intervals(events_frame(rows), catalog)
    customers = pl.LazyFrame({"customer_org_id": ["C1", "C2"], "zone": [zone, zone]})
    out = user_usage(intervals, customers, {zone: day_table(zone, start, end)}, until).collect()
    return [
        (
            r["package"],
            f"{r['quantity_micros'] // 10**6}.{r['quantity_micros'] % 10**6:06d}",
            r["first_day"],
            r["last_day"],
        )
        for r in out.sort("package").iter_rows(named=True)
    ]


def pair(package: str, start: str, end: str | None, **fields: Any) -> list[dict[str, Any]]:
    rows = [make_event(f"{package}-{start}-a", start, "ASSIGN", package, **fields)]
    if end:
        rows.append(make_event(f"{package}-{end}-u", end, "UNASSIGN", package, **fields))
    return rows


def test_a_whole_day_is_one(catalog):
    rows = pair("WEBEX_CALLING", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")
    assert usage(rows, catalog, date(2026, 3, 1), date(2026, 3, 31)) == [
        ("WEBEX_CALLING", "1.000000", date(2026, 3, 10), date(2026, 3, 10)),
    ]


def test_half_a_day_is_a_half(catalog):
    rows = pair("WEBEX_CALLING", "2026-03-10T06:00:00Z", "2026-03-10T18:00:00Z")
    assert usage(rows, catalog, date(2026, 3, 1), date(2026, 3, 31)) == [
        ("WEBEX_CALLING", "0.500000", date(2026, 3, 10), date(2026, 3, 10)),
    ]


@pytest.mark.parametrize(
    ("zone", "start", "end", "day"),
    [
        # Stockholm, 23 h day: local midnight 23:00Z, half is 11 h 30 min.
        ("Europe/Stockholm", "2026-03-28T23:00:00Z", "2026-03-29T10:30:00Z", date(2026, 3, 29)),
        # Stockholm, 25 h day: half is 12 h 30 min.
        ("Europe/Stockholm", "2026-10-24T22:00:00Z", "2026-10-25T10:30:00Z", date(2026, 10, 25)),
        # New York, 23 h day (local midnight 05:00Z).
        ("America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T16:30:00Z", date(2026, 3, 8)),
        # New York, 25 h day (local midnight 04:00Z).
        ("America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T16:30:00Z", date(2026, 11, 1)),
    ],
)
def test_half_of_a_dst_day_is_a_half(catalog, zone, start, end, day):
    rows = pair("WEBEX_CALLING", start, end)
    assert usage(rows, catalog, day, day, zone) == [("WEBEX_CALLING", "0.500000", day, day)]


@pytest.mark.parametrize(
    ("zone", "start", "end", "quantity"),
    [
        ("Europe/Stockholm", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "0.040000"),  # 1/25
        ("Europe/Stockholm", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "0.043478"),  # 1/23
        ("UTC", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "0.041667"),  # 1/24
    ],
)
def test_one_hour_is_a_share_of_that_days_length(catalog, zone, start, end, quantity):
    rows = pair("WEBEX_CALLING", start, end)
    day = date.fromisoformat(start[:10])
    assert usage(rows, catalog, day, day, zone)[0][1] == quantity


def test_a_whole_month_with_a_25_hour_day_is_31(catalog):
    rows = pair("WEBEX_SUITE", "2026-09-30T22:00:00Z", None)  # Stockholm midnight, Oct 1
    assert usage(rows, catalog, date(2026, 10, 1), date(2026, 10, 31), "Europe/Stockholm") == [
        ("WEBEX_SUITE", "31.000000", date(2026, 10, 1), date(2026, 10, 31)),
    ]


def test_same_instants_bill_differently_in_different_zones(catalog):
    # 2026-03-29 00:00Z..12:00Z: in UTC half a day; in Stockholm it is 01:00..14:00 local on
    # the 23-hour spring-forward day, 12 of 23 hours.
    rows = pair("WEBEX_CALLING", "2026-03-29T00:00:00Z", "2026-03-29T12:00:00Z")
    assert usage(rows, catalog, date(2026, 3, 28), date(2026, 3, 29), "UTC")[0][1] == "0.500000"
    assert usage(rows, catalog, date(2026, 3, 28), date(2026, 3, 29), "Europe/Stockholm") == [
        ("WEBEX_CALLING", "0.521739", date(2026, 3, 29), date(2026, 3, 29)),  # 12/23
    ]


def test_leap_day_counts_in_february(catalog):
    rows = pair("WEBEX_CALLING", "2028-02-01T00:00:00Z", None)
    assert usage(rows, catalog, date(2028, 2, 1), date(2028, 2, 29)) == [
        ("WEBEX_CALLING", "29.000000", date(2028, 2, 1), date(2028, 2, 29)),
    ]
    rows = pair("WEBEX_CALLING", "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z")
    assert usage(rows, catalog, date(2028, 2, 1), date(2028, 3, 31)) == [
        ("WEBEX_CALLING", "1.000000", date(2028, 2, 29), date(2028, 2, 29)),
    ]


def test_rounding_is_half_to_even(catalog):
    # 129 600 µs of a 24 h day is exactly 0.0000015 -> 0.000002 (2 is even);
    # 216 000 µs is exactly 0.0000025 -> 0.000002, where half-up would give 0.000003.
    up = pair("WEBEX_CALLING", "2026-03-10T00:00:00Z", "2026-03-10T00:00:00.129600Z")
    down = pair("WEBEX_SUITE", "2026-03-10T00:00:00Z", "2026-03-10T00:00:00.216000Z", user_id="u2")
    assert usage(up + down, catalog, date(2026, 3, 10), date(2026, 3, 10)) == [
        ("WEBEX_CALLING", "0.000002", date(2026, 3, 10), date(2026, 3, 10)),
        ("WEBEX_SUITE", "0.000002", date(2026, 3, 10), date(2026, 3, 10)),
    ]


def test_rounding_happens_once_per_row_not_per_interval(catalog):
    # Two intervals of 0.0000025 each: 0.000005 exactly (rounding each first would give 0.000004).
    rows = pair("WEBEX_CALLING", "2026-03-10T00:00:00Z", "2026-03-10T00:00:00.216000Z") + pair(
        "WEBEX_CALLING", "2026-03-11T00:00:00Z", "2026-03-11T00:00:00.216000Z"
    )
    assert usage(rows, catalog, date(2026, 3, 10), date(2026, 3, 11)) == [
        ("WEBEX_CALLING", "0.000005", date(2026, 3, 10), date(2026, 3, 11)),
    ]


def test_a_row_that_rounds_to_zero_is_left_out(catalog):
    rows = pair("WEBEX_CALLING", "2026-03-10T00:00:00Z", "2026-03-10T00:00:00.043200Z")  # 0.0000005
    assert usage(rows, catalog, date(2026, 3, 10), date(2026, 3, 10)) == []


def test_open_interval_counts_until_now(catalog):
    rows = pair("WEBEX_CALLING", "2026-03-10T12:00:00Z", None)
    assert usage(rows, catalog, date(2026, 3, 1), date(2026, 3, 31)) == [
        ("WEBEX_CALLING", "21.500000", date(2026, 3, 10), date(2026, 3, 31)),
    ]
    until = to_micros(datetime(2026, 3, 12, 0, 0, tzinfo=UTC))
    assert usage(rows, catalog, date(2026, 3, 1), date(2026, 3, 31), until=until) == [
        ("WEBEX_CALLING", "1.500000", date(2026, 3, 10), date(2026, 3, 11)),
    ]


def test_intervals_outside_the_period_do_not_count(catalog):
    rows = pair("WEBEX_CALLING", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
    assert usage(rows, catalog, date(2026, 3, 1), date(2026, 3, 31)) == []


def test_period_clips_an_interval_that_spans_it(catalog):
    rows = pair("WEBEX_CALLING", "2026-02-20T00:00:00Z", "2026-04-10T00:00:00Z")
    assert usage(rows, catalog, date(2026, 3, 1), date(2026, 3, 31)) == [
        ("WEBEX_CALLING", "31.000000", date(2026, 3, 1), date(2026, 3, 31)),
    ]


def test_implicit_change_splits_the_day_between_packages(catalog):
    rows = [
        make_event("a", "2026-03-10T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-10T18:00:00Z", "ASSIGN", "WEBEX_SUITE"),
    ]
    assert usage(rows, catalog, date(2026, 3, 10), date(2026, 3, 10)) == [
        ("WEBEX_CALLING", "0.750000", date(2026, 3, 10), date(2026, 3, 10)),
        ("WEBEX_SUITE", "0.250000", date(2026, 3, 10), date(2026, 3, 10)),
    ]


def test_overlapping_intervals_of_one_row_count_once():
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    row = {
        "customer_org_id": "C1",
        "subject_type": "USER",
        "subject_id": "u1",
        "package": "WEBEX_CALLING",
        "location_id": "L1",
        "license_id": "",
        "kind": "BASE",
        "end_reason": None,
        "partner_org_id": "P1",
        "partner_name": "P",
        "subscription_id": "S1",
        "sub_partner_org_id": "",
        "customer_external_id": "",
        "subscriber_id": "",
        "user_id": "u1",
        "workspace_id": "",
        "opened_by": "x",
        "closed_by": None,
    }
    intervals = pl.DataFrame(
        [
            {**row, "start": at("2026-03-10 00:00"), "end": at("2026-03-10 12:00")},
            {**row, "start": at("2026-03-10 06:00"), "end": at("2026-03-10 18:00")},
            {**row, "start": at("2026-03-10 08:00"), "end": at("2026-03-10 09:00")},
        ]
    ).with_columns(pl.col("start", "end").dt.cast_time_unit("us"))
    merged = merged_intervals(intervals.lazy()).collect()
    assert merged.select("start", "end").rows() == [
        (at("2026-03-10 00:00"), at("2026-03-10 18:00"))
    ]
    table = day_table("UTC", date(2026, 3, 10), date(2026, 3, 10))
    daily = daily_quantities(intervals.lazy(), table, NOW).collect()
    assert daily.select("day", "assigned_us", "day_length").rows() == [
        (date(2026, 3, 10), 18 * 3_600_000_000, 24 * 3_600_000_000),
    ]


def test_daily_quantities_list_each_day_with_its_share(catalog):
    rows = pair("WEBEX_CALLING", "2026-10-24T12:00:00Z", "2026-10-26T11:00:00Z")
    intervals = assignment_intervals(events_frame(rows), catalog)
    table = day_table("Europe/Stockholm", date(2026, 10, 24), date(2026, 10, 26))
    daily = daily_quantities(intervals, table, NOW).collect()
    hour = 3_600_000_000
    assert daily.select("day", "assigned_us", "day_length").rows() == [
        (date(2026, 10, 24), 10 * hour, 24 * hour),  # 14:00 local to midnight
        (date(2026, 10, 25), 25 * hour, 25 * hour),
        (date(2026, 10, 26), 12 * hour, 24 * hour),  # midnight to 12:00 local
    ]


def test_attributes_that_change_at_one_instant_resolve_the_same_way_every_time(catalog):
    # Two users of one customer assigned at the same instant, with different external ids:
    # the latest wins, and a tie on time goes to the greater value, whatever the row order.
    at = "2026-03-10T00:00:00Z"
    rows = [
        *pair("WEBEX_CALLING", at, None, user_id="u1", customer_external_id="CRM-A"),
        *pair("WEBEX_VOICE", at, None, user_id="u2", customer_external_id="CRM-B"),
    ]
    customers = pl.LazyFrame({"customer_org_id": ["C1"], "zone": ["UTC"]})
    table = {"UTC": day_table("UTC", date(2026, 3, 1), date(2026, 3, 31))}
    for order in (rows, rows[::-1]):
        out = user_usage(
            assignment_intervals(events_frame(order), catalog), customers, table, NOW
        ).collect()
        assert out["customer_external_id"].to_list() == ["CRM-B", "CRM-B"]
