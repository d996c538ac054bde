"""Reconciling a stored report with a vendor file: files, store, re-runs, refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from recon.api import Recon
from recon.reconcile.vendor import IncomparableError
from recon.reports.model import ReportRequest

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}


@pytest.fixture
def user_report(rc: Recon):
    return rc.create_report(ReportRequest(type="USER", **OCT))


def vendor_copy(rc: Recon, report_id: str, tmp_path: Path, edit=None) -> Path:
    """Our own CSV, optionally edited line by line, as a vendor file."""
    lines = Path(rc.get_report(report_id).csv_path or "").read_text().splitlines()
    if edit:
        lines = edit(lines)
    path = tmp_path / "vendor.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_our_own_csv_matches_entirely(rc, user_report, tmp_path):
    result = rc.reconcile(user_report.id, vendor_copy(rc, user_report.id, tmp_path))
    assert result.counts == {
        "MATCH": 5,
        "OVER_BILLED": 0,
        "UNDER_BILLED": 0,
        "MISSING_FROM_VENDOR": 0,
        "NOT_IN_OUR_RECORDS": 0,
    }
    assert result.exit_code == 0
    assert Path(result.discrepancy_file).read_text().startswith("CLASS,PARTNER_ORG_ID,")


def test_differences_are_classified_written_stored_and_priced(rc, user_report, tmp_path):
    def edit(lines: list[str]) -> list[str]:
        out = [lines[0]]
        for line in lines[1:]:
            if ",WEBEX_SUITE," in line:
                continue  # the vendor has no row
            if ",WEBEX_CALLING," in line:
                out.append(line.replace(",31.000000,", ",33.500000,"))  # over-billed by 2.5 days
            else:
                out.append(line)
        out.append(out[-1].replace("u3", "u9"))  # a user we never had
        return out

    prices = tmp_path / "prices.csv"
    prices.write_text(
        "SKU,UNIT_PRICE,UNIT,CURRENCY\nPLACEHOLDER-SKU-CAL-0003,31,MONTH,EUR\n"
        "PLACEHOLDER-SKU-STE-0004,0.5,PACKAGE_DAY,EUR\nPLACEHOLDER-SKU-VOI-0002,62,MONTH,EUR\n"
    )
    result = rc.reconcile(
        user_report.id, vendor_copy(rc, user_report.id, tmp_path, edit), "0", prices
    )
    assert result.counts == {
        "MATCH": 3,
        "OVER_BILLED": 1,
        "UNDER_BILLED": 0,
        "MISSING_FROM_VENDOR": 1,
        "NOT_IN_OUR_RECORDS": 1,
    }
    assert result.exit_code == 1
    stored = rc.sql(
        "SELECT class, user_id, service_name, our_quantity::VARCHAR, vendor_quantity::VARCHAR, "
        "delta::VARCHAR, money_delta::VARCHAR, currency FROM discrepancies ORDER BY class"
    )
    assert stored.rows() == [
        (
            "MISSING_FROM_VENDOR",
            "u2",
            "WEBEX_SUITE",
            "5.000000",
            None,
            "-5.000000",
            "-2.500000",
            "EUR",
        ),
        (
            "NOT_IN_OUR_RECORDS",
            "u9",
            "WEBEX_VOICE",
            None,
            "1.750000",
            "1.750000",
            "3.500000",
            "EUR",
        ),
        (
            "OVER_BILLED",
            "u1",
            "WEBEX_CALLING",
            "31.000000",
            "33.500000",
            "2.500000",
            "2.500000",
            "EUR",
        ),
    ]
    assert rc.sql("SELECT counts FROM reconciliations").item() == json.dumps(result.counts)
    by_customer = {r["CUSTOMER_ORG_ID"]: r for r in result.by_customer.iter_rows(named=True)}
    assert by_customer["C1"]["OVER_BILLED"] == 1
    assert by_customer["C2"]["MONEY_DELTA"] == "-2.500000"
    summary = json.loads((Path(result.out_dir) / "summary.json").read_text())
    assert summary["discrepancies"] == 3


def test_a_rerun_replaces_its_own_results(rc, user_report, tmp_path):
    vendor = vendor_copy(rc, user_report.id, tmp_path, lambda lines: lines[:-1])
    first = rc.reconcile(user_report.id, vendor)
    second = rc.reconcile(user_report.id, vendor)
    assert first.id == second.id
    assert rc.sql("SELECT count(*) FROM reconciliations").item() == 1
    assert rc.sql("SELECT count(*) FROM discrepancies").item() == 1


def test_a_malformed_vendor_file_stores_nothing(rc, user_report, tmp_path):
    vendor = vendor_copy(rc, user_report.id, tmp_path, lambda lines: [*lines, lines[-1]])
    with pytest.raises(IncomparableError, match="rows sharing a key"):
        rc.reconcile(user_report.id, vendor)
    assert rc.sql("SELECT count(*) FROM reconciliations").item() == 0
    assert not (rc.home / "reconciliations").exists()


def test_a_vendor_file_of_the_wrong_type(rc, user_report, tmp_path):
    partner = rc.create_report(ReportRequest(type="PARTNER", **OCT))
    vendor = vendor_copy(rc, partner.id, tmp_path)
    with pytest.raises(
        IncomparableError,
        match="is a PARTNER RECONCILIATION report, but the report to compare is USER",
    ):
        rc.reconcile(user_report.id, vendor)


def test_bad_tolerance_and_prices_are_refused(rc, user_report, tmp_path):
    vendor = vendor_copy(rc, user_report.id, tmp_path)
    with pytest.raises(Exception, match="tolerance '-1' is not a non-negative quantity"):
        rc.reconcile(user_report.id, vendor, "-1")
    prices = tmp_path / "p.csv"
    prices.write_text("SKU,UNIT_PRICE,UNIT,CURRENCY\nA,1,MONTH,EUR\nB,1,MONTH,USD\n")
    with pytest.raises(Exception, match=r"mixes currencies \(EUR, USD\)"):
        rc.reconcile(user_report.id, vendor, "0", prices)


def test_a_point_in_time_report_reconciles_on_its_own_key(rc, tmp_path):
    from datetime import UTC, datetime

    report = rc.create_report(
        ReportRequest(
            type="CUSTOMER", category="POINT_IN_TIME", as_of=datetime(2026, 10, 10, 6, tzinfo=UTC)
        )
    )
    vendor = vendor_copy(
        rc,
        report.id,
        tmp_path,
        lambda ls: [ls[0]] + [x.replace(",0.000000,", ",1.000000,") for x in ls[1:]],
    )
    result = rc.reconcile(report.id, vendor)
    assert result.counts["OVER_BILLED"] == 1  # C2's WEBEX_SUITE: 0 held by us, 1 by the vendor
