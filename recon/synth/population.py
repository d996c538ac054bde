"""The clean provisioning history of a synthetic partner: who holds which package, when.

Partners, sub-partners, customers and subjects are drawn from a seeded generator; each subject
gets a main package from its first day, optional add-ons, churn and reassignments. No mess
yet: `generate` renders these events into files and injects the mess real logs have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
import polars as pl

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


def _pad(prefix: str, numbers: pl.Expr, width: int) -> pl.Expr:
    return pl.concat_str([pl.lit(prefix), numbers.cast(pl.String).str.zfill(width)])


def entities(spec: GeneratorSpec, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
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


def assignment_history(
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


def with_attributes(
    events: pl.DataFrame, subjects: pl.DataFrame, customers: pl.DataFrame
) -> pl.DataFrame:
    """Events with their subject's and customer's ids, names, locations and SKUs filled in."""
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
