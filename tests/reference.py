"""An independent, slow, obviously-correct reference for the billing rules.

Plain loops over events in the rules' order (§3), and `fractions.Fraction` arithmetic day by
day (§4). It shares no code with recon: the pipeline is checked against it on generated logs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

Key = tuple[
    str, str, str, str, str, str
]  # customer, subject type, subject id, package, location, license


@dataclass
class RefInterval:
    key: Key
    subscription_id: str
    partner_org_id: str
    start: datetime
    end: datetime | None


def _key(e: dict[str, Any]) -> Key:
    subject = ("USER", e["user_id"]) if e["user_id"] else ("WORKSPACE", e["workspace_id"])
    return (e["customer_org_id"], *subject, e["package"], e["location_id"], e["license_id"])


def reference_intervals(
    events: list[dict[str, Any]], kinds: dict[str, str]
) -> tuple[list[RefInterval], list[tuple[str, str]]]:
    """Apply events one by one; return intervals and (anomaly, event_id) pairs."""
    order = sorted(events, key=lambda e: (e["occurred_at"], e["action"] == "ASSIGN", e["event_id"]))
    open_: dict[Key, RefInterval] = {}
    base_of: dict[tuple[str, str, str], Key] = {}
    done: list[RefInterval] = []
    anomalies: list[tuple[str, str]] = []
    for e in order:
        key = _key(e)
        subject = key[:3]
        is_base = kinds.get(e["package"], "ADDON") == "BASE"
        at = e["occurred_at"]
        if e["action"] == "ASSIGN":
            if key in open_:
                anomalies.append(("DUPLICATE_ASSIGN", e["event_id"]))
                continue
            if is_base and subject in base_of:
                old = open_.pop(base_of.pop(subject))
                old.end = at
                done.append(old)
                anomalies.append(("IMPLICIT_PACKAGE_CHANGE", e["event_id"]))
            open_[key] = RefInterval(key, e["subscription_id"], e["partner_org_id"], at, None)
            if is_base:
                base_of[subject] = key
        elif key in open_:
            interval = open_.pop(key)
            interval.end = at
            done.append(interval)
            if is_base:
                base_of.pop(subject, None)
        else:
            anomalies.append(("ORPHAN_UNASSIGN", e["event_id"]))
    done.extend(open_.values())
    return [i for i in done if i.end is None or i.end > i.start], anomalies


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, as UTC instants (zones with no midnight gap)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def reference_daily(
    intervals: list[RefInterval], first: date, last: date, zone: str, now: datetime
) -> dict[tuple[Any, ...], dict[date, Fraction]]:
    """Row → day → exact daily quantity, summing each row's intervals day by day."""
    out: dict[tuple[Any, ...], dict[date, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    day = first
    while day <= last:
        lo, hi = day_bounds(day, zone)
        length = _micros(hi - lo)
        for iv in intervals:
            end = iv.end if iv.end is not None else now
            overlap = min(end, hi) - max(iv.start, lo)
            if overlap > timedelta(0):
                row = (iv.partner_org_id, iv.subscription_id, *iv.key)
                out[row][day] += Fraction(_micros(overlap), length)
        day += timedelta(days=1)
    return out


def reference_quantities(
    intervals: list[RefInterval], first: date, last: date, zone: str, now: datetime
) -> dict[tuple[Any, ...], tuple[Fraction, str, date, date]]:
    """Row → (exact quantity, 6-decimal text rounded half-even once, first day, last day)."""
    result = {}
    for row, days in reference_daily(intervals, first, last, zone, now).items():
        total = sum(days.values(), Fraction(0))
        if total == 0:
            continue
        micros = round(total * 1_000_000)  # round() on a Fraction is half-to-even
        if micros == 0:  # a row whose quantity rounds to 0.000000 is left out (rules §5)
            continue
        text = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
        nonzero = sorted(d for d, q in days.items() if q > 0)
        result[row] = (total, text, nonzero[0], nonzero[-1])
    return result
