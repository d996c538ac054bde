"""Where recon keeps its data, what time it is, and which time zone bills whom.

This is the thin I/O layer the pure transforms never touch: environment variables,
the clock and the home's `recon.toml` are read here and passed down as plain values.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recon.core.errors import BadInputError

DEFAULT_HOME = Path("data")
CONFIG_FILE = "recon.toml"


def resolve_home(home: str | Path | None = None) -> Path:
    """The home folder: the argument, else `RECON_HOME`, else `./data`."""
    chosen = home if home is not None else os.environ.get("RECON_HOME") or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def parse_instant(text: str, *, what: str = "instant") -> datetime:
    """An ISO 8601 instant with an offset or `Z`, as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise BadInputError(
            f"{what} {text!r} is not an ISO 8601 instant",
            hint="write it like 2026-10-31T23:00:00Z",
        ) from exc
    if value.tzinfo is None:
        raise BadInputError(
            f"{what} {text!r} has no UTC offset",
            hint="add Z or an offset such as +01:00",
        )
    return value.astimezone(UTC)


ENGINE_SLICE_EVENTS = 4_000_000


def engine_slice_events() -> int:
    """Events per slice of customers the rules engine holds at once (`RECON_SLICE_EVENTS`)."""
    value = os.environ.get("RECON_SLICE_EVENTS", "")
    return int(value) if value.isdigit() and int(value) > 0 else ENGINE_SLICE_EVENTS


def now() -> datetime:
    """The current instant in UTC, or `RECON_NOW` when set (for reproducible runs)."""
    override = os.environ.get("RECON_NOW")
    if override:
        return parse_instant(override, what="RECON_NOW")
    return datetime.now(UTC)


def check_zone(name: str) -> str:
    """Return `name` if it is a known IANA time zone, else raise a clear error."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInputError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as UTC, Europe/Stockholm or America/New_York",
        ) from exc
    return name


@dataclass(frozen=True)
class BillingZones:
    """The billing time zone: a default, per-partner overrides, per-customer overrides."""

    default: str = "UTC"
    partners: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)

    def forced(self, zone: str) -> BillingZones:
        """Every customer billed in `zone` (what `--tz` asks for)."""
        return BillingZones(default=check_zone(zone))

    def describe(self) -> str:
        """A short, stable text for the report registry."""
        if not self.partners and not self.customers:
            return self.default
        return (
            f"{self.default} (+{len(self.partners)} partner, "
            f"{len(self.customers)} customer overrides)"
        )


@dataclass(frozen=True)
class Settings:
    """What a home's `recon.toml` says, with defaults for what it leaves out."""

    zones: BillingZones = field(default_factory=BillingZones)
    catalog: Path | None = None


def load_settings(home: Path) -> Settings:
    """Read `<home>/recon.toml`; a missing file means all defaults."""
    path = home / CONFIG_FILE
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path} is not valid TOML: {exc}", hint="fix or remove it") from exc
    billing = raw.get("billing", {})
    zones = BillingZones(
        default=check_zone(str(billing.get("timezone", "UTC"))),
        partners={str(k): check_zone(str(v)) for k, v in billing.get("partners", {}).items()},
        customers={str(k): check_zone(str(v)) for k, v in billing.get("customers", {}).items()},
    )
    catalog = raw.get("catalog")
    return Settings(zones=zones, catalog=(home / catalog) if catalog else None)
