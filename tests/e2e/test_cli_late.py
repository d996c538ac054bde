"""The late-event story through the CLI (§8): a late ASSIGN for October changes October.

On the sample, October is 86,454.622692 at every level. A new user assigned from
2026-10-02T00:00Z (30 whole days, worth exactly 30.000000) arrives in a later batch: the
reports built before it are stale, say so, and `recon run` rebuilds them.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO, SAMPLE, run

LATE_ROW = {
    "event_id": "evt-late-0000000001",
    "occurred_at": "2026-10-02T00:00:00Z",
    "action": "ASSIGN",
    "partner_org_id": "org-partner-001",
    "partner_name": "Partner 1 Telecom",
    "subscription_id": "sub-001",
    "sub_partner_org_id": "",
    "customer_org_id": "org-customer-000054",
    "customer_external_id": "CRM-000054",
    "location_id": "org-customer-000054-loc-1",
    "user_id": "user-late-0001",
    "subscriber_id": "",
    "workspace_id": "",
    "package": "WEBEX_MEETINGS",
    "sku": "",
    "license_id": "",
}
LATER = {"RECON_NOW": "2026-11-22T08:00:00Z"}


@pytest.fixture
def late_logs(tmp_path: Path) -> Path:
    folder = tmp_path / "late"
    folder.mkdir()
    pl.DataFrame([LATE_ROW]).write_csv(folder / "late-2026-10.csv")
    return folder


def _totals(home: Path) -> dict[str, str]:
    listed = run(home, "report", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {
        r["type"]: r["totalQuantity"]
        for r in json.loads(listed.stdout)["items"]
        if r["category"] == "RECONCILIATION"
    }


def test_a_late_event_makes_october_stale_and_recon_run_rebuilds_it(tmp_path, late_logs):
    home = tmp_path / "home"
    first = run(home, "run", "--month", "2026-10", "--logs", str(SAMPLE), "--json")
    assert first.returncode == 4, first.stderr  # built, no vendor files given
    assert set(_totals(home).values()) == {"86454.622692"}
    user_id = next(
        r["reportId"] for r in json.loads(first.stdout)["reports"] if r["type"] == "USER"
    )

    ingested = run(home, "ingest", str(late_logs), "--json", env=LATER)
    assert ingested.returncode == 0, ingested.stderr
    late_ingest = json.loads(ingested.stdout)["ingestId"]

    shown = run(home, "report", "get", user_id, "--json")
    lineage = json.loads(shown.stdout)["lineage"]
    assert (lineage["stale"], lineage["lateEvents"], lineage["lateSinceIngestId"]) == (
        True,
        1,
        late_ingest,
    )
    text = run(home, "report", "get", user_id)
    assert f"STALE  1 late event since ingest {late_ingest}" in text.stderr
    assert "STALE: 1 late" in run(home, "report", "list").stdout

    again = run(home, "run", "--month", "2026-10", env=LATER)
    assert again.returncode == 4, again.stderr
    for report_type in ("PARTNER", "CUSTOMER", "LOCATION", "USER"):
        assert f"{report_type} rebuilt: 1 late event since ingest {late_ingest}" in again.stdout
    assert "(reused)" not in again.stdout
    assert _totals(home) == dict.fromkeys(
        ("PARTNER", "CUSTOMER", "LOCATION", "USER"), "86484.622692"
    )
    third = run(home, "run", "--month", "2026-10", env=LATER)
    assert "rebuilt" not in third.stdout
    assert third.stdout.count("(reused)") == 4


def test_the_second_monthly_run_that_brings_the_late_event_rebuilds_in_one_go(tmp_path, late_logs):
    home = tmp_path / "home"
    assert run(home, "run", "--month", "2026-10", "--logs", str(SAMPLE)).returncode == 4
    again = run(home, "run", "--month", "2026-10", "--logs", str(late_logs), "--json", env=LATER)
    assert again.returncode == 4, again.stderr
    outcome = json.loads(again.stdout)
    assert (outcome["ingest"]["rowsRead"], outcome["ingest"]["accepted"]) == (1, 1)
    late_ingest = outcome["ingest"]["ingestId"]
    assert [
        (o["type"], o["reused"], o["rebuilt"].split(" (was ")[0]) for o in outcome["reports"]
    ] == [
        (t, False, f"1 late event since ingest {late_ingest}")
        for t in ("PARTNER", "CUSTOMER", "LOCATION", "USER")
    ]
    assert set(_totals(home).values()) == {"86484.622692"}


def test_keep_stale_reuses_loudly_and_the_reconciliation_is_marked(tmp_path, late_logs):
    home = tmp_path / "home"
    vendor = ["--vendor-dir", str(REPO / "data" / "vendor")]
    first = run(home, "run", "--month", "2026-10", "--logs", str(SAMPLE), *vendor)
    assert first.returncode == 1, first.stderr
    kept = run(
        home,
        "run",
        "--month",
        "2026-10",
        "--logs",
        str(late_logs),
        *vendor,
        "--keep-stale",
        env=LATER,
    )
    assert kept.returncode == 1, kept.stderr
    assert kept.stdout.count("(reused, STALE)") == 4
    assert "USER KEPT STALE (--keep-stale):" in kept.stderr
    assert "it was reconciled anyway" in kept.stderr
    assert set(_totals(home).values()) == {"86454.622692"}
    marked = run(
        home,
        "sql",
        "SELECT made_against_stale_report, count(*) AS n FROM reconciliation_lineage "
        "GROUP BY ALL ORDER BY ALL",
        "--format",
        "csv",
    )
    # the same report and vendor file: each reconciliation was made again, now against a
    # stale report
    assert marked.stdout.splitlines()[1:] == ["true,4"], marked.stdout
    rebuilt = run(home, "run", "--month", "2026-10", *vendor, "--json", env=LATER)
    outcomes = json.loads(rebuilt.stdout)["reports"]
    assert all(o["rebuilt"] and o["reconciliation"]["reportStale"] is False for o in outcomes)
    assert set(_totals(home).values()) == {"86484.622692"}
