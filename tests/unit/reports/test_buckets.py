"""Spilled usage split into buckets of its order words: every row once, the buckets in order."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.reports.buckets import KeyBuckets, bucket_frames, cut_points
from recon.reports.usage import SpilledUsage

_WORD = st.integers(min_value=0, max_value=2**64 - 1)


def _slice(rows: list[tuple[int, int]], first_id: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "partner_org_id": [f"p{w0 % 3}" for w0, _ in rows],
            "partner_name": ["slice name"] * len(rows),
            "row": list(range(first_id, first_id + len(rows))),
            "_order0": [w0 for w0, _ in rows],
            "_order1": [w1 for _, w1 in rows],
        },
        schema={
            "partner_org_id": pl.String,
            "partner_name": pl.String,
            "row": pl.Int64,
            "_order0": pl.UInt64,
            "_order1": pl.UInt64,
        },
    )


@settings(max_examples=40, deadline=None)
@given(
    slices=st.lists(
        st.lists(st.tuples(st.integers(0, 20) | _WORD, _WORD), max_size=40), min_size=1, max_size=5
    ),
    count=st.integers(1, 6),
)
def test_buckets_are_ranges_of_the_words_and_hold_every_row_once(slices, count):
    frames, first = [], 0
    for rows in slices:
        frames.append(_slice(rows, first))
        first += len(rows)
    with tempfile.TemporaryDirectory() as folder:
        written = KeyBuckets(Path(folder), count)
        for frame in frames:
            written.add(frame)
        everything = pl.concat(frames)
        if written.buckets():
            assert written.words == ("_order0", "_order1")
            assert len(written.buckets()) == written.count == count
            names = pl.DataFrame({"partner_org_id": ["p1"], "partner_name": ["across"]})
            got = pl.concat(
                list(bucket_frames(written.buckets(), written.words, names)), how="vertical"
            )
            words = everything.sort("_order0", "_order1")
            # in word order (rows with equal words in either order), each row once
            in_got_order = got.join(everything, on="row", maintain_order="left")
            assert in_got_order[["_order0", "_order1"]].equals(words[["_order0", "_order1"]])
            assert sorted(got["row"]) == sorted(everything["row"])
            assert "_order0" not in got.columns
            assert set(got.filter(pl.col("partner_org_id") == "p1")["partner_name"]) <= {"across"}
            assert set(got.filter(pl.col("partner_org_id") != "p1")["partner_name"]) <= {
                "slice name"
            }
        # every part is a bucket's file, or (an empty slice, or after rows without words) not
        files = {p for b in written.buckets() for p in b}
        assert files <= set(written.parts)
        if written.buckets():  # the only other parts are those of empty slices
            assert all(pl.read_parquet(p).is_empty() for p in set(written.parts) - files)
        stored = pl.concat([pl.read_parquet(p) for p in written.parts], how="diagonal")
        assert sorted(stored["row"]) == sorted(everything["row"])


def test_each_bucket_is_below_the_next():
    rows = [(w, 0) for w in range(1000)]
    with tempfile.TemporaryDirectory() as folder:
        written = KeyBuckets(Path(folder), 4)
        written.add(_slice(rows[::2], 0))  # the first slice fixes the cut points
        written.add(_slice(rows[1::2], 500))
        ranges = [pl.read_parquet(list(files))["_order0"].to_list() for files in written.buckets()]
    assert [len(r) for r in ranges] == [250, 250, 250, 250]
    assert all(max(a) < min(b) for a, b in itertools.pairwise(ranges))
    assert all(len(files) == 2 for files in written.buckets())


def test_cut_points_split_a_sample_evenly():
    assert cut_points(pl.Series(range(100), dtype=pl.UInt64).reverse(), 4).to_list() == [25, 50, 75]
    assert cut_points(pl.Series([7] * 10, dtype=pl.UInt64), 3).to_list() == [7, 7]
    assert cut_points(pl.Series([1, 2], dtype=pl.UInt64), 1).to_list() == []


def test_rows_without_words_end_the_bucketing_and_every_row_is_still_read(tmp_path):
    written = KeyBuckets(tmp_path, 3)
    written.add(_slice([(5, 1), (9, 2), (1, 3)], 0))
    written.add(_slice([(4, 4)], 3).drop("_order0", "_order1"))  # the text kernel's rows
    written.add(_slice([(2, 5)], 4))
    assert written.buckets() == ()
    assert written.words == ("_order0", "_order1")  # the first slice's bucket files hold them
    names = pl.DataFrame({"partner_org_id": ["p1"], "partner_name": ["across"]})
    usage = SpilledUsage(tmp_path, tuple(written.parts), names, (), written.words)
    rows = usage.frame()
    assert sorted(rows["row"]) == [0, 1, 2, 3, 4]
    assert not any(c.startswith("_order") for c in rows.columns)
    assert rows.filter(pl.col("partner_org_id") == "p1")["partner_name"].to_list() == ["across"] * 2


def test_an_empty_slice_without_words_keeps_the_bucketing(tmp_path):
    written = KeyBuckets(tmp_path, 2)
    written.add(_slice([(5, 1), (9, 2)], 0))
    written.add(_slice([], 2).drop("_order0", "_order1"))  # no events: the text kernel's
    written.add(_slice([(2, 5)], 2))
    assert len(written.buckets()) == 2
    names = pl.DataFrame(schema={"partner_org_id": pl.String, "partner_name": pl.String})
    got = pl.concat(list(bucket_frames(written.buckets(), written.words, names)))
    assert got["row"].to_list() == [2, 0, 1]
    usage = SpilledUsage(tmp_path, tuple(written.parts), names, written.buckets(), written.words)
    assert sorted(usage.frame()["row"]) == [0, 1, 2]
