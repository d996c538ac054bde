"""A home writes report CSVs in the column order learned from a vendor file; the documented
order stays the default and reconciliation still matches by header (issue 19, item 13)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from recon.api import Recon
from recon.core.config import now
from recon.core.errors import BadInputError
from recon.reports.model import ReportRequest
from tests.conftest import run

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}
DOCUMENTED = [
    "PARTNER_NAME",
    "PARTNER_ORG_ID",
    "SUBSCRIPTION_ID",
    "SERVICE_NAME",
    "SKU",
    "DESCRIPTION",
    "CONSUMPTION_START_DATE",
    "CONSUMPTION_END_DATE",
    "QUANTITY",
    "CUSTOMER_ORG_ID",
    "CUSTOMER_EXTERNAL_ID",
    "LOCATION_ID",
    "LICENSE_ID",
]
# The partner's own Webex file: "drop the first 4 columns, usage is column K" (the 11th).
WEBEX = [
    "PARTNER_NAME",
    "PARTNER_ORG_ID",
    "SUBSCRIPTION_ID",
    "SERVICE_NAME",
    "SKU",
    "DESCRIPTION",
    "CONSUMPTION_START_DATE",
    "CONSUMPTION_END_DATE",
    "CUSTOMER_ORG_ID",
    "CUSTOMER_EXTERNAL_ID",
    "QUANTITY",
    "LOCATION_ID",
    "LICENSE_ID",
]
WEBEX_ROW = (
    "Partner One,P1,S1,WEBEX_CALLING,SKU-CALL,Webex Calling,2026-10-01,2026-10-31,C1,X1,"
    "31.000000,L1,\n"
)


def _webex_file(path: Path, header: list[str] = WEBEX) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(header) + "\n" + WEBEX_ROW)
    return path


def _rows(report_csv: str | None) -> list[list[str]]:
    return list(csv.reader(Path(report_csv or "").read_text().splitlines()))


def test_a_learned_order_is_used_for_new_csvs_and_column_11_is_quantity(rc, tmp_path):
    learned = rc.columns.learn([_webex_file(tmp_path / "webex" / "customer.csv")])
    assert [(o.report_type, o.category, o.columns) for o in learned.orders] == [
        ("CUSTOMER", "RECONCILIATION", WEBEX)
    ]
    report = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    rows = _rows(report.csv_path)
    assert rows[0] == WEBEX
    assert rows[0][10] == "QUANTITY"
    calling = next(r for r in rows if r[3] == "WEBEX_CALLING")
    assert calling[4:] == [
        "PLACEHOLDER-SKU-CAL-0003",
        "Webex Calling (calling and messaging)",
        "2026-10-01",
        "2026-10-31",
        "C1",
        "X1",
        "31.000000",
        "L1",
        "",
    ]
    # Other types keep the documented order.
    partner = rc.create_report(ReportRequest(type="PARTNER", **OCT))
    assert _rows(partner.csv_path)[0] == DOCUMENTED[:9]
    # The reader matches by header: our own file, and the same rows in the documented order.
    assert rc.reconcile(report.id, Path(report.csv_path or "")).discrepancies == 0
    documented = tmp_path / "documented.csv"
    frame = rc.report_csv(report.id).select(DOCUMENTED)
    frame.write_csv(documented)
    assert rc.reconcile(report.id, documented).discrepancies == 0


def test_the_http_download_serves_the_learned_order(rc, tmp_path):
    from recon.serve.http.reports_api import ReportsApi

    rc.columns.learn([_webex_file(tmp_path / "customer.csv")])
    report = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    api = ReportsApi(Recon(rc.home))
    link = urlsplit(api.signer.download_url("http://x", report.id, now()))
    params = {k: v[0] for k, v in parse_qs(link.query).items()}
    served = api.download(report.id, params)
    api.pool.shutdown()
    assert served.read_text().splitlines()[0].split(",") == WEBEX


def test_show_and_reset(rc, tmp_path):
    assert all(not o.learned for o in rc.columns.show())
    rc.columns.learn([_webex_file(tmp_path / "customer.csv")])
    shown = {(o.report_type, o.category): o for o in rc.columns.show()}
    assert len(shown) == 6
    assert shown["CUSTOMER", "RECONCILIATION"].columns == WEBEX
    assert shown["CUSTOMER", "RECONCILIATION"].learned_from == str(tmp_path / "customer.csv")
    assert shown["CUSTOMER", "POINT_IN_TIME"].learned is False
    assert rc.columns.reset("USER") == []
    assert rc.columns.reset("customer") == ["CUSTOMER RECONCILIATION"]
    report = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    assert _rows(report.csv_path)[0] == DOCUMENTED
    with pytest.raises(BadInputError, match="'INVOICE' is not a report type"):
        rc.columns.reset("INVOICE")


def test_a_folder_is_learned_file_by_file_and_other_csvs_are_skipped(rc, tmp_path):
    folder = tmp_path / "vendor"
    _webex_file(folder / "vendor-CUSTOMER-2026-10.csv")
    (folder / "prices.csv").write_text("SKU,UNIT_PRICE,UNIT,CURRENCY\nA,1,MONTH,EUR\n")
    (folder / "notes.txt").write_text("not a csv\n")
    learned = rc.columns.learn([folder])
    assert [o.report_type for o in learned.orders] == ["CUSTOMER"]
    assert learned.skipped == [
        (str(folder / "prices.csv"), "not a billing report (header matches no type)")
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([c for c in WEBEX if c != "SKU"], "(missing SKU)"),
        ([*WEBEX, "COLOUR"], "(unexpected COLOUR)"),
        ([*WEBEX, "QUANTITY"], "(repeated QUANTITY)"),
        ([c for c in WEBEX if c != "SKU"] + ["COLOUR"], "(missing SKU; unexpected COLOUR)"),
    ],
)
def test_an_order_must_hold_exactly_the_types_columns(rc, tmp_path, header, message):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(header) + "\n")
    with pytest.raises(BadInputError) as refused:
        rc.columns.learn([path])
    assert refused.value.message == (
        f"vendor file {path} does not hold exactly the CUSTOMER RECONCILIATION columns {message}"
    )
    assert [o.learned for o in rc.columns.show()] == [False] * 6


def test_two_files_of_one_type_in_different_orders_are_refused(rc, tmp_path):
    first = _webex_file(tmp_path / "a.csv")
    second = _webex_file(tmp_path / "b.csv", DOCUMENTED)
    with pytest.raises(BadInputError, match="with different column orders"):
        rc.columns.learn([first, second])


def test_columns_on_the_command_line(rc, tmp_path):
    learned = run(rc.home, "columns", "learn", str(_webex_file(tmp_path / "c.csv")))
    assert learned.returncode == 0, learned.stderr
    assert "learned CUSTOMER RECONCILIATION from" in learned.stdout
    shown = json.loads(run(rc.home, "columns", "show", "--json").stdout)["items"]
    customer = next(o for o in shown if o["type"] == "CUSTOMER" and o["learned"])
    assert customer["columns"][10] == "QUANTITY"
    text = run(rc.home, "columns", "show").stdout
    assert "  11 K  QUANTITY" in text
    created = run(
        rc.home,
        "report",
        "create",
        "--type",
        "CUSTOMER",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-31",
        "--json",
    )
    assert _rows(json.loads(created.stdout)["csvPath"])[0] == WEBEX
    reset = run(rc.home, "columns", "reset")
    assert reset.stdout.strip() == "forgot the learned column order of CUSTOMER RECONCILIATION"
    bad = run(rc.home, "columns", "learn", str(tmp_path / "nope.csv"))
    assert bad.returncode == 2
    assert "does not exist" in bad.stderr
