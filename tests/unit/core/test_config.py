"""Home, clock and billing-zone settings."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recon.core import config
from recon.core.config import (
    BillingZones,
    engine_slice_events,
    fast_csv_bytes,
    ingest_batch_rows,
    load_settings,
    lock_wait_seconds,
    now,
    parse_instant,
    resolve_home,
)
from recon.core.errors import BadInputError
from tests.conftest import RECON, raw_row


def test_home_comes_from_the_argument_then_the_environment_then_data(monkeypatch, tmp_path):
    monkeypatch.setenv("RECON_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_home() == tmp_path / "env"
    monkeypatch.delenv("RECON_HOME")
    assert resolve_home() == Path("data").resolve()


def test_recon_now_replaces_the_clock(monkeypatch):
    monkeypatch.setenv("RECON_NOW", "2026-03-29T03:30:00+02:00")
    assert now() == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_naive_recon_now_is_refused(monkeypatch):
    monkeypatch.setenv("RECON_NOW", "2026-03-29T03:30:00")
    with pytest.raises(BadInputError, match="RECON_NOW '2026-03-29T03:30:00' has no UTC offset"):
        now()


def test_parse_instant_rejects_text():
    with pytest.raises(BadInputError, match="is not an ISO 8601 instant"):
        parse_instant("tomorrow")


def test_settings_from_recon_toml(tmp_path):
    (tmp_path / "recon.toml").write_text(
        '[billing]\ntimezone = "Europe/Stockholm"\n'
        '[billing.partners]\nP1 = "America/New_York"\n'
        '[billing.customers]\nC9 = "Asia/Kolkata"\n'
    )
    zones = load_settings(tmp_path).zones
    assert zones == BillingZones(
        "Europe/Stockholm", {"P1": "America/New_York"}, {"C9": "Asia/Kolkata"}
    )
    assert zones.forced("UTC") == BillingZones("UTC")


def test_unknown_zone_in_recon_toml_is_a_clear_error(tmp_path):
    (tmp_path / "recon.toml").write_text('[billing]\ntimezone = "Europe/Atlantis"\n')
    with pytest.raises(BadInputError, match="unknown time zone 'Europe/Atlantis'"):
        load_settings(tmp_path)


def test_broken_recon_toml_is_a_clear_error(tmp_path):
    (tmp_path / "recon.toml").write_text("[billing\n")
    with pytest.raises(BadInputError, match="is not valid TOML"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("RECON_SLICE_EVENTS", "lots", engine_slice_events),
        ("RECON_SLICE_EVENTS", "0", engine_slice_events),
        ("RECON_INGEST_BATCH_ROWS", "-5", ingest_batch_rows),
        ("RECON_FAST_CSV_BYTES", "1e9", fast_csv_bytes),
        ("RECON_LOCK_WAIT", "soon", lock_wait_seconds),
        ("RECON_LOCK_WAIT", "nan", lock_wait_seconds),
    ],
)
def test_a_bad_setting_is_an_error_naming_the_variable(monkeypatch, variable, value, read):
    monkeypatch.setenv(variable, value)
    with pytest.raises(BadInputError, match=f"^{variable}='{value}' is not"):
        read()


def test_settings_parse_and_default(monkeypatch):
    for variable in ("RECON_SLICE_EVENTS", "RECON_INGEST_BATCH_ROWS", "RECON_FAST_CSV_BYTES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("RECON_LOCK_WAIT", "")
    assert engine_slice_events() == 4_000_000
    assert ingest_batch_rows() == 250_000
    assert fast_csv_bytes() == 268_435_456
    assert lock_wait_seconds() == 30.0
    monkeypatch.setenv("RECON_SLICE_EVENTS", "700")
    monkeypatch.setenv("RECON_FAST_CSV_BYTES", "0")
    monkeypatch.setenv("RECON_LOCK_WAIT", "0.5")
    assert (engine_slice_events(), fast_csv_bytes(), lock_wait_seconds()) == (700, 0, 0.5)


def test_a_bad_setting_never_breaks_an_import(tmp_path):
    """The ingest modules once read RECON_FAST_CSV_BYTES with a bare int() at import."""
    env = {**os.environ, "RECON_FAST_CSV_BYTES": "big"}
    code = "import recon.ingest.run, recon.ingest.sources, recon.api"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_cli_names_a_bad_setting(tmp_path, write_csv):
    log = write_csv("events.csv", [raw_row()])
    env = {**os.environ, "RECON_INGEST_BATCH_ROWS": "many"}
    done = subprocess.run(
        [RECON, "--home", str(tmp_path / "home"), "ingest", str(log)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "RECON_INGEST_BATCH_ROWS='many' is not a whole number" in done.stderr


def test_the_documented_defaults_are_the_defaults():
    """The module's table of variables states each numeric default as the code has it."""
    table = {
        line.split("|")[1].strip(): line.split("|")[3].strip()
        for line in (config.__doc__ or "").splitlines()
        if line.startswith("| RECON_")
    }
    assert table["RECON_SLICE_EVENTS"] == f"{config.ENGINE_SLICE_EVENTS:,}"
    assert table["RECON_INGEST_BATCH_ROWS"] == f"{config.INGEST_BATCH_ROWS:,}"
    assert table["RECON_FAST_CSV_BYTES"] == f"{config.FAST_CSV_BYTES // 2**20} MiB"
    assert table["RECON_LOCK_WAIT"] == f"{config.LOCK_WAIT_SECONDS:g}"
