"""Experiment behind the performance notes: the USER usage stage on integer-coded columns.

The engine groups and sorts text ids (customers, subjects, locations, licenses). This measures
what integer ids assigned at ingest (a dictionary beside the lake, which recon does not have)
would save, on a bench home, in one process and one run:

- **text**: the engine's own functions, from the lake to harmonised USER usage;
- **coded**: the same steps on a copy of the month's events whose id columns are replaced by
  integer codes (the dictionaries are built first and not timed, as ingest would keep them),
  with the usage rows decoded back to text at the end (timed).

Both must give the same rows, quantities and days (checked; an attribute chosen by a tie on
time could differ, since codes do not sort like text). The reports stage is not covered.
Not used by the engine or the tests.

    python -m benchmarks.coded .bench/home-1000000
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl

from recon.core.timezones import day_table, to_micros
from recon.engine import intervals as rules
from recon.engine import proration
from recon.home.layout import HomeLayout
from recon.ingest.catalog import load_catalog
from recon.ingest.lake import scan_events

T = TypeVar("T")
TABLE = day_table("UTC", date(2026, 10, 1), date(2026, 10, 31))
UNTIL = to_micros(datetime(2026, 11, 21, 12, tzinfo=UTC))
EMPTY = 0  # "" is code 0 in every dictionary
NO_KEY = 2**64 - 1
# Id columns with a dictionary of their own; user and workspace ids share the "subject" one.
OWN_DICTIONARY = [
    "customer_org_id",
    "package",
    "location_id",
    "license_id",
    *[a for a in rules.ATTRIBUTES if a not in ("user_id", "workspace_id")],
]
# The conflict group: the subject for BASE packages, the whole key for ADDONs.
GROUP = ["customer_org_id", "subject_type", "subject_id", "_g_key"]
GRAIN = proration.ROW_GRAIN
SUBJECT = ["customer_org_id", "subject_type", "subject_id"]


def timed(name: str, step: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = step()
    print(f"  {name:<32} {time.perf_counter() - start:6.2f} s", flush=True)
    return result


def dictionaries(events: pl.DataFrame) -> dict[str, pl.Series]:
    """Per id column, its distinct values with "" first (code = position)."""
    out = {
        c: pl.concat([pl.Series([""]), events[c].unique()]).unique(maintain_order=True)
        for c in OWN_DICTIONARY
    }
    subjects = [pl.Series([""]), events["user_id"], events["workspace_id"]]
    out["subject"] = pl.concat(subjects).unique(maintain_order=True)
    return out


def encoded(events: pl.DataFrame, codes: dict[str, pl.Series]) -> pl.DataFrame:
    def code(column: str, dictionary: str) -> pl.Expr:
        values = codes[dictionary]
        numbers = pl.Series(range(len(values)), dtype=pl.UInt32)
        return pl.col(column).replace_strict(values, numbers, return_dtype=pl.UInt32)

    return events.select(
        "event_id",
        "occurred_at",
        is_assign=pl.col("action") == "ASSIGN",
        user_id=code("user_id", "subject"),
        workspace_id=code("workspace_id", "subject"),
        **{c: code(c, c) for c in OWN_DICTIONARY},
    )


def coded_order(events: pl.LazyFrame, base_packages: pl.Series) -> pl.DataFrame:
    """Events with their integer conflict group, in rule order (hash of the group, time)."""
    is_base = pl.col("package").is_in(base_packages.implode())
    key = (
        pl.col("package").cast(pl.UInt64) * 2**48
        + pl.col("location_id").cast(pl.UInt64) * 2**24
        + pl.col("license_id").cast(pl.UInt64)
    )
    ordered = (
        events.with_columns(
            subject_type=pl.col("user_id") != EMPTY,
            subject_id=pl.when(pl.col("user_id") != EMPTY)
            .then("user_id")
            .otherwise("workspace_id"),
            _key=key,
            _g_key=pl.when(is_base).then(pl.lit(0, pl.UInt64)).otherwise(key),
            kind=is_base,
        )
        .with_columns(_h=pl.struct(GROUP).hash(seed=0x6E0))
        .sort(["_h", "occurred_at", "is_assign", "event_id"])
        .collect()
    )
    change = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in GROUP])
    collided = (change & (pl.col("_h") == pl.col("_h").shift(1))).fill_null(False).any()
    if ordered.select(collided).item():
        raise SystemExit("hash collision between conflict groups: rerun with another seed")
    return ordered


def coded_intervals(ordered: pl.DataFrame) -> pl.DataFrame:
    """The engine's own rules (`recon.engine.intervals`), run on the integer columns."""
    segmented = rules.segmented_events(
        ordered.lazy(), group=GROUP, no_key=pl.lit(NO_KEY, pl.UInt64)
    )
    return rules.intervals_of_segmented(segmented).collect()


def latest(column: str, at: str, *, filled: bool = False) -> pl.Expr:
    """The code of `column` at the latest `at` (ties: the greatest code), in one `max`."""
    key = pl.col(at).dt.epoch("us").cast(pl.Int128) * 2**32 + pl.col(column).cast(pl.Int128)
    if filled:
        key = pl.when(pl.col(column) != EMPTY).then(key)
    chosen = (key.max() % 2**32).cast(pl.UInt32)
    return chosen.fill_null(EMPTY) if filled else chosen


