"""The fast pipeline against the slow Fraction reference, and the invariants of the rules."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.core.timezones import day_table, to_micros
from recon.engine.intervals import (
    INTERVAL_SCHEMA,
    assignment_anomalies,
    assignment_intervals,
    unordered_intervals,
)
from recon.engine.proration import (
    ROW_GRAIN,
    daily_quantities,
    interval_units,
    merged_intervals,
    user_usage,
)
from recon.reports.rollup import report_rows
from tests.conftest import events_frame
from tests.property.strategies import Scenario, scenarios
from tests.reference import reference_intervals, reference_quantities

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _kinds(catalog: pl.DataFrame) -> dict[str, str]:
    return dict(zip(catalog["package"], catalog["kind"], strict=True))


def _usage(
    events: list[dict[str, Any]], catalog: pl.DataFrame, zone: str, start: date, end: date
) -> pl.DataFrame:
    intervals = assignment_intervals(events_frame(events), catalog)
    customers = pl.LazyFrame({"customer_org_id": ["C1", "C2"], "zone": [zone, zone]})
    return user_usage(
        intervals, customers, {zone: day_table(zone, start, end)}, to_micros(NOW)
    ).collect()


def _as_rows(usage: pl.DataFrame) -> dict[tuple[Any, ...], tuple[str, date, date]]:
    return {
        tuple(r[c] for c in ROW_GRAIN): (
            f"{r['quantity_micros'] // 10**6}.{r['quantity_micros'] % 10**6:06d}",
            r["first_day"],
            r["last_day"],
        )
        for r in usage.iter_rows(named=True)
    }


@given(scenarios())
def test_pipeline_equals_the_fraction_reference(catalog, scenario: Scenario):
    kinds = _kinds(catalog)
    ref_intervals, ref_anomalies = reference_intervals(scenario.events, kinds)

    ours = assignment_intervals(events_frame(scenario.events), catalog).collect()
    ours_set = {
        (
            (
                r["customer_org_id"],
                r["subject_type"],
                r["subject_id"],
                r["package"],
                r["location_id"],
                r["license_id"],
            ),
            r["start"],
            r["end"],
        )
        for r in ours.iter_rows(named=True)
    }
    assert ours_set == {(i.key, i.start, i.end) for i in ref_intervals}
    assert len(ours) == len(ref_intervals)
    # The batch's fast path (groups in hash order) gives the same rows.
    columns = list(INTERVAL_SCHEMA)
    fast = unordered_intervals(events_frame(scenario.events), catalog)
    assert (
        fast.select(columns)
        .sort(columns, nulls_last=True)
        .equals(ours.select(columns).sort(columns, nulls_last=True))
    )

    anomalies = assignment_anomalies(events_frame(scenario.events), catalog).collect()
    assert sorted(zip(anomalies["anomaly"], anomalies["event_id"], strict=True)) == sorted(
        ref_anomalies
    )

    expected = reference_quantities(ref_intervals, scenario.start, scenario.end, scenario.zone, NOW)
    usage = _usage(scenario.events, catalog, scenario.zone, scenario.start, scenario.end)
    assert _as_rows(usage) == {
        row: (text, first, last) for row, (_, text, first, last) in expected.items()
    }


@given(scenarios())
def test_all_four_levels_tie_out_exactly(catalog, scenario: Scenario):
    usage = _usage(scenario.events, catalog, scenario.zone, scenario.start, scenario.end)
    totals = {}
    for report_type in ("PARTNER", "CUSTOMER", "LOCATION", "USER"):
        rows = report_rows(usage, catalog, report_type)  # type: ignore[arg-type]
        per_package: dict[str, Decimal] = {}
        for package, quantity in rows.select("SERVICE_NAME", "QUANTITY").iter_rows():
            per_package[package] = per_package.get(package, Decimal(0)) + Decimal(quantity)
        totals[report_type] = per_package
    assert totals["PARTNER"] == totals["CUSTOMER"] == totals["LOCATION"] == totals["USER"]
    user_total = sum(usage["quantity_micros"].to_list())
    assert sum(totals["USER"].values(), Decimal(0)) == Decimal(user_total) / 1_000_000


@given(scenarios(), st.randoms(use_true_random=False))
def test_shuffling_the_input_changes_nothing(catalog, scenario: Scenario, rnd: random.Random):
    shuffled = list(scenario.events)
    rnd.shuffle(shuffled)
    before = _usage(scenario.events, catalog, scenario.zone, scenario.start, scenario.end)
    after = _usage(shuffled, catalog, scenario.zone, scenario.start, scenario.end)
    assert _as_rows(before) == _as_rows(after)


@given(scenarios())
def test_a_daily_quantity_never_exceeds_one(catalog, scenario: Scenario):
    intervals = assignment_intervals(events_frame(scenario.events), catalog)
    table = day_table(scenario.zone, scenario.start, scenario.end)
    daily = daily_quantities(intervals, table, to_micros(NOW)).collect()
    assert (daily["assigned_us"] <= daily["day_length"]).all()
    assert (daily["assigned_us"] > 0).all()


@given(scenarios(), st.integers(min_value=1, max_value=4))
def test_adjacent_periods_sum_to_the_whole_before_rounding(catalog, scenario: Scenario, cut: int):
    intervals = merged_intervals(assignment_intervals(events_frame(scenario.events), catalog))
    split = scenario.start + timedelta(days=cut)
    split = min(split, scenario.end)

    def exact(first: date, last: date) -> dict[tuple[Any, ...], Fraction]:
        table = day_table(scenario.zone, first, last)
        units = interval_units(intervals, table, to_micros(NOW)).collect()
        out: dict[tuple[Any, ...], Fraction] = {}
        for r in units.iter_rows(named=True):
            key = tuple(r[c] for c in ROW_GRAIN)
            out[key] = out.get(key, Fraction(0)) + Fraction(r["units"], table.unit)
        return out

    whole = exact(scenario.start, scenario.end)
    left = exact(scenario.start, split - timedelta(days=1)) if split > scenario.start else {}
    right = exact(split, scenario.end)
    combined = {k: left.get(k, Fraction(0)) + right.get(k, Fraction(0)) for k in {*left, *right}}
    assert {k: v for k, v in combined.items() if v} == {k: v for k, v in whole.items() if v}


@settings(max_examples=40)
@given(scenarios(max_events=25), st.sampled_from(["SP1", "SP2"]))
def test_sub_partner_scope_holds_only_that_sub_partners_customers(
    catalog, scenario: Scenario, scope: str
):
    usage = _usage(scenario.events, catalog, scenario.zone, scenario.start, scenario.end)
    scoped = usage.filter(pl.col("sub_partner_org_id") == scope)
    rows = report_rows(scoped, catalog, "USER")
    # Each customer belongs to exactly one sub-partner in a report, so scopes never overlap.
    allowed = set(scoped["customer_org_id"].to_list())
    assert set(rows["CUSTOMER_ORG_ID"].to_list()) <= allowed
    assert all(v == scope for v in scoped["sub_partner_org_id"].to_list())
    other = usage.filter(pl.col("sub_partner_org_id") != scope)
    assert not set(other["customer_org_id"].to_list()) & allowed
