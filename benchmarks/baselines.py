"""The baselines `make bench` times beside the engine, each run as its own process.

    python -m benchmarks.baselines output-floor HOME MONTH ZONE OUT_DIR [USER]
    python -m benchmarks.baselines naive-lake HOME MONTH ZONE OUT.parquet
    python -m benchmarks.baselines floor     HOME MONTH ZONE
    python -m benchmarks.baselines intervals HOME MONTH ZONE INTERVALS_DIR
    python -m benchmarks.baselines polars    INTERVALS_DIR MONTH ZONE OUT.parquet
    python -m benchmarks.baselines duckdb    INTERVALS_DIR MONTH ZONE OUT.parquet
    python -m benchmarks.baselines closed-form INTERVALS_DIR MONTH ZONE OUT.parquet

- **output-floor**: what any engine must at least do to publish the month: DuckDB scans the
  lake, groups it once at the USER grain, and writes the four report CSVs and their Parquet
  rows with `COPY` from that result (with `USER`, the USER CSV and rows only). No rules, no
  proration, no checks: a floor, not a peer.
- **naive-lake**: the script a partner would write, started from the same lake and keeping
  its own pairing: read the events, pair each ASSIGN with the next event of its key when that
  is an UNASSIGN (else open until now), one row per local day (`date_ranges` + `explode`),
  each day's share summed per USER row. No rules (duplicates, implicit package changes and
  orphans are not handled), no attributes, no output but one Parquet file: its totals differ
  from the engine's exactly where the rules apply, and the bench says by how much.
- **floor**: a bare scan of the event lake plus the group-by the USER report needs (its row
  grain), no rules applied. No correct engine can beat it: it reads the same bytes and groups
  them once.
- **polars** / **duckdb**: the naive peer, the obvious implementation a partner would write:
  one row per interval per local day (`date_ranges` + `explode`, `generate_series` + `unnest`),
  each day's overlap over the day's length, summed per USER row and rounded half-even to 6
  decimals. Its arithmetic is exact (each day's share in integer units of 1/lcm(day lengths))
  so its totals can be checked equal to the engine's; in floating point the same plan is off
  by one millionth on a few rows in a thousand. The peers start from the engine's own
  assignment intervals (written by `intervals`, not timed against them), so they are handed
  the §3 state machine for free and only the proration is theirs: their times are a lower
  bound for a complete naive engine.
- **closed-form**: the engine's own proration (`recon.engine.proration.user_usage`) on those same
  intervals, so the proration methods compare like for like.
"""

from __future__ import annotations

import math
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from recon.core.timezones import day_table
from recon.engine.intervals import KEY_SOURCE, assignment_intervals
from recon.engine.proration import ROW_GRAIN, user_usage
from recon.home.layout import HomeLayout, event_files
from recon.ingest.catalog import load_catalog
from recon.ingest.lake import scan_events
from recon.reports.request import month_period
from recon.reports.usage import customer_slices

# The USER report's grain as it appears in the event lake (the subject is user or workspace).
LAKE_GRAIN = ["partner_org_id", "subscription_id", *KEY_SOURCE]
# "Still assigned" intervals end here: the run's pinned now, after the benchmark month.
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def floor(home: str, month: str, zone: str) -> int:
    """Scan the lake up to the end of the month in `zone` and group by the USER grain."""
    first, last = month_period(month)
    cutoff = day_table(zone, first, last).end
    grouped = (
        scan_events(HomeLayout(Path(home)))
        .filter(pl.col("occurred_at").dt.epoch("us") < cutoff)
        .group_by(LAKE_GRAIN)
        .agg(events=pl.len(), latest=pl.col("occurred_at").max())
        .collect()
    )
    return grouped.height


def _lake_sql(home: str) -> str:
    files = ", ".join(f"'{f}'" for f in event_files(HomeLayout(Path(home))))
    return f"read_parquet([{files}])"


def output_floor(home: str, month: str, zone: str, out: str, only: str = "") -> int:
    """Scan, one group-by at the USER grain, then COPY the report CSVs and rows (DuckDB)."""
    first, last = month_period(month)
    cutoff = day_table(zone, first, last).end
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    grain = ", ".join(LAKE_GRAIN)
    levels = {
        "USER": LAKE_GRAIN,
        "PARTNER": ["partner_org_id", "subscription_id", "package"],
        "CUSTOMER": [
            "partner_org_id",
            "subscription_id",
            "customer_org_id",
            "package",
            "location_id",
            "license_id",
        ],
        "LOCATION": [
            "partner_org_id",
            "subscription_id",
            "customer_org_id",
            "location_id",
            "package",
        ],
    }
    if only:
        levels = {only: levels[only]}
    con = duckdb.connect()
    try:
        con.execute(
            f"CREATE TABLE usage AS SELECT {grain}, count(*) AS events, "
            "min(occurred_at)::DATE AS first_day, max(occurred_at)::DATE AS last_day "
            f"FROM {_lake_sql(home)} WHERE epoch_us(occurred_at) < {cutoff} GROUP BY ALL"
        )
        for level, columns in levels.items():
            keys = ", ".join(columns)
            rows = (
                f"SELECT {keys}, min(first_day) AS first_day, max(last_day) AS last_day, "
                f"sum(events)::BIGINT AS quantity FROM usage GROUP BY ALL ORDER BY {keys}"
            )
            con.execute(f"CREATE OR REPLACE TABLE level AS {rows}")
            con.execute(f"COPY level TO '{folder / level}.csv' (HEADER)")
            con.execute(f"COPY level TO '{folder / level}.parquet' (FORMAT parquet)")
        found = con.execute("SELECT count(*) FROM usage").fetchone()
    finally:
        con.close()
    return int(found[0]) if found else 0


