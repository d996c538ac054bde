"""The log generator: deterministic, realistic, and honest about the mess it injects."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from recon.synth.generate import GeneratorSpec, generate


def _read(folder) -> pl.DataFrame:
    frames = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            frames.append(pl.read_csv(path, infer_schema=False))
        elif path.suffix == ".jsonl":
            frames.append(pl.read_ndjson(path))
        elif path.suffix == ".parquet":
            frames.append(pl.read_parquet(path))
    return pl.concat(frames, how="vertical_relaxed")


SPEC = GeneratorSpec(
    start=date(2026, 3, 1), end=date(2026, 3, 31), subjects=400, customers=20, seed=11
)


def test_same_seed_same_files(tmp_path):
    generate(tmp_path / "a", SPEC)
    generate(tmp_path / "b", SPEC)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        if not name.endswith(".parquet"):
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert _read(tmp_path / "a").equals(_read(tmp_path / "b"))


def test_mixed_format_writes_all_three_and_a_manifest(tmp_path):
    result = generate(tmp_path, SPEC)
    suffixes = {p.suffix for p in tmp_path.iterdir()}
    assert suffixes == {".csv", ".jsonl", ".parquet", ".json"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["events"] == result.events == _read(tmp_path).height
    assert set(manifest["injected"]) == {
        "exact_duplicates",
        "conflicting_duplicates",
        "orphan_unassigns",
        "naive_timestamps",
        "unknown_packages",
        "late_arrivals",
        "repeated_assigns",
    }


def test_logs_hold_the_realistic_mix(tmp_path):
    generate(
        tmp_path,
        GeneratorSpec(start=date(2026, 3, 1), end=date(2026, 4, 30), subjects=3000, seed=3),
    )
    rows = _read(tmp_path)
    assert set(rows["action"].unique()) == {"ASSIGN", "UNASSIGN"}
    assert {"COMMON_AREA_CALLING", "WEBEX_CALLING", "ATTENDANT_CONSOLE", "CALL_RECORDING"} <= set(
        rows["package"]
    )
    assert rows.filter(pl.col("workspace_id") != "").height > 0
    assert rows.filter(pl.col("sub_partner_org_id") != "").height > 0
    # Offsets of DST zones appear in the timestamps (Stockholm in summer time, New York).
    assert rows.filter(pl.col("occurred_at").str.ends_with("+02:00")).height > 0
    assert rows.filter(pl.col("occurred_at").str.ends_with("-04:00")).height > 0


def test_no_mess_means_every_row_is_clean(tmp_path):
    from recon.api import Recon

    generate(
        tmp_path / "logs",
        GeneratorSpec(
            start=date(2026, 3, 1), end=date(2026, 3, 10), subjects=200, mess_rate=0.0, seed=5
        ),
    )
    result = Recon(tmp_path / "home").ingest([tmp_path / "logs"])
    assert (result.duplicates, result.quarantined) == (0, 0)
    assert result.accepted == result.rows_read > 200


def test_large_runs_are_generated_in_blocks_with_unique_ids(tmp_path, monkeypatch):
    import recon.synth.generate as generator

    monkeypatch.setattr(generator, "SUBJECTS_PER_BLOCK", 100)
    spec = GeneratorSpec(
        start=date(2026, 3, 1),
        end=date(2026, 3, 20),
        subjects=350,
        customers=10,
        mess_rate=0.0,
        seed=4,
        format="csv",
    )
    result = generate(tmp_path / "logs", spec)
    names = {p.name for p in (tmp_path / "logs").glob("*.csv")}
    assert {n.rsplit("-b", 1)[1][:3] for n in names} == {"000", "001", "002", "003"}
    rows = _read(tmp_path / "logs")
    assert rows.height == result.events
    assert rows["event_id"].n_unique() == rows.height
    subjects = set(rows["user_id"].to_list()) | set(rows["workspace_id"].to_list())
    assert len(subjects - {""}) == 350
    from recon.api import Recon

    ingested = Recon(tmp_path / "home").ingest([tmp_path / "logs"])
    assert (ingested.accepted, ingested.quarantined) == (result.events, 0)


def test_reassignments_set_the_event_density_without_anomalies(tmp_path):
    from dataclasses import replace

    from recon.core.resources import default_catalog
    from recon.engine.intervals import assignment_anomalies
    from recon.ingest.catalog import load_catalog

    dense = replace(SPEC, subjects=2000, mess_rate=0.0, reassignments_per_month=0.75)
    sparse = replace(dense, reassignments_per_month=0.0)
    many = generate(tmp_path / "dense", dense).events
    few = generate(tmp_path / "sparse", sparse).events
    # The lifecycle gives ~1.5 events per subject in a month; 0.75 pairs add ~1.5 more.
    assert 2.6 < many / dense.subjects < 3.4
    assert 1.2 < few / sparse.subjects < 1.9
    events = _read(tmp_path / "dense").with_columns(
        occurred_at=pl.col("occurred_at").str.to_datetime(time_zone="UTC", time_unit="us")
    )
    anomalies = assignment_anomalies(events.lazy(), load_catalog(default_catalog())).collect()
    # Suspend/resume pairs sit strictly inside a holding: no orphan, no duplicate ASSIGN.
    assert set(anomalies["anomaly"].to_list()) <= {"IMPLICIT_PACKAGE_CHANGE"}
