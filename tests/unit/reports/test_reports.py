"""Billing rules §5 and §6: report contents, categories, scoping and the lifecycle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.core.errors import BadInputError, ConflictError, NotFoundError
from recon.reports.model import ReportRequest
from recon.reports.registry import register_report
from recon.reports.rollup import rolled_up_frame
from recon.reports.writer import complete_report
from tests.conftest import SAMPLE

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}


def _csv(rc: Recon, report_id: str) -> list[tuple[str, ...]]:
    return [tuple(r) for r in rc.report_csv(report_id).rows()]


def test_user_report_rows(rc):
    report = rc.create_report(ReportRequest(type="USER", **OCT))
    assert report.status == "COMPLETED"
    assert rc.report_csv(report.id).columns == [
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
        "SUBSCRIBER_ID",
        "USER_ID",
        "WORKSPACE_ID",
        "LOCATION_ID",
        "LICENSE_ID",
    ]
    assert [
        (r[3], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15])
        for r in _csv(rc, report.id)
    ] == [
        (
            "COMMON_AREA_CALLING",
            "2026-10-21",
            "2026-10-31",
            "11.000000",
            "C1",
            "X1",
            "",
            "",
            "w1",
            "L2",
            "",
        ),
        (
            "ATTENDANT_CONSOLE",
            "2026-10-10",
            "2026-10-10",
            "0.500000",
            "C1",
            "X1",
            "s-1",
            "u1",
            "",
            "L1",
            "LIC-A",
        ),
        (
            "WEBEX_CALLING",
            "2026-10-01",
            "2026-10-31",
            "31.000000",
            "C1",
            "X1",
            "s-1",
            "u1",
            "",
            "L1",
            "",
        ),
        ("WEBEX_SUITE", "2026-10-01", "2026-10-05", "5.000000", "C2", "", "", "u2", "", "M1", ""),
        ("WEBEX_VOICE", "2026-10-30", "2026-10-31", "1.750000", "C3", "", "", "u3", "", "N1", ""),
    ]
    assert report.row_count == 5
    assert report.total_quantity == "49.250000"


def test_partner_customer_and_location_reports_tie_out(rc):
    partner = rc.create_report(ReportRequest(type="PARTNER", **OCT))
    assert [(r[3], r[4], r[6], r[7], r[8]) for r in _csv(rc, partner.id)] == [
        ("ATTENDANT_CONSOLE", "PLACEHOLDER-SKU-ATC-0101", "2026-10-10", "2026-10-10", "0.500000"),
        (
            "COMMON_AREA_CALLING",
            "PLACEHOLDER-SKU-CAC-0001",
            "2026-10-21",
            "2026-10-31",
            "11.000000",
        ),
        ("WEBEX_CALLING", "PLACEHOLDER-SKU-CAL-0003", "2026-10-01", "2026-10-31", "31.000000"),
        ("WEBEX_SUITE", "PLACEHOLDER-SKU-STE-0004", "2026-10-01", "2026-10-05", "5.000000"),
        ("WEBEX_VOICE", "PLACEHOLDER-SKU-VOI-0002", "2026-10-30", "2026-10-31", "1.750000"),
    ]
    customer = rc.create_report(ReportRequest(type="CUSTOMER", **OCT))
    location = rc.create_report(ReportRequest(type="LOCATION", **OCT))
    user = rc.create_report(ReportRequest(type="USER", **OCT))
    assert {r.total_quantity for r in (partner, customer, location, user)} == {"49.250000"}
    sums = rc.sql(
        "SELECT type, service_name, sum(quantity)::VARCHAR AS q "
        "FROM report_lines GROUP BY ALL ORDER BY ALL"
    )
    by_type: dict[str, list[tuple[str, str]]] = {}
    for report_type, service, quantity in sums.rows():
        by_type.setdefault(report_type, []).append((service, quantity))
    assert by_type["PARTNER"] == by_type["CUSTOMER"] == by_type["LOCATION"] == by_type["USER"]


def test_location_report_columns(rc):
    report = rc.create_report(ReportRequest(type="LOCATION", **OCT))
    assert rc.report_csv(report.id).columns[-3:] == [
        "CUSTOMER_ORG_ID",
        "CUSTOMER_EXTERNAL_ID",
        "LOCATION_ID",
    ]
    assert ("C1", "L2", "11.000000") in [(r[9], r[11], r[8]) for r in _csv(rc, report.id)]


def test_sub_partner_scope_contains_exactly_its_customers(rc):
    scoped = rc.create_report(ReportRequest(type="USER", sub_partner_org_id="SP1", **OCT))
    assert [(r[9], r[8]) for r in _csv(rc, scoped.id)] == [("C2", "5.000000")]
    partner = rc.create_report(ReportRequest(type="PARTNER", sub_partner_org_id="SP2", **OCT))
    assert [(r[3], r[8]) for r in _csv(rc, partner.id)] == [("WEBEX_VOICE", "1.750000")]


def test_point_in_time_user_and_customer(rc):
    at = datetime(2026, 10, 10, 6, tzinfo=UTC)
    user = rc.create_report(ReportRequest(type="USER", category="POINT_IN_TIME", as_of=at))
    assert [(r[3], r[6], r[10], r[11], r[14]) for r in _csv(rc, user.id)] == [
        ("ATTENDANT_CONSOLE", "1.000000", "u1", "", "2026-10-10T06:00:00.000000Z"),
        ("WEBEX_CALLING", "1.000000", "u1", "", "2026-10-10T06:00:00.000000Z"),
    ]
    customer = rc.create_report(ReportRequest(type="CUSTOMER", category="POINT_IN_TIME", as_of=at))
    # C2 held WEBEX_SUITE before but not now: a row with quantity 0. C3 had nothing yet: no row.
    assert [(r[3], r[6], r[7]) for r in _csv(rc, customer.id)] == [
        ("ATTENDANT_CONSOLE", "1.000000", "C1"),
        ("WEBEX_CALLING", "1.000000", "C1"),
        ("WEBEX_SUITE", "0.000000", "C2"),
    ]
    assert customer.billing_start_date is None and customer.as_of == at


def test_point_in_time_defaults_to_now_and_never_conflicts(rc):
    first = rc.create_report(ReportRequest(type="USER", category="POINT_IN_TIME"))
    second = rc.create_report(ReportRequest(type="USER", category="POINT_IN_TIME"))
    assert first.status == second.status == "COMPLETED"
    assert first.as_of == datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert len(_csv(rc, first.id)) == 3  # u1 Calling, w1, u3 (the add-on ended)


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        (
            {"type": "PARTNER", "category": "POINT_IN_TIME"},
            "POINT_IN_TIME reports exist for CUSTOMER and USER only",
        ),
        (
            {"type": "LOCATION", "category": "POINT_IN_TIME"},
            "POINT_IN_TIME reports exist for CUSTOMER and USER only",
        ),
        ({"type": "INVOICE", **OCT}, "type 'INVOICE' is not a report type"),
        (
            {"type": "USER", "category": "MONTHLY", **OCT},
            "category 'MONTHLY' is not a report category",
        ),
        ({"type": "USER", "end": date(2026, 10, 31)}, "billingStartDate is required"),
        ({"type": "USER", "start": date(2026, 10, 31)}, "billingEndDate is required"),
        (
            {"type": "USER", "start": date(2026, 10, 31), "end": date(2026, 10, 1)},
            "billingStartDate 2026-10-31 is after billingEndDate 2026-10-01",
        ),
        (
            {"type": "USER", "start": date(2021, 11, 20), "end": date(2021, 11, 30)},
            "billingStartDate 2021-11-20 is more than 5 years ago",
        ),
        (
            {"type": "USER", "start": date(2026, 11, 1), "end": date(2026, 11, 21)},
            "billingEndDate 2026-11-21 is not before today (2026-11-21 in the billing time zone)",
        ),
        (
            {"type": "USER", "as_of": datetime(2026, 10, 1, tzinfo=UTC), **OCT},
            "asOf applies to POINT_IN_TIME",
        ),
        ({"type": "USER", "timezone": "Mars/Olympus", **OCT}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_requests_name_the_field_and_store_nothing(rc, request_fields, message):
    with pytest.raises(BadInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rc.create_report(ReportRequest(**request_fields))
    assert rc.list_reports() == []


def test_five_years_back_is_allowed_and_yesterday_is_the_last_day(rc):
    assert (
        rc.create_report(
            ReportRequest(type="USER", start=date(2021, 11, 21), end=date(2021, 11, 21))
        ).status
        == "COMPLETED"
    )
    assert (
        rc.create_report(
            ReportRequest(type="USER", start=date(2026, 11, 20), end=date(2026, 11, 20))
        ).status
        == "COMPLETED"
    )


def test_today_is_taken_in_the_billing_time_zone(rc, monkeypatch):
    # 2026-11-21T12:00Z is already 2026-11-22 in Kiritimati (UTC+14): the 21st has not ended
    # in UTC but has in Pacific/Kiritimati.
    request = {"type": "USER", "start": date(2026, 11, 21), "end": date(2026, 11, 21)}
    with pytest.raises(BadInputError, match="not before today"):
        rc.create_report(ReportRequest(**request))
    assert (
        rc.create_report(ReportRequest(**request, timezone="Pacific/Kiritimati")).status
        == "COMPLETED"
    )


def test_a_second_reconciliation_report_conflicts_until_the_first_is_deleted(rc):
    first = rc.create_report(ReportRequest(type="USER", **OCT))
    with pytest.raises(ConflictError, match=f"already exists \\(id {first.id}\\)") as info:
        rc.create_report(ReportRequest(type="USER", **OCT))
    assert info.value.hint == f"delete it first: recon report delete {first.id}"
    # Another type, period or scope does not conflict.
    assert rc.create_report(ReportRequest(type="CUSTOMER", **OCT)).status == "COMPLETED"
    assert (
        rc.create_report(ReportRequest(type="USER", sub_partner_org_id="SP1", **OCT)).status
        == "COMPLETED"
    )
    rc.delete_report(first.id)
    assert rc.create_report(ReportRequest(type="USER", **OCT)).status == "COMPLETED"


def test_a_failed_report_does_not_block_and_says_why(rc):
    catalog = rc.layout.catalog
    original = catalog.read_text()
    catalog.write_text(
        "\n".join(line for line in original.splitlines() if "WEBEX_VOICE" not in line) + "\n"
    )
    failed = rc.create_report(ReportRequest(type="USER", **OCT))
    assert failed.status == "FAILED"
    assert failed.errors[0]["code"] == "BAD_INPUT"
    assert "package(s) missing from the catalog: WEBEX_VOICE" in failed.errors[0]["description"]
    assert failed.csv_path is None
    catalog.write_text(original)
    assert rc.create_report(ReportRequest(type="USER", **OCT)).status == "COMPLETED"


def test_rows_that_break_the_contract_fail_the_report_and_write_no_csv(rc):
    request = ReportRequest(type="PARTNER", category="RECONCILIATION", **OCT)
    report = register_report(
        rc.store, request, rc.settings.zones, datetime(2026, 11, 21, tzinfo=UTC)
    )
    day = date(2026, 10, 1)
    bad = pl.DataFrame(  # typed as the roll-up makes them; SERVICE_NAME breaks its pattern
        {
            **{c: ["x"] for c in ["PARTNER_NAME", "PARTNER_ORG_ID", "SUBSCRIPTION_ID"]},
            "SERVICE_NAME": ["x"],
            "SKU": ["x"],
            "DESCRIPTION": ["x"],
            "CONSUMPTION_START_DATE": [day],
            "CONSUMPTION_END_DATE": [day],
            "QUANTITY": [1_000_000],
        }
    )
    with rolled_up_frame(bad, "PARTNER") as rows:
        done = complete_report(rc.store, report, rows)
    assert done.status == "FAILED"
    assert done.errors[0]["code"] == "SCHEMA_VIOLATION"
    assert "SERVICE_NAME: str_matches" in done.errors[0]["description"]
    assert list(rc.layout.reports.glob("*.csv")) == []


def test_in_progress_cannot_be_deleted_and_an_orphaned_one_becomes_failed(rc):
    request = ReportRequest(type="USER", category="RECONCILIATION", **OCT)
    live = register_report(rc.store, request, rc.settings.zones, datetime(2026, 11, 21, tzinfo=UTC))
    with pytest.raises(ConflictError, match="IN_PROGRESS and cannot be deleted"):
        rc.delete_report(live.id)
    with pytest.raises(ConflictError, match="already exists"):
        rc.create_report(request)
    # Pretend its process died: the next look marks it FAILED, and it no longer blocks.
    with rc.store.connect() as con:
        con.execute("UPDATE reports SET pid = 999999999 WHERE id = ?", [live.id])
    gone = rc.get_report(live.id)
    assert gone.status == "FAILED"
    assert gone.errors[0]["code"] == "INTERRUPTED"
    assert rc.create_report(request).status == "COMPLETED"


def test_delete_removes_the_csv_and_the_rows(rc):
    report = rc.create_report(ReportRequest(type="USER", **OCT))
    path = Path(report.csv_path or "")
    assert path.exists()
    rc.delete_report(report.id)
    assert not path.exists()
    assert rc.sql("SELECT count(*) FROM report_rows").item() == 0
    with pytest.raises(NotFoundError, match="no report with id"):
        rc.get_report(report.id)


def test_list_filters_match_exactly_and_sort(rc):
    a = rc.create_report(
        ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    b = rc.create_report(
        ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 15))
    )
    c = rc.create_report(
        ReportRequest(type="PARTNER", start=date(2026, 9, 1), end=date(2026, 9, 30))
    )
    assert [r.id for r in rc.list_reports(start=date(2026, 10, 1), end=date(2026, 10, 15))] == [
        b.id
    ]
    assert [r.id for r in rc.list_reports(report_type="PARTNER")] == [c.id]
    assert next(r.id for r in rc.list_reports(sort_by="billingStartDate")) == c.id
    assert [r.id for r in rc.list_reports(sort_by="billingEndDate")] == [c.id, b.id, a.id]
    assert [r.id for r in rc.list_reports(sort_by="id")] == sorted([a.id, b.id, c.id])
    assert rc.list_reports(status="FAILED") == []
    with pytest.raises(BadInputError, match="cannot sort by 'size'"):
        rc.list_reports(sort_by="size")


def test_per_customer_billing_zone_from_the_home_config(rc):
    (rc.home / "recon.toml").write_text(
        '[billing]\ntimezone = "UTC"\n[billing.customers]\nC3 = "Asia/Kolkata"\n'
    )
    zoned = Recon(rc.home)
    report = zoned.create_report(ReportRequest(type="USER", sub_partner_org_id="SP2", **OCT))
    # 2026-10-30T06:00Z is 11:30 in Kolkata: 12.5 h of the 30th, and the whole 31st.
    assert [(r[8], r[6], r[7]) for r in _csv(zoned, report.id)] == [
        ("1.520833", "2026-10-30", "2026-10-31")
    ]


def test_per_partner_billing_zone_and_the_forced_zone(rc):
    (rc.home / "recon.toml").write_text('[billing.partners]\nP1 = "Asia/Kolkata"\n')
    zoned = Recon(rc.home)
    report = zoned.create_report(ReportRequest(type="USER", sub_partner_org_id="SP2", **OCT))
    assert [r[8] for r in _csv(zoned, report.id)] == ["1.520833"]  # as above, via the partner
    zoned.delete_report(report.id)
    forced = zoned.create_report(
        ReportRequest(type="USER", sub_partner_org_id="SP2", timezone="UTC", **OCT)
    )
    assert [r[8] for r in _csv(zoned, forced.id)] == ["1.750000"]
    assert forced.timezone == "UTC"


def test_json_shape_carries_the_fields_scripts_need(rc):
    report = rc.create_report(ReportRequest(type="USER", **OCT)).as_json()
    assert {
        "id",
        "status",
        "type",
        "category",
        "billingStartDate",
        "billingEndDate",
        "created",
        "errors",
        "csvPath",
    } <= set(report)
    assert report["billingStartDate"] == "2026-10-01"
    assert report["created"] == "2026-11-21T12:00:00.000000Z"
    assert Path(report["csvPath"]).exists()


def _renamed_partner_event(tmp_path: Path) -> Path:
    """One late ASSIGN that renames partner 2 (rows of its other customers must follow)."""
    path = tmp_path / "rename.csv"
    path.write_text(
        "event_id,occurred_at,action,partner_org_id,partner_name,subscription_id,"
        "sub_partner_org_id,customer_org_id,customer_external_id,location_id,user_id,"
        "subscriber_id,workspace_id,package,sku,license_id\n"
        "evt-rename-1,2026-10-31T22:59:00Z,ASSIGN,org-partner-002,Partner 2 Renamed,sub-002,,"
        "org-customer-000099,CRM-000099,org-customer-000099-loc-1,,,workspace-rename-1,"
        "COMMON_AREA_CALLING,PLACEHOLDER-SKU-CAC-0001,\n"
    )
    return path


def test_a_lake_processed_in_slices_of_customers_gives_the_same_usage(tmp_path, monkeypatch):
    from recon.core.config import BillingZones
    from recon.engine.proration import ROW_GRAIN
    from recon.reports.usage import SpilledUsage, report_usage

    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE, _renamed_partner_event(tmp_path)])
    request = ReportRequest(
        type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31), timezone="Europe/Stockholm"
    )
    now = datetime(2026, 11, 21, tzinfo=UTC)
    zones = BillingZones(default="UTC")
    whole = report_usage(rc.layout, rc.catalog(), request, zones, now)
    assert isinstance(whole, pl.DataFrame)
    monkeypatch.setenv("RECON_SLICE_EVENTS", "700")  # 4,510 events: 7 slices
    spilled = report_usage(rc.layout, rc.catalog(), request, zones, now)
    assert isinstance(spilled, SpilledUsage)
    # 7 slices, each written in up to 7 buckets of the USER key (one per slice)
    assert len(spilled.buckets) == 7 and spilled.words
    assert sorted(p for b in spilled.buckets for p in b) == sorted(spilled.parts)
    assert {p.name.split("-part-")[1] for p in spilled.parts} == {
        f"{n:04d}.parquet" for n in range(7)
    }
    assert all(p.parent == rc.layout.spill / spilled.folder.name for p in spilled.parts)
    sliced = spilled.frame().sort(ROW_GRAIN)
    assert whole.height > 1000
    assert sliced.equals(whole.sort(ROW_GRAIN))
    # The rename reached rows of partner 2 in every slice, not only the renaming customer's.
    names = sliced.filter(pl.col("partner_org_id") == "org-partner-002")["partner_name"]
    assert names.unique().to_list() == ["Partner 2 Renamed"]
    assert (
        sliced.filter(pl.col("partner_org_id") == "org-partner-002")["customer_org_id"].n_unique()
        > 10
    )
    folder = spilled.folder
    del spilled
    import gc

    gc.collect()
    assert not folder.exists(), "usage parts are removed once nothing uses them"


def test_every_report_of_a_sliced_lake_equals_the_unsliced_one(tmp_path, monkeypatch):
    sample = SAMPLE
    texts = {}
    for label, slice_events in (("whole", "100000000"), ("sliced", "500")):
        monkeypatch.setenv("RECON_SLICE_EVENTS", slice_events)
        rc = Recon(tmp_path / label)
        rc.ingest([sample, _renamed_partner_event(tmp_path)])
        for report_type in ("PARTNER", "CUSTOMER", "LOCATION", "USER"):
            for scope in (None, "org-subpartner-1-3"):
                report = rc.create_report(
                    ReportRequest(
                        type=report_type,
                        start=date(2026, 10, 1),
                        end=date(2026, 10, 31),
                        sub_partner_org_id=scope,
                    )
                )
                assert report.status == "COMPLETED", report.errors
                assert report.csv_path is not None
                texts[label, report_type, scope] = Path(report.csv_path).read_text()
                rc.delete_report(report.id)
        # Sliced rows went through Parquet files beside the usage parts: removed after use.
        assert list(rc.layout.spill.rglob("typed-*")) == []
    for (label, report_type, scope), text in texts.items():
        if label == "sliced":
            assert text == texts["whole", report_type, scope], (report_type, scope)
            assert text.count("\n") > 1 or report_type == "PARTNER"


def test_usage_shared_as_arrow_gives_the_rows_of_the_frame(tmp_path):
    """The batch hands DuckDB one Arrow table for all four reports; rows must not change."""
    import pyarrow as pa

    from recon.core.config import BillingZones
    from recon.reports.rollup import report_row_batches
    from recon.reports.usage import report_usage, shared_usage

    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE])
    now = datetime(2026, 11, 21, tzinfo=UTC)
    zones = BillingZones(default="UTC")
    monthly = ReportRequest(type="USER", **OCT)
    at = ReportRequest(
        type="USER", category="POINT_IN_TIME", as_of=datetime(2026, 10, 20, tzinfo=UTC)
    )
    for request in (monthly, at):
        frame = report_usage(rc.layout, rc.catalog(), request, zones, now)
        assert isinstance(frame, pl.DataFrame)
        shared = shared_usage(frame)
        assert isinstance(shared, pa.Table)
        types = (
            ("CUSTOMER", "USER") if request is at else ("PARTNER", "CUSTOMER", "LOCATION", "USER")
        )
        for report_type in types:
            for scope in (None, "org-subpartner-1-3"):
                args = (rc.catalog(), report_type, request.category, "2026-10-20T00:00:00.000000Z")
                of_frame = pl.concat(report_row_batches(frame, *args, sub_partner_org_id=scope))
                of_table = pl.concat(report_row_batches(shared, *args, sub_partner_org_id=scope))
                assert of_frame.height > 0, (request.category, report_type, scope)
                assert of_table.equals(of_frame), (request.category, report_type, scope)
        if request is at:  # USER point in time lists held keys only; CUSTOMER shows 0 rows too
            user = pl.concat(report_row_batches(shared, rc.catalog(), "USER", "POINT_IN_TIME"))
            assert frame.filter(pl.col("quantity_micros") == 0).height > 0
            assert user.height == frame.filter(pl.col("quantity_micros") > 0).height
