"""USER rows made in Polars from usage in key order equal the SQL roll-up's, byte for byte."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from recon import Recon
from recon.core.config import BillingZones
from recon.core.contracts import ContractError, report_contract
from recon.reports.columns import COLUMN_SOURCES
from recon.reports.model import ReportRequest
from recon.reports.rollup import RolledUp, _rollup_connection, user_rows_frame
from recon.reports.usage import USER_ORDER, SpilledUsage, arrow_of, report_usage
from recon.reports.writer import check_rows
from tests.unit.reports.generated import OCTOBER, generated_home

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.mark.parametrize("category", ["RECONCILIATION", "POINT_IN_TIME"])
def test_user_order_is_the_user_reports_key(category):
    key = report_contract("USER", category).key
    sources = [COLUMN_SOURCES[column][0] for column in key]
    assert [s.removeprefix("u.") for s in sources if s.startswith("u.")] == USER_ORDER
    # The one key column usage lacks is the SKU, right after the package it is looked up by.
    assert [s for s in sources if not s.startswith("u.")] == ["c.sku"]
    assert key[key.index("SKU") - 1] == "SERVICE_NAME"


def _user_csvs(rc, requests: list[ReportRequest]) -> list[bytes]:
    texts = []
    for request in requests:
        report = rc.create_report(request)
        assert report.status == "COMPLETED", report.errors
        texts.append(Path(report.csv_path or "").read_bytes())
        rc.delete_report(report.id)
    return texts


def test_user_reports_from_usage_in_memory_equal_those_rolled_up_in_sql(tmp_path, monkeypatch):
    """In memory, USER rows skip the SQL roll-up and its sort; spilled usage is sorted in key
    buckets (and, without codes, by the SQL roll-up: `test_coded` compares the two kernels).

    (Point-in-time usage is never spilled; its USER rows are held by a golden file.)
    """
    monkeypatch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
    rc = generated_home(tmp_path)
    requests = [
        ReportRequest(type="USER", **OCTOBER),
        ReportRequest(type="USER", sub_partner_org_id="org-subpartner-2-1", **OCTOBER),
    ]
    in_memory = _user_csvs(rc, requests)
    monkeypatch.setenv("RECON_SLICE_EVENTS", "700")  # usage spilled in slices
    usage = report_usage(rc.layout, rc.catalog(), requests[0], BillingZones("UTC"), NOW)
    assert isinstance(usage, SpilledUsage) and len(usage.buckets) > 3
    spilled = _user_csvs(Recon(rc.layout.root), requests)  # a new process: no usage cached
    assert in_memory == spilled
    assert [text.count(b"\n") > 100 for text in in_memory] == [True, True]


def test_user_rows_out_of_key_order_fail_their_contract(rc):
    request = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    usage = report_usage(rc.layout, rc.catalog(), request, BillingZones(default="UTC"), NOW)
    contract = report_contract("USER", "RECONCILIATION")
    for frame, ordered in [(usage, True), (usage.reverse(), False)]:
        rows = user_rows_frame(frame, rc.catalog(), "RECONCILIATION")
        assert rows.height > 2
        con = _rollup_connection(None)
        try:
            con.register("report_typed", arrow_of(rows))
            if ordered:
                check_rows(RolledUp(con, "USER", "RECONCILIATION", rows), contract)
                continue
            with pytest.raises(ContractError) as caught:
                check_rows(RolledUp(con, "USER", "RECONCILIATION", rows), contract)
            assert "sorted, none repeated" in caught.value.summary()
        finally:
            con.close()