def naive_lake(home: str, month: str, zone: str, out: str) -> int:
    """The partner's naive script from the lake: its own pairing, a row per day, summed."""
    period_start, period_end = _bounds(month, zone)
    unit = _unit(month, zone)
    until = min(period_end, NOW)
    key = list(LAKE_GRAIN)
    nxt = lambda c: pl.col(c).shift(-1).over(key)  # noqa: E731
    paired = (
        pl.scan_parquet(event_files(HomeLayout(Path(home))))
        .filter(pl.col("occurred_at") < pl.lit(until))
        .sort([*key, "occurred_at"])
        .with_columns(next_action=nxt("action"), next_time=nxt("occurred_at"))
        .filter(pl.col("action") == "ASSIGN")
        .select(
            *key,
            start=pl.col("occurred_at"),
            end=pl.when(pl.col("next_action") == "UNASSIGN").then(pl.col("next_time")),
        )
    )
    frame = paired.collect()
    intervals = frame.with_columns(
        subject_type=pl.when(pl.col("user_id") != "")
        .then(pl.lit("USER"))
        .otherwise(pl.lit("WORKSPACE")),
        subject_id=pl.when(pl.col("user_id") != "").then("user_id").otherwise("workspace_id"),
    ).drop("user_id", "workspace_id")
    usage = _per_day(intervals.lazy(), period_start, until, unit, zone).collect()
    usage.write_parquet(out)
    return usage.height


def intervals(home: str, month: str, zone: str, out: str) -> int:
    """The engine's assignment intervals up to the month's end in `zone` (the peers' input).

    Written as part files into the folder `out`, one per slice of customers, as the engine
    slices a large lake, so that writing the peers' input fits in memory at every scale.
    """
    layout = HomeLayout(Path(home))
    catalog = load_catalog(layout.catalog)
    first, last = month_period(month)
    cutoff = day_table(zone, first, last).end
    events = scan_events(layout).filter(pl.col("occurred_at").dt.epoch("us") < cutoff)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.parquet"):
        stale.unlink()
    written = 0
    with tempfile.TemporaryDirectory(dir=folder) as work:
        for number, chunk in enumerate(customer_slices(events, layout, Path(work))):
            frame = assignment_intervals(chunk, catalog, ordered=False).collect(engine="in-memory")
            frame.write_parquet(folder / f"part-{number:04d}.parquet")
            written += frame.height
    return written


def _bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    first, last = month_period(month)
    table = day_table(zone, first, last)
    to_dt = lambda us: datetime.fromtimestamp(us / 1_000_000, tz=UTC)  # noqa: E731
    return to_dt(table.start), to_dt(table.end)


def _unit(month: str, zone: str) -> int:
    """The least common multiple of the month's local day lengths in µs (zoneinfo, by hand)."""
    first, last = month_period(month)
    tz = ZoneInfo(zone)
    lengths = set()
    day = first
    while day <= last:
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        after = day + timedelta(days=1)
        end = datetime(after.year, after.month, after.day, tzinfo=tz)
        lengths.add(int((end.timestamp() - start.timestamp()) * 1_000_000))
        day = after
    return math.lcm(*lengths)


def _half_even(units: pl.Expr, unit: int) -> pl.Expr:
    scaled = units.cast(pl.Int128) * 1_000_000
    quotient = scaled // unit
    twice_rest = (scaled - quotient * unit) * 2
    up = (twice_rest > unit) | ((twice_rest == unit) & (quotient % 2 == 1))
    return (quotient + up.cast(pl.Int128)).cast(pl.Int64)


