"""Reconciliation and explain on generated logs: self-match, injected differences, audit sums."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recon.core.contracts import report_contract
from recon.core.timezones import day_table, to_micros
from recon.engine.intervals import assignment_intervals
from recon.engine.proration import user_usage
from recon.ingest.lake import QUARANTINE_SCHEMA
from recon.reconcile.compare import compared_rows
from recon.reconcile.explain import Subject, explained
from recon.reports.rollup import report_rows
from tests.conftest import events_frame
from tests.property.strategies import Scenario, scenarios

NOW = datetime(2030, 1, 1, tzinfo=UTC)
KINDS = ["OVER_BILLED", "UNDER_BILLED", "MISSING_FROM_VENDOR", "NOT_IN_OUR_RECORDS"]


def _user_report(scenario: Scenario, catalog: pl.DataFrame) -> pl.DataFrame:
    intervals = assignment_intervals(events_frame(scenario.events), catalog)
    zones = pl.LazyFrame({"customer_org_id": ["C1", "C2"], "zone": [scenario.zone] * 2})
    table = day_table(scenario.zone, scenario.start, scenario.end)
    usage = user_usage(intervals, zones, {scenario.zone: table}, to_micros(NOW)).collect()
    return report_rows(usage, catalog, "USER")


@given(scenarios(), st.data())
def test_own_csv_matches_and_injected_differences_are_found_exactly(
    catalog, scenario: Scenario, data
):
    ours = _user_report(scenario, catalog)
    key = list(report_contract("USER", "RECONCILIATION").key)
    assert set(compared_rows(ours, ours, key, 0)["CLASS"].to_list()) <= {"MATCH"}

    rows = ours.to_dicts()
    changes = data.draw(st.lists(st.sampled_from(KINDS), max_size=len(rows) + 2))
    vendor, expected = [dict(r) for r in rows], {}
    targets = data.draw(st.permutations(list(range(len(rows)))))
    for n, drawn in enumerate(changes):
        kind = drawn
        if kind == "NOT_IN_OUR_RECORDS" or n >= len(rows):
            extra = {
                **(rows[0] if rows else _blank()),
                "USER_ID": f"vendor-only-{n}",
                "WORKSPACE_ID": "",
                "QUANTITY": "1.000000",
            }
            vendor.append(extra)
            expected[tuple(extra[k] for k in key)] = "NOT_IN_OUR_RECORDS"
            continue
        target = vendor[targets[n]]
        micros = int(target["QUANTITY"].replace(".", ""))
        if kind == "UNDER_BILLED" and micros < 2:
            kind = "MISSING_FROM_VENDOR"
        if kind == "OVER_BILLED":
            target["QUANTITY"] = _text(
                micros + data.draw(st.integers(min_value=1, max_value=10**7))
            )
        elif kind == "UNDER_BILLED":
            target["QUANTITY"] = _text(
                micros - data.draw(st.integers(min_value=1, max_value=micros - 1))
            )
        else:
            target["QUANTITY"] = None
        expected[tuple(target[k] for k in key)] = kind
    vendor_frame = pl.DataFrame(
        [r for r in vendor if r["QUANTITY"] is not None], schema=ours.schema
    )
    compared = compared_rows(ours, vendor_frame, key, 0)
    found = {
        tuple(r[k] for k in key): r["CLASS"]
        for r in compared.iter_rows(named=True)
        if r["CLASS"] != "MATCH"
    }
    assert found == expected


def _text(micros: int) -> str:
    return f"{micros // 10**6}.{micros % 10**6:06d}"


def _blank() -> dict[str, str]:
    names = report_contract("USER", "RECONCILIATION").names
    return {**dict.fromkeys(names, "x"), "SERVICE_NAME": "WEBEX_CALLING"}


@given(scenarios())
def test_explain_days_sum_to_the_reported_quantity(catalog, scenario: Scenario):
    report = _user_report(scenario, catalog)
    table = day_table(scenario.zone, scenario.start, scenario.end)
    empty_quarantine = pl.LazyFrame(schema=QUARANTINE_SCHEMA)
    for customer in ("C1", "C2"):
        lake = events_frame(scenario.events).with_columns(
            source_file=pl.lit("log.csv"), source_row=pl.lit(1)
        )
        trail = explained(Subject(customer), lake, empty_quarantine, catalog, table, to_micros(NOW))
        ours = {
            (
                r["SUBSCRIPTION_ID"],
                r["USER_ID"] or r["WORKSPACE_ID"],
                r["SERVICE_NAME"],
                r["LOCATION_ID"],
                r["LICENSE_ID"],
            ): r["QUANTITY"]
            for r in report.filter(pl.col("CUSTOMER_ORG_ID") == customer).iter_rows(named=True)
        }
        explained_rows = {
            (
                r["subscription_id"],
                r["subject_id"],
                r["package"],
                r["location_id"],
                r["license_id"],
            ): r["QUANTITY"]
            for r in trail.totals.iter_rows(named=True)
        }
        assert explained_rows == ours
