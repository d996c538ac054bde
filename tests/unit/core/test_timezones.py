"""Local days as UTC instants: DST days are 23 or 25 hours (billing rules §4)."""

from __future__ import annotations

from datetime import date

import pytest

from recon.core.timezones import day_table, first_instant, from_micros, to_micros

HOUR = 3_600_000_000


def _iso(micros: int) -> str:
    return from_micros(micros).isoformat()


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Stockholm", date(2026, 3, 29), 23),
        ("Europe/Stockholm", date(2026, 10, 25), 25),
        ("Europe/Stockholm", date(2026, 10, 24), 24),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("UTC", date(2026, 3, 29), 24),
    ],
)
def test_dst_day_lengths(zone, day, hours):
    assert day_table(zone, day, day).lengths() == [hours * HOUR]


def test_stockholm_spring_forward_day_bounds():
    table = day_table("Europe/Stockholm", date(2026, 3, 29), date(2026, 3, 29))
    assert [_iso(b) for b in table.bounds] == [
        "2026-03-28T23:00:00+00:00",
        "2026-03-29T22:00:00+00:00",
    ]


def test_new_york_fall_back_day_bounds():
    table = day_table("America/New_York", date(2026, 11, 1), date(2026, 11, 1))
    assert [_iso(b) for b in table.bounds] == [
        "2026-11-01T04:00:00+00:00",
        "2026-11-02T05:00:00+00:00",
    ]


def test_half_hour_dst_on_lord_howe_island():
    table = day_table("Australia/Lord_Howe", date(2026, 4, 5), date(2026, 4, 5))
    assert table.lengths() == [int(24.5 * HOUR)]


def test_a_skipped_local_date_is_a_zero_length_day():
    # Samoa moved across the date line: 2011-12-30 never happened in Pacific/Apia.
    table = day_table("Pacific/Apia", date(2011, 12, 29), date(2011, 12, 31))
    assert table.lengths() == [24 * HOUR, 0, 24 * HOUR]
    assert table.weight[1] == 0
    assert table.full == (0, table.unit, table.unit, 2 * table.unit)


def test_midnight_inside_a_dst_gap_starts_the_day_when_the_gap_ends():
    # America/Santiago sprang forward at local midnight on 2026-09-06: 00:00 never existed.
    assert _iso(
        first_instant(date(2026, 9, 6), __import__("zoneinfo").ZoneInfo("America/Santiago"))
    ) == ("2026-09-06T04:00:00+00:00")


def test_leap_day_is_a_day_of_its_own():
    table = day_table("UTC", date(2028, 2, 28), date(2028, 3, 1))
    assert table.days == (date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1))
    assert table.lengths() == [24 * HOUR] * 3


def test_unit_is_the_lcm_of_day_lengths_and_whole_days_weigh_one_unit():
    table = day_table("Europe/Stockholm", date(2026, 3, 28), date(2026, 3, 30))
    assert table.lengths() == [24 * HOUR, 23 * HOUR, 24 * HOUR]
    assert table.unit == 552 * HOUR  # lcm(23, 24) hours
    assert [w * n for w, n in zip(table.weight, table.lengths(), strict=True)] == [table.unit] * 3


def test_micros_round_trip():
    assert to_micros(from_micros(1_790_000_000_123_456)) == 1_790_000_000_123_456


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match="before its start"):
        day_table("UTC", date(2026, 3, 2), date(2026, 3, 1))
