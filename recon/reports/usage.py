"""USER-level usage for a validated request: every report type rolls up from it.

Small lakes are computed in memory; large ones in slices of customers whose usage parts are
spilled to Parquet, so memory follows the slice, not the lake.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl

from recon.core import config
from recon.core.config import BillingZones
from recon.core.contracts import (
    Category,
    ReportType,
)
from recon.core.errors import BadInputError
from recon.core.timezones import DayTable, day_table, iso_utc, to_micros
from recon.engine.intervals import RULE_COLUMNS, assignment_intervals, unordered_intervals
from recon.engine.proration import (
    finished_usage,
    holdings_at,
    partner_name_keys,
    partner_names,
    zoned_usage,
)
from recon.home.layout import HomeLayout
from recon.home.lock import pid_alive
from recon.ingest.catalog import load_catalog
from recon.ingest.lake import lake_rows, scan_events
from recon.reports.model import ReportRequest
from recon.reports.rollup import SpilledUsage, Usage, report_row_batches


def customer_zones(customers: pl.DataFrame, zones: BillingZones) -> pl.DataFrame:
    """customer_org_id → billing zone: customer override, else partner override, else default."""
    return customers.select(
        "customer_org_id",
        zone=pl.col("customer_org_id")
        .replace_strict(zones.customers, default=None, return_dtype=pl.String)
        .fill_null(
            pl.col("partner_org_id").replace_strict(
                zones.partners, default=None, return_dtype=pl.String
            )
        )
        .fill_null(zones.default),
    ).unique("customer_org_id", keep="first", maintain_order=True)


def _check_catalog(events: pl.LazyFrame, catalog: pl.DataFrame) -> None:
    unknown = (
        events.select("package").unique().join(catalog.lazy(), on="package", how="anti").collect()
    )
    if unknown.height:
        names = ", ".join(sorted(unknown["package"].to_list())[:10])
        raise BadInputError(
            f"the lake holds package(s) missing from the catalog: {names}",
            hint="add them to the home's catalog.csv (SERVICE_NAME, SKU, DESCRIPTION, KIND)",
        )


def compute_report_batches(
    layout: HomeLayout,
    catalog: pl.DataFrame,
    request: ReportRequest,
    zones: BillingZones,
    now: datetime,
    usage: Usage | None = None,
) -> Iterator[pl.DataFrame]:
    """The rows of a validated request as text, in order, in bounded batches.

    `usage` is `report_usage` of the same request, when the caller already has it.
    """
    if usage is None:
        usage = report_usage(layout, catalog, request, zones, now)
    report_type: ReportType = request.type  # type: ignore[assignment]
    category: Category = request.category  # type: ignore[assignment]
    report_date = None
    if category == "POINT_IN_TIME":
        report_date = iso_utc(request.as_of or now)
    return report_row_batches(
        usage,
        catalog,
        report_type,
        category,
        report_date,
        spill_dir=layout.spill,
        sub_partner_org_id=request.sub_partner_org_id,
    )


def _zone_tables(request: ReportRequest, zones: BillingZones) -> dict[str, DayTable]:
    assert request.start is not None and request.end is not None
    if request.timezone:
        zones = zones.forced(request.timezone)
    used = {zones.default, *zones.partners.values(), *zones.customers.values()}
    return {z: day_table(z, request.start, request.end) for z in sorted(used)}


def usage_key(request: ReportRequest, zones: BillingZones, now: datetime) -> tuple[object, ...]:
    """What USER usage depends on besides the lake and the catalog.

    Report type and sub-partner are applied after usage, so every type of one period shares
    it; "now" matters only while the period is still running.
    """
    if request.category == "POINT_IN_TIME":
        return ("POINT_IN_TIME", to_micros(request.as_of or now))
    if request.timezone:
        zones = zones.forced(request.timezone)
    cutoff = max(t.end for t in _zone_tables(request, zones).values())
    return (
        "RECONCILIATION",
        request.start,
        request.end,
        zones.default,
        tuple(sorted(zones.partners.items())),
        tuple(sorted(zones.customers.items())),
        min(to_micros(now), cutoff),
    )


def report_usage(
    layout: HomeLayout,
    catalog: pl.DataFrame,
    request: ReportRequest,
    zones: BillingZones,
    now: datetime,
) -> Usage:
    """USER-level usage for a validated request (every report type rolls up from it).

    In memory for a lake of up to `RECON_SLICE_EVENTS` events, as Parquet parts beyond.
    """
    events = scan_events(layout)
    if request.category == "POINT_IN_TIME":
        at = request.as_of or now
        scoped_events = events.filter(pl.col("occurred_at") <= at)
        _check_catalog(scoped_events, catalog)
        return holdings_at(assignment_intervals(scoped_events, catalog), to_micros(at)).collect(
            engine="in-memory"
        )
    if request.timezone:
        zones = zones.forced(request.timezone)
    tables = _zone_tables(request, zones)
    cutoff = max(t.end for t in tables.values())
    scoped_events = events.filter(pl.col("occurred_at").dt.epoch("us") < cutoff)
    _check_catalog(scoped_events, catalog)
    # Large lakes are processed in slices of customers (a customer's events never straddle
    # two slices, and rows of different customers are independent except for the partner
    # name), each slice's usage written to Parquet as it is done: the memory the rules need
    # follows the slice, and the roll-up reads the parts from disk.
    if lake_rows(layout) <= config.engine_slice_events():
        whole = _zoned_slice(scoped_events, catalog, zones, tables, now)
        return finished_usage(whole, ordered=False).collect(engine="in-memory")
    _remove_stale_usage(layout)
    layout.spill.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"usage-{os.getpid()}-", dir=layout.spill))
    try:
        chunks = customer_slices(scoped_events, layout, folder)
        parts, keys = [], []
        for number, chunk in enumerate(chunks):
            zoned = _zoned_slice(chunk, catalog, zones, tables, now).collect(engine="in-memory")
            keys.append(partner_name_keys(zoned.lazy()).collect(engine="in-memory"))
            path = folder / f"part-{number:04d}.parquet"
            finished_usage(zoned.lazy(), ordered=False).collect(engine="in-memory").write_parquet(
                path, compression="lz4", statistics=False
            )
            parts.append(path)
            del zoned
        shutil.rmtree(folder / "events", ignore_errors=True)
        names = partner_names(pl.concat(keys).lazy()).collect(engine="in-memory")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return SpilledUsage(folder, tuple(parts), names)


def _remove_stale_usage(layout: HomeLayout) -> None:
    """Remove usage parts left by recon processes that have ended (killed mid-report)."""
    if not layout.spill.exists():
        return
    for folder in layout.spill.glob("usage-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _zoned_slice(
    events: pl.LazyFrame,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    now: datetime,
) -> pl.LazyFrame:
    """`zoned_usage` of some customers' events (intervals collected once, zones looked up)."""
    intervals = unordered_intervals(events, catalog)
    customers = intervals.select("customer_org_id", "partner_org_id").unique()
    zone_map = customer_zones(customers, zones)
    present = set(zone_map["zone"].unique().to_list())
    return zoned_usage(
        intervals.lazy(),
        zone_map.lazy(),
        {z: t for z, t in tables.items() if z in present},
        to_micros(now),
        merge=False,  # intervals of the rules engine never overlap per row
    )


