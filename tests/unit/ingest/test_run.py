"""Ingest into a real Parquet lake and DuckDB store: counts add up, nothing vanishes."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime

import polars as pl

from recon.api import Recon
from recon.ingest.codes import code_columns, verify_codes
from recon.ingest.lake import scan_events, scan_quarantine
from tests.conftest import CATALOG_PATH, SAMPLE, raw_row


def _lake(rc: Recon) -> pl.DataFrame:
    """The stored events without lineage and codes (which depend on batch order)."""
    return scan_events(rc.layout).drop("ingest_id", *code_columns()).collect().sort("event_id")


def test_counts_add_up_and_bad_rows_are_kept_with_their_reason(home, write_csv):
    path = write_csv(
        "day1.csv",
        [
            raw_row(event_id="e1"),
            raw_row(event_id="e1"),  # exact duplicate
            raw_row(event_id="e2", occurred_at="2026-03-01T10:00:00"),  # naive
            raw_row(event_id="e3", package="NOPE"),
            raw_row(event_id="e1", action="UNASSIGN"),  # conflicting duplicate
        ],
    )
    rc = Recon(home)
    result = rc.ingest([path])
    assert (result.rows_read, result.accepted, result.duplicates, result.quarantined) == (
        5,
        1,
        1,
        3,
    )
    assert result.reasons == {
        "CONFLICTING_DUPLICATE": 1,
        "NAIVE_TIMESTAMP": 1,
        "UNKNOWN_PACKAGE": 1,
    }
    quarantine = scan_quarantine(rc.layout).collect().sort("source_row")
    assert quarantine.select("source_row", "event_id", "reason").rows() == [
        (3, "e2", "NAIVE_TIMESTAMP"),
        (4, "e3", "UNKNOWN_PACKAGE"),
        (5, "e1", "CONFLICTING_DUPLICATE"),
    ]
    original = json.loads(quarantine["original"][0])
    assert original["occurred_at"] == "2026-03-01T10:00:00"
    assert quarantine["source_file"].to_list() == [str(path)] * 3


def test_reingesting_changes_nothing(home, write_csv):
    path = write_csv("day1.csv", [raw_row(event_id="e1"), raw_row(event_id="e2", action="X")])
    rc = Recon(home)
    rc.ingest([path])
    lake_before = _lake(rc)
    again = rc.ingest([path])
    assert (again.rows_read, again.accepted, again.duplicates, again.quarantined) == (2, 0, 1, 1)
    assert _lake(rc).equals(lake_before)
    assert scan_quarantine(rc.layout).collect().height == 1


def test_the_same_rows_under_a_new_file_name_are_duplicates(home, write_csv, tmp_path):
    path = write_csv("day1.csv", [raw_row(event_id="e1"), raw_row(event_id="e2", action="X")])
    rc = Recon(home)
    rc.ingest([path])
    copy = tmp_path / "renamed.csv"
    shutil.copyfile(path, copy)
    again = rc.ingest([copy])
    assert (again.accepted, again.duplicates, again.quarantined) == (0, 1, 1)
    assert scan_quarantine(rc.layout).collect().height == 1


def test_lake_is_partitioned_by_utc_event_date(home, write_csv):
    path = write_csv(
        "d.csv",
        [
            raw_row(event_id="a", occurred_at="2026-03-01T23:30:00-02:00"),  # 2026-03-02 UTC
            raw_row(event_id="b", occurred_at="2026-03-01T00:30:00+01:00"),  # 2026-02-28 UTC
        ],
    )
    rc = Recon(home)
    rc.ingest([path])
    folders = sorted(p.name for p in rc.layout.events.iterdir())
    assert folders == ["event_date=2026-02-28", "event_date=2026-03-02"]
    assert _lake(rc)["occurred_at"].to_list() == [
        datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
    ]


def test_json_lines_and_parquet_are_read_and_bad_json_lines_quarantined(home, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    jsonl = logs / "a.jsonl"
    jsonl.write_text(
        json.dumps(raw_row(event_id="j1"))
        + "\n"
        + "{not json\n\n"
        + json.dumps([1, 2])
        + "\n"
        + json.dumps(raw_row(event_id="j2", license_id=None))
        + "\n",
        encoding="utf-8",
    )
    frame = pl.DataFrame([raw_row(event_id="p1"), raw_row(event_id="p2")]).with_columns(
        occurred_at=pl.Series(
            [datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC)]
        )
    )
    frame.write_parquet(logs / "b.parquet")
    frame.with_columns(
        pl.col("occurred_at").dt.replace_time_zone(None), event_id=pl.Series(["n1", "n2"])
    ).write_parquet(logs / "c.parquet")
    rc = Recon(home)
    result = rc.ingest([logs])
    assert (result.rows_read, result.accepted, result.quarantined) == (8, 4, 4)
    assert result.reasons == {"MALFORMED_ROW": 2, "NAIVE_TIMESTAMP": 2}
    bad = (
        scan_quarantine(rc.layout)
        .filter(pl.col("reason") == "MALFORMED_ROW")
        .collect()
        .sort("source_row")
    )
    assert bad.select("source_row", "original").rows() == [(2, "{not json"), (3, "[1, 2]")]
    assert "not valid JSON" in bad["detail"][0]
    assert sorted(_lake(rc)["event_id"].to_list()) == ["j1", "j2", "p1", "p2"]


def test_an_unreadable_file_is_reported_and_the_others_still_land(home, write_csv, tmp_path):
    good = write_csv("good.csv", [raw_row(event_id="e1")])
    broken = tmp_path / "logs" / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    rc = Recon(home)
    result = rc.ingest([good, broken])
    assert result.accepted == 1
    assert [f.path for f in result.failed_files] == [str(broken)]
    assert "cannot be read as Parquet" in (result.failed_files[0].error or "")


def test_folders_are_walked_and_other_files_are_listed_as_skipped(home, write_csv, tmp_path):
    write_csv("x.csv", [raw_row()])
    (tmp_path / "logs" / "notes.txt").write_text("hello", encoding="utf-8")
    result = Recon(home).ingest([tmp_path / "logs"])
    assert result.accepted == 1
    assert result.skipped == [
        {
            "path": str(tmp_path / "logs" / "notes.txt"),
            "reason": "not a log file (expected .csv, .jsonl, .ndjson, .parquet)",
        }
    ]


def test_the_bundled_sample_ingests_exactly_as_its_manifest_says(tmp_path):
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    injected = manifest["injected"]
    result = Recon(tmp_path / "home").ingest([SAMPLE])
    assert result.rows_read == manifest["events"]
    assert result.rows_read == result.accepted + result.duplicates + result.quarantined
    assert result.duplicates == injected["exact_duplicates"]
    assert result.reasons == {
        "CONFLICTING_DUPLICATE": injected["conflicting_duplicates"],
        "NAIVE_TIMESTAMP": injected["naive_timestamps"],
        "UNKNOWN_PACKAGE": injected["unknown_packages"],
    }


def test_store_views_show_the_lake_and_the_ledger(home, write_csv):
    path = write_csv("d.csv", [raw_row(event_id="e1"), raw_row(event_id="e2", action="NOPE")])
    rc = Recon(home)
    rc.ingest([path])
    assert rc.sql("SELECT count(*) AS n FROM events").item() == 1
    assert rc.sql("SELECT reason FROM quarantine").item() == "INVALID_ACTION"
    assert rc.sql("SELECT count(*) FROM intervals").item() == 1
    assert rc.sql("SELECT rows_read, accepted, quarantined FROM ingested_files").row(0) == (2, 1, 1)


def test_the_ledger_keeps_each_files_digest(home, write_csv):
    path = write_csv("d.csv", [raw_row(event_id="e1")])
    result = Recon(home).ingest([path])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.files[0].sha256 == expected
    assert Recon(home).sql("SELECT sha256 FROM ingested_files").item() == expected


def test_missing_path_is_reported(home, tmp_path):
    result = Recon(home).ingest([tmp_path / "nowhere"])
    assert result.files == []
    assert result.skipped == [
        {"path": str(tmp_path / "nowhere"), "reason": "no such file or folder"}
    ]


def test_catalog_is_seeded_into_a_new_home(home):
    rc = Recon(home)
    assert rc.catalog().height == 8
    assert (home / "catalog.csv").read_text() == (CATALOG_PATH).read_text()


def test_small_batches_find_every_earlier_copy_through_the_id_index(tmp_path, monkeypatch):
    # 97-row batches: the sample's duplicates sit in other batches, files and event dates
    # than their first copies, so each must be found through the index's file pointers.
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    whole = Recon(tmp_path / "whole")
    whole.ingest([SAMPLE])
    monkeypatch.setenv("RECON_INGEST_BATCH_ROWS", "97")
    rc = Recon(tmp_path / "batched")
    result = rc.ingest([SAMPLE])
    assert result.duplicates == manifest["injected"]["exact_duplicates"]
    assert result.reasons["CONFLICTING_DUPLICATE"] == manifest["injected"]["conflicting_duplicates"]
    assert _lake(rc).sort("event_id").equals(_lake(whole).sort("event_id"))
    assert verify_codes(rc.layout) == []
    again = rc.ingest([SAMPLE])
    assert again.accepted == 0
    assert again.duplicates + again.quarantined == again.rows_read
    assert again.duplicates == result.accepted + result.duplicates
