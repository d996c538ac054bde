"""Golden report CSVs for the bundled sample month, byte for byte.

Regenerate only on purpose: `make golden` (RECON_UPDATE_GOLDEN=1), then review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.ingest.lake import scan_events
from recon.reports.model import ReportRequest
from tests.conftest import SAMPLE
from tests.reference import reference_intervals, reference_quantities

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RECON_UPDATE_GOLDEN") == "1"
OCTOBER = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}
CASES = {
    "partner_2026-10.csv": ReportRequest(type="PARTNER", **OCTOBER),
    "customer_2026-10.csv": ReportRequest(type="CUSTOMER", **OCTOBER),
    "location_2026-10.csv": ReportRequest(type="LOCATION", **OCTOBER),
    "user_2026-10.csv": ReportRequest(type="USER", **OCTOBER),
    "user_2026-10_europe-stockholm.csv": ReportRequest(
        type="USER", timezone="Europe/Stockholm", **OCTOBER
    ),
    "customer_point_in_time_2026-11-01.csv": ReportRequest(
        type="CUSTOMER", category="POINT_IN_TIME", as_of=datetime(2026, 11, 1, tzinfo=UTC)
    ),
    "user_point_in_time_2026-11-01.csv": ReportRequest(
        type="USER", category="POINT_IN_TIME", as_of=datetime(2026, 11, 1, tzinfo=UTC)
    ),
    "partner_2026-10_sub-partner.csv": ReportRequest(
        type="PARTNER", sub_partner_org_id="org-subpartner-1-2", **OCTOBER
    ),
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Recon:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
        recon = Recon(tmp_path_factory.mktemp("golden") / "home")
        recon.ingest([SAMPLE])
    return recon


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_matches_golden_file(sample, name, monkeypatch):
    monkeypatch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
    for existing in sample.list_reports():
        sample.delete_report(existing.id)
    report = sample.create_report(CASES[name])
    assert report.status == "COMPLETED", report.errors
    produced = Path(report.csv_path or "").read_text(encoding="utf-8")
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(produced, encoding="utf-8")
    assert golden.exists(), f"missing {golden}; create it with `make golden`"
    assert produced == golden.read_text(encoding="utf-8")


def test_sample_user_report_equals_the_fraction_reference(sample):
    """The golden USER file itself, checked against the slow reference on the real sample."""
    events = scan_events(sample.layout).collect().to_dicts()
    kinds = dict(zip(sample.catalog()["package"], sample.catalog()["kind"], strict=True))
    intervals, _ = reference_intervals(events, kinds)
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    expected = reference_quantities(intervals, date(2026, 10, 1), date(2026, 10, 31), "UTC", now)
    rows = pl.read_csv(GOLDEN / "user_2026-10.csv", infer_schema=False).fill_null("")
    produced = {
        (
            r["PARTNER_ORG_ID"],
            r["SUBSCRIPTION_ID"],
            r["CUSTOMER_ORG_ID"],
            "USER" if r["USER_ID"] else "WORKSPACE",
            r["USER_ID"] or r["WORKSPACE_ID"],
            r["SERVICE_NAME"],
            r["LOCATION_ID"],
            r["LICENSE_ID"],
        ): (r["QUANTITY"], r["CONSUMPTION_START_DATE"], r["CONSUMPTION_END_DATE"])
        for r in rows.iter_rows(named=True)
    }
    assert produced == {
        key: (text, first.isoformat(), last.isoformat())
        for key, (_, text, first, last) in expected.items()
    }
