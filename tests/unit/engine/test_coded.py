"""Ordering coded rows by rank sorts them as their texts sort, in one word of ranks or several."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.engine.coded import CodedIds, Ranked, in_text_order

COLUMNS = ["partner_org_id", "customer_org_id", "user_id", "workspace_id", "package"]
# user_id and workspace_id share one dictionary, as they do in the lake.
SHARED = {"workspace_id": "user_id"}
# Text that sorts by bytes, not as the codes were handed out: "", case, digits, accents.
text = st.text(alphabet=st.sampled_from(list("aAbB0 -é")), max_size=3)


def _coded(rows: list[tuple[str, ...]], padding: int, seed: int) -> tuple[pl.DataFrame, CodedIds]:
    """`rows` coded by dictionaries in a random order, each with `padding` unused texts."""
    rnd = random.Random(seed)
    texts: dict[str, pl.Series] = {}
    for i, column in enumerate(COLUMNS):
        if column in SHARED:
            continue
        seen = {r[i] for r in rows} | {
            r[COLUMNS.index(c)] for r in rows for c, d in SHARED.items() if d == column
        }
        distinct = sorted(seen | {f"unused-{n}" for n in range(padding)})
        rnd.shuffle(distinct)
        texts[column] = pl.Series(distinct, dtype=pl.String)
    for column, shared in SHARED.items():
        texts[column] = texts[shared]
    code = {c: {t: n for n, t in enumerate(texts[c])} for c in COLUMNS}
    coded = pl.DataFrame(
        {c: [code[c][r[i]] for r in rows] for i, c in enumerate(COLUMNS)},
        schema=dict.fromkeys(COLUMNS, pl.UInt32),
    )
    return coded.with_row_index("row"), CodedIds(texts)


def _decoded(coded: pl.DataFrame, ids: CodedIds) -> pl.DataFrame:
    return coded.select(ids.texts[c].gather(coded[c]).alias(c) for c in COLUMNS)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(*[text] * len(COLUMNS)), max_size=30),
    columns=st.permutations(COLUMNS).map(lambda p: p[:4]),
    seed=st.integers(0, 1000),
)
def test_rows_come_out_as_their_texts_sort(rows, columns, seed):
    coded, ids = _coded(rows, padding=0, seed=seed)
    ordered = in_text_order(coded, ids, columns)
    texts = _decoded(ordered, ids)
    assert texts.select(columns).equals(texts.select(columns).sort(columns))
    assert sorted(ordered["row"].to_list()) == list(range(len(rows)))  # every row, once


@pytest.mark.parametrize("padding", [0, 2**14])  # 5 x 15 bits: ranks packed in two words
def test_every_column_decides_when_the_ranks_span_words(padding):
    rnd = random.Random(padding)
    rows = [tuple(rnd.choice(["", "a", "b", "B"]) for _ in COLUMNS) for _ in range(400)]
    coded, ids = _coded(rows, padding, seed=3)
    texts = _decoded(in_text_order(coded, ids, COLUMNS), ids)
    expected = pl.DataFrame(rows, schema=COLUMNS, orient="row").sort(COLUMNS)
    assert texts.equals(expected)


def test_no_columns_leave_the_rows_alone_and_attributes_cannot_order():
    coded, ids = _coded([("b", "", "x", "", "p"), ("a", "", "y", "", "p")], 0, seed=1)
    assert in_text_order(coded, ids, []).equals(coded)
    with pytest.raises(ValueError, match="coded id columns"):
        in_text_order(coded, ids, ["partner_name"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=4), unique=True, max_size=30))
def test_ranks_from_a_stored_text_order_equal_ranks_sorted_here(texts):
    dictionary = pl.Series(texts, dtype=pl.String)
    sorted_here = Ranked(dictionary)
    stored = Ranked(dictionary, dictionary.arg_sort().cast(pl.UInt32))
    assert stored.rank.equals(sorted_here.rank)
    assert stored.code.equals(sorted_here.code)
    assert stored.texts.to_list() == sorted({*texts, ""})
    assert stored.rank.len() == len({*texts, ""})  # "" is always ranked, first


@given(st.lists(st.text(max_size=4), unique=True, min_size=2, max_size=30), st.randoms())
def test_a_checked_stored_order_that_is_wrong_is_sorted_again(texts, random):
    dictionary = pl.Series(texts, dtype=pl.String)
    codes = list(range(len(texts)))
    random.shuffle(codes)
    wrong = pl.Series(codes, dtype=pl.UInt32)
    sorted_here = Ranked(dictionary)
    checked = Ranked(dictionary, wrong, checked=True)
    assert checked.rank.equals(sorted_here.rank)
    assert checked.texts.to_list() == sorted({*texts, ""})
    right = Ranked(dictionary, dictionary.arg_sort().cast(pl.UInt32), checked=True)
    assert "texts" in vars(right)  # taken as checked (its texts gathered), not sorted again
    assert right.rank.equals(sorted_here.rank) and right.texts.equals(sorted_here.texts)
    if not dictionary.gather(wrong).is_sorted():  # unchecked, a wrong order is taken as is
        assert not Ranked(dictionary, wrong).texts.is_sorted()
