"""Every setting recon reads: where its data is, what time it is, which zone bills whom.

This is the thin I/O layer the pure transforms never touch: environment variables,
the clock and the home's `recon.toml` are read here, and only here, and passed down as plain
values. Each variable is read when it is used (never at import), and a value that does not
parse is a `BadInputError` naming the variable, never a silent default.

| variable | meaning | default |
|---|---|---|
| RECON_HOME | the home folder | ./data |
| RECON_NOW | the current instant (reproducible runs) | the clock |
| RECON_LOCK_WAIT | seconds a writer waits for the home's lock | 30 |
| RECON_SLICE_EVENTS | events per slice of customers the engine holds at once | 4,000,000 |
| RECON_INGEST_BATCH_ROWS | rows per ingest batch | 1,000,000 |
| RECON_FAST_CSV_BYTES | CSVs up to this size are parsed in one go | 256 MiB |
| RECON_HTTP_LOG | `recon serve` logs each request to stderr when set | off |
| RECON_DEBUG | an internal error shows its traceback when set | off |
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
    chosen = home if home is not None else _variable("RECON_HOME") or DEFAULT_HOME
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
INGEST_BATCH_ROWS = 1_000_000
FAST_CSV_BYTES = 256 * 1024 * 1024
LOCK_WAIT_SECONDS = 30.0


def _variable(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _whole_number(name: str, default: int, *, minimum: int) -> int:
    value = _variable(name)
    if value is None:
        return default
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise BadInputError(
            f"{name}={value!r} is not a whole number of at least {minimum}",
            hint=f"unset {name} for the default ({default:_}) or give a number like {default}",
        )
    return number


def _seconds(name: str, default: float) -> float:
    value = _variable(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        raise BadInputError(
            f"{name}={value!r} is not a number of seconds",
            hint=f"unset {name} for the default ({default:g}) or give seconds like 2.5",
        )
    return seconds


def _flag(name: str) -> bool:
    return _variable(name) is not None


def engine_slice_events() -> int:
    """Events per slice of customers the rules engine holds at once (`RECON_SLICE_EVENTS`)."""
    return _whole_number("RECON_SLICE_EVENTS", ENGINE_SLICE_EVENTS, minimum=1)


def ingest_batch_rows() -> int:
    """Rows per ingest batch (`RECON_INGEST_BATCH_ROWS`)."""
    return _whole_number("RECON_INGEST_BATCH_ROWS", INGEST_BATCH_ROWS, minimum=1)


def fast_csv_bytes() -> int:
    """CSVs up to this size are parsed by Polars in one go (`RECON_FAST_CSV_BYTES`)."""
    return _whole_number("RECON_FAST_CSV_BYTES", FAST_CSV_BYTES, minimum=0)


def lock_wait_seconds() -> float:
    """How long a writer waits for the home's lock before giving up (`RECON_LOCK_WAIT`)."""
    return _seconds("RECON_LOCK_WAIT", LOCK_WAIT_SECONDS)


def http_access_log() -> bool:
    """Whether `recon serve` logs every request to stderr (`RECON_HTTP_LOG`)."""
    return _flag("RECON_HTTP_LOG")


def debug() -> bool:
    """Whether an internal error shows its traceback (`RECON_DEBUG`)."""
    return _flag("RECON_DEBUG")


def now() -> datetime:
    """The current instant in UTC, or `RECON_NOW` when set (for reproducible runs)."""
    override = _variable("RECON_NOW")
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
