"""USER-level usage for a validated request: every report type rolls up from it.

Small lakes are computed in memory; large ones in slices of customers whose usage parts are
spilled to Parquet, so memory follows the slice, not the lake.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Final, TypeAlias

import duckdb
import polars as pl
import pyarrow as pa

from recon.core import config
from recon.core.config import BillingZones
from recon.core.engines import EngineSettings
from recon.core.errors import BadInputError
from recon.core.timezones import DayTable, day_table, to_micros
from recon.engine.coded import CodedIds
from recon.engine.intervals import RULE_COLUMNS, assignment_intervals
from recon.engine.proration import (
    holdings_at,
    partner_names,
)
from recon.home.layout import HomeLayout
from recon.home.lock import pid_alive
from recon.home.store import sql_literal
from recon.ingest.catalog import load_catalog
from recon.ingest.lake import lake_fingerprint, lake_rows, scan_known_events
from recon.reports.buckets import KeyBuckets
from recon.reports.coded import (
    coded_events,
    formula_free_columns,
    lake_ids,
)
from recon.reports.kernel import slice_usage
from recon.reports.model import ReportRequest
from recon.reports.snapshots import plan_snapshots


@dataclass(frozen=True, eq=False)
class SpilledUsage:
    """USER usage kept on disk: Parquet parts, each of a slice of customers.

    Within a part every attribute is harmonised except the partner name, whose rows span
    slices; `partner_names` holds the name that applies across all parts. `buckets` (if
    any) are the parts again, grouped into ranges of the USER key in order, their rows
    carrying the `words` that sort them (`recon.reports.buckets`). `formula_free` names text
    columns that hold no cell a spreadsheet would run (their dictionaries hold none). The
    folder is removed when this object is garbage-collected or the process exits.
    """

    folder: Path
    parts: tuple[Path, ...]
    partner_names: pl.DataFrame
    buckets: tuple[tuple[Path, ...], ...] = ()
    words: tuple[str, ...] = ()
    formula_free: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        weakref.finalize(self, shutil.rmtree, self.folder, True)

    def relation_sql(self) -> str:
        """SQL for the usage rows (reads the parts; needs `partner_names` registered)."""
        files = ", ".join(sql_literal(str(p)) for p in self.parts)
        source, words = f"read_parquet([{files}])", ""
        if self.words:  # only bucket files have them
            source = f"read_parquet([{files}], union_by_name = true)"
            words = f"EXCLUDE ({', '.join(self.words)}) "
        return (
            f"SELECT u.* {words}REPLACE (coalesce(p.partner_name, u.partner_name) AS partner_name) "
            f"FROM {source} u "
            "LEFT JOIN partner_names p ON p.partner_org_id = u.partner_org_id"
        )

    def frame(self) -> pl.DataFrame:
        """All the usage rows in memory (for tests and small lakes)."""
        con = duckdb.connect()
        try:
            con.register("partner_names", self.partner_names)
            frame: pl.DataFrame = con.sql(self.relation_sql()).pl()
            return frame
        finally:
            con.close()


# In memory (a Polars frame, or the Arrow table `shared_usage` makes of it) or on disk. In
# memory, the rows are in `USER_ORDER`; on disk, in no particular order.
Usage: TypeAlias = pl.DataFrame | pa.Table | SpilledUsage

# The USER report's key (`schemas/report_user.yaml`) as usage columns, SKU left out: the
# catalog gives every package one SKU of its own, so SERVICE_NAME alone orders them. Usage
# in memory comes in this order, so the USER report needs no sort of its own.
USER_ORDER: Final = [
    "partner_org_id",
    "subscription_id",
    "customer_org_id",
    "user_id",
    "workspace_id",
    "package",
    "location_id",
    "license_id",
]


def shared_usage(usage: Usage) -> Usage:
    """`usage` in the form several reports read best: in-memory rows as an Arrow table.

    DuckDB reads an Arrow table in place but converts a Polars frame on every registration
    (0.5 s per report for 1.3M USER rows); the monthly batch reads one usage four times.
    """
    return arrow_of(usage) if isinstance(usage, pl.DataFrame) else usage


def arrow_of(frame: pl.DataFrame) -> pa.Table:
    """`frame` as an Arrow table, its text as Arrow string views: Polars' own layout, no copy.

    The default (large strings) copies every text cell: 0.1-0.25 s for 1.3M USER rows, where
    this takes a millisecond; DuckDB reads string views, and Polars takes them back as they
    are.
    """
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _check_catalog(packages: pl.LazyFrame, catalog: pl.DataFrame) -> None:
    """Refuse a lake whose `packages` (a "package" text column) are not all in the catalog."""
    unknown = packages.unique().join(catalog.lazy(), on="package", how="anti").collect()
    if unknown.height:
        names = ", ".join(sorted(unknown["package"].to_list())[:10])
        raise BadInputError(
            f"the lake holds package(s) missing from the catalog: {names}",
            hint="add them to the home's catalog.csv (SERVICE_NAME, SKU, DESCRIPTION, KIND)",
        )


def _packages(events: pl.LazyFrame, ids: CodedIds | None) -> pl.LazyFrame:
    """The package text of every event (from the codes' dictionary, for coded events)."""
    if ids is None:
        return events.select("package")
    codes = events.select("package").unique().collect(engine="in-memory")["package"]
    return pl.LazyFrame({"package": ids.texts["package"].gather(codes)})


def period_day_tables(request: ReportRequest, zones: BillingZones) -> dict[str, DayTable]:
    """The DayTable of every billing zone in use, over a RECONCILIATION request's period."""
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
    cutoff = max(t.end for t in period_day_tables(request, zones).values())
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
    engine: EngineSettings | None = None,
) -> Usage:
    """USER-level usage for a validated request (every report type rolls up from it).

    Embedded: in memory for a lake of up to `RECON_SLICE_EVENTS` events, as Parquet parts
    beyond. Spark runs the same kernel per bucket of customers (`recon.reports.spark`);
    POINT_IN_TIME and "as known on" requests are computed embedded whatever the engine.
    """
    events = scan_known_events(layout, request.known_ingests)  # as known on (§8), or all
    if request.category == "POINT_IN_TIME":
        at = request.as_of or now
        scoped_events = events.filter(pl.col("occurred_at") <= at)
        _check_catalog(scoped_events.select("package"), catalog)
        held = holdings_at(assignment_intervals(scoped_events, catalog), to_micros(at))
        return held.sort(USER_ORDER).collect(engine="in-memory")
    if request.timezone:
        zones = zones.forced(request.timezone)
    tables = period_day_tables(request, zones)
    cutoff = max(t.end for t in tables.values())
    plan = plan_snapshots(layout, request, catalog, tables)  # §8: from a snapshot if valid
    spark = engine is not None and engine.name == "spark" and request.known_ingests is None
    # The dictionaries load before `plan.events` lists the files after a snapshot's instant;
    # readers list files first (`recon.ingest.codes`), but a build holds the writer lock, so
    # no ingest adds a file meanwhile.
    ids = None if spark or not plan.has_codes else lake_ids(layout)
    if ids is None:
        plan.for_text()
    scoped_events = plan.events(events, cutoff)
    if ids is not None:  # the rules run on the lake's integer codes (`recon.reports.coded`)
        scoped_events = coded_events(scoped_events)
    _check_catalog(_packages(scoped_events, ids), catalog)
    if spark and engine is not None:
        # ("as known on" reads a subset of the lake: computed embedded, as point in time is)
        from recon.reports.spark import spark_usage  # noqa: PLC0415 - pyspark only when asked

        return spark_usage(layout, catalog, zones, tables, now, engine)
    # Large lakes are processed in slices of customers (a customer's events never straddle
    # two slices, and rows of different customers are independent except for the partner
    # name), each slice's usage written to Parquet as it is done: the memory the rules need
    # follows the slice, and the roll-up reads the parts from disk.
    kernel = partial(
        slice_usage,
        catalog=catalog,
        zones=zones,
        tables=tables,
        now=now,
        sink=plan.collect,
        ids=ids,
        order_by=USER_ORDER,
    )
    if lake_rows(layout) <= config.engine_slice_events():
        rows = kernel(scoped_events)  # in USER_ORDER
        plan.save()
        return rows.rows
    folder = usage_folder(layout)
    try:
        chunks = customer_slices(scoped_events, layout, folder)
        written, keys = KeyBuckets(folder, len(chunks)), []
        for chunk in chunks:
            part = kernel(chunk, order_words=True)  # unsorted, with the words that sort it
            keys.append(part.name_keys)
            written.add(part.rows)
            del part
        shutil.rmtree(folder / "events", ignore_errors=True)
        names = partner_names(pl.concat(keys).lazy()).collect(engine="in-memory")
        plan.save()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    buckets = written.buckets()  # only if every slice's rules ran on the codes: all decoded
    free = formula_free_columns(ids) if buckets and ids is not None else frozenset()
    return SpilledUsage(folder, tuple(written.parts), names, buckets, written.words, free)


