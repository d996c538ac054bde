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
| RECON_SPARK_MASTER | the Spark master `--engine spark` uses (see `core.engines`) | local[*] |
| RECON_INGEST_BATCH_ROWS | rows per ingest batch | 250,000 |
| RECON_FAST_CSV_BYTES | CSVs up to this size are parsed in one go | 256 MiB |
| RECON_HTTP_LOG | `recon serve` logs one line per request to stderr; `0` turns it off | on |
| RECON_DEBUG | an internal error shows its traceback when set | off |

A home's `recon.toml` may also describe the partner's own logs (see `IngestSettings`):

```toml
[ingest]
timezone = "Europe/Stockholm"   # naive occurred_at values are local times in this zone

[ingest.columns]                # recon's column name = the log's column name
event_id = "EventRef"
occurred_at = "Timestamp"

[ingest.sources."stockholm/*.csv"]   # files whose path ends like this pattern
timezone = "Europe/Stockholm"
columns = { action = "Op" }
```
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recon.core.engines import ENGINE_KEYS, EngineSettings, engine_settings
from recon.core.errors import BadInputError

DEFAULT_HOME = Path("data")
CONFIG_FILE = "recon.toml"


def resolve_home(home: str | Path | None = None) -> Path:
    """The home folder: the argument, else `RECON_HOME`, else `./data`.

    An empty name (it would make the current folder a home) and a path that is a file are
    refused.
    """
    chosen = home if home is not None else _variable("RECON_HOME") or DEFAULT_HOME
    if not str(chosen).strip():
        raise BadInputError(
            "the home folder name is empty",
            hint="pass --home PATH (or set RECON_HOME), or leave it out for ./data",
        )
    path = Path(chosen).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise BadInputError(
            f"home {path} is a file, not a folder", hint="pass --home the folder of a recon home"
        )
    return path


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
# 250k rows a batch: at 10M subjects (30.7M events) ingest peaks at 3.9 GiB against 6.2 GiB
# with 1M-row batches, for 6% more time (the lake gets ~3x the files; `recon compact` merges).
INGEST_BATCH_ROWS = 250_000
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


def spark_master() -> str | None:
    """The Spark master `--engine spark` connects to (`RECON_SPARK_MASTER`), if set."""
    return _variable("RECON_SPARK_MASTER")


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
    """Whether `recon serve` logs every request to stderr (`RECON_HTTP_LOG`, on unless `0`)."""
    return _variable("RECON_HTTP_LOG") not in ("0", "false", "off")


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


MAPPING_HINT = (
    "map them in recon.toml under [ingest.columns], as recon's name = your column's name, "
    'e.g. event_id = "EventRef"'
)


def input_column_names() -> list[str]:
    """The canonical names of the columns a log file provides (from schemas/events.yaml)."""
    from recon.core.contracts import events_contract  # noqa: PLC0415 - YAML read on demand

    return [c.name for c in events_contract().columns if c.input]


def check_column_mapping(mapping: Mapping[str, object], where: str) -> dict[str, str]:
    """A column mapping (recon's name → the log's column name), checked.

    An unknown recon name, an empty column name, or one log column mapped to two recon names
    is an error naming them.
    """
    known = input_column_names()
    unknown = sorted(str(k) for k in mapping if str(k) not in known)
    if unknown:
        raise BadInputError(
            f"{where}: unknown column name(s) {', '.join(unknown)} in the column mapping",
            hint=f"the names on the left are recon's: {', '.join(known)}",
        )
    checked: dict[str, str] = {}
    for canonical, theirs in mapping.items():
        if not isinstance(theirs, str) or not theirs.strip():
            raise BadInputError(
                f"{where}: the column mapped to {canonical} must be a non-empty text",
                hint=f'write it like {canonical} = "TheirColumn"',
            )
        checked[str(canonical)] = theirs
    seen: dict[str, str] = {}
    for canonical, theirs in checked.items():
        key = theirs.strip().lower()
        if key in seen:
            raise BadInputError(
                f"{where}: column {theirs!r} is mapped to both {seen[key]} and {canonical}",
                hint="map each of your columns to one of recon's names",
            )
        seen[key] = canonical
    return checked