def customer_slices(events: pl.LazyFrame, layout: HomeLayout, work: Path) -> list[pl.LazyFrame]:
    """`events` split into slices of customers of about `RECON_SLICE_EVENTS` events each.

    A customer's events are all in one slice (the slice is a hash of its id), so anything
    computed per customer or finer is exact per slice. One slice, `events` itself, when the
    lake is small; otherwise the columns the rules read are written once, streaming, to
    Parquet under `work` split by slice (one pass over the lake instead of one per slice).
    """
    slices = max(1, -(-lake_rows(layout) // config.engine_slice_events()))
    if slices == 1:
        return [events]
    folder = work / "events"
    events.select(RULE_COLUMNS).with_columns(
        _slice=(pl.col("customer_org_id").hash(seed=17) % slices).cast(pl.Int64)
    ).sink_parquet(
        pl.PartitionBy(folder, key="_slice", include_key=False),
        compression="lz4",
        statistics=False,
        mkdir=True,
        engine="streaming",
    )
    schema = events.select(RULE_COLUMNS).collect_schema()
    return [
        pl.scan_parquet(sorted(part.glob("*.parquet")), schema=schema)
        for part in sorted(folder.glob("_slice=*"), key=lambda p: int(p.name.split("=")[1]))
        if any(part.glob("*.parquet"))
    ]


def load_catalog_for(layout: HomeLayout, catalog_path: Path | None) -> pl.DataFrame:
    """The catalog a home uses."""
    layout.ensure()
    return load_catalog(catalog_path or layout.catalog)
