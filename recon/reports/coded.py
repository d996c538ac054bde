"""The usage kernel on the lake's integer codes: what `slice_usage` runs when the lake has them.

Ingest gives every id a code in a dictionary beside the lake (`recon.ingest.codes`) and stores
the code beside the text. A report reads the codes instead of the text, runs the rules on them
(`recon.engine.coded`) and turns only the rows it writes back into text. The text kernel stays
the reference and the fallback: for a lake without codes, a snapshot written before codes
existed, or ids too many to pack (`CodedIds.fits`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from recon.core.config import BillingZones
from recon.core.csvsafe import holds_formula
from recon.core.timezones import DayTable
from recon.engine.coded import CODED, CodedIds, coded_usage, looked_up
from recon.engine.intervals import RULE_COLUMNS
from recon.engine.proration import USAGE_SCHEMA
from recon.home.layout import HomeLayout
from recon.ingest.codes import (
    CODED_COLUMNS,
    DICTIONARIES,
    code_column,
    lake_has_codes,
    load_dictionaries,
    load_text_order,
)
from recon.reports.zones import customer_zones

Sink = Callable[[pl.DataFrame], None]


def lake_ids(layout: HomeLayout) -> CodedIds | None:
    """The dictionaries of the lake's coded columns (None: the lake has no codes)."""
    if not lake_has_codes(layout):
        return None
    names = {CODED_COLUMNS[c] for c in CODED}
    dictionaries = load_dictionaries(layout, names)
    texts = {c: dictionaries[CODED_COLUMNS[c]] for c in CODED}
    if not CodedIds(texts).fits():
        return None
    # Stored text orders: a wrong one of the columns rows are ordered by fails the USER
    # report's key check; one of the attributes whose ranks break ties is checked on use.
    stored = {n: load_text_order(layout, n, dictionaries[n].len()) for n in DICTIONARIES}
    orders = {c: o for c in CODED if (o := stored.get(CODED_COLUMNS[c])) is not None}
    return CodedIds(texts, orders)


def formula_free_columns(ids: CodedIds) -> frozenset[str]:
    """The usage text columns the coded kernel decodes that hold no cell a spreadsheet would run.

    A decoded cell is a text of its column's dictionary (or ""), so a column is free of such
    cells when its dictionary is: one pass over the dictionaries (0.2 s at 10M subjects)
    instead of one over every row of the report (1.4 s).
    """
    holds: dict[int, bool] = {}  # per dictionary (user_id and workspace_id share one)
    free = set()
    for column in USAGE_SCHEMA:
        if column in CODED:
            texts = ids.texts[column]
            if id(texts) not in holds:
                holds[id(texts)] = holds_formula(texts)
            if not holds[id(texts)]:
                free.add(column)
    if "user_id" in free:  # decoded from the subject dictionary too
        free.add("subject_id")
    return frozenset(free | {"subject_type"})  # USER or WORKSPACE


def coded_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """The rules' columns of lake events, each coded column as its code (named as the text)."""
    return events.select(
        [pl.col(code_column(c)).alias(c) if c in CODED else pl.col(c) for c in RULE_COLUMNS]
    )


def text_events(coded: pl.DataFrame, ids: CodedIds) -> pl.DataFrame:
    """`coded_events` rows back to text (the fallback to the text kernel)."""
    return coded.with_columns(**{c: looked_up(ids.texts[c], c) for c in CODED})


def coded_slice_usage(
    events: pl.DataFrame,
    ids: CodedIds,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    until: int,
    sink: Sink | None,
    order_by: Sequence[str] = (),
    *,
    order_words: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """`coded_usage` of some customers' coded events: USER rows and partner-name keys.

    None when the kernel cannot take these events (the caller decodes them and takes the
    text kernel). `sink` is handed the slice's coded intervals; rows are sorted by the text
    of the `order_by` columns, or with `order_words` carry the words that sort them.
    """
    if not zones.partners and not zones.customers:  # no overrides: every customer bills alike
        zone_map = pl.DataFrame(schema={"customer_org_id": pl.UInt32, "zone": pl.String})
        present = {zones.default}
    else:
        zone_map = _customer_zones(events, ids, zones)
        present = set(zone_map["zone"].unique().to_list())
    base = set(catalog.filter(pl.col("kind") == "BASE")["package"])
    used = {z: t for z, t in tables.items() if z in present}
    return coded_usage(
        events, ids, base, zone_map, used, until, sink, order_by, order_words=order_words
    )


def _customer_zones(events: pl.DataFrame, ids: CodedIds, zones: BillingZones) -> pl.DataFrame:
    """Customer code → billing zone (`usage.customer_zones` on the customers' text)."""
    customers = events.select("customer_org_id", "partner_org_id").unique()
    text = customers.with_columns(
        _customer=ids.texts["customer_org_id"].gather(customers["customer_org_id"]),
        _partner=ids.texts["partner_org_id"].gather(customers["partner_org_id"]),
    )
    mapped = customer_zones(
        text.select(customer_org_id="_customer", partner_org_id="_partner"), zones
    )
    return (
        text.join(mapped.rename({"customer_org_id": "_customer"}), on="_customer")
        .select("customer_org_id", "zone")
        .unique("customer_org_id", keep="first")
    )
