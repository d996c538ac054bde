import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recon.idindex import EventIdIndex, id_hashes


def _hashes(ids: list[str]) -> pl.Series:
    return pl.DataFrame({"event_id": ids}, schema={"event_id": pl.String}).select(
        id_hashes(pl.col("event_id"))
    )[:, 0]


@given(
    batches=st.lists(st.lists(st.text(max_size=12), max_size=30), max_size=12),
    probes=st.lists(st.text(max_size=12), max_size=30),
)
def test_an_added_id_is_always_found_and_an_absent_one_almost_never(batches, probes):
    index = EventIdIndex()
    for batch in batches:  # more batches than runs kept apart: merging is exercised
        index.add(_hashes(batch))
    added = {i for batch in batches for i in batch}
    assert index.may_hold(_hashes(sorted(added))).all()
    absent = [p for p in probes if p not in added]
    # 64-bit hashes: a false "may hold" among a few hundred ids would be a broken index.
    assert not index.may_hold(_hashes(absent)).any()
    assert len(index) == sum(len(b) for b in batches)


def test_the_index_of_a_lake_holds_its_ids(tmp_path):
    frame = pl.DataFrame({"event_id": [f"e-{n}" for n in range(1000)]})
    frame.write_parquet(tmp_path / "ids.parquet")
    index = EventIdIndex.of(pl.scan_parquet(tmp_path / "ids.parquet"))
    assert len(index) == 1000
    probe = _hashes(["e-0", "e-999", "e-1000", "x"])
    assert index.may_hold(probe).to_list() == [True, True, False, False]


def test_an_empty_index_holds_nothing():
    assert not EventIdIndex().may_hold(_hashes(["a", ""])).any()
