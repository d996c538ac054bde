"""Billing rules §2: each raw row is accepted, a duplicate, or quarantined with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.ingest.catalog import load_catalog
from recon.ingest.events import classified_rows, content_columns
from tests.conftest import CATALOG_PATH, raw_row


def classify(
    rows: list[dict[str, str]], catalog: pl.DataFrame, stored: pl.DataFrame | None = None
) -> pl.DataFrame:
    batch = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)).with_columns(
        _seq=pl.int_range(0, len(rows), dtype=pl.Int64),
        _source_file=pl.lit("f.csv"),
        _source_row=pl.int_range(1, len(rows) + 1, dtype=pl.Int64),
        _original=pl.lit("{}"),
    )
    if stored is None:
        stored = pl.DataFrame(
            schema={
                c: (pl.Datetime("us", "UTC") if c == "occurred_at" else pl.String)
                for c in content_columns()
            }
        )
    return classified_rows(batch, stored, catalog)


def outcome(
    rows: list[dict[str, str]], catalog: pl.DataFrame, **kw: Any
) -> list[tuple[str, str | None]]:
    out = classify(rows, catalog, **kw)
    return list(zip(out["status"], out["reason"], strict=True))


def test_a_valid_row_is_accepted_and_sku_is_filled_from_the_catalog(catalog):
    out = classify([raw_row()], catalog)
    assert out["status"].to_list() == ["ACCEPTED"]
    assert out["sku"].to_list() == ["PLACEHOLDER-SKU-CAL-0003"]
    assert out["occurred_at"].to_list() == [datetime(2026, 3, 1, 10, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T11:00:00+01:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01 05:00:00-0500", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T12:00:00+02", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00.123456789Z", datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_instants_with_an_offset_are_accepted(catalog, text, instant):
    out = classify([raw_row(occurred_at=text)], catalog)
    assert out["status"].to_list() == ["ACCEPTED"]
    assert out["occurred_at"].to_list() == [instant]


@pytest.mark.parametrize(
    ("fields", "reason", "detail"),
    [
        ({"occurred_at": "2026-03-01T10:00:00"}, "NAIVE_TIMESTAMP", "has no UTC offset"),
        ({"occurred_at": "2026-03-01"}, "NAIVE_TIMESTAMP", "has no UTC offset"),
        ({"occurred_at": "yesterday"}, "INVALID_TIMESTAMP", "is not an ISO 8601 instant"),
        (
            {"occurred_at": "2026-02-30T10:00:00Z"},
            "INVALID_TIMESTAMP",
            "is not an ISO 8601 instant",
        ),
        ({"occurred_at": "1999-12-31T23:59:59Z"}, "TIMESTAMP_OUT_OF_RANGE", "outside the years"),
        ({"occurred_at": ""}, "MISSING_FIELD", "occurred_at"),
        ({"event_id": ""}, "MISSING_FIELD", "event_id"),
        ({"customer_org_id": " "}, "MISSING_FIELD", "customer_org_id"),
        ({"partner_org_id": ""}, "MISSING_FIELD", "partner_org_id"),
        ({"partner_name": ""}, "MISSING_FIELD", "partner_name"),
        ({"subscription_id": ""}, "MISSING_FIELD", "subscription_id"),
        ({"action": ""}, "MISSING_FIELD", "action"),
        ({"package": ""}, "MISSING_FIELD", "package"),
        ({"action": "REMOVE"}, "INVALID_ACTION", "'REMOVE' is not one of ASSIGN, UNASSIGN"),
        ({"package": "WEBEX_CALLING_PLUS"}, "UNKNOWN_PACKAGE", "not in the catalog"),
        ({"sku": "WRONG-SKU"}, "SKU_MISMATCH", "does not match the catalog"),
        ({"workspace_id": "w1"}, "INVALID_SUBJECT", "both user_id and workspace_id"),
        ({"user_id": ""}, "INVALID_SUBJECT", "neither user_id nor workspace_id"),
        (
            {"user_id": "", "workspace_id": "w1", "subscriber_id": "s1"},
            "INVALID_SUBJECT",
            "subscriber_id",
        ),
        ({"partner_org_id": "x" * 201}, "FIELD_TOO_LONG", "201 characters"),
    ],
)
def test_bad_rows_are_quarantined_with_a_specific_reason(catalog, fields, reason, detail):
    out = classify([raw_row(**fields)], catalog)
    assert out["status"].to_list() == ["QUARANTINED"]
    assert out["reason"].to_list() == [reason]
    assert detail in out["detail"][0]


def test_a_matching_sku_is_accepted(catalog):
    assert outcome([raw_row(sku="PLACEHOLDER-SKU-CAL-0003")], catalog) == [("ACCEPTED", None)]


def test_surrounding_spaces_are_trimmed(catalog):
    out = classify([raw_row(action=" ASSIGN ", package="WEBEX_CALLING  ")], catalog)
    assert out["status"].to_list() == ["ACCEPTED"]
    assert out["package"].to_list() == ["WEBEX_CALLING"]


def test_repeated_identical_row_in_a_batch_is_a_duplicate(catalog):
    assert outcome([raw_row(), raw_row()], catalog) == [("ACCEPTED", None), ("DUPLICATE", None)]


def test_same_instant_written_with_another_offset_is_still_a_duplicate(catalog):
    rows = [raw_row(), raw_row(occurred_at="2026-03-01T11:00:00+01:00")]
    assert outcome(rows, catalog) == [("ACCEPTED", None), ("DUPLICATE", None)]


def test_repeated_event_id_with_other_content_is_a_conflicting_duplicate(catalog):
    rows = [raw_row(), raw_row(action="UNASSIGN"), raw_row()]
    out = classify(rows, catalog)
    assert list(zip(out["status"], out["reason"], strict=True)) == [
        ("ACCEPTED", None),
        ("QUARANTINED", "CONFLICTING_DUPLICATE"),
        ("DUPLICATE", None),
    ]
    assert out["detail"][1] == "event_id 'e1' appears earlier in this ingest with different content"


def test_first_valid_row_of_an_event_id_wins_even_after_an_invalid_one(catalog):
    rows = [raw_row(occurred_at="2026-03-01T10:00:00"), raw_row()]
    assert outcome(rows, catalog) == [("QUARANTINED", "NAIVE_TIMESTAMP"), ("ACCEPTED", None)]


def test_rows_already_in_the_lake_are_duplicates_or_conflicts(catalog):
    stored = classify([raw_row(event_id="e1"), raw_row(event_id="e2")], catalog).select(
        content_columns()
    )
    rows = [
        raw_row(event_id="e1"),
        raw_row(event_id="e2", package="WEBEX_SUITE"),
        raw_row(event_id="e3"),
    ]
    out = classify(rows, catalog, stored=stored)
    assert list(zip(out["status"], out["reason"], strict=True)) == [
        ("DUPLICATE", None),
        ("QUARANTINED", "CONFLICTING_DUPLICATE"),
        ("ACCEPTED", None),
    ]
    assert out["detail"][1] == "event_id 'e2' is already stored with different content"


def test_missing_optional_columns_are_empty_values(catalog):
    row = {k: v for k, v in raw_row().items() if k not in {"sku", "license_id", "location_id"}}
    out = classify([row], catalog)
    assert out["status"].to_list() == ["ACCEPTED"]
    assert out.select("license_id", "location_id").row(0) == ("", "")


# ----------------------------------------------------------- a batch against a row-by-row reference

# Forms read at once (the common ones) and forms read the long way, mixed in one batch.
_INSTANTS = [
    "2026-03-01T10:00:00Z",
    "2026-03-01T11:00:00+01:00",
    "2026-03-01 10:00:00Z",
    "2026-03-01t05:00-0500",
    "2026-03-01T12:00:00+02",
    "2026-03-01T10:00:00.5Z",
    "2026-03-01T10:00:00",
    "2026-03-01",
    "March 1st",
]


@st.composite
def _batches(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        row = raw_row(
            event_id=f"e{draw(st.integers(min_value=0, max_value=6))}",
            occurred_at=draw(st.sampled_from(_INSTANTS)),
            action=draw(st.sampled_from(["ASSIGN", "UNASSIGN", "REMOVE"])),
            package=draw(st.sampled_from(["WEBEX_CALLING", "WEBEX_SUITE", "NO_SUCH"])),
        )
        rows.append(row)
    return rows


def _reference(
    rows: list[dict[str, str]], catalog: pl.DataFrame, stored: pl.DataFrame
) -> list[tuple[object, ...]]:
    """Status, reason and instant of each row, worked out one row at a time in order."""
    content = content_columns()
    known = {r["event_id"]: r for r in stored.select(content).iter_rows(named=True)}
    first: dict[str, dict[str, object]] = {}
    out: list[tuple[object, ...]] = []
    for row in rows:
        alone = classify([row], catalog).row(0, named=True)
        mine = {c: alone[c] for c in content}
        if alone["reason"] is not None:
            out.append(("QUARANTINED", alone["reason"], None))
        elif row["event_id"] in known or row["event_id"] in first:
            earlier = known.get(row["event_id"]) or first[row["event_id"]]
            conflict = None if earlier == mine else "CONFLICTING_DUPLICATE"
            status = "DUPLICATE" if conflict is None else "QUARANTINED"
            out.append((status, conflict, mine["occurred_at"]))
        else:
            first[row["event_id"]] = mine
            out.append(("ACCEPTED", None, mine["occurred_at"]))
    return out


@settings(max_examples=60, deadline=None)
@given(_batches(), st.sets(st.integers(min_value=0, max_value=6)))
def test_a_batch_classifies_like_its_rows_one_by_one_in_order(rows, stored_ids):
    """Mixed forms and repeats in one batch: each row as if classified alone, in order.

    The batch reads common timestamps and the rest separately and settles only invalid,
    stored and repeated rows the long way; this holds every row to the plain rule.
    """
    catalog = load_catalog(CATALOG_PATH)
    stored = classify(
        [raw_row(event_id=f"e{i}", action="UNASSIGN" if i % 2 else "ASSIGN") for i in stored_ids]
        or [raw_row()],
        catalog,
    ).filter(pl.col("event_id").is_in([f"e{i}" for i in stored_ids]))
    out = classify(rows, catalog, stored=stored.select(content_columns()))
    assert out.height == len(rows)
    assert out["_seq"].to_list() == list(range(len(rows)))
    assert list(out.select("status", "reason", "occurred_at").iter_rows()) == _reference(
        rows, catalog, stored
    )