@dataclass(frozen=True)
class SourceRule:
    """Settings for the log files whose path ends like `pattern` (`[ingest.sources."..."]`)."""

    pattern: str
    timezone: str | None = None
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestSettings:
    """How to read the partner's own logs: column names and the zone of naive timestamps.

    Without a declared zone, a naive `occurred_at` is rejected (NAIVE_TIMESTAMP). Rules match
    a file's path (`PurePath.match`: a relative pattern matches from the right; a member of a
    zip is `archive.zip!member.csv`); later rules override earlier ones, and mappings given
    for one call (`with_call`) override everything.
    """

    columns: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    sources: tuple[SourceRule, ...] = ()

    def for_source(self, path: str | PurePath) -> tuple[dict[str, str], str | None]:
        """The column mapping and naive-timestamp zone for one file."""
        columns, zone = dict(self.columns), self.timezone
        for rule in self.sources:
            if PurePath(path).match(rule.pattern):
                columns.update(rule.columns)
                zone = rule.timezone or zone
        return columns, zone

    def with_call(
        self, columns: Mapping[str, str] | None = None, timezone: str | None = None
    ) -> IngestSettings:
        """These settings with one call's mapping (and zone) on top, both checked."""
        if not columns and timezone is None:
            return self
        mapping = check_column_mapping(columns or {}, "columns=")
        rules = tuple(replace(r, columns={**r.columns, **mapping}) for r in self.sources)
        return IngestSettings(
            columns={**self.columns, **mapping},
            timezone=check_zone(timezone) if timezone is not None else self.timezone,
            sources=rules,
        )


def _table(raw: object, where: str, allowed: tuple[str, ...] | None = None) -> dict[str, object]:
    """A TOML table; with `allowed`, any other key is an error naming it."""
    if not isinstance(raw, dict):
        raise BadInputError(
            f"[{where}] in {CONFIG_FILE} must be a table", hint=f"write it as [{where}]"
        )
    unknown = [] if allowed is None else sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise BadInputError(
            f"unknown key(s) {', '.join(unknown)} in [{where}] of {CONFIG_FILE}",
            hint=f"[{where}] takes {', '.join(allowed or ())}",
        )
    return {str(k): v for k, v in raw.items()}


def _zone_or_none(value: object) -> str | None:
    return None if value is None else check_zone(str(value))


def ingest_settings(raw: object) -> IngestSettings:
    """The `[ingest]` table of recon.toml, checked (unknown keys and column names are errors)."""
    table = _table(raw, "ingest", ("columns", "timezone", "sources"))
    rules = []
    for pattern, raw_rule in _table(table.get("sources", {}), "ingest.sources").items():
        where = f'ingest.sources."{pattern}"'
        rule = _table(raw_rule, where, ("columns", "timezone"))
        columns = _table(rule.get("columns", {}), f"{where}.columns")
        rules.append(
            SourceRule(
                pattern=pattern,
                timezone=_zone_or_none(rule.get("timezone")),
                columns=check_column_mapping(columns, f"[{where}] columns"),
            )
        )
    columns = _table(table.get("columns", {}), "ingest.columns")
    return IngestSettings(
        columns=check_column_mapping(columns, f"{CONFIG_FILE} [ingest.columns]"),
        timezone=_zone_or_none(table.get("timezone")),
        sources=tuple(rules),
    )


@dataclass(frozen=True)
class Settings:
    """What a home's `recon.toml` says, with defaults for what it leaves out."""

    zones: BillingZones = field(default_factory=BillingZones)
    catalog: Path | None = None
    ingest: IngestSettings = field(default_factory=IngestSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)


# The top-level keys (and tables) recon.toml may have; anything else is an error naming it.
SETTINGS_KEYS = ("billing", "catalog", "ingest", "engine")


def load_settings(home: Path) -> Settings:
    """Read `<home>/recon.toml`; a missing file means all defaults."""
    path = home / CONFIG_FILE
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path} is not valid TOML: {exc}", hint="fix or remove it") from exc
    unknown = sorted(k for k in raw if k not in SETTINGS_KEYS)
    if unknown:
        raise BadInputError(
            f"unknown key(s) {', '.join(unknown)} in {path}",
            hint=f"{CONFIG_FILE} takes {', '.join(SETTINGS_KEYS)}; fix the spelling or remove it",
        )
    billing = _table(raw.get("billing", {}), "billing", ("timezone", "partners", "customers"))
    zones = BillingZones(
        default=check_zone(str(billing.get("timezone", "UTC"))),
        partners={
            k: check_zone(str(v))
            for k, v in _table(billing.get("partners", {}), "billing.partners").items()
        },
        customers={
            k: check_zone(str(v))
            for k, v in _table(billing.get("customers", {}), "billing.customers").items()
        },
    )
    catalog = raw.get("catalog")
    return Settings(
        zones=zones,
        catalog=(home / catalog) if catalog else None,
        ingest=ingest_settings(raw.get("ingest", {})),
        engine=engine_settings(_table(raw.get("engine", {}), "engine", ENGINE_KEYS)),
    )
