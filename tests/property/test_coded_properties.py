"""The coded kernel equals the text pipeline, whatever codes the dictionaries hand out."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.core.timezones import day_table, to_micros
from recon.engine.coded import coded_usage, decoded_intervals
from recon.engine.intervals import RULE_COLUMNS, unordered_intervals
from recon.engine.proration import finished_usage, partner_name_keys, usage_in_zone
from tests.codes import shuffled_codes
from tests.conftest import events_frame, make_event
from tests.property.strategies import Scenario, scenarios

NOW = datetime(2030, 1, 1, tzinfo=UTC)
# Values whose order decides a tie (the latest value, the greatest on a tie), on purpose.
NAMES = ["Partner One", "Partner Two", "alpha", "Zeta", ""]
EXTERNAL = ["", "X1", "X2", "x0"]
SUBSCRIBERS = ["", "S-9", "S-10", "S-1"]


def with_attributes(scenario: Scenario, rnd: random.Random) -> list[dict[str, Any]]:
    """The scenario's events with partner names, external ids and subscriber ids varied."""
    return [
        {
            **e,
            "partner_name": rnd.choice(NAMES[:4]),
            "customer_external_id": rnd.choice(EXTERNAL),
            "subscriber_id": rnd.choice(SUBSCRIBERS),
            "partner_org_id": rnd.choice(["P1", "P1", "P2"]),
        }
        for e in scenario.events
    ]


def text_usage(events: pl.LazyFrame, catalog: pl.DataFrame, scenario: Scenario):
    intervals = unordered_intervals(events, catalog)
    table = day_table(scenario.zone, scenario.start, scenario.end)
    zoned = usage_in_zone(intervals.lazy(), table, to_micros(NOW), merge=False).collect()
    keys = partner_name_keys(zoned.lazy()).collect()
    return intervals, finished_usage(zoned.lazy(), ordered=False).collect(), keys


def same_rows(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.sort(a.columns).equals(b.select(a.columns).sort(a.columns))


@settings(max_examples=150)
@given(scenarios(max_events=40), st.randoms(use_true_random=False))
def test_coded_usage_equals_the_text_pipeline(catalog, scenario: Scenario, rnd: random.Random):
    events = events_frame(with_attributes(scenario, rnd)).select(RULE_COLUMNS).collect()
    intervals, rows, keys = text_usage(events.lazy(), catalog, scenario)
    coded, ids = shuffled_codes(events, rnd)
    zones = pl.DataFrame(
        {"customer_org_id": coded["customer_org_id"].unique(), "zone": scenario.zone}
    )
    kept: list[pl.DataFrame] = []
    table = {scenario.zone: day_table(scenario.zone, scenario.start, scenario.end)}
    base = set(catalog.filter(pl.col("kind") == "BASE")["package"])
    result = coded_usage(coded, ids, base, zones, table, to_micros(NOW), sink=kept.append)
    if events.is_empty():
        assert result is None
        return
    assert result is not None
    coded_rows, coded_keys = result
    assert same_rows(rows, coded_rows)
    assert same_rows(keys, coded_keys)
    assert same_rows(intervals, decoded_intervals(kept[0], ids))


def test_every_tie_goes_to_the_greatest_text_not_the_greatest_code(catalog):
    """Two ASSIGNs of one row at one instant: the name that sorts last wins, as on text."""
    at = "2026-03-02T10:00:00+00:00"
    rows = [
        {"event_id": "e1", "partner_name": "Zeta", "subscriber_id": "S-2"},
        {"event_id": "e2", "partner_name": "Alpha", "subscriber_id": "S-1"},
    ]
    events = (
        events_frame(
            [
                make_event(
                    r["event_id"],
                    at,
                    "ASSIGN",
                    "CALL_RECORDING",
                    location_id=f"L{i}",
                    **{k: v for k, v in r.items() if k != "event_id"},
                )
                for i, r in enumerate(rows)
            ]
        )
        .select(RULE_COLUMNS)
        .collect()
    )
    scenario = Scenario("UTC", datetime(2026, 3, 1).date(), datetime(2026, 3, 4).date(), [])
    _, expected, _ = text_usage(events.lazy(), catalog, scenario)
    assert set(expected["partner_name"]) == {"Zeta"}  # the text rule
    for seed in range(8):  # codes in every order: "Alpha" gets the greater code in some
        coded, ids = shuffled_codes(events, random.Random(seed))
        zones = pl.DataFrame({"customer_org_id": coded["customer_org_id"].unique(), "zone": "UTC"})
        table = {"UTC": day_table("UTC", scenario.start, scenario.end)}
        base = set(catalog.filter(pl.col("kind") == "BASE")["package"])
        result = coded_usage(coded, ids, base, zones, table, to_micros(NOW))
        assert result is not None
        assert same_rows(expected, result[0])
