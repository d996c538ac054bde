"""Realistic, seeded, deterministic package-assignment logs, with the mess real logs have.

From a few thousand events to tens of millions; the mess comes at a configurable rate.

Vectorised with NumPy and Polars: no Python loop runs per subject or per event. The same seed
and spec always give the same files. A `manifest.json` beside the files records the spec and
how many rows of each kind of mess were injected, so tests can check ingest against it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from recon.core.resources import default_catalog
from recon.home.files import write_atomically

Format = Literal["csv", "jsonl", "parquet", "mixed"]
ZONES = (
    "UTC",
    "Europe/Stockholm",
    "America/New_York",
    "Europe/London",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Kolkata",
)
USER_PACKAGES = ("WEBEX_CALLING", "WEBEX_SUITE", "WEBEX_VOICE", "WEBEX_MEETINGS", "CX_ESSENTIALS")
USER_PACKAGE_WEIGHTS = (0.40, 0.20, 0.20, 0.10, 0.10)
SKUS = {
    "COMMON_AREA_CALLING": "PLACEHOLDER-SKU-CAC-0001",
    "WEBEX_VOICE": "PLACEHOLDER-SKU-VOI-0002",
    "WEBEX_CALLING": "PLACEHOLDER-SKU-CAL-0003",
    "WEBEX_SUITE": "PLACEHOLDER-SKU-STE-0004",
    "WEBEX_MEETINGS": "PLACEHOLDER-SKU-MTG-0005",
    "CX_ESSENTIALS": "PLACEHOLDER-SKU-CXE-0006",
    "ATTENDANT_CONSOLE": "PLACEHOLDER-SKU-ATC-0101",
    "CALL_RECORDING": "PLACEHOLDER-SKU-REC-0102",
}
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
_US_PER_DAY = 86_400_000_000
SUBJECTS_PER_BLOCK = 250_000


@dataclass(frozen=True)
class GeneratorSpec:
    """What to generate."""

    start: date
    end: date
    subjects: int = 3000
    partners: int = 2
    sub_partners_per_partner: int = 3
    customers: int = 120
    workspace_share: float = 0.15
    mess_rate: float = 0.01
    seed: int = 7
    format: Format = "mixed"
    # Mean UNASSIGN + ASSIGN pairs per subject per month on its main package (a suspension
    # and its resume, a license reshuffle): the knob that sets event density for benchmarks.
    reassignments_per_month: float = 0.0


@dataclass
class GenerateResult:
    """What was written."""

    files: list[str] = field(default_factory=list)
    events: int = 0
    clean_events: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    vendor_files: dict[str, str] = field(default_factory=dict)


def _pad(prefix: str, numbers: pl.Expr, width: int) -> pl.Expr:
    return pl.concat_str([pl.lit(prefix), numbers.cast(pl.String).str.zfill(width)])


def _entities(spec: GeneratorSpec, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Customers (with partner, sub-partner, zone, locations) and subjects."""
    n_cust = max(1, spec.customers)
    partner = rng.integers(0, spec.partners, n_cust)
    # A third of customers are the partner's direct customers, the rest belong to sub-partners.
    direct = rng.random(n_cust) < 1 / 3
    sub = rng.integers(0, max(1, spec.sub_partners_per_partner), n_cust)
    has_subs = spec.sub_partners_per_partner > 0
    customers = pl.DataFrame(
        {
            "c": np.arange(n_cust),
            "p": partner,
            "sub": np.where(direct | (not has_subs), -1, sub),
            "zone": rng.choice(np.array(ZONES), n_cust, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05]),
            "locations": rng.integers(1, 4, n_cust),
            "has_external": rng.random(n_cust) < 0.8,
            "weight": rng.lognormal(0.0, 1.2, n_cust),
        }
    ).with_columns(
        partner_org_id=_pad("org-partner-", pl.col("p") + 1, 3),
        partner_name=pl.format("Partner {} Telecom", pl.col("p") + 1),
        subscription_id=_pad("sub-", pl.col("p") + 1, 3),
        sub_partner_org_id=pl.when(pl.col("sub") >= 0)
        .then(pl.format("org-subpartner-{}-{}", pl.col("p") + 1, pl.col("sub") + 1))
        .otherwise(pl.lit("")),
        customer_org_id=_pad("org-customer-", pl.col("c") + 1, 6),
        customer_external_id=pl.when(pl.col("has_external"))
        .then(_pad("CRM-", pl.col("c") + 1, 6))
        .otherwise(pl.lit("")),
    )
    weights = customers["weight"].to_numpy()
    n = spec.subjects
    owner = rng.choice(n_cust, n, p=weights / weights.sum())
    is_ws = rng.random(n) < spec.workspace_share
    locations = customers["locations"].to_numpy()[owner]
    package = np.where(
        is_ws,
        "COMMON_AREA_CALLING",
        rng.choice(np.array(USER_PACKAGES), n, p=USER_PACKAGE_WEIGHTS),
    )
    subjects = pl.DataFrame(
        {
            "s": np.arange(n),
            "c": owner,
            "is_ws": is_ws,
            "loc": (rng.random(n) * locations).astype(np.int64),
            "n_locations": locations,
            "package": package,
            "licensed": rng.random(n) < 0.7,
            "has_subscriber": rng.random(n) < 0.6,
        }
    )
    return customers, subjects


