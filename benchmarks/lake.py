"""`make bench-lake`: a lake of ~120M events, ingested month by month, then a monthly run.

The 10M-subject October logs of `make bench` (generated once, cached) are copied three times,
shifted back by 31, 61 and 92 days with their event ids prefixed, as the history of three
earlier months. Each month is ingested as its own process into one home, oldest last (so the
lake grows by ~30M events per ingest: equal times mean ingest does not slow down as the lake
grows), then `recon run --month 2026-10` runs over the whole lake, in UTC. Every process is
timed with its own peak RSS. Results go to `benchmarks/results-lake.json`.

    python -m benchmarks.lake            # needs ~30 GB of disk under .bench/
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from benchmarks.run import MONTH, NOW, ROOT, console, ensure_logs, machine, recon, run_process

SUBJECTS = 10_000_000
SHIFTS = {"m1": 31, "m2": 61, "m3": 92}


@dataclass
class Step:
    """One process of the run."""

    stage: str
    rows: int
    lake_events_after: int
    wall_s: float
    peak_rss_mib: float
    ok: bool


def history(logs: Path, data: Path) -> dict[str, Path]:
    """The October logs shifted back by each of `SHIFTS` (written once, cached)."""
    folders = {}
    for name, days in SHIFTS.items():
        folder = data / f"logs-history-{name}"
        marker = folder / "shift.json"
        spec = {"source": str(logs), "days": days}
        folders[name] = folder
        if marker.exists() and json.loads(marker.read_text()) == spec:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        console.print(f"writing {folder.name}: October shifted back {days} days")
        parsed = pl.col("occurred_at").str.to_datetime(
            time_zone="UTC", strict=False, time_unit="us"
        )
        for source in sorted(logs.glob("*.parquet")):
            pl.read_parquet(source).with_columns(
                event_id=pl.lit(f"{name}-") + pl.col("event_id"),
                # Unparseable (messy) timestamps stay as they are: ingest quarantines them.
                occurred_at=pl.when(parsed.is_not_null())
                .then((parsed - pl.duration(days=days)).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
                .otherwise(pl.col("occurred_at")),
            ).write_parquet(folder / f"{name}-{source.name}")
        marker.write_text(json.dumps(spec))
    return folders


def main() -> None:
    """Build the lake month by month and run the month over it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-lake.json")
    args = parser.parse_args()
    data: Path = args.data
    logs = ensure_logs(data, SUBJECTS)
    months = {"2026-10": logs, **history(logs, data)}
    home = data / "home-lake"
    shutil.rmtree(home, ignore_errors=True)
    env = {"RECON_NOW": NOW, "TZ": "UTC"}
    steps: list[Step] = []
    lake = 0
    for name, folder in months.items():
        wall, peak, code, out = run_process(recon(home, "ingest", str(folder), "--json"), env)
        result = json.loads(out) if code == 0 else {"rowsRead": 0, "accepted": 0}
        lake += int(result["accepted"])
        steps.append(
            Step(f"ingest {name}", result["rowsRead"], lake, round(wall, 2), round(peak), code == 0)
        )
        console.print(f"  ingest {name:<8} {wall:8.1f} s  {peak:8,.0f} MiB  lake {lake:,} events")
    wall, peak, code, _ = run_process(
        recon(home, "run", "--month", MONTH, "--tz", "UTC", "--regenerate", "--json"), env
    )
    ok = code in (0, 1, 4)  # 4: the reports were built, no vendor file to compare (none given)
    steps.append(Step("run 2026-10 UTC", lake, lake, round(wall, 2), round(peak), ok))
    console.print(f"  run {MONTH} UTC  {wall:8.1f} s  {peak:8,.0f} MiB  exit {code}")
    args.out.write_text(
        json.dumps(
            {
                "command": "make bench-lake",
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "steps": [asdict(s) for s in steps],
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
