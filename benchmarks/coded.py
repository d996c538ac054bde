"""The USER usage stage both ways on one bench home: the text kernel against the coded one.

Reports run the rules on the integer codes ingest stores beside each id (`recon.engine.coded`)
and keep the text kernel as the reference and the fallback. This times the two kernels on the
same month of the same lake, in one process, alternating, and checks that they give the same
rows (every column) and partner-name keys:

- **text**: `slice_usage` on the month's events as text;
- **coded**: `slice_usage` on the same events' codes with the lake's dictionaries (loading the
  dictionaries and ranking them is timed too).

Reading the events is not timed (each kernel reads its own columns first). CPU seconds are the
process's own (both cores count).

    python -m benchmarks.coded .bench/home-1000000 [ZONE] [ROUNDS]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from recon.core.config import BillingZones
from recon.core.timezones import day_table
from recon.engine.intervals import RULE_COLUMNS
from recon.home.layout import HomeLayout
from recon.ingest.lake import scan_events
from recon.reports.coded import coded_events, lake_ids
from recon.reports.kernel import SliceUsage, slice_usage
from recon.reports.usage import load_catalog_for

START, END = date(2026, 10, 1), date(2026, 10, 31)
NOW = datetime(2026, 11, 15, tzinfo=UTC)
CUTOFF = datetime(2026, 11, 2, tzinfo=UTC)  # after the month's last local day in any zone


def main() -> int:
    """Time both kernels; exit 1 if they disagree."""
    layout = HomeLayout(Path(sys.argv[1]))
    zone = sys.argv[2] if len(sys.argv) > 2 else "UTC"
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    catalog = load_catalog_for(layout, None)
    zones = BillingZones(default=zone)
    tables = {zone: day_table(zone, START, END)}
    month = scan_events(layout).filter(pl.col("occurred_at") < CUTOFF)
    text = month.select(RULE_COLUMNS).collect()
    coded = coded_events(month).collect()
    print(f"{text.height:,} events, zone {zone}", flush=True)
    results: dict[str, SliceUsage] = {}
    for _ in range(rounds):
        for name in ("text", "coded"):
            cpu, wall = time.process_time(), time.perf_counter()
            if name == "text":
                results[name] = slice_usage(text.lazy(), catalog, zones, tables, NOW)
            else:
                ids = lake_ids(layout)
                assert ids is not None, "this home's lake has no codes: ingest it again"
                results[name] = slice_usage(coded.lazy(), catalog, zones, tables, NOW, ids=ids)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rows = results[name].rows.height
            print(f"  {name:5}  {cpu:6.2f} cpu s  {wall:6.2f} s wall  {rows:,} rows", flush=True)
    same = all(
        _same(results["text"].__dict__[part], results["coded"].__dict__[part])
        for part in ("rows", "name_keys")
    )
    print("same rows and name keys: " + ("yes" if same else "NO"))
    return 0 if same else 1


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.sort(a.columns).equals(b.select(a.columns).sort(a.columns))


if __name__ == "__main__":
    sys.exit(main())
