"""`make bench`: the monthly pipeline at several scales against its floors and a naive peer.

For each scale (subjects) it generates one month of logs once (cached under `--data`), then
times whole processes, each on its own: `recon ingest`; in each zone `recon run --month` (all
four reports) against the **output floor** (DuckDB scans the lake, groups once at the USER
grain and COPYs four CSVs and their Parquet rows), `recon report create --type USER` against
the **USER floor** (the same for the USER files alone; the two alternated `--repeats` times,
3 by default, and their medians compared: that ratio is the one nearest its target) and
against the **naive script** (a partner's Polars script from the same lake, its own pairing,
a row per day, no rules). Ratios between processes of the same run are what to read: they
survive a noisy or slower machine.

    python -m benchmarks.run                      # 100k, 1M and 10M subjects, UTC and London
    python -m benchmarks.run --scales 100000      # one quick scale
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2026-10"
START, END = "2026-10-01", "2026-10-31"
MONTH_DAYS = (START, END)
NOW = "2026-11-21T12:00:00Z"
# Europe/London leaves summer time on 2026-10-25: a 25-hour day inside the month.
DEFAULT_ZONES = ("UTC", "Europe/London")
DEFAULT_SCALES = (100_000, 1_000_000, 10_000_000)
# About 3 events per subject per month: onboarding and lifecycle (~1.5) plus 0.75 pairs.
REASSIGNMENTS = 0.75
# A naive peer that would need more than this is stopped by the kernel, and reported so.
PEER_MEMORY_LIMIT = 20 * 2**30

console = Console(stderr=True)


@dataclass
class Timing:
    """One process: what it did, how long, how much memory."""

    scale: int
    zone: str
    stage: str
    events: int
    wall_s: float
    peak_rss_mib: float
    ok: bool = True
    note: str = ""
    cpu_s: float = 0.0
    # Wall seconds of every repeat when the process was run several times (this is the median).
    repeats_wall_s: list[float] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        """Events processed per wall second."""
        return self.events / self.wall_s if self.wall_s else 0.0


@dataclass
class Results:
    """Everything a run measured, as written to JSON."""

    command: str
    started: str
    machine: dict[str, object]
    timings: list[Timing] = field(default_factory=list)
    ratios: list[dict[str, object]] = field(default_factory=list)
    checks: list[dict[str, object]] = field(default_factory=list)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (PEER_MEMORY_LIMIT, PEER_MEMORY_LIMIT))


_LAST_CPU: list[float] = [0.0]


def run_process(
    argv: list[str], env: dict[str, str] | None = None, limit: bool = False
) -> tuple[float, float, int, str]:
    """Run a process to completion: wall seconds, its own peak RSS (MiB), exit code, stdout.

    Its CPU seconds (user + system) are left in `_LAST_CPU[0]`.
    """
    started = time.perf_counter()
    with (
        open(os.devnull, "w") as devnull,  # noqa: PTH123
        subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=devnull if os.environ.get("BENCH_QUIET") else subprocess.PIPE,
            text=True,
            preexec_fn=_limit_memory if limit else None,  # noqa: PLW1509
        ) as process,
    ):
        out = process.stdout.read() if process.stdout else ""
        errors = process.stderr.read() if process.stderr else ""
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    _LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    code = process.returncode
    if code not in (0, 1, 4):  # 4: recon run built the reports and had no vendor files
        tail = (errors or out).strip().splitlines()[-2:]
        console.print(f"[red]{' '.join(argv[-4:])} exited {code}:[/] {' | '.join(tail)}")
    return wall, usage.ru_maxrss / 1024, code, out


def recon(home: Path, *args: str) -> list[str]:
    """The argv of a recon command on `home`."""
    return [str(Path(sys.executable).with_name("recon")), "--home", str(home), *args]


def user_report(home: Path, first: str, last: str, zone: str) -> list[str]:
    """The argv of `recon report create --type USER` for the days first..last in `zone`."""
    days = ["--start", first, "--end", last, "--tz", zone]
    return recon(home, "report", "create", "--type", "USER", *days, "--json")


def baseline(*args: str) -> list[str]:
    """The argv of a baseline process."""
    return [sys.executable, "-m", "benchmarks.baselines", *args]


def ensure_logs(data: Path, subjects: int) -> Path:
    """Generate one month of logs for `subjects` once; later runs reuse them."""
    spec = LogSpec(subjects, max(100, subjects // 50), REASSIGNMENTS, START, END, seed=11)
    return generated_logs(data / f"logs-{subjects}", spec, data / "scratch-home")


@dataclass(frozen=True)
class LogSpec:
    """What `recon generate` is asked for; stored beside the logs to know them again."""

    subjects: int
    customers: int
    reassignments: float
    start: str
    end: str
    seed: int


def generated_logs(folder: Path, spec: LogSpec, scratch_home: Path) -> Path:
    """Parquet logs as `spec` says, in `folder`: generated once, reused while the spec holds."""
    marker = folder / "bench-spec.json"
    if marker.exists() and json.loads(marker.read_text()) == asdict(spec):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    console.print(f"generating {spec.subjects:,} subjects into {folder} (cached for later runs)")
    options = {
        "--start": spec.start,
        "--end": spec.end,
        "--subjects": str(spec.subjects),
        "--customers": str(spec.customers),
        "--reassignments-per-month": str(spec.reassignments),
        "--format": "parquet",
        "--seed": str(spec.seed),
    }
    argv = recon(scratch_home, "generate", str(folder), *(x for o in options.items() for x in o))
    wall, peak, code, _ = run_process([*argv, "--json"])
    if code != 0:
        raise SystemExit(f"recon generate failed for {spec.subjects:,} subjects (exit {code})")
    console.print(f"  generated in {wall:.1f} s, peak {peak:,.0f} MiB")
    marker.write_text(json.dumps(asdict(spec)))
    return folder


def _engine_user_csv(run_json: str) -> str:
    run = json.loads(run_json)
    return next(r["csvPath"] for r in run["reports"] if r["type"] == "USER")


def compare_totals(engine_csv: str, peer_parquet: str) -> dict[str, object]:
    """USER rows of the engine and of a peer, joined on the grain; mismatches counted."""
    con = duckdb.connect()
    try:
        row = con.execute(
            """
            WITH csv AS (
              SELECT COLUMNS(*) FROM read_csv($csv, all_varchar = true, nullstr = '\x01')
            ), engine AS (
              SELECT PARTNER_ORG_ID AS partner_org_id, SUBSCRIPTION_ID AS subscription_id,
                     CUSTOMER_ORG_ID AS customer_org_id,
                     CASE WHEN USER_ID <> '' THEN 'USER' ELSE 'WORKSPACE' END AS subject_type,
                     CASE WHEN USER_ID <> '' THEN USER_ID ELSE WORKSPACE_ID END AS subject_id,
                     SERVICE_NAME AS package, LOCATION_ID AS location_id,
                     LICENSE_ID AS license_id,
                     CAST(replace(QUANTITY, '.', '') AS BIGINT) AS micros
              FROM csv
            ), peer AS (
              SELECT * FROM read_parquet($peer)
            )
            SELECT count(*) FILTER (WHERE e.micros IS NOT NULL) AS engine_rows,
                   count(*) FILTER (WHERE p.micros IS NOT NULL) AS peer_rows,
                   count(*) FILTER (WHERE e.micros IS DISTINCT FROM p.micros) AS mismatches,
                   coalesce(max(abs(coalesce(e.micros, 0) - coalesce(p.micros, 0))), 0),
                   sum(e.micros)::HUGEINT, sum(p.micros)::HUGEINT
            FROM engine e FULL JOIN peer p USING (partner_org_id, subscription_id,
                 customer_org_id, subject_type, subject_id, package, location_id, license_id)
            """,
            {"csv": engine_csv, "peer": peer_parquet},
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return {
        "engine_rows": row[0],
        "peer_rows": row[1],
        "mismatched_rows": row[2],
        "max_diff_micros": row[3],
        "engine_total_micros": str(row[4]),
        "peer_total_micros": str(row[5]),
    }


def median_run(runs: list[Timing]) -> Timing:
    """The run of median wall time (the lower middle of an even count), with every run's wall.

    Its peak RSS is the highest of all runs (the bound that matters), and it is ok only if
    every run was.
    """
    ordered = sorted(runs, key=lambda t: (not t.ok, t.wall_s))
    chosen = ordered[(len(ordered) - 1) // 2]
    if len(runs) > 1:
        chosen.repeats_wall_s = [t.wall_s for t in runs]
        chosen.ok = all(t.ok for t in runs)
        chosen.peak_rss_mib = max(t.peak_rss_mib for t in runs)
        chosen.note = f"median of {len(runs)}"
    return chosen


def bench_scale(
    results: Results,
    data: Path,
    subjects: int,
    zones: list[str],
    peers_up_to: int | None,
    repeats: int = 1,
) -> None:
    """Every measurement for one scale (the USER report and its floor `repeats` times each)."""
    logs = ensure_logs(data, subjects)
    home = data / f"home-{subjects}"
    shutil.rmtree(home, ignore_errors=True)
    env = {"RECON_NOW": NOW, "TZ": "UTC"}
    first, last = MONTH_DAYS

    def record(
        zone: str, stage: str, events: int, wall: float, peak: float, ok: bool, keep: bool = True
    ) -> Timing:
        timing = Timing(subjects, zone, stage, events, round(wall, 3), round(peak, 1), ok)
        timing.cpu_s = round(_LAST_CPU[0], 3)
        if keep:  # (repeats are kept as their median: `median_run`)
            results.timings.append(timing)
        console.print(
            f"  {subjects:>11,} {zone:<14} {stage:<26} {wall:8.2f} s  {timing.cpu_s:7.2f} cpu s"
            f"  {peak:8,.0f} MiB" + ("" if ok else "  [red]FAILED[/]")
        )
        return timing

    wall, peak, code, out = run_process(recon(home, "ingest", str(logs), "--json"), env)
    ingest = json.loads(out) if code == 0 else {"rowsRead": 0, "accepted": 0}
    record("-", "ingest", ingest["rowsRead"], wall, peak, code == 0)
    events = int(ingest["accepted"])
    for zone in zones:
        tag = f"{subjects}-{zone.replace('/', '_')}"
        wall, peak, code, out = run_process(
            recon(home, "run", "--month", MONTH, "--tz", zone, "--regenerate", "--json"), env
        )
        # No vendor files here: 4 (reports built, nothing compared) is the expected outcome.
        engine = record(zone, "recon run: 4 reports", events, wall, peak, code in (0, 1, 4))
        floor_dir = str(data / f"floor-{tag}")
        wall, peak, code, _ = run_process(
            baseline("output-floor", str(home), MONTH, zone, floor_dir), env
        )
        floor = record(zone, "output floor: 4 reports", events, wall, peak, code == 0)
        # The USER report alone, and its floor, alternated `repeats` times: the ratio closest
        # to its target is read from medians. The USER report before each is deleted (not
        # timed): first the run's, then the last one created here.
        reports = json.loads(out)["reports"] if engine.ok else []
        user_ids = [r["reportId"] for r in reports if r["type"] == "USER"]
        users: list[Timing] = []
        user_floors: list[Timing] = []
        outcomes: set[tuple[object, object]] = set()  # (rows, total) of each repeat
        user_csv = ""
        for _ in range(repeats):
            for report_id in user_ids:  # (a failed delete fails the create below: a conflict)
                if run_process(recon(home, "report", "delete", report_id), env)[2] != 0:
                    console.print(f"[red]could not delete report {report_id}[/]")
            wall, peak, code, out = run_process(user_report(home, first, last, zone), env)
            users.append(record(zone, "report create USER", events, wall, peak, code == 0, False))
            created = json.loads(out) if code == 0 else {}
            user_ids = [created["id"]] if created else []
            user_csv = created.get("csvPath", "")
            outcomes.add((created.get("rowCount"), created.get("totalQuantity")))
            wall, peak, code, _ = run_process(
                baseline("output-floor", str(home), MONTH, zone, floor_dir + "-user", "USER"), env
            )
            user_floors.append(record(zone, "USER floor", events, wall, peak, code == 0, False))
        user, user_floor = median_run(users), median_run(user_floors)
        results.timings += [user, user_floor]
        ratios: dict[str, object] = {
            "scale": subjects,
            "zone": zone,
            "events": events,
            "run_over_output_floor": round(engine.wall_s / floor.wall_s, 2),
            "user_over_user_floor": round(user.wall_s / user_floor.wall_s, 2),
            "user_cpu_over_wall": round(user.cpu_s / user.wall_s, 2) if user.wall_s else None,
            # Each alternated pair's ratio, beside the ratio of the medians above.
            "user_repeats_agree": len(outcomes) == 1,  # same rows and total every time
            "user_over_user_floor_pairs": [
                round(u.wall_s / f.wall_s, 2) if u.ok and f.ok else None
                for u, f in zip(users, user_floors, strict=True)
            ],
        }
        results.ratios.append(ratios)
        if peers_up_to is not None and subjects > peers_up_to:
            continue
        result = str(data / f"naive-{tag}.parquet")
        wall, peak, code, _ = run_process(
            baseline("naive-lake", str(home), MONTH, zone, result), env, limit=True
        )
        naive = record(zone, "naive script (no rules)", events, wall, peak, code == 0)
        if code == 0 and user.ok:
            check = compare_totals(user_csv, result)
            check.update(scale=subjects, zone=zone, peer="naive script")
            results.checks.append(check)
            ratios["naive_over_user"] = round(naive.wall_s / user.wall_s, 2)
        else:
            naive.note = "did not complete (out of memory or error)"
            ratios["naive_over_user"] = None


def growth(results: Results) -> list[dict[str, object]]:
    """Time ratio against events ratio between consecutive scales, per stage and zone."""
    rows: list[dict[str, object]] = []
    keyed: dict[tuple[str, str], list[Timing]] = {}
    for t in results.timings:
        if t.ok:
            keyed.setdefault((t.zone, t.stage), []).append(t)
    for (zone, stage), series in keyed.items():
        for small, large in itertools.pairwise(series):
            rows.append(
                {
                    "zone": zone,
                    "stage": stage,
                    "from": small.scale,
                    "to": large.scale,
                    "events_x": round(large.events / small.events, 2),
                    "time_x": round(large.wall_s / small.wall_s, 2),
                }
            )
    return rows


def machine() -> dict[str, object]:
    """What this ran on."""
    memory = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        memory = int(first[1]) // 1024 // 1024
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "os": platform.platform(),
    }


def show(results: Results) -> None:
    """Print the tables."""
    out = Console()
    table = Table(title="recon bench: one month, whole processes", title_justify="left")
    for column in ("subjects", "zone", "stage", "events", "wall s", "events/s", "peak RSS MiB"):
        table.add_column(column, justify="left" if column in ("zone", "stage") else "right")
    for t in results.timings:
        table.add_row(
            f"{t.scale:,}",
            t.zone,
            t.stage + (f" ({t.note})" if t.note else ""),
            f"{t.events:,}",
            f"{t.wall_s:.2f}" if t.ok else "failed",
            f"{t.events_per_s:,.0f}" if t.ok else "",
            f"{t.peak_rss_mib:,.0f}",
        )
    out.print(table)
    ratios = Table(title="ratios (same run)", title_justify="left")
    for column in (
        "subjects",
        "zone",
        "run / output floor (target <= 2)",
        "USER / USER floor (target <= 1.5)",
        "naive / USER (target > 1)",
        "USER cpu / wall (target >= 1.7)",
    ):
        ratios.add_column(column, justify="right")
    for r in results.ratios:
        ratios.add_row(
            f"{r['scale']:,}",
            str(r["zone"]),
            f"{r['run_over_output_floor']}x",
            f"{r['user_over_user_floor']}x",
            f"{r.get('naive_over_user') or 'n/a'}x",
            str(r.get("user_cpu_over_wall")),
        )
    out.print(ratios)
    grow = Table(title="growth (time multiple for the events multiple)", title_justify="left")
    for column in ("zone", "stage", "subjects", "events x", "time x"):
        grow.add_column(column)
    for g in growth(results):
        grow.add_row(
            str(g["zone"]),
            str(g["stage"]),
            f"{g['from']:,} -> {g['to']:,}",
            str(g["events_x"]),
            str(g["time_x"]),
        )
    out.print(grow)
    checks = Table(title="USER rows: engine vs the naive script", title_justify="left")
    for column in ("subjects", "zone", "peer", "rows", "mismatched rows", "total (millionths)"):
        checks.add_column(column)
    for c in results.checks:
        checks.add_row(
            f"{c['scale']:,}",
            str(c["zone"]),
            str(c["peer"]),
            f"{c['engine_rows']:,}",
            str(c["mismatched_rows"]),
            "equal"
            if c["engine_total_micros"] == c["peer_total_micros"]
            else f"{c['engine_total_micros']} vs {c['peer_total_micros']}",
        )
    out.print(checks)


def main() -> int:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default=",".join(str(s) for s in DEFAULT_SCALES))
    parser.add_argument("--zones", default=",".join(DEFAULT_ZONES))
    parser.add_argument("--data", type=Path, default=ROOT / ".bench")
    parser.add_argument(
        "--peers-up-to", type=int, default=None, help="run the naive peers only up to this scale"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="times the USER report and its floor run, alternated (their medians are compared)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()
    scales = [int(s.replace("_", "")) for s in args.scales.split(",") if s]
    zones = [z for z in args.zones.split(",") if z]
    args.data.mkdir(parents=True, exist_ok=True)
    results = Results(
        command="make bench" + (f" SCALES={args.scales}" if scales != list(DEFAULT_SCALES) else ""),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
    )
    for subjects in scales:
        console.rule(f"{subjects:,} subjects")
        bench_scale(results, args.data, subjects, zones, args.peers_up_to, max(1, args.repeats))
        payload = asdict(results) | {"growth": growth(results)}
        args.out.write_text(json.dumps(payload, indent=2) + "\n")
    show(results)
    console.print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
