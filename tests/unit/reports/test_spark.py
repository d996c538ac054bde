"""`--engine spark`: the same kernel on Spark (local[2]) gives the embedded engine's reports.

One Spark session serves every test here (starting one costs seconds); each test runs the
embedded engine and Spark on the same home and compares report CSVs byte for byte.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from recon.api import Recon
from recon.core.config import BillingZones
from recon.core.engines import EngineSettings
from recon.engine.proration import ROW_GRAIN
from recon.reports.model import ReportRequest
from recon.reports.usage import SpilledUsage, UsageCache, report_usage
from tests.conftest import SAMPLE
from tests.unit.reports.generated import (
    OCTOBER,
    generated_home,
    renamed_partner_event,
    report_csvs,
)

SPARK = EngineSettings("spark", "local[2]")
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local[2] session for the module; the engine finds it as the active session."""
    from recon.reports.spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")


def test_generated_logs_in_several_zones_and_buckets_give_identical_reports(
    spark, tmp_path, monkeypatch
):
    monkeypatch.setenv("RECON_SLICE_EVENTS", "600")  # ~4,200 events: 8 buckets of customers
    rc = generated_home(tmp_path)
    scopes = (None, "org-subpartner-2-1")
    embedded = report_csvs(rc, scopes)
    on_spark = report_csvs(Recon(rc.home, engine="spark", spark_master="local[2]"), scopes)
    assert on_spark == embedded
    assert embedded["USER", None].count("\n") > 1000
    assert embedded["USER", "org-subpartner-2-1"].count("\n") > 10
    assert "Partner 2 Renamed" in embedded["PARTNER", None]
    assert "Asia/Kolkata" not in embedded["USER", None]  # zones shape quantities, not columns


def test_spark_usage_is_spilled_parts_equal_to_the_embedded_rows(spark, tmp_path, monkeypatch):
    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE, renamed_partner_event(tmp_path, "2026-10-31T22:59:00Z")])
    request = ReportRequest(type="USER", timezone="Europe/Stockholm", **OCTOBER)
    zones = BillingZones()
    whole = report_usage(rc.layout, rc.catalog(), request, zones, NOW)
    assert isinstance(whole, pl.DataFrame)
    monkeypatch.setenv("RECON_SLICE_EVENTS", "500")  # 4,511 events: 10 buckets
    spilled = report_usage(rc.layout, rc.catalog(), request, zones, NOW, SPARK)
    assert isinstance(spilled, SpilledUsage)
    assert len(spilled.parts) >= 2
    assert all(p.is_relative_to(rc.layout.spill) for p in spilled.parts)
    rows = spilled.frame().sort(ROW_GRAIN)
    assert rows.equals(whole.sort(ROW_GRAIN))
    renamed = rows.filter(pl.col("partner_org_id") == "org-partner-002")
    assert renamed["partner_name"].unique().to_list() == ["Partner 2 Renamed"]
    assert renamed["customer_org_id"].n_unique() > 10
    folder = spilled.folder
    del spilled
    gc.collect()
    assert not folder.exists(), "Spark's usage parts are removed once nothing uses them"


def test_the_usage_cache_tells_the_engines_apart(spark, tmp_path):
    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE])
    cache = UsageCache(rc.layout)
    request = ReportRequest(type="USER", **OCTOBER)
    embedded = cache.usage(rc.catalog(), request, BillingZones(), NOW, EngineSettings())
    assert isinstance(embedded, pa.Table)  # the embedded engine's rows, in memory
    on_spark = cache.usage(rc.catalog(), request, BillingZones(), NOW, SPARK)
    assert isinstance(on_spark, SpilledUsage)
    assert cache.usage(rc.catalog(), request, BillingZones(), NOW, SPARK) is on_spark


def test_an_empty_lake_on_spark_gives_an_empty_report(spark, tmp_path):
    rc = Recon(tmp_path / "home", engine="spark", spark_master="local[2]")
    rc.ensure_home()
    report = rc.create_report(ReportRequest(type="PARTNER", **OCTOBER))
    assert report.status == "COMPLETED", report.errors
    assert Path(report.csv_path or "").read_text(encoding="utf-8").count("\n") == 1


def test_point_in_time_reports_are_computed_embedded_under_the_spark_engine(spark, tmp_path):
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    texts = []
    for engine in ("embedded", "spark"):
        rc = Recon(tmp_path / engine, engine=engine, spark_master="local[2]")
        rc.ingest([SAMPLE])
        report = rc.create_report(ReportRequest(type="USER", category="POINT_IN_TIME", as_of=as_of))
        assert report.status == "COMPLETED", report.errors
        texts.append(Path(report.csv_path or "").read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    assert texts[0].count("\n") > 1000
