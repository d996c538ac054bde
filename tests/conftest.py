"""Shared fixtures, the hypothesis profiles and a pinned, unusual local time zone.

TZ is pinned to Pacific/Chatham (UTC+12:45/+13:45) so any accidental use of local time in
recon shows up as a wrong answer instead of passing by luck on a UTC machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, settings

os.environ["TZ"] = "Pacific/Chatham"
time.tzset()

settings.register_profile(
    "fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent
# The installed `recon` executable of this environment, for tests that run it as a user would.
RECON = shutil.which("recon", path=str(Path(sys.executable).parent)) or "recon"
CATALOG_PATH = REPO / "data" / "catalog.csv"
SAMPLE = REPO / "data" / "sample"
FROZEN_NOW = "2026-11-21T12:00:00Z"
# `python -c` source running the CLI's entry point in that process (its arguments after the
# code), then printing `EXIT <code>`: a test appends what to look at in the process after.
CLI_IN_PROCESS = """
import sys
from recon.serve.cli.main import main
sys.argv = ["recon", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print("\\nEXIT", code)
"""


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs at a fixed instant unless it sets RECON_NOW itself."""
    monkeypatch.setenv("RECON_NOW", FROZEN_NOW)
    monkeypatch.delenv("RECON_HOME", raising=False)


@pytest.fixture(scope="session")
def catalog() -> pl.DataFrame:
    from recon.ingest.catalog import load_catalog

    return load_catalog(CATALOG_PATH)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


EVENT_DEFAULTS: dict[str, Any] = {
    "partner_org_id": "P1",
    "partner_name": "Partner One",
    "subscription_id": "S1",
    "sub_partner_org_id": "",
    "customer_org_id": "C1",
    "customer_external_id": "",
    "location_id": "L1",
    "user_id": "u1",
    "subscriber_id": "",
    "workspace_id": "",
    "sku": "",
    "license_id": "",
}


def make_event(
    event_id: str, occurred_at: str, action: str, package: str, **fields: Any
) -> dict[str, Any]:
    """A canonical event row (typed), defaults filled."""
    row = {**EVENT_DEFAULTS, **fields}
    if "workspace_id" in fields and "user_id" not in fields:
        row["user_id"] = ""
    return {
        "event_id": event_id,
        "occurred_at": datetime.fromisoformat(occurred_at.replace("Z", "+00:00")),
        "action": action,
        "package": package,
        **row,
    }


EVENT_SCHEMA = {
    "event_id": pl.String,
    "occurred_at": pl.Datetime("us", "UTC"),
    "action": pl.String,
    "package": pl.String,
    **dict.fromkeys(EVENT_DEFAULTS, pl.String),
}


def events_frame(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=EVENT_SCHEMA).lazy()


@pytest.fixture
def ev() -> Callable[..., dict[str, Any]]:
    return make_event


@pytest.fixture
def frame() -> Callable[[list[dict[str, Any]]], pl.LazyFrame]:
    return events_frame


def raw_row(**fields: str) -> dict[str, str]:
    """A raw log row (text), valid unless fields say otherwise; columns in the contract's order."""
    base = {"event_id": "e1", "occurred_at": "2026-03-01T10:00:00Z", "action": "ASSIGN"}
    for name, value in EVENT_DEFAULTS.items():
        if name == "sku":
            base["package"] = "WEBEX_CALLING"
        base[name] = value
    base.update(fields)
    return base


@pytest.fixture
def write_csv(tmp_path: Path) -> Iterator[Callable[[str, list[dict[str, str]]], Path]]:
    def _write(name: str, rows: list[dict[str, str]]) -> Path:
        path = tmp_path / "logs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)).write_csv(path)
        return path

    yield _write


def run(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`recon --home HOME ARGS...` as a user would run it, at the pinned instant."""
    return subprocess.run(
        [RECON, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RECON_NOW": FROZEN_NOW, **(env or {})},
        check=False,
        timeout=300,
    )
