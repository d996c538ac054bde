"""`make bench-spark`: `--engine spark` on local[1] and local[2] against the embedded engine.

At 1M subjects (the logs of `make bench`, generated once and cached under `--data`, ingested
once into a cached home) it times:

- cold: whole `recon run --month 2026-10 --regenerate` processes per engine (Spark's JVM and
  session start included), and checks the four report CSVs are byte-identical to embedded;
- warm: in one process per master, the session start alone, then USER usage for the month with
  the lake split into 2, 4, 8 and 16 buckets (RECON_SLICE_EVENTS), and the embedded engine's
  usage in the same process: the slope over buckets is the cost of one more partition.

Ratios between runs on one machine are what to read. Results go to benchmarks/results-spark.json.

    python -m benchmarks.spark                 # needs pyspark (make install-spark) and Java 17+
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks.run import MONTH, NOW, ROOT, console, ensure_logs, machine, recon, run_process

SUBJECTS = 1_000_000
MASTERS = ("local[1]", "local[2]")
BUCKETS = (2, 4, 8, 16)
ENV = {"RECON_NOW": NOW, "TZ": "UTC"}


def cached_home(data: Path, logs: Path) -> tuple[Path, int]:
    """The home with the logs ingested (once; reused while the logs are the same)."""
    home = data / f"home-spark-{SUBJECTS}"
    marker = home / "bench-ingested.json"
    spec = {"logs": str(logs), "spec": json.loads((logs / "bench-spec.json").read_text())}
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved["spec"] == spec:
            return home, int(saved["events"])
    subprocess.run(["rm", "-rf", str(home)], check=True)
    console.print(f"ingesting {logs.name} into {home.name} (cached for later runs)")
    wall, _, code, out = run_process(recon(home, "ingest", str(logs), "--json"), ENV)
    if code != 0:
        raise SystemExit("ingest failed")
    events = int(json.loads(out)["accepted"])
    console.print(f"  {events:,} events in {wall:.1f} s")
    marker.write_text(json.dumps({"spec": spec, "events": events}))
    return home, events


def _csv_digests(run_json: str) -> dict[str, str]:
    reports = json.loads(run_json)["reports"]
    return {r["type"]: hashlib.sha256(Path(r["csvPath"]).read_bytes()).hexdigest() for r in reports}


def cold(home: Path) -> list[dict[str, object]]:
    """Whole monthly runs, one process each: embedded, then Spark on each master."""
    rows: list[dict[str, object]] = []
    digests: dict[str, str] = {}
    for label, extra in [
        ("embedded", []),
        *((f"spark {m}", ["--engine", "spark", "--spark-master", m]) for m in MASTERS),
    ]:
        argv = recon(home, "run", "--month", MONTH, "--regenerate", "--json", *extra)
        wall, peak, code, out = run_process(argv, ENV)
        ok = code in (0, 1, 4)  # 4: reports built, no vendor files to compare (none given)
        found = _csv_digests(out) if ok else {}
        digests = digests or found
        same = ok and found == digests
        rows.append({"engine": label, "wall_s": round(wall, 2), "peak_rss_mib": round(peak),
                     "ok": ok, "csvs_identical_to_embedded": same})  # fmt: skip
        console.print(f"  cold {label:<16} {wall:7.1f} s  {peak:7,.0f} MiB  identical={same}")
    return rows


def warm(home: Path, master: str, events: int) -> dict[str, object]:
    """In this process: session start, then usage at several bucket counts, then embedded."""
    from recon.api import Recon
    from recon.core.engines import EngineSettings
    from recon.reports.model import ReportRequest
    from recon.reports.spark import spark_session
    from recon.reports.usage import report_usage

    rc = Recon(home)
    catalog = rc.catalog()
    request = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    now = datetime.fromisoformat(NOW)
    started = time.perf_counter()
    session = spark_session(master)
    session_s = time.perf_counter() - started
    engine = EngineSettings("spark", master)
    per_buckets = {}
    for buckets in BUCKETS:
        os.environ["RECON_SLICE_EVENTS"] = str(-(-events // buckets))
        started = time.perf_counter()
        usage = report_usage(rc.layout, catalog, request, rc.settings.zones, now, engine)
        per_buckets[buckets] = round(time.perf_counter() - started, 2)
        del usage
    os.environ.pop("RECON_SLICE_EVENTS")
    started = time.perf_counter()
    report_usage(rc.layout, catalog, request, rc.settings.zones, now)
    embedded_s = round(time.perf_counter() - started, 2)
    session.stop()
    slope = (per_buckets[BUCKETS[-1]] - per_buckets[BUCKETS[0]]) / (BUCKETS[-1] - BUCKETS[0])
    return {
        "master": master,
        "session_start_s": round(session_s, 2),
        "usage_s_by_buckets": per_buckets,
        "embedded_usage_s": embedded_s,
        "per_extra_partition_s": round(slope, 3),
    }


def main() -> None:
    """Run every measurement and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-spark.json")
    parser.add_argument("--warm-only", metavar="MASTER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logs = ensure_logs(args.data, SUBJECTS)
    home, events = cached_home(args.data, logs)
    if args.warm_only:  # a child process: one JVM per master
        print(json.dumps(warm(home, args.warm_only, events)))
        return
    console.print(f"{SUBJECTS:,} subjects, {events:,} events; cold runs:")
    cold_rows = cold(home)
    warm_rows = []
    for master in MASTERS:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.spark", "--data", str(args.data),
             "--warm-only", master],
            cwd=ROOT, env={**os.environ, **ENV}, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        warm_rows.append(json.loads(out.strip().splitlines()[-1]))
        console.print(f"  warm {master}: {warm_rows[-1]}")
    embedded = float(cold_rows[0]["wall_s"])
    console.print("\nratios (spark / embedded):")
    for row in cold_rows[1:]:
        console.print(f"  cold {row['engine']:<16} x{float(row['wall_s']) / embedded:5.2f}")
    for row in warm_rows:
        by = row["usage_s_by_buckets"]
        best = min(by.values())
        console.print(
            f"  warm usage {row['master']:<9} best x{best / float(row['embedded_usage_s']):5.2f}"
            f"  session start {row['session_start_s']} s,"
            f" +{row['per_extra_partition_s']} s per extra partition"
        )
    args.out.write_text(
        json.dumps(
            {
                "command": "make bench-spark",
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "subjects": SUBJECTS,
                "events": events,
                "cold": cold_rows,
                "warm": warm_rows,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
