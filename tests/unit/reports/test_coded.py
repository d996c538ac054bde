"""`slice_usage` on coded events gives the text kernel's rows, zones and fallbacks included."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recon import Recon
from recon.core.config import BillingZones
from recon.core.timezones import day_table
from recon.engine.coded import CODED, CodedIds, decoded_intervals
from recon.engine.intervals import RULE_COLUMNS
from recon.reports import kernel
from recon.reports.coded import formula_free_columns
from recon.reports.columns import formula_free_report_columns
from recon.reports.kernel import slice_usage
from recon.reports.model import ReportRequest
from recon.reports.usage import USER_ORDER
from tests.codes import shuffled_codes
from tests.conftest import events_frame, make_event, raw_row
from tests.unit.reports.generated import generated_home, report_csvs

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ZONES = BillingZones(
    default="UTC",
    partners={"P2": "America/New_York"},
    customers={"C3": "Australia/Lord_Howe"},
)


def _events(year: int) -> pl.DataFrame:
    rows = []
    for i in range(60):
        customer = f"C{i % 4}"
        rows.append(
            make_event(
                f"e{i:03d}",
                f"{year}-03-{1 + i % 5:02d}T{(7 * i) % 24:02d}:15:00+00:00",
                "UNASSIGN" if i % 7 == 3 else "ASSIGN",
                ["WEBEX_CALLING", "WEBEX_SUITE", "CALL_RECORDING"][i % 3],
                customer_org_id=customer,
                partner_org_id="P2" if customer == "C2" else "P1",
                partner_name=f"Name {i % 3}",
                user_id=f"u{i % 9}",
                subscriber_id=f"S{i % 2}",
            )
        )
    return events_frame(rows).select(RULE_COLUMNS).collect()


def _tables(year: int) -> dict[str, object]:
    zones = ["UTC", "America/New_York", "Australia/Lord_Howe"]
    return {z: day_table(z, date(year, 3, 1), date(year, 3, 31)) for z in zones}


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.sort(a.columns).equals(b.select(a.columns).sort(a.columns))


@pytest.mark.parametrize("year", [2026, 1969])  # before 1970 the coded kernel hands back
def test_coded_slice_equals_the_text_slice_in_every_zone(catalog, year):
    events = _events(year)
    tables = _tables(year)
    text = slice_usage(events.lazy(), catalog, ZONES, tables, NOW)
    coded, ids = shuffled_codes(events, random.Random(year))
    got = slice_usage(coded.lazy(), catalog, ZONES, tables, NOW, ids=ids)
    assert text.rows.height > 10
    assert set(text.rows["zone"]) == set(tables)  # the overrides were applied
    assert _same(text.rows, got.rows)
    assert _same(text.name_keys, got.name_keys)


def test_the_sink_gets_the_same_intervals_either_way(catalog):
    events = _events(2026)
    tables = _tables(2026)
    text_kept: list[pl.DataFrame] = []
    coded_kept: list[pl.DataFrame] = []
    slice_usage(events.lazy(), catalog, ZONES, tables, NOW, sink=text_kept.append)
    coded, ids = shuffled_codes(events, random.Random(7))
    slice_usage(coded.lazy(), catalog, ZONES, tables, NOW, sink=coded_kept.append, ids=ids)
    assert _same(text_kept[0], decoded_intervals(coded_kept[0], ids))


def test_reports_from_the_codes_equal_reports_from_the_text(tmp_path, monkeypatch):
    """The whole path, both kernels: every type, sliced, in several zones, byte for byte."""
    from recon.reports import usage

    monkeypatch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
    monkeypatch.setenv("RECON_SLICE_EVENTS", "700")  # several slices of customers
    rc = generated_home(tmp_path)
    scopes = (None, "org-subpartner-2-1")
    coded = report_csvs(rc, scopes)
    monkeypatch.setattr(usage, "lake_ids", lambda layout: None)  # the text kernel
    text_slices: list[int] = []
    zoned_slice = kernel._zoned_slice

    def counted(*args, **kwargs):
        text_slices.append(1)
        return zoned_slice(*args, **kwargs)

    monkeypatch.setattr(kernel, "_zoned_slice", counted)
    text = report_csvs(Recon(rc.layout.root), scopes)  # a new Recon: no usage cached
    assert len(text_slices) > 3  # every slice went through the text kernel
    assert coded == text
    assert coded["USER", None].count("\n") > 1000
    assert "Partner 2 Renamed" in coded["PARTNER", None]


@pytest.mark.parametrize("year", [2026, 1969])
def test_ordered_usage_comes_out_in_the_user_reports_key_order_either_way(catalog, year):
    events = _events(year)
    tables = _tables(year)
    text = slice_usage(events.lazy(), catalog, ZONES, tables, NOW, order_by=USER_ORDER).rows
    coded, ids = shuffled_codes(events, random.Random(year + 1))
    got = slice_usage(coded.lazy(), catalog, ZONES, tables, NOW, ids=ids, order_by=USER_ORDER)
    assert text.height > 10
    assert text.equals(text.sort(USER_ORDER))
    assert got.rows.equals(text)  # row for row, not only as sets


def test_formula_cells_are_neutralised_alike_in_memory_and_in_key_buckets(
    tmp_path, monkeypatch, write_csv
):
    """Buckets know from the dictionaries which columns hold no formula; the others are read."""
    monkeypatch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
    rc = generated_home(tmp_path)
    formula = {"customer_org_id": "org-formula", "occurred_at": "2026-10-03T08:00:00Z"}
    rc.ingest(
        [
            write_csv(
                "formulas.csv",
                [
                    raw_row(event_id="f1", user_id="u-formula", subscriber_id="=1+2", **formula),
                    raw_row(event_id="f2", user_id="@u-formula", **formula),
                ],
            )
        ]
    )
    request = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    in_memory = rc.create_report(request)
    expected = Path(in_memory.csv_path or "").read_text(encoding="utf-8")
    rc.delete_report(in_memory.id)
    monkeypatch.setenv("RECON_SLICE_EVENTS", "700")  # usage in key buckets
    from recon.reports import rollup

    bucketed_usage = []
    bucketed_rows = rollup._bucketed_user_rows

    def seen(usage, *args):
        bucketed_usage.append(usage)
        return bucketed_rows(usage, *args)

    monkeypatch.setattr(rollup, "_bucketed_user_rows", seen)
    bucketed = Recon(rc.layout.root).create_report(request)
    assert Path(bucketed.csv_path or "").read_text(encoding="utf-8") == expected
    (usage,) = bucketed_usage  # the rows came from key buckets
    assert "customer_org_id" in usage.formula_free
    assert not {"subscriber_id", "user_id", "subject_id"} & usage.formula_free
    assert "'=1+2" in expected and ",'@u-formula," in expected  # neutralised, both ways
    assert expected.count("\n") > 1000


def test_formula_free_columns_follow_their_dictionaries():
    clean = pl.Series(["", "a-1", "b"], dtype=pl.String)
    texts = dict.fromkeys(CODED, clean)
    texts["subscriber_id"] = pl.Series(["", "=1+2"], dtype=pl.String)
    texts["user_id"] = texts["workspace_id"] = pl.Series(["", "@u"], dtype=pl.String)
    free = formula_free_columns(CodedIds(texts))
    assert "subscriber_id" not in free
    assert not {"user_id", "workspace_id", "subject_id"} & free  # one dictionary, decoded thrice
    assert {"customer_org_id", "package", "partner_name", "subject_type"} <= free
    everything = formula_free_columns(CodedIds(dict.fromkeys(CODED, clean)))
    assert {"user_id", "workspace_id", "subject_id", "subscriber_id"} <= everything


def test_catalog_columns_with_a_formula_are_not_formula_free():
    catalog = pl.DataFrame(
        {"package": ["A", "B"], "sku": ["SKU-1", "SKU-2"], "description": ["ok", "-legacy"]}
    )
    names = ["SERVICE_NAME", "SKU", "DESCRIPTION", "USER_ID", "QUANTITY"]
    free = formula_free_report_columns(frozenset({"package"}), catalog, names)
    assert free == {"SERVICE_NAME", "SKU"}  # DESCRIPTION holds "-legacy"; USER_ID unknown
