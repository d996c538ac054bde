"""Local days as UTC instants: a per-zone table of local-midnight boundaries for a period.

Day D in a zone is `[first instant of local date D, first instant of local date D+1)`; on DST
days it is 23 or 25 hours long (other lengths exist: 23.5 h on Lord Howe Island, 0 h for the
date Samoa skipped in 2011). Proration looks days up in this table with a binary search
instead of converting every interval to local time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, reduce
from itertools import pairwise
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import polars as pl


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000


def to_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    delta = instant.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def _local_date(seconds: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(seconds, tz=zone).date()


def first_instant(day: date, zone: ZoneInfo) -> int:
    """Microseconds since the epoch of the first instant whose local date in `zone` is `day`.

    Normally local midnight; when midnight falls in a DST gap, the instant the gap ends; when
    it repeats, the first of the two.
    """
    guess = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
    if _local_date(guess, zone) >= day > _local_date(guess - 1, zone):
        return guess * _US
    lo, hi = guess - 2 * 86_400, guess + 2 * 86_400  # lo is before `day`, hi is on or after it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _local_date(mid, zone) >= day:
            hi = mid
        else:
            lo = mid
    return hi * _US


@dataclass(frozen=True)
class DayTable:
    """The local days of one zone over one period, with exact rational weights.

    `bounds[k]` is the start of day k and `bounds[n]` the end of the period (µs since epoch).
    `unit` is the least common multiple of the day lengths (µs): a day of length `len_k`
    counts `weight[k] = unit // len_k` units per microsecond assigned, so a whole day is
    exactly `unit` and any quantity is an integer number of units, `full[k]` being the units
    of whole days 0..k-1.
    """

    zone: str
    days: tuple[date, ...]
    bounds: tuple[int, ...]
    unit: int
    weight: tuple[int, ...]
    full: tuple[int, ...]

    @property
    def start(self) -> int:
        """The first instant of the period (µs)."""
        return self.bounds[0]

    @property
    def end(self) -> int:
        """The instant the period ends, exclusive (µs)."""
        return self.bounds[-1]

    def lengths(self) -> list[int]:
        """Day lengths in microseconds."""
        return [b - a for a, b in pairwise(self.bounds)]

    def frame(self) -> pl.DataFrame:
        """One row per day: index, date, start, length and weight."""
        import polars as pl  # noqa: PLC0415 - the audit trail needs it; reading a report does not

        return pl.DataFrame(
            {
                "day_index": list(range(len(self.days))),
                "day": list(self.days),
                "day_start": self.bounds[:-1],
                "day_length": self.lengths(),
                "weight": self.weight,
            },
            schema={
                "day_index": pl.Int64,
                "day": pl.Date,
                "day_start": pl.Int64,
                "day_length": pl.Int64,
                "weight": pl.Int64,
            },
        )


@cache
def day_table(zone: str, start: date, end: date) -> DayTable:
    """The local days `start..end` (both inclusive) of `zone`."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    tz = ZoneInfo(zone)
    count = (end - start).days + 1
    days = tuple(start + timedelta(days=i) for i in range(count))
    bounds = tuple(first_instant(start + timedelta(days=i), tz) for i in range(count + 1))
    lengths = [b - a for a, b in pairwise(bounds)]
    positive = [n for n in lengths if n > 0]
    unit = reduce(math.lcm, positive, 1)
    weight = tuple(unit // n if n > 0 else 0 for n in lengths)
    full = [0]
    for n in lengths:
        full.append(full[-1] + (unit if n > 0 else 0))
    return DayTable(zone=zone, days=days, bounds=bounds, unit=unit, weight=weight, full=tuple(full))


def iso_utc(instant: datetime) -> str:
    """An instant as ISO 8601 UTC with microseconds and `Z` (the registry's and the API's form)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
