"""A generated home for report tests: logs in several billing zones, a late partner rename."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from recon.api import Recon
from recon.reports.model import ReportRequest
from recon.synth.generate import GeneratorSpec, generate

OCTOBER = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}
# Several billing zones: a default, a partner's and a customer's own, DST changes in October.
ZONES_TOML = """\
[billing]
timezone = "Europe/Stockholm"

[billing.partners]
"org-partner-002" = "America/New_York"

[billing.customers]
"org-customer-000003" = "Asia/Kolkata"
"org-customer-000010" = "UTC"
"""


def renamed_partner_event(tmp_path: Path, occurred_at: str) -> Path:
    """A late rename of partner 2 by one customer: the name must reach every bucket."""
    path = tmp_path / "rename.csv"
    path.write_text(
        "event_id,occurred_at,action,partner_org_id,partner_name,subscription_id,"
        "sub_partner_org_id,customer_org_id,customer_external_id,location_id,user_id,"
        "subscriber_id,workspace_id,package,sku,license_id\n"
        f"rename-1,{occurred_at},ASSIGN,org-partner-002,Partner 2 Renamed,"
        "sub-org-partner-002-main,,org-customer-000099,CRM-000099,org-customer-000099-loc-1,"
        ",,workspace-rename-1,COMMON_AREA_CALLING,PLACEHOLDER-SKU-CAC-0001,\n"
    )
    return path


def generated_home(tmp_path: Path) -> Recon:
    """A home with two months of generated logs (1,200 subjects), the zones above and the rename."""
    logs = tmp_path / "logs"
    spec = GeneratorSpec(
        start=date(2026, 9, 1),
        end=date(2026, 10, 31),
        subjects=1200,
        customers=40,
        seed=5,
        reassignments_per_month=0.5,
    )
    generate(logs, spec)
    home = tmp_path / "home"
    home.mkdir()
    (home / "recon.toml").write_text(ZONES_TOML)
    rc = Recon(home)
    result = rc.ingest([logs, renamed_partner_event(tmp_path, "2026-10-31T22:59:59Z")])
    assert result.quarantined > 0  # the generator's messy rows stay out of both engines
    return rc


def report_csvs(rc: Recon, scopes: tuple[str | None, ...]) -> dict[tuple[str, str | None], str]:
    """Every report type of October for each scope: its CSV text (each report deleted after)."""
    texts = {}
    for report_type in ("PARTNER", "CUSTOMER", "LOCATION", "USER"):
        for scope in scopes:
            report = rc.create_report(
                ReportRequest(type=report_type, sub_partner_org_id=scope, **OCTOBER)
            )
            assert report.status == "COMPLETED", report.errors
            texts[report_type, scope] = Path(report.csv_path or "").read_text(encoding="utf-8")
            rc.delete_report(report.id)
    return texts
