"""Realistic, seeded, deterministic package-assignment logs, with the mess real logs have.

From a few thousand events to tens of millions; the mess comes at a configurable rate.

Vectorised with NumPy and Polars: no Python loop runs per subject or per event. The same seed
and spec always give the same files. A `manifest.json` beside the files records the spec and
how many rows of each kind of mess were injected, so tests can check ingest against it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from recon.core.camel import camel_keys
from recon.core.resources import default_catalog
from recon.home.files import write_atomically
from recon.synth.folders import claim_folder, previous_logs
from recon.synth.population import (
    SKUS,
    SUBJECTS_PER_BLOCK,
    GeneratorSpec,
    assignment_history,
    entities,
    with_attributes,
)

__all__ = ["GenerateResult", "GeneratorSpec", "clean_events", "generate"]

COLUMNS = [
    "event_id",
    "occurred_at",
    "action",
    "partner_org_id",
    "partner_name",
    "subscription_id",
    "sub_partner_org_id",
    "customer_org_id",
    "customer_external_id",
    "location_id",
    "user_id",
    "subscriber_id",
    "workspace_id",
    "package",
    "sku",
    "license_id",
]


@dataclass
class GenerateResult:
    """What was written."""

    files: list[str] = field(default_factory=list)
    events: int = 0
    clean_events: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    vendor_files: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """What `recon generate --json` prints, keys in camelCase."""
        return {
            "files": self.files,
            "events": self.events,
            "injected": camel_keys(self.injected),
            "vendorFiles": self.vendor_files,
        }


def _render(
    events: pl.DataFrame, rng: np.random.Generator, spec: GeneratorSpec, id_offset: int = 0
) -> pl.DataFrame:
    """Give ids, SKUs (for some rows) and timestamps as text (UTC `Z` or the customer's offset)."""
    n = events.height
    order = rng.permutation(n) + id_offset
    local = rng.random(n) < 0.7
    with_sku = rng.random(n) < 0.6
    events = events.with_columns(
        event_id=pl.format(
            "evt-{}-{}", pl.lit(spec.seed), pl.Series(order).cast(pl.String).str.zfill(10)
        ),
        _local=pl.Series(local),
        sku=pl.when(pl.Series(with_sku))
        .then(pl.col("package").replace_strict(SKUS, default=""))
        .otherwise(pl.lit("")),
        _instant=pl.col("t").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )
    rendered = []
    for (zone,), part in events.partition_by("zone", as_dict=True, maintain_order=True).items():
        rendered.append(
            part.with_columns(
                occurred_at=pl.when(pl.col("_local"))
                .then(
                    pl.col("_instant")
                    .dt.convert_time_zone(str(zone))
                    .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
                )
                .otherwise(pl.col("_instant").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
            )
        )
    return pl.concat(rendered, how="vertical").sort("t", "event_id")


def _inject_mess(
    events: pl.DataFrame, rng: np.random.Generator, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Duplicates, conflicts, orphans, naive timestamps, unknown packages and late arrivals.

    Each kind touches distinct clean rows, so the counts in the manifest are exact.
    """
    n = events.height
    counts = {
        "exact_duplicates": int(n * rate),
        "conflicting_duplicates": int(n * rate / 5),
        "orphan_unassigns": int(n * rate / 2),
        "naive_timestamps": int(n * rate / 3),
        "unknown_packages": int(n * rate / 5),
        "late_arrivals": int(n * rate * 3),
        "repeated_assigns": int(n * rate / 2),
    }
    picked = rng.permutation(n)
    cursor = 0

    def take(k: int) -> np.ndarray:
        nonlocal cursor
        chosen = np.sort(picked[cursor : cursor + k])
        cursor += k
        return chosen

    dup_rows = take(counts["exact_duplicates"])
    conflict_rows = take(counts["conflicting_duplicates"])
    naive_rows = take(counts["naive_timestamps"])
    unknown_rows = take(counts["unknown_packages"])
    late_rows = take(counts["late_arrivals"])
    orphan_rows = take(counts["orphan_unassigns"])
    repeat_rows = take(counts["repeated_assigns"])
    events = events.with_columns(
        _late_days=pl.lit(0, pl.Int64), _copy=pl.lit(0, pl.Int64)
    ).with_row_index("_i")
    idx = pl.col("_i")
    events = events.with_columns(
        occurred_at=pl.when(idx.is_in(pl.Series(naive_rows, dtype=pl.UInt32)))
        .then(pl.col("occurred_at").str.slice(0, 19))
        .otherwise(pl.col("occurred_at")),
        package=pl.when(idx.is_in(pl.Series(unknown_rows, dtype=pl.UInt32)))
        .then(pl.lit("WEBEX_CALLING_PLUS"))
        .otherwise(pl.col("package")),
        sku=pl.when(idx.is_in(pl.Series(unknown_rows, dtype=pl.UInt32)))
        .then(pl.lit(""))
        .otherwise(pl.col("sku")),
        _late_days=pl.when(idx.is_in(pl.Series(late_rows, dtype=pl.UInt32)))
        .then(pl.lit(1) + (idx % 3))
        .otherwise(pl.col("_late_days")),
    )
    duplicates = events.filter(idx.is_in(pl.Series(dup_rows, dtype=pl.UInt32))).with_columns(
        _late_days=pl.col("_late_days") + 1 + (idx % 2), _copy=pl.lit(1, pl.Int64)
    )
    conflicts = events.filter(idx.is_in(pl.Series(conflict_rows, dtype=pl.UInt32))).with_columns(
        occurred_at=(pl.col("_instant") + pl.duration(minutes=17)).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        _late_days=pl.col("_late_days") + 1,
        _copy=pl.lit(2, pl.Int64),
    )
    orphans = events.filter(idx.is_in(pl.Series(orphan_rows, dtype=pl.UInt32))).with_columns(
        event_id=pl.col("event_id") + "-orphan",
        action=pl.lit("UNASSIGN"),
        package=pl.lit("CALL_RECORDING"),
        sku=pl.lit(""),
        license_id=pl.lit("lic-never-assigned"),
        _copy=pl.lit(3, pl.Int64),
    )
    # A provisioning retry: the same ASSIGN again, minutes later, under a new event_id.
    repeats = events.filter(
        idx.is_in(pl.Series(repeat_rows, dtype=pl.UInt32)) & (pl.col("action") == "ASSIGN")
    )
    counts["repeated_assigns"] = repeats.height
    repeats = repeats.with_columns(
        event_id=pl.col("event_id") + "-retry",
        t=pl.col("t") + 300_000_000,
        _instant=pl.col("_instant") + pl.duration(minutes=5),
        _copy=pl.lit(4, pl.Int64),
    ).with_columns(occurred_at=pl.col("_instant").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out = pl.concat([events, duplicates, conflicts, orphans, repeats], how="vertical").drop("_i")
    return out, counts


def _write_days(
    events: pl.DataFrame,
    out_dir: Path,
    spec: GeneratorSpec,
    rng: np.random.Generator,
    block: str = "",
) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = ("csv", "jsonl", "parquet")
    arrival = pl.col("_instant").dt.date() + pl.duration(days=pl.col("_late_days"))
    events = events.with_columns(_arrival=arrival, _noise=pl.Series(rng.random(events.height)))
    written: list[str] = []
    for (day,), part in sorted(events.partition_by("_arrival", as_dict=True).items()):
        # Rows arrive mostly in time order, with a few out of place.
        ordered = part.sort(
            pl.when(pl.col("_noise") < 0.05).then(pl.col("_noise") * 1e18).otherwise(pl.col("t")),
            "event_id",
        )
        index = (day - spec.start).days
        kind = kinds[index % 3] if spec.format == "mixed" else spec.format
        split = spec.format == "mixed" and index % 4 == 1 and ordered.height > 1
        pieces = (
            [ordered.head(ordered.height // 2), ordered.tail(ordered.height - ordered.height // 2)]
            if split
            else [ordered]
        )
        for number, piece in enumerate(pieces, start=1):
            suffix = f"-part{number}" if split else ""
            path = out_dir / f"events-{day}{suffix}{block}.{kind}"
            frame = piece.select(COLUMNS)
            if kind == "csv":
                frame.write_csv(path)
            elif kind == "jsonl":
                frame.write_ndjson(path)
            else:
                write_atomically(frame, path)
            written.append(str(path))
    return written


def clean_events(rendered: pl.DataFrame) -> pl.DataFrame:
    """The true events behind the logs (before any mess), as canonical typed rows."""
    return rendered.select(
        "event_id",
        occurred_at=pl.col("_instant"),
        action=pl.col("action"),
        **{c: pl.col(c) for c in COLUMNS if c not in ("event_id", "occurred_at", "action")},
    )


def generate(
    out_dir: Path,
    spec: GeneratorSpec,
    vendor_month: date | None = None,
    vendor_dir: Path | None = None,
    vendor_differences: int = 3,
    *,
    force: bool = False,
) -> GenerateResult:
    """Write daily event-log files for `spec` into `out_dir`, plus `manifest.json`.

    With `vendor_month`, also write the vendor's reports for that month (with recorded
    differences) into `vendor_dir` (default: a `vendor` folder beside `out_dir`, so that
    ingesting `out_dir` never picks the vendor's files up as logs).

    A folder that is not empty is refused (`BadInputError`) before anything is written, unless
    `force`: then the logs an earlier generate listed in `out_dir`'s manifest are removed and
    the files written now replace their namesakes; nothing else is touched (`synth/folders.py`).
    """
    if spec.end < spec.start:
        raise ValueError("generator end date is before its start date")
    vendor_target = vendor_dir or out_dir.parent / "vendor"
    claim_folder(out_dir, force, "log", "DIR")
    if vendor_month is not None:
        claim_folder(vendor_target, force, "vendor", "--vendor-dir")
    for stale in previous_logs(out_dir) if force else []:
        stale.unlink(missing_ok=True)
    rng = np.random.default_rng(spec.seed)
    customers, subjects = entities(spec, rng)
    result = GenerateResult()
    truth: list[pl.DataFrame] = []
    blocks = range(0, subjects.height, SUBJECTS_PER_BLOCK)
    for number, first in enumerate(blocks):
        # Subjects are generated in blocks so memory stays bounded at any scale; each block
        # writes its own files for each day ("one or many files per day").
        block = subjects.slice(first, SUBJECTS_PER_BLOCK)
        clean = with_attributes(assignment_history(spec, rng, block), block, customers)
        rendered = _render(clean, rng, spec, id_offset=result.clean_events)
        messy, injected = _inject_mess(rendered, rng, spec.mess_rate)
        suffix = f"-b{number:03d}" if len(blocks) > 1 else ""
        result.files += _write_days(messy, out_dir, spec, rng, suffix)
        result.events += messy.height
        result.clean_events += rendered.height
        for kind, count in injected.items():
            result.injected[kind] = result.injected.get(kind, 0) + count
        if vendor_month is not None:
            truth.append(clean_events(rendered))
    files, injected = result.files, result.injected
    manifest = {
        "spec": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(spec).items()},
        "events": result.events,
        "clean_events": result.clean_events,
        "injected": injected,
        "files": [Path(f).name for f in files],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if vendor_month is not None:
        from recon.ingest.catalog import load_catalog  # noqa: PLC0415 - only the vendor side needs the engine
        from recon.synth.vendor import write_vendor_reports  # noqa: PLC0415

        vendor = write_vendor_reports(
            pl.concat(truth, how="vertical"),
            load_catalog(default_catalog()),
            vendor_month,
            vendor_target,
            spec.seed,
            vendor_differences,
        )
        result.vendor_files = vendor.files
    return result
