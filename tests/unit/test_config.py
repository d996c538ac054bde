"""Home, clock and billing-zone settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from recon.core.config import BillingZones, load_settings, now, parse_instant, resolve_home
from recon.core.errors import BadInputError


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
