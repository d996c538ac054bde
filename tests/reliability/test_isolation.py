"""Isolation and safety: sub-partners never see each other, SQL cannot write or wander,
spreadsheet formulas are neutralised (and round-trip), paths cannot escape."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.api import Recon
from recon.core.errors import BadInputError, NotFoundError
from recon.ingest.lake import scan_events
from recon.reports.model import ReportRequest
from recon.synth.generate import GeneratorSpec, generate
from tests.conftest import raw_row

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(min_value=1, max_value=10_000),
    partners=st.integers(min_value=1, max_value=3),
    subs=st.integers(min_value=1, max_value=4),
)
def test_a_sub_partner_report_never_holds_another_sub_partners_customers(seed, partners, subs):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        spec = GeneratorSpec(
            start=date(2026, 9, 20),
            end=date(2026, 10, 31),
            subjects=300,
            customers=25,
            partners=partners,
            sub_partners_per_partner=subs,
            seed=seed,
        )
        generate(base / "logs", spec)
        rc = Recon(base / "home")
        rc.ingest([base / "logs"])
        lake = scan_events(rc.layout).collect()
        owners = (
            lake.sort("occurred_at")
            .group_by("customer_org_id")
            .agg(pl.col("sub_partner_org_id").last())
        )
        whole = rc.report_csv(rc.create_report(ReportRequest(type="USER", **OCT)).id)
        seen: set[str] = set()
        for scope in sorted(s for s in lake["sub_partner_org_id"].unique().to_list() if s):
            rows = rc.report_csv(
                rc.create_report(ReportRequest(type="USER", sub_partner_org_id=scope, **OCT)).id
            )
            customers = set(rows["CUSTOMER_ORG_ID"].to_list())
            allowed = set(
                owners.filter(pl.col("sub_partner_org_id") == scope)["customer_org_id"].to_list()
            )
            assert customers <= allowed
            assert not customers & seen, "two sub-partners share a customer"
            seen |= customers
        assert seen <= set(whole["CUSTOMER_ORG_ID"].to_list())


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT 1) TO 'out.csv'",
        "ATTACH 'elsewhere.duckdb' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "CREATE TABLE t AS SELECT 1",
        "UPDATE reports SET status = 'COMPLETED'",
        "SELECT * FROM read_csv_auto('/etc/hosts')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_parquet('../../etc/*.parquet')",
        "SET enable_external_access = true",
        "SELECT 1; DROP TABLE reports",
    ],
)
def test_sql_cannot_write_attach_or_read_outside_the_home(tmp_path, query):
    rc = Recon(tmp_path / "home")
    rc.ensure_home()  # readers never create a home
    with pytest.raises(BadInputError):
        rc.sql(query)
    assert rc.sql("SELECT count(*) FROM reports").item() == 0


FORMULAS = {
    "customer_external_id": '=HYPERLINK("http://x","click")',
    "subscriber_id": "+46701234567",
    "location_id": "@SUM(A1:A9)",
    "license_id": "-2+3",
}


def test_formula_cells_are_neutralised_and_round_trip(tmp_path, write_csv):
    rc = Recon(tmp_path / "home")
    rc.ingest(
        [
            write_csv(
                "f.csv", [raw_row(event_id="f1", occurred_at="2026-09-01T00:00:00Z", **FORMULAS)]
            )
        ]
    )
    report = rc.create_report(ReportRequest(type="USER", **OCT))
    text = Path(report.csv_path or "").read_text()
    assert text.splitlines()[1] == (
        "Partner One,P1,S1,WEBEX_CALLING,PLACEHOLDER-SKU-CAL-0003,"
        "Webex Calling (calling and messaging),"
        '2026-10-01,2026-10-31,31.000000,C1,"\'=HYPERLINK(""http://x"",""click"")",'
        "'+46701234567,u1,\"\",'@SUM(A1:A9),'-2+3"
    )  # text cells neutralised; QUANTITY and dates untouched
    # Reading our CSV back gives the true values, and it reconciles with itself and with a
    # vendor file that has the raw, un-neutralised values.
    ours = rc.report_csv(report.id)
    assert ours["CUSTOMER_EXTERNAL_ID"].to_list() == [FORMULAS["customer_external_id"]]
    assert rc.reconcile(report.id, Path(report.csv_path or "")).exit_code == 0
    raw_vendor = tmp_path / "vendor.csv"
    ours.fill_null("").write_csv(raw_vendor)
    assert rc.reconcile(report.id, raw_vendor).exit_code == 0
    stored = rc.sql("SELECT customer_external_id, subscriber_id FROM report_rows").row(0)
    assert stored == (FORMULAS["customer_external_id"], FORMULAS["subscriber_id"])


@pytest.mark.parametrize(
    "report_id", ["../../etc/passwd", "rpt-x/../../y", "/etc/hosts", "rpt-\x00"]
)
def test_report_ids_are_never_paths(tmp_path, report_id):
    rc = Recon(tmp_path / "home")
    rc.ensure_home()  # so NotFoundError is about the id, not a missing home
    with pytest.raises(NotFoundError):
        rc.get_report(report_id)
    with pytest.raises(NotFoundError):
        rc.delete_report(report_id)
    assert Path("/etc/hosts").exists()
