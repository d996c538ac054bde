"""Hypothesis strategies: small universes of subjects and packages, instants that collide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.conftest import make_event

# Periods that cross DST changes, a leap day, and a plain stretch.
PERIODS: list[tuple[str, date, date]] = [
    ("Europe/Stockholm", date(2026, 3, 27), date(2026, 3, 31)),
    ("Europe/Stockholm", date(2026, 10, 23), date(2026, 10, 27)),
    ("America/New_York", date(2026, 3, 6), date(2026, 3, 10)),
    ("America/New_York", date(2026, 10, 30), date(2026, 11, 3)),
    ("UTC", date(2028, 2, 27), date(2028, 3, 2)),
    ("Australia/Lord_Howe", date(2026, 4, 3), date(2026, 4, 7)),
]
PACKAGES = [
    "WEBEX_CALLING",
    "WEBEX_SUITE",
    "COMMON_AREA_CALLING",
    "ATTENDANT_CONSOLE",
    "CALL_RECORDING",
]
QUARTER_HOUR = timedelta(minutes=15)


@dataclass(frozen=True)
class Scenario:
    zone: str
    start: date
    end: date
    events: list[dict[str, Any]]


@st.composite
def scenarios(draw: st.DrawFn, max_events: int = 40) -> Scenario:
    zone, start, end = draw(st.sampled_from(PERIODS))
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(days=2)
    span = ((end - start).days + 4) * 96  # quarter-hours from two days before to two after
    n = draw(st.integers(min_value=0, max_value=max_events))
    events = []
    used: list[datetime] = []
    for i in range(n):
        if used and draw(st.integers(min_value=0, max_value=2)) == 0:
            at = draw(st.sampled_from(used))  # equal instants, on purpose
        else:
            step = draw(st.integers(min_value=0, max_value=span))
            micro = draw(st.sampled_from([0, 0, 0, 1, 123_457, 999_999]))
            at = origin + step * QUARTER_HOUR + timedelta(microseconds=micro)
            used.append(at)
        subject = draw(st.sampled_from([("u1", ""), ("u2", ""), ("", "w1")]))
        events.append(
            make_event(
                f"e{i:03d}",
                at.isoformat(),
                draw(st.sampled_from(["ASSIGN", "ASSIGN", "UNASSIGN"])),
                draw(st.sampled_from(PACKAGES)),
                customer_org_id=draw(st.sampled_from(["C1", "C2"])),
                user_id=subject[0],
                workspace_id=subject[1],
                location_id=draw(st.sampled_from(["", "L1", "L2"])),
                license_id=draw(st.sampled_from(["", "LIC"])),
                subscription_id=draw(st.sampled_from(["S1", "S1", "S2"])),
                sub_partner_org_id=draw(st.sampled_from(["", "SP1", "SP2"])),
            )
        )
    return Scenario(zone, start, end, events)
