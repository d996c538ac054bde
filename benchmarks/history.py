"""`make bench-history`: is month 24 of a lake as cheap as month 2? (billing rules §8)

A 24-month lake of 50k subjects (`recon generate --start 2024-11-01 --end 2026-10-31
--reassignments-per-month 2`, so that history weighs: ~5M events; generated once and cached
under .bench/) is ingested once, then the USER RECONCILIATION report
of every month is built in order, each in its own process (the monthly cadence: each build
leaves snapshots of the assignment state at its month boundaries, which the next month starts
from). Every process is timed with its own peak RSS. Then month 24 is built again with the
snapshots removed (the full recomputation from the whole history) for comparison, and its CSV
is checked byte for byte against the snapshot-built one.

The target: month 24 within 1.2x of month 2 per output row, in wall time and in peak RSS.
Results go to `benchmarks/results-history.json`.

    python -m benchmarks.history [--subjects 50000] [--density 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.run import (
    NOW,
    ROOT,
    LogSpec,
    console,
    generated_logs,
    machine,
    recon,
    run_process,
    user_report,
)

START, END = "2024-11-01", "2026-10-31"


@dataclass
class Build:
    """One report build."""

    month: str
    snapshots: bool
    rows: int
    wall_s: float
    peak_rss_mib: float
    us_per_row: float
    kib_per_row: float


def months() -> list[tuple[date, date]]:
    """(first day, last day) of every month from START to END."""
    found = []
    first = date.fromisoformat(START)
    while first <= date.fromisoformat(END):
        following = (first + timedelta(days=32)).replace(day=1)
        found.append((first, following - timedelta(days=1)))
        first = following
    return found


def ensure_history(data: Path, subjects: int, density: float) -> Path:
    """The 24 months of logs (generated once; the marker names what they are)."""
    spec = LogSpec(subjects, max(120, subjects // 25), density, START, END, seed=7)
    folder = data / f"logs-history-{subjects}-{density}"
    return generated_logs(folder, spec, data / "scratch-home")


def build(home: Path, first: date, last: date, snapshots: bool) -> tuple[Build, str]:
    """Build one month's USER report in its own process; (the measurement, its CSV path)."""
    argv = user_report(home, first.isoformat(), last.isoformat(), "UTC")
    wall, peak, code, out = run_process(argv, {"RECON_NOW": NOW, "TZ": "UTC"})
    if code != 0:
        raise SystemExit(f"building {first:%Y-%m} failed (exit {code})")
    report = json.loads(out)
    rows = int(report["rowCount"])
    measured = Build(
        first.strftime("%Y-%m"),
        snapshots,
        rows,
        round(wall, 3),
        round(peak, 1),
        round(wall * 1e6 / rows, 2),
        round(peak * 1024 / rows, 3),
    )
    return measured, str(report["csvPath"])


def main() -> None:
    """Ingest the history, build every month in order, then month 24 without snapshots."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / ".bench")
    parser.add_argument("--subjects", type=int, default=50_000)
    parser.add_argument(
        "--density",
        type=float,
        default=2.0,
        help="UNASSIGN+ASSIGN pairs per subject per month (history that weighs)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-history.json")
    args = parser.parse_args()
    logs = ensure_history(args.data, args.subjects, args.density)
    home = args.data / "home-history"
    shutil.rmtree(home, ignore_errors=True)
    env = {"RECON_NOW": NOW, "TZ": "UTC"}
    wall, peak, code, out = run_process(recon(home, "ingest", str(logs), "--json"), env)
    if code != 0:
        raise SystemExit(f"ingest failed (exit {code})")
    accepted = json.loads(out)["accepted"]
    console.print(f"ingest: {accepted:,} events in {wall:.1f} s, {peak:,.0f} MiB")
    builds: list[Build] = []
    csvs: dict[str, str] = {}
    for first, last in months():
        measured, csv = build(home, first, last, snapshots=True)
        builds.append(measured)
        csvs[measured.month] = csv
        console.print(
            f"  {measured.month}  {measured.rows:>8,} rows  {measured.wall_s:6.2f} s  "
            f"{measured.peak_rss_mib:7.0f} MiB  {measured.us_per_row:7.1f} us/row  "
            f"{measured.kib_per_row:6.2f} KiB/row"
        )
    last_first, last_last = months()[-1]
    listed = run_process(recon(home, "report", "list", "--json"), env)[3]
    latest = next(
        r["id"] for r in json.loads(listed)["items"] if r["billingStartDate"] == str(last_first)
    )
    with_snapshot = Path(csvs[builds[-1].month]).read_text()
    run_process(recon(home, "report", "delete", latest), env)
    shutil.rmtree(home / "lake" / "snapshots")
    full, csv = build(home, last_first, last_last, snapshots=False)
    identical = Path(csv).read_text() == with_snapshot
    console.print(
        f"  {full.month} without snapshots: {full.wall_s:.2f} s, {full.peak_rss_mib:.0f} MiB; "
        f"same CSV: {identical}"
    )
    second, last = builds[1], builds[-1]
    ratios = {
        "wall_per_row_month24_over_month2": round(last.us_per_row / second.us_per_row, 3),
        "rss_per_row_month24_over_month2": round(last.kib_per_row / second.kib_per_row, 3),
        "wall_per_row_full_month24_over_month2": round(full.us_per_row / second.us_per_row, 3),
        "rss_per_row_full_month24_over_month2": round(full.kib_per_row / second.kib_per_row, 3),
    }
    console.print(json.dumps(ratios, indent=2))
    args.out.write_text(
        json.dumps(
            {
                "command": "make bench-history",
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "subjects": args.subjects,
                "reassignments_per_month": args.density,
                "events": accepted,
                "builds": [asdict(b) for b in builds],
                "month24_without_snapshots": asdict(full),
                "month24_same_csv_without_snapshots": identical,
                "ratios": ratios,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
