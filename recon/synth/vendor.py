"""A vendor-side counterpart for generated logs: Webex's reports for a month.

The vendor's truth is what the rules give on the *clean* logs (before the generator's mess):
events our side quarantines are events the vendor still saw, just as in real life. On top of
that, a few USER rows are changed on purpose (over-billed, under-billed, missing, extra,
rounding noise below a tolerance) and every change is recorded, with the class a
reconciliation must give it. The vendor's other levels are rolled up from its USER rows, so
they tie out like a real vendor's would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from recon.core.contracts import REPORT_TYPES
from recon.core.timezones import day_table
from recon.engine.intervals import assignment_intervals
from recon.engine.proration import ROW_GRAIN, user_usage
from recon.reports.request import month_period
from recon.reports.rollup import report_rows

NOISE_TOLERANCE = "0.000001"


@dataclass
class VendorResult:
    """What was written for the vendor side."""

    files: dict[str, str] = field(default_factory=dict)
    differences: list[dict[str, object]] = field(default_factory=list)


KINDS = ("OVER_BILLED", "UNDER_BILLED", "MISSING_FROM_VENDOR", "MATCH")


def _chosen_rows(
    quantities: np.ndarray, rng: np.random.Generator, per_kind: int
) -> dict[str, list[int]]:
    """Disjoint rows for each kind of change; under-billing needs a quantity to take from."""
    chosen: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for i in rng.permutation(len(quantities)):
        for kind in KINDS:
            if len(chosen[kind]) < per_kind and (kind != "UNDER_BILLED" or quantities[i] > 2):
                chosen[kind].append(int(i))
                break
        if all(len(rows) == per_kind for rows in chosen.values()):
            break
    return chosen


def _described(row: dict[str, object], expected: str, change: int | None) -> dict[str, object]:
    return {
        "expected_class": expected,
        "CUSTOMER_ORG_ID": row["customer_org_id"],
        "USER_ID": row["user_id"],
        "WORKSPACE_ID": row["workspace_id"],
        "SERVICE_NAME": row["package"],
        "LOCATION_ID": row["location_id"],
        "LICENSE_ID": row["license_id"],
        "change_micros": change,
    }


def perturbed_usage(
    usage: pl.DataFrame, rng: np.random.Generator, per_kind: int
) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    """The vendor's USER rows: ours with `per_kind` recorded changes of each kind.

    OVER_BILLED adds 0.5 to 3 days, UNDER_BILLED takes some of the quantity away, MISSING
    drops the row, MATCH moves it by one millionth (below the noise tolerance), and
    NOT_IN_OUR_RECORDS rows copy a real row under a subject only the vendor knows.
    """
    usage = usage.sort(ROW_GRAIN)
    quantities = usage["quantity_micros"].to_numpy().copy()
    chosen = _chosen_rows(quantities, rng, per_kind)
    rows = usage.to_dicts()
    differences: list[dict[str, object]] = []
    for i in chosen["OVER_BILLED"]:
        change = int(rng.integers(500_000, 3_000_001))
        quantities[i] += change
        differences.append(_described(rows[i], "OVER_BILLED", change))
    for i in chosen["UNDER_BILLED"]:
        change = int(rng.integers(1, quantities[i] - 1))
        quantities[i] -= change
        differences.append(_described(rows[i], "UNDER_BILLED", -change))
    for i in chosen["MATCH"]:
        change = 1 if quantities[i] < 2 or rng.random() < 0.5 else -1
        quantities[i] += change
        differences.append(_described(rows[i], "MATCH", change))
    differences += [
        _described(rows[i], "MISSING_FROM_VENDOR", None) for i in chosen["MISSING_FROM_VENDOR"]
    ]
    keep = np.ones(len(quantities), dtype=bool)
    keep[chosen["MISSING_FROM_VENDOR"]] = False
    vendor = usage.with_columns(quantity_micros=pl.Series(quantities)).filter(pl.Series(keep))
    extra_rows = sorted(
        int(i) for i in rng.choice(usage.height, min(per_kind, usage.height), replace=False)
    )
    extras = usage[extra_rows].with_columns(
        subject_type=pl.lit("USER"),
        subject_id=pl.format("vendor-only-{}", pl.int_range(pl.len())),
        user_id=pl.format("vendor-only-{}", pl.int_range(pl.len())),
        workspace_id=pl.lit(""),
        subscriber_id=pl.lit(""),
    )
    for row in extras.to_dicts():
        differences.append(_described(row, "NOT_IN_OUR_RECORDS", int(row["quantity_micros"])))
    return pl.concat([vendor, extras], how="vertical").sort(ROW_GRAIN), differences


def write_vendor_reports(
    clean_events: pl.DataFrame,
    catalog: pl.DataFrame,
    month: date,
    out_dir: Path,
    seed: int,
    per_kind: int = 3,
) -> VendorResult:
    """Write vendor-<TYPE>-<YYYY-MM>.csv for every type, plus vendor-manifest-<YYYY-MM>.json."""
    start, end = month_period(month.strftime("%Y-%m"))
    table = day_table("UTC", start, end)
    intervals = assignment_intervals(clean_events.lazy(), catalog)
    zones = intervals.select("customer_org_id").unique().with_columns(zone=pl.lit("UTC"))
    usage = user_usage(intervals, zones, {"UTC": table}, table.end).collect()
    vendor_usage, differences = perturbed_usage(usage, np.random.default_rng(seed + 1), per_kind)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = start.strftime("%Y-%m")
    result = VendorResult(differences=differences)
    for report_type in REPORT_TYPES:
        rows = report_rows(vendor_usage, catalog, report_type)
        path = out_dir / f"vendor-{report_type}-{tag}.csv"
        # Vendor exports come with Windows line ends; recon must not mind.
        rows.write_csv(path, line_terminator="\r\n")
        result.files[report_type] = str(path)
    manifest = {
        "month": tag,
        "billingStartDate": start.isoformat(),
        "billingEndDate": end.isoformat(),
        "timezone": "UTC",
        "noise_tolerance": NOISE_TOLERANCE,
        "files": {k: Path(v).name for k, v in result.files.items()},
        "user_level_differences": differences,
    }
    (out_dir / f"vendor-manifest-{tag}.json").write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )
    return result