def coded_usage(intervals: pl.DataFrame) -> pl.DataFrame:
    """Prorated USER rows on integer grain columns, with the row's latest attributes."""
    return (
        proration.interval_units(intervals.lazy(), TABLE, UNTIL)
        .group_by(GRAIN)
        .agg(
            user_id=pl.col("user_id").first(),
            workspace_id=pl.col("workspace_id").first(),
            partner_name=latest("partner_name", "start"),
            sub_partner_org_id=latest("sub_partner_org_id", "start"),
            customer_external_id=latest("customer_external_id", "start", filled=True),
            subscriber_id=latest("subscriber_id", "start", filled=True),
            _latest=pl.col("start").max(),
            units=pl.col("units").sum(),
            first_day=pl.col("first_day").min(),
            last_day=pl.col("last_day").max(),
        )
        .with_columns(
            quantity_micros=proration.rounded_micros(pl.col("units"), pl.lit(TABLE.unit, pl.Int64))
        )
        .collect()
    )


def coded_harmonised(usage: pl.DataFrame) -> pl.DataFrame:
    """One partner name, external id, sub-partner and subscriber id per owner, as the engine."""
    rows = usage.lazy()
    partners = rows.group_by("partner_org_id").agg(_pn=latest("partner_name", "_latest"))
    customers = rows.group_by("customer_org_id").agg(
        _ce=latest("customer_external_id", "_latest", filled=True),
        _sp=latest("sub_partner_org_id", "_latest"),
    )
    subjects = rows.group_by(SUBJECT).agg(_si=latest("subscriber_id", "_latest", filled=True))
    return (
        rows.join(partners, on="partner_org_id", how="left")
        .join(customers, on="customer_org_id", how="left")
        .join(subjects, on=SUBJECT, how="left")
        .with_columns(
            partner_name="_pn",
            customer_external_id="_ce",
            sub_partner_org_id="_sp",
            subscriber_id="_si",
        )
        .filter(pl.col("quantity_micros") > 0)
        .collect()
    )


def decoded(usage: pl.DataFrame, codes: dict[str, pl.Series]) -> pl.DataFrame:
    """Text back in every id column: one gather per column from its dictionary."""
    subject = codes["subject"]
    return usage.with_columns(
        **{c: codes[c].gather(usage[c]) for c in OWN_DICTIONARY},
        subject_type=pl.when("subject_type").then(pl.lit("USER")).otherwise(pl.lit("WORKSPACE")),
        subject_id=subject.gather(usage["subject_id"]),
        user_id=subject.gather(usage["user_id"]),
        workspace_id=subject.gather(usage["workspace_id"]),
    )


def text_stage(events: pl.LazyFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    ordered = timed(
        "order events (scan, prepare, sort)", lambda: rules.hash_ordered_events(events, catalog)
    )
    intervals = timed(
        "rules -> intervals",
        lambda: rules.intervals_of_ordered(ordered.lazy(), ordered=False).collect(),
    )
    rows = timed(
        "proration + USER group-by",
        lambda: proration.usage_in_zone(intervals.lazy(), TABLE, UNTIL, merge=False).collect(),
    )
    return timed(
        "harmonise attributes",
        lambda: proration.finished_usage(rows.lazy(), ordered=False).collect(),
    )


def coded_stage(lake: Path, codes: dict[str, pl.Series], base: pl.Series) -> pl.DataFrame:
    ordered = timed(
        "order events (scan, prepare, sort)", lambda: coded_order(pl.scan_parquet(lake), base)
    )
    intervals = timed("rules -> intervals", lambda: coded_intervals(ordered))
    rows = timed("proration + USER group-by", lambda: coded_usage(intervals))
    harmonised = timed("harmonise attributes", lambda: coded_harmonised(rows))
    return timed("decode ids to text", lambda: decoded(harmonised, codes))


def main(home: Path) -> None:
    layout = HomeLayout(home)
    catalog = load_catalog(layout.catalog)
    events = scan_events(layout).filter(pl.col("occurred_at").dt.epoch("us") < TABLE.end)
    with tempfile.TemporaryDirectory() as work:
        month = events.select(rules.RULE_COLUMNS).collect()
        codes = dictionaries(month)
        lake = Path(work) / "coded.parquet"
        encoded(month, codes).write_parquet(lake)
        base_names = set(catalog.filter(pl.col("kind") == "BASE")["package"])
        base = pl.Series(
            [i for i, v in enumerate(codes["package"]) if v in base_names], dtype=pl.UInt32
        )
        del month
        print(f"text ids (the engine), {home}")
        start = time.perf_counter()
        text = text_stage(events.select(rules.RULE_COLUMNS), catalog)
        text_s = time.perf_counter() - start
        print(f"  {'total':<32} {text_s:6.2f} s")
        print("integer ids")
        start = time.perf_counter()
        coded = coded_stage(lake, codes, base)
        coded_s = time.perf_counter() - start
        print(f"  {'total':<32} {coded_s:6.2f} s")
    columns = [*GRAIN, "quantity_micros", "first_day", "last_day"]
    same = text.select(columns).sort(GRAIN).equals(coded.select(columns).sort(GRAIN))
    print(f"{text.height:,} USER rows; same rows, quantities and days: {same}")
    print(f"text / integer ids: {text_s / coded_s:.1f}x")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