def usage_folder(layout: HomeLayout) -> Path:
    """A new folder for this process's usage parts (those of ended processes removed first)."""
    _remove_stale_usage(layout)
    layout.spill.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"usage-{os.getpid()}-", dir=layout.spill))


class UsageCache:
    """USER usage for one request of one home, kept for the next report of the same period.

    The monthly batch builds four report types from one computation. The cache holds one
    entry and is keyed by the lake's files, the catalog and what `usage_key` names, so a new
    ingest or another period recomputes.
    """

    def __init__(self, layout: HomeLayout) -> None:
        self.layout = layout
        self._entry: tuple[tuple[object, ...], Usage] | None = None

    def usage(
        self,
        catalog: pl.DataFrame,
        request: ReportRequest,
        zones: BillingZones,
        now: datetime,
        engine: EngineSettings | None = None,
    ) -> Usage:
        """`report_usage` of the request, computed unless the last call already did."""
        key = (
            lake_fingerprint(self.layout),
            catalog.hash_rows().sum(),
            catalog.height,
            usage_key(request, zones, now),
            engine or EngineSettings(),
            request.known_ingests,
        )
        if self._entry is not None and self._entry[0] == key:
            return self._entry[1]
        self._entry = None  # let the old one go before computing the new one
        usage = shared_usage(report_usage(self.layout, catalog, request, zones, now, engine))
        self._entry = (key, usage)
        return usage


def _remove_stale_usage(layout: HomeLayout) -> None:
    """Remove usage parts left by recon processes that have ended (killed mid-report)."""
    if not layout.spill.exists():
        return
    for folder in layout.spill.glob("usage-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


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


def load_catalog_for(
    layout: HomeLayout, catalog_path: Path | None, *, remember: bool = False
) -> pl.DataFrame:
    """The catalog a home uses (`remember`: a writer records that it passed its contract)."""
    layout.ensure()
    return load_catalog(catalog_path or layout.catalog, layout.verdicts, remember=remember)
