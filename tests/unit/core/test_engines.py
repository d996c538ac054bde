"""Choosing the engine: a call's choice, else recon.toml's [engine], else embedded."""

from __future__ import annotations

import pytest

from recon.api import Recon
from recon.core.config import load_settings
from recon.core.engines import EngineSettings
from recon.core.errors import BadInputError


def test_embedded_is_the_default(tmp_path):
    assert load_settings(tmp_path).engine == EngineSettings("embedded", None)
    assert Recon(tmp_path / "home").engine == EngineSettings("embedded", None)


def test_recon_toml_names_the_engine_and_master(tmp_path):
    (tmp_path / "recon.toml").write_text(
        '[engine]\nengine = "Spark"\nspark_master = "spark://head:7077"\n'
    )
    assert load_settings(tmp_path).engine == EngineSettings("spark", "spark://head:7077")


def test_the_master_comes_from_the_call_then_the_variable_then_recon_toml(tmp_path, monkeypatch):
    (tmp_path / "recon.toml").write_text('[engine]\nengine = "spark"\nspark_master = "local[3]"\n')
    monkeypatch.delenv("RECON_SPARK_MASTER", raising=False)
    assert Recon(tmp_path).engine == EngineSettings("spark", "local[3]")
    monkeypatch.setenv("RECON_SPARK_MASTER", "spark://env:7077")
    assert Recon(tmp_path).engine == EngineSettings("spark", "spark://env:7077")
    chosen = Recon(tmp_path, spark_master="local[1]").engine
    assert chosen == EngineSettings("spark", "local[1]")
    assert Recon(tmp_path, engine="embedded").engine == EngineSettings("embedded", None)


def test_spark_without_a_master_anywhere_runs_locally_on_every_core(tmp_path, monkeypatch):
    monkeypatch.delenv("RECON_SPARK_MASTER", raising=False)
    assert Recon(tmp_path, engine="spark").engine == EngineSettings("spark", "local[*]")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[engine]\nengine = "flink"\n', "unknown engine 'flink'"),
        ('[engine]\nengine = "spark"\nspark_master = ""\n', "must be a non-empty text"),
        ('[engine]\nengines = "spark"\n', "unknown key(s) engines in [engine]"),
        ('engine = "spark"\n', "[engine] in recon.toml must be a table"),
    ],
)
def test_a_bad_engine_setting_is_a_clear_error(tmp_path, toml, message):
    (tmp_path / "recon.toml").write_text(toml)
    with pytest.raises(BadInputError, match="engine") as raised:
        load_settings(tmp_path)
    assert message in str(raised.value)


def test_a_bad_engine_argument_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(BadInputError, match="unknown engine 'duck'"):
        Recon(tmp_path, engine="duck")
    monkeypatch.setenv("RECON_SPARK_MASTER", " ")
    with pytest.raises(BadInputError, match="RECON_SPARK_MASTER"):
        Recon(tmp_path, engine="spark")
