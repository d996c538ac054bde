"""`recon run`: the monthly batch on the bundled sample, re-runs, and the vendor folder."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.synth.generate import GeneratorSpec, generate
from tests.conftest import REPO, SAMPLE

VENDOR = REPO / "data" / "vendor"
PRICES = REPO / "data" / "prices.csv"


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
        rc = Recon(tmp_path_factory.mktemp("month") / "home")
        first = rc.run_month("2026-10", [SAMPLE], VENDOR, tolerance="0.000001", prices=PRICES)
        second = rc.run_month("2026-10", [SAMPLE], VENDOR, tolerance="0.000001", prices=PRICES)
    return rc, first, second


def _key(row: dict[str, object]) -> tuple[object, ...]:
    return tuple(
        row[c] or ""
        for c in (
            "CUSTOMER_ORG_ID",
            "USER_ID",
            "WORKSPACE_ID",
            "SERVICE_NAME",
            "LOCATION_ID",
            "LICENSE_ID",
        )
    )


def test_every_type_is_built_and_reconciled(month):
    _, first, _ = month
    assert [o.type for o in first.outcomes] == ["PARTNER", "CUSTOMER", "LOCATION", "USER"]
    assert all(o.report and o.report.status == "COMPLETED" for o in first.outcomes)
    assert all(o.reconciliation for o in first.outcomes)
    assert first.exit_code == 1
    assert first.problems == []
    assert first.ingest is not None and first.ingest.accepted > 4000


def test_every_recorded_vendor_difference_is_found_with_its_class(month):
    _, first, _ = month
    manifest = json.loads((VENDOR / "vendor-manifest-2026-10.json").read_text())
    user = next(o for o in first.outcomes if o.type == "USER").reconciliation
    assert user is not None
    found = {
        _key(r): r["CLASS"]
        for r in pl.read_csv(user.discrepancy_file, infer_schema=False).iter_rows(named=True)
    }
    for difference in manifest["user_level_differences"]:
        expected = difference["expected_class"]
        if expected == "MATCH":  # noise below the tolerance
            assert _key(difference) not in found
        else:
            assert found[_key(difference)] == expected


def test_a_second_run_reuses_and_replaces(month):
    rc, first, second = month
    assert all(o.reused for o in second.outcomes)
    assert [o.report.id for o in first.outcomes] == [o.report.id for o in second.outcomes]  # type: ignore[union-attr]
    assert [o.reconciliation.id for o in first.outcomes] == [
        o.reconciliation.id for o in second.outcomes
    ]  # type: ignore[union-attr]
    assert second.ingest is not None and second.ingest.accepted == 0
    assert rc.sql("SELECT count(*) FROM reports").item() == 4
    assert rc.sql("SELECT count(*) FROM reconciliations").item() == 4
    total = sum(o.reconciliation.discrepancies for o in second.outcomes)  # type: ignore[union-attr]
    assert rc.sql("SELECT count(*) FROM discrepancies").item() == total


def test_another_zone_needs_regenerate_and_regenerate_rebuilds(month):
    rc, first, _ = month
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
        refused = rc.run_month("2026-10", zone="Europe/Stockholm")
        assert refused.exit_code == 2
        assert "was computed in UTC, not Europe/Stockholm" in (refused.outcomes[0].error or "")
        rebuilt = rc.run_month("2026-10", zone="Europe/Stockholm", regenerate=True)
    # No vendor folder given: the reports are built, nothing was compared; never a success.
    assert (rebuilt.outcome, rebuilt.exit_code) == ("NOTHING_COMPARED", 4)
    assert rebuilt.not_compared == ["PARTNER", "CUSTOMER", "LOCATION", "USER"]
    assert {o.report.timezone for o in rebuilt.outcomes} == {"Europe/Stockholm"}  # type: ignore[union-attr]
    assert not {o.report.id for o in rebuilt.outcomes} & {o.report.id for o in first.outcomes}  # type: ignore[union-attr]
    assert rc.sql("SELECT count(*) FROM reports").item() == 4


def test_vendor_folder_problems_are_reported(tmp_path, rc):
    folder = tmp_path / "vendor"
    folder.mkdir()
    shutil.copy(VENDOR / "vendor-PARTNER-2026-10.csv", folder / "a.csv")
    shutil.copy(VENDOR / "vendor-PARTNER-2026-10.csv", folder / "b.csv")
    shutil.copy(
        VENDOR / "vendor-USER-2026-10.csv", folder / "vendor-USER-2026-09.csv"
    )  # another month
    (folder / "notes.csv").write_text("hello,world\n1,2\n")
    run = rc.run_month("2026-10", vendor_dir=folder)
    assert run.exit_code == 2
    assert any(
        "2 vendor files look like PARTNER reports for 2026-10: a.csv, b.csv" in p
        for p in run.problems
    )
    assert any("notes.csv: the header is not a RECONCILIATION report's" in p for p in run.problems)
    assert all(o.vendor_file is None for o in run.outcomes)


def test_generated_vendor_reports_differ_by_exactly_the_recorded_changes(tmp_path):
    spec = GeneratorSpec(
        start=date(2026, 9, 1),
        end=date(2026, 10, 31),
        subjects=600,
        customers=30,
        mess_rate=0.0,
        seed=21,
    )
    generate(
        tmp_path / "logs",
        spec,
        vendor_month=date(2026, 10, 1),
        vendor_dir=tmp_path / "vendor",
        vendor_differences=2,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
        rc = Recon(tmp_path / "home")
        run = rc.run_month(
            "2026-10", [tmp_path / "logs"], tmp_path / "vendor", tolerance="0.000001"
        )
    user = next(o for o in run.outcomes if o.type == "USER").reconciliation
    assert user is not None
    manifest = json.loads((tmp_path / "vendor" / "vendor-manifest-2026-10.json").read_text())
    expected = {
        (_key(d), d["expected_class"])
        for d in manifest["user_level_differences"]
        if d["expected_class"] != "MATCH"
    }
    found = {
        (_key(r), r["CLASS"])
        for r in pl.read_csv(user.discrepancy_file, infer_schema=False).iter_rows(named=True)
    }
    assert found == expected
    assert len(found) == 8  # 2 of each of the four non-MATCH kinds


def test_vendor_files_never_land_in_the_lake(tmp_path):
    rc = Recon(tmp_path / "home")
    result = rc.ingest([VENDOR])
    assert result.rows_read == 0
    assert len(result.failed_files) == 4
    assert all("not an event log" in (f.error or "") for f in result.failed_files)
    assert Path(result.failed_files[0].path).parent == VENDOR
