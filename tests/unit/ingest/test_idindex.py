from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recon.ingest.idindex import EventIdIndex, id_hashes


def _hashes(ids: list[str]) -> pl.Series:
    return pl.DataFrame({"event_id": ids}, schema={"event_id": pl.String}).select(
        id_hashes(pl.col("event_id"))
    )[:, 0]


@given(
    batches=st.lists(st.lists(st.text(max_size=12), max_size=30), max_size=12),
    probes=st.lists(st.text(max_size=12), max_size=30),
)
def test_an_added_id_is_always_found_in_its_file_and_an_absent_one_almost_never(batches, probes):
    index = EventIdIndex()
    for number, batch in enumerate(batches):  # more batches than runs kept apart: merges happen
        index.add_files([(Path(f"file-{number}"), _hashes(batch))])
    added = {i for batch in batches for i in batch}
    for number, batch in enumerate(batches):
        for event_id in batch:
            assert Path(f"file-{number}") in index.files_for(_hashes([event_id]))
    absent = [p for p in probes if p not in added]
    # 64-bit hashes: a file named for an absent id among a few hundred would be a broken index.
    assert index.files_for(_hashes(absent)) == []
    assert len(index) == sum(len(b) for b in batches)


def test_the_index_of_lake_files_points_each_id_at_its_files(tmp_path):
    files = []
    for number in range(3):
        path = tmp_path / f"part-{number}.parquet"
        pl.DataFrame(
            {"event_id": [f"e-{number}-{n}" for n in range(500)] + ["shared"]}
        ).write_parquet(path)
        files.append(path)
    index = EventIdIndex.of(files)
    assert len(index) == 1503
    assert index.files_for(_hashes(["e-0-0"])) == [files[0]]
    assert index.files_for(_hashes(["e-3-0", "x"])) == []
    assert index.files_for(_hashes(["e-2-499", "x"])) == [files[2]]
    assert index.files_for(_hashes(["shared"])) == files
    assert index.files_for(_hashes(["e-1-1", "e-0-7"])) == [files[0], files[1]]


def test_an_empty_index_holds_nothing():
    assert EventIdIndex().files_for(_hashes(["a", ""])) == []
    assert EventIdIndex.of([]).files_for(_hashes(["a"])) == []
