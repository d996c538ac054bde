"""The two readings of `occurred_at`: the common forms at once, every form the long way."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.ingest.instants import NAIVE_TIMESTAMP_PATTERN, common_instant, parsed_instant

_DATES = st.sampled_from(["2026-03-01", "2024-02-29", "2026-02-30", "2026-3-01", "26-03-01"])
_SEPARATORS = st.sampled_from(["T", "t", " ", "", "x"])
_TIMES = st.sampled_from(
    ["10:00:00", "10:00", "10:00:00.5", "10:00:00.123456789", "1:00:00", "24:00:00", "10"]
)
_OFFSETS = st.sampled_from(
    ["Z", "z", "+00:00", "-04:00", "+05:30", "+0530", "+05", "+5", "-00:00", "+24:00", "", " Z"]
)


@settings(max_examples=300)
@given(st.lists(st.tuples(_DATES, _SEPARATORS, _TIMES, _OFFSETS), min_size=1, max_size=20))
def test_the_common_reading_agrees_with_the_long_one_wherever_it_reads(parts):
    texts = ["".join(p) for p in parts]
    read = pl.DataFrame({"t": texts}).select(
        common=common_instant("t"),
        long=parsed_instant("t"),
        naive=pl.col("t").str.contains(NAIVE_TIMESTAMP_PATTERN),
    )
    for common, long, naive in read.iter_rows():
        assert common is None or common == long
        assert common is None or not naive  # a local time is never read as UTC


def test_the_common_forms_are_read_at_once():
    texts = ["2026-10-01T20:14:06.000000Z", "2026-10-01T13:25:26-04:00", "2026-10-01T06:24:55+05"]
    read = pl.DataFrame({"t": texts}).select(common_instant("t"), parsed_instant("t").alias("l"))
    assert read["t"].null_count() == 0
    assert read["t"].to_list() == read["l"].to_list()
