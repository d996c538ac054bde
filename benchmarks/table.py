"""Print `benchmarks/results.json` as the Markdown tables the README shows.

python -m benchmarks.table [results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).with_name("results.json")


def _ratio(value: object) -> str:
    return f"{value}x" if value is not None else "did not complete"


def markdown(results: dict[str, object]) -> str:
    """The timings, ratios and growth as Markdown."""
    lines = [
        "| subjects | zone | process | events | wall s | cpu s | events/s | peak RSS MiB |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for t in results["timings"]:  # type: ignore[attr-defined]
        rate = t["events"] / t["wall_s"] if t["wall_s"] else 0
        wall = f"{t['wall_s']:.2f}" if t["ok"] else "failed"
        lines.append(
            f"| {t['scale']:,} | {t['zone']} | {t['stage']}"
            + (f" ({t['note']})" if t.get("note") else "")
            + f" | {t['events']:,} | {wall} | "
            f"{t.get('cpu_s', 0):.2f} | "
            f"{rate:,.0f} | {t['peak_rss_mib']:,.0f} |"
        )
    lines += [
        "",
        "| subjects | zone | run / output floor | USER / USER floor | naive / USER "
        "| USER cpu / wall |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results["ratios"]:  # type: ignore[attr-defined]
        if "run_over_output_floor" not in r:  # a results file of the earlier bench
            lines.append(
                f"| {r['scale']:,} | {r['zone']} | engine / floor {r['engine_over_floor']}x |"
            )
            continue
        lines.append(
            f"| {r['scale']:,} | {r['zone']} | {r['run_over_output_floor']}x | "
            f"{r['user_over_user_floor']}x | {_ratio(r.get('naive_over_user'))} | "
            f"{r.get('user_cpu_over_wall')} |"
        )
    lines += ["", "| zone | process | subjects | events x | time x |", "|---|---|---|---:|---:|"]
    for g in results.get("growth", []):  # type: ignore[attr-defined]
        lines.append(
            f"| {g['zone']} | {g['stage']} | {g['from']:,} → {g['to']:,} | "
            f"{g['events_x']} | {g['time_x']} |"
        )
    checks = results.get("checks", [])  # type: ignore[attr-defined]
    equal = sum(1 for c in checks if not c["mismatched_rows"])
    lines += [
        "",
        f"USER rows equal to the engine's, row by row: {equal} of {len(checks)} runs "
        "(the naive script applies no rules; where it differs, the rules are why).",
    ]
    return "\n".join(lines)


def main() -> int:
    """Print the tables of a results file."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    print(markdown(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