def _clean_events(
    spec: GeneratorSpec, rng: np.random.Generator, subjects: pl.DataFrame
) -> pl.DataFrame:
    """The true lifecycle of every subject: onboarding, changes, moves, add-ons, churn."""
    n = subjects.height
    start_us = (
        int(datetime(spec.start.year, spec.start.month, spec.start.day, tzinfo=UTC).timestamp())
        * 1_000_000
    )
    span = ((spec.end - spec.start).days + 1) * _US_PER_DAY
    # Onboarding: half arrive in a first migration wave, the rest in smaller waves over the range.
    first_wave = rng.random(n) < 0.5
    onboard = np.where(
        first_wave,
        start_us + (rng.random(n) * min(span, 3 * _US_PER_DAY)).astype(np.int64),
        start_us + (rng.beta(0.8, 1.2, n) * span).astype(np.int64),
    )
    remaining = np.maximum(start_us + span - onboard, 1)
    later = onboard + (rng.random(n) * remaining).astype(np.int64)
    fate = rng.random(n)
    is_ws = subjects["is_ws"].to_numpy()
    churn = fate < 0.08
    trial = (fate >= 0.08) & (fate < 0.09)
    change = (fate >= 0.09) & (fate < 0.19) & ~is_ws
    move = (fate >= 0.19) & (fate < 0.24) & (subjects["n_locations"].to_numpy() > 1)
    addon = (fate >= 0.24) & (fate < 0.36) & ~is_ws
    recording = (fate >= 0.36) & (fate < 0.41) & ~is_ws
    trial_end = onboard + (rng.random(n) * 6 * 3_600_000_000).astype(np.int64) + 300_000_000
    packages = subjects["package"].to_numpy()
    new_package = rng.choice(np.array(USER_PACKAGES), n, p=USER_PACKAGE_WEIGHTS)
    new_package = np.where(new_package == packages, "WEBEX_SUITE", new_package)
    new_package = np.where(new_package == packages, "WEBEX_CALLING", new_package)
    explicit = rng.random(n) < 0.5
    loc = subjects["loc"].to_numpy()
    new_loc = (loc + 1) % np.maximum(subjects["n_locations"].to_numpy(), 1)
    addon_end = later + (rng.random(n) * np.maximum(start_us + span - later, 1)).astype(np.int64)
    addon_ends = rng.random(n) < 0.5

    s = subjects["s"].to_numpy()
    parts: list[dict[str, np.ndarray]] = []

    def add(
        mask: np.ndarray, at: np.ndarray, action: str, pkg: np.ndarray, location: np.ndarray
    ) -> None:
        parts.append(
            {
                "s": s[mask],
                "t": at[mask],
                "action": np.full(int(mask.sum()), action),
                "package": pkg[mask],
                "loc": location[mask],
            }
        )

    everyone = np.ones(n, dtype=bool)
    add(everyone, onboard, "ASSIGN", packages, loc)
    add(churn, later, "UNASSIGN", packages, loc)
    add(trial, trial_end, "UNASSIGN", packages, loc)
    add(change & explicit, later, "UNASSIGN", packages, loc)
    add(change, later, "ASSIGN", new_package, loc)
    add(move, later, "UNASSIGN", packages, loc)
    add(move, later, "ASSIGN", packages, new_loc)
    attendant = np.full(n, "ATTENDANT_CONSOLE")
    add(addon, later, "ASSIGN", attendant, loc)
    add(addon & addon_ends, addon_end, "UNASSIGN", attendant, loc)
    rec = np.full(n, "CALL_RECORDING")
    add(recording, later, "ASSIGN", rec, loc)
    if spec.reassignments_per_month > 0:
        held_until = np.where(trial, trial_end, later)
        _add_reassignments(spec, rng, s, onboard, held_until, packages, loc, parts)
    schema = {
        "s": pl.Int64,
        "t": pl.Int64,
        "action": pl.String,
        "package": pl.String,
        "loc": pl.Int64,
    }
    events = pl.concat(
        [pl.DataFrame({k: pl.Series(v, dtype=schema[k]) for k, v in p.items()}) for p in parts],
        how="vertical",
    )
    # Provisioning systems log whole seconds.
    events = events.with_columns(t=pl.col("t") - pl.col("t") % 1_000_000)
    return events.filter(pl.col("t") < start_us + span)


