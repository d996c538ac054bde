"""Compaction merges the lake's part files and changes no answer (§8: lineage survives it)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.home.layout import event_files
from recon.ingest import compact
from recon.ingest.lake import scan_events
from recon.reports.model import ReportRequest
from tests.conftest import SAMPLE

OCTOBER = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))


def _stored(rc: Recon) -> pl.DataFrame:
    """Every stored row with every column (ingest_id and source too), in a stable order."""
    return scan_events(rc.layout).collect().sort("event_id")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample ingested in two batches of small parts: many files per event date."""
    home = tmp_path_factory.mktemp("fragmented") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECON_INGEST_BATCH_ROWS", "150")
        patch.setenv("RECON_NOW", "2026-11-21T12:00:00Z")
        rc = Recon(home)
        files = sorted(SAMPLE.iterdir())
        rc.ingest(files[: len(files) // 2])
        patch.setenv("RECON_NOW", "2026-11-22T12:00:00Z")
        rc.ingest(files[len(files) // 2 :])
    return home


@pytest.fixture
def fragmented(template: Path, tmp_path: Path) -> Recon:
    """A copy of the fragmented home (a home is relocatable)."""
    shutil.copytree(template, tmp_path / "home")
    return Recon(tmp_path / "home")


def test_compaction_leaves_one_file_per_event_date_and_every_row_as_it_was(fragmented):
    before = _stored(fragmented)
    files_before = len(event_files(fragmented.layout))
    partitions = len(list(fragmented.layout.events.glob("event_date=*")))
    assert files_before > partitions
    result = fragmented.compact()
    assert (result.files_before, result.files_after) == (files_before, partitions)
    assert len(event_files(fragmented.layout)) == partitions
    assert _stored(fragmented).equals(before)  # ingest_id, source_file, source_row kept
    assert fragmented.compact().compacted == []  # nothing left to do
    assert not (fragmented.layout.root / ".compact").exists()


def test_reports_lineage_and_as_known_on_are_the_same_after_compaction(fragmented, monkeypatch):
    monkeypatch.setenv("RECON_NOW", "2026-11-23T00:00:00Z")
    current = fragmented.create_report(OCTOBER)
    known_on = ReportRequest(
        type="USER",
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
        as_known_on=datetime(2026, 11, 21, 18, tzinfo=UTC),
    )
    earlier = fragmented.create_report(known_on)
    csvs = [Path(r.csv_path or "").read_text() for r in (current, earlier)]
    fragmented.compact()
    for report in (current, earlier):
        fragmented.delete_report(report.id)
    again = [fragmented.create_report(OCTOBER), fragmented.create_report(known_on)]
    assert [r.total_quantity for r in again] == [current.total_quantity, earlier.total_quantity]
    assert current.total_quantity != earlier.total_quantity  # the second ingest mattered
    assert [Path(r.csv_path or "").read_text() for r in again] == csvs


def test_the_fallback_without_an_atomic_exchange_gives_the_same_lake(fragmented, monkeypatch):
    before = _stored(fragmented)
    monkeypatch.setattr(compact, "_exchange", lambda a, b: False)
    fragmented.compact()
    assert _stored(fragmented).equals(before)


def test_a_partition_cut_between_the_two_fallback_renames_is_moved_back_in(fragmented):
    before = _stored(fragmented)
    partition = sorted(fragmented.layout.events.glob("event_date=*"))[3]
    job = fragmented.layout.root / ".compact" / partition.name
    job.mkdir(parents=True)
    partition.replace(job / "new")  # as if killed after moving the old folder away
    assert _stored(fragmented).height < before.height
    fragmented.compact()  # any writer settles it first
    assert _stored(fragmented).equals(before)
    assert not job.exists()


def test_a_merged_folder_left_before_the_swap_is_discarded(fragmented):
    before = _stored(fragmented)
    partition = sorted(fragmented.layout.events.glob("event_date=*"))[3]
    job = fragmented.layout.root / ".compact" / partition.name / "new"
    job.mkdir(parents=True)
    pl.read_parquet(next(partition.glob("*.parquet"))).write_parquet(job / "part-x.parquet")
    assert _stored(fragmented).equals(before)  # readers never look there
    fragmented.compact()
    assert _stored(fragmented).equals(before)


def test_events_ingested_again_after_compaction_are_duplicates_not_new_rows(fragmented, tmp_path):
    """The id index is rebuilt from the compacted files: nothing is stored twice."""
    fragmented.compact()
    before = _stored(fragmented).height
    again = tmp_path / "again.csv"  # another file (another digest) holding stored events
    lines = (SAMPLE / "events-2026-09-01.csv").read_text().splitlines(keepends=True)
    again.write_text("".join(lines[:50]))
    result = fragmented.ingest([again])
    assert (result.rows_read, result.accepted, result.duplicates) == (49, 0, 49)
    assert _stored(fragmented).height == before
