"""Billing rules §2: each raw row is accepted, a duplicate, or quarantined with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from recon.ingest.events import classified_rows, content_columns
from tests.conftest import raw_row


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
    return classified_rows(batch.lazy(), stored.lazy(), catalog).collect()


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