def _per_day(
    intervals: pl.LazyFrame, period_start: datetime, until: datetime, unit: int, zone: str
) -> pl.LazyFrame:
    """One row per interval per local day, each day's share summed per USER row and rounded."""
    s = pl.max_horizontal(pl.col("start"), pl.lit(period_start))
    e = pl.min_horizontal(pl.col("end").fill_null(pl.lit(until)), pl.lit(until))
    local_midnight = (
        pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone(zone).dt.convert_time_zone("UTC")
    )
    next_midnight = (
        pl.col("day")
        .dt.offset_by("1d")
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone(zone)
        .dt.convert_time_zone("UTC")
    )
    return (
        intervals.with_columns(s=s, e=e)
        .filter(pl.col("e") > pl.col("s"))
        .with_columns(
            day=pl.date_ranges(
                pl.col("s").dt.convert_time_zone(zone).dt.date(),
                (pl.col("e") - pl.duration(microseconds=1)).dt.convert_time_zone(zone).dt.date(),
            )
        )
        .explode("day")
        .with_columns(day_start=local_midnight, day_end=next_midnight)
        .with_columns(
            units=(
                pl.min_horizontal("e", "day_end") - pl.max_horizontal("s", "day_start")
            ).dt.total_microseconds()
            * (unit // (pl.col("day_end") - pl.col("day_start")).dt.total_microseconds())
        )
        .group_by(ROW_GRAIN)
        .agg(micros=_half_even(pl.col("units").sum(), unit))
        .filter(pl.col("micros") > 0)
    )


def naive_polars(intervals_path: str, month: str, zone: str, out: str) -> int:
    """One row per interval per local day with Polars: date_ranges, explode, sum, round."""
    period_start, period_end = _bounds(month, zone)
    unit = _unit(month, zone)
    until = min(period_end, NOW)
    usage = _per_day(
        pl.scan_parquet(f"{intervals_path}/*.parquet"), period_start, until, unit, zone
    ).collect()
    usage.write_parquet(out)
    return usage.height


def naive_duckdb(intervals_path: str, month: str, zone: str, out: str) -> int:
    """One row per interval per local day with DuckDB: generate_series, unnest, sum, round."""
    period_start, period_end = _bounds(month, zone)
    unit = _unit(month, zone)
    until = min(period_end, NOW)
    grain = ", ".join(ROW_GRAIN)
    grain_out = grain
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"""
            COPY (
              WITH clipped AS (
                SELECT {grain},
                       greatest("start", $period_start) AS s,
                       least(coalesce("end", $until), $until) AS e
                FROM read_parquet($path)
              ), days AS (
                SELECT {grain}, s, e, d::DATE AS day
                FROM clipped,
                     unnest(generate_series(timezone($zone, s)::DATE,
                                            timezone($zone, e - INTERVAL 1 MICROSECOND)::DATE,
                                            INTERVAL 1 DAY)) AS t(d)
                WHERE e > s
              ), shares AS (
                SELECT {grain}, s, e,
                       timezone($zone, day::TIMESTAMP) AS day_start,
                       timezone($zone, (day + 1)::TIMESTAMP) AS day_end
                FROM days
              ), units AS (
              SELECT {grain},
                     sum((epoch_us(least(e, day_end)) - epoch_us(greatest(s, day_start)))
                         * ($unit // (epoch_us(day_end) - epoch_us(day_start))))::HUGEINT
                       * 1000000 AS scaled
              FROM shares
              GROUP BY ALL
            ), rounded AS (
              SELECT * EXCLUDE (scaled), scaled // $unit AS q, 2 * (scaled % $unit) AS r2
              FROM units
            )
            SELECT {grain_out},
                   (q + CASE WHEN r2 > $unit OR (r2 = $unit AND q % 2 = 1) THEN 1 ELSE 0 END)
                     ::BIGINT AS micros
            FROM rounded
            WHERE q > 0 OR r2 > $unit OR (r2 = $unit AND q % 2 = 1)
            ) TO '{out}' (FORMAT parquet)
            """,
            {
                "period_start": period_start,
                "until": until,
                "zone": zone,
                "path": f"{intervals_path}/*.parquet",
                "unit": unit,
            },
        )
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
    finally:
        con.close()
    return int(rows[0]) if rows else 0


def closed_form(intervals_path: str, month: str, zone: str, out: str) -> int:
    """The engine's own proration on the same intervals the peers get (apples to apples)."""
    first, last = month_period(month)
    table = day_table(zone, first, last)
    intervals = pl.scan_parquet(f"{intervals_path}/*.parquet")
    customers = intervals.select("customer_org_id").unique().with_columns(zone=pl.lit(zone))
    until = int(NOW.timestamp()) * 1_000_000
    usage = (
        user_usage(intervals, customers, {zone: table}, until, merge=False, ordered=False)
        .select(*ROW_GRAIN, micros=pl.col("quantity_micros"))
        .collect(engine="in-memory")
    )
    usage.write_parquet(out)
    return usage.height


def main(argv: list[str]) -> int:
    """Dispatch one baseline; prints the number of rows it produced."""
    command, *args = argv
    runners = {
        "floor": floor,
        "output-floor": output_floor,
        "naive-lake": naive_lake,
        "intervals": intervals,
        "closed-form": closed_form,
        "polars": naive_polars,
        "duckdb": naive_duckdb,
    }
    print(runners[command](*args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