def _add_reassignments(
    spec: GeneratorSpec,
    rng: np.random.Generator,
    s: np.ndarray,
    onboard: np.ndarray,
    held_until: np.ndarray,
    packages: np.ndarray,
    loc: np.ndarray,
    parts: list[dict[str, np.ndarray]],
) -> None:
    """Pairs of UNASSIGN then ASSIGN of the main package, strictly inside its first holding.

    Each subject draws a Poisson number of pairs; their 2k instants are sorted uniform draws
    in (onboard, held_until), so the pairs never overlap each other or the lifecycle events.
    """
    months = ((spec.end - spec.start).days + 1) / 30.4375
    pairs = rng.poisson(spec.reassignments_per_month * months, s.size)
    # Room for 2k distinct whole seconds strictly between onboarding and the end of the holding.
    pairs = np.where(held_until - onboard > (2 * pairs + 4) * 1_000_000, pairs, 0)
    owner = np.repeat(np.arange(s.size), 2 * pairs)
    if owner.size == 0:
        return
    low = onboard[owner] + 1_000_000
    width = np.maximum(held_until[owner] - (2 * pairs[owner] + 2) * 1_000_000 - low, 1)
    at = low + (rng.random(owner.size) * width).astype(np.int64)
    at = at - at % 1_000_000  # whole seconds, as the rest of the log
    order = np.lexsort((at, owner))  # by subject, then time: consecutive instants pair up
    owner, at = owner[order], at[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(2 * pairs) - 2 * pairs, 2 * pairs)
    at = at + rank * 1_000_000  # strictly increasing per subject, still before the end
    action = np.where(rank % 2 == 0, "UNASSIGN", "ASSIGN")
    parts.append(
        {
            "s": s[owner],
            "t": at,
            "action": action,
            "package": packages[owner],
            "loc": loc[owner],
        }
    )


def _with_attributes(
    events: pl.DataFrame, subjects: pl.DataFrame, customers: pl.DataFrame
) -> pl.DataFrame:
    cust = customers.select(
        "c",
        "zone",
        "partner_org_id",
        "partner_name",
        "subscription_id",
        "sub_partner_org_id",
        "customer_org_id",
        "customer_external_id",
    )
    subj = subjects.select("s", "c", "is_ws", "licensed", "has_subscriber")
    return (
        events.join(subj, on="s", how="left")
        .join(cust, on="c", how="left")
        .with_columns(
            user_id=pl.when(~pl.col("is_ws"))
            .then(_pad("user-", pl.col("s") + 1, 8))
            .otherwise(pl.lit("")),
            subscriber_id=pl.when(~pl.col("is_ws") & pl.col("has_subscriber"))
            .then(_pad("subscriber-", pl.col("s") + 1, 8))
            .otherwise(pl.lit("")),
            workspace_id=pl.when(pl.col("is_ws"))
            .then(_pad("workspace-", pl.col("s") + 1, 8))
            .otherwise(pl.lit("")),
            location_id=pl.format("{}-loc-{}", pl.col("customer_org_id"), pl.col("loc") + 1),
            license_id=pl.when(pl.col("licensed"))
            .then(
                pl.format(
                    "lic-{}-{}", pl.col("customer_org_id"), pl.col("package").str.to_lowercase()
                )
            )
            .otherwise(pl.lit("")),
        )
    )


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
) -> GenerateResult:
    """Write daily event-log files for `spec` into `out_dir`, plus `manifest.json`.

    With `vendor_month`, also write the vendor's reports for that month (with recorded
    differences) into `vendor_dir` (default: a `vendor` folder beside `out_dir`, so that
    ingesting `out_dir` never picks the vendor's files up as logs).
    """
    if spec.end < spec.start:
        raise ValueError("generator end date is before its start date")
    rng = np.random.default_rng(spec.seed)
    customers, subjects = _entities(spec, rng)
    result = GenerateResult()
    truth: list[pl.DataFrame] = []
    blocks = range(0, subjects.height, SUBJECTS_PER_BLOCK)
    for number, first in enumerate(blocks):
        # Subjects are generated in blocks so memory stays bounded at any scale; each block
        # writes its own files for each day ("one or many files per day").
        block = subjects.slice(first, SUBJECTS_PER_BLOCK)
        clean = _with_attributes(_clean_events(spec, rng, block), block, customers)
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
            vendor_dir or out_dir.parent / "vendor",
            spec.seed,
            vendor_differences,
        )
        result.vendor_files = vendor.files
    return result
