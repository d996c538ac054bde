"""The engine's kernel: some customers' events → their USER usage, by the rules (§3-§5).

The embedded slice loop (`recon.reports.usage`) and a distributed runner
(`recon.reports.spark`) both call `slice_usage`, so no billing rule is written twice. On a
lake with codes the rules run on them (`recon.reports.coded`); the text kernel is the
reference and the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from recon.core.config import BillingZones
from recon.core.timezones import DayTable, to_micros
from recon.engine.coded import CodedIds
from recon.engine.intervals import unordered_intervals
from recon.engine.proration import (
    finished_usage,
    partner_name_keys,
    usage_in_zone,
    zoned_usage,
)
from recon.reports.coded import coded_slice_usage, text_events
from recon.reports.zones import customer_zones


@dataclass(frozen=True)
class SliceUsage:
    """The usage of one slice of customers: `rows`, and its partner-name keys.

    `rows` is finished except for the partner name, whose rows span slices: fold the
    `name_keys` of every slice with `partner_names` to get the name the whole lake gives.
    """

    rows: pl.DataFrame
    name_keys: pl.DataFrame


def slice_usage(
    events: pl.LazyFrame,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    now: datetime,
    *,
    sink: Callable[[pl.DataFrame], None] | None = None,
    ids: CodedIds | None = None,
    order_by: Sequence[str] = (),
    order_words: bool = False,
) -> SliceUsage:
    """The engine's kernel: some customers' events → their USER usage (rules §3-§5).

    Every event of a customer must be in `events` (a customer never straddles two slices);
    `tables` is `period_day_tables` of the request. Both the embedded slice loop and a
    distributed runner call this, so no billing rule is written twice. `sink` is handed the
    slice's intervals (snapshots keep the state at month boundaries from them). With `ids`,
    `events` are `coded_events` and the rules run on the codes; the rows come out as text.
    With `order_by` (id columns), the rows are sorted by those columns (see `USER_ORDER`);
    with `order_words` too, the coded kernel leaves them unsorted and adds the words that
    sort them (`text_order_words`, comparable across slices), and the text kernel, which has
    no words, leaves them unsorted (whoever reads them sorts them: `recon.reports.buckets`).
    """
    if ids is not None:
        frame = events.collect(engine="in-memory")
        until = to_micros(now)
        coded = coded_slice_usage(
            frame, ids, catalog, zones, tables, until, sink, order_by, order_words=order_words
        )
        if coded is not None:
            return SliceUsage(*coded)
        events = text_events(frame, ids).lazy()  # codes that do not pack: the text kernel
    zoned = _zoned_slice(events, catalog, zones, tables, now, sink).collect(engine="in-memory")
    keys = partner_name_keys(zoned.lazy()).collect(engine="in-memory")
    rows = finished_usage(zoned.lazy(), ordered=False)
    if order_by and not order_words:
        rows = rows.sort(order_by)
    return SliceUsage(rows.collect(engine="in-memory"), keys)


def _zoned_slice(
    events: pl.LazyFrame,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    now: datetime,
    sink: Callable[[pl.DataFrame], None] | None = None,
) -> pl.LazyFrame:
    """`zoned_usage` of some customers' events (intervals collected once, zones looked up)."""
    intervals = unordered_intervals(events, catalog)
    if sink is not None:
        sink(intervals)
    customers = intervals.select("customer_org_id", "partner_org_id").unique()
    zone_map = customer_zones(customers, zones)
    present = set(zone_map["zone"].unique().to_list())
    if len(present) == 1:  # every customer bills in one zone: no join on its text id needed
        (zone,) = present
        return usage_in_zone(intervals.lazy(), tables[zone], to_micros(now), merge=False)
    return zoned_usage(
        intervals.lazy(),
        zone_map.lazy(),
        {z: t for z, t in tables.items() if z in present},
        to_micros(now),
        merge=False,  # intervals of the rules engine never overlap per row
    )
