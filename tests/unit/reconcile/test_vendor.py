"""Reading the vendor's report CSV: what is forgiven, and what makes files incomparable."""

from __future__ import annotations

import pytest

from recon.reconcile.vendor import IncomparableError, detect_type, read_vendor_report

HEADER = (
    "PARTNER_NAME,PARTNER_ORG_ID,SUBSCRIPTION_ID,SERVICE_NAME,SKU,DESCRIPTION,"
    "CONSUMPTION_START_DATE,CONSUMPTION_END_DATE,QUANTITY"
)
ROW = "Partner One,P1,S1,WEBEX_CALLING,SKU-1,Calling,2026-10-01,2026-10-31,31.000000"


def write(tmp_path, text: str | bytes, name: str = "vendor.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_plain_file_reads_as_is(tmp_path):
    vendor = read_vendor_report(write(tmp_path, f"{HEADER}\n{ROW}\n"), "PARTNER", "RECONCILIATION")
    assert vendor.rows.row(0) == tuple(ROW.split(","))
    assert len(vendor.sha256) == 64


def test_order_case_spaces_bom_crlf_and_short_decimals_are_forgiven(tmp_path):
    columns = HEADER.split(",")
    values = ROW.split(",")
    order = list(reversed(range(len(columns))))
    header = ",".join(f" {columns[i].lower()} " for i in order)
    values[-1] = "31.5"
    row = ",".join(f" {values[i]} " for i in order)
    path = write(tmp_path, b"\xef\xbb\xbf" + f"{header}\r\n{row}\r\n".encode())
    vendor = read_vendor_report(path, "PARTNER", "RECONCILIATION")
    assert vendor.rows.columns == columns
    assert vendor.rows["QUANTITY"].to_list() == ["31.500000"]
    assert vendor.rows["PARTNER_NAME"].to_list() == ["Partner One"]


@pytest.mark.parametrize(
    ("quantity", "normalised"), [("7", "7.000000"), ("0.5", "0.500000"), ("12.", "12.000000")]
)
def test_quantities_with_fewer_decimals(tmp_path, quantity, normalised):
    path = write(tmp_path, f"{HEADER}\n{ROW.rsplit(',', 1)[0]},{quantity}\n")
    assert read_vendor_report(path, "PARTNER", "RECONCILIATION").rows["QUANTITY"].to_list() == [
        normalised
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        (b"\xff\xfe\x00bad", "is not UTF-8 text"),
        (f"{HEADER}\n{ROW.rsplit(',', 1)[0]},31.0000001\n", "at most 6 decimals"),
        (f"{HEADER}\n{ROW.rsplit(',', 1)[0]},-1\n", "is not a non-negative number"),
        (f"{HEADER}\n{ROW}\n{ROW}\n", "2 rows sharing a key"),
        (f"{HEADER},EXTRA\n{ROW},x\n", "unexpected EXTRA"),
        (HEADER.replace(",QUANTITY", "") + "\n" + ROW.rsplit(",", 1)[0] + "\n", "missing QUANTITY"),
        (f"{HEADER}\n{ROW.replace('2026-10-31', '2026-10-32')}\n", "CONSUMPTION_END_DATE"),
        (f"{HEADER}\n{ROW.replace('P1', '')}\n", "PARTNER_ORG_ID"),
        (f"{HEADER}\n{ROW},extra,fields\n", "not a readable CSV"),
    ],
)
def test_files_that_cannot_be_compared(tmp_path, content, message):
    with pytest.raises(IncomparableError, match=message):
        read_vendor_report(write(tmp_path, content), "PARTNER", "RECONCILIATION")


def test_a_vendor_file_of_another_type_is_named(tmp_path):
    header = HEADER + ",CUSTOMER_ORG_ID,CUSTOMER_EXTERNAL_ID,LOCATION_ID"
    path = write(tmp_path, f"{header}\n{ROW},C1,,L1\n")
    with pytest.raises(
        IncomparableError,
        match="is a LOCATION RECONCILIATION report, but the report to compare is PARTNER",
    ):
        read_vendor_report(path, "PARTNER", "RECONCILIATION")


def test_detect_type_by_header():
    assert detect_type(HEADER.lower().split(",")) == ("PARTNER", "RECONCILIATION")
    assert detect_type(["A", "B"]) is None
