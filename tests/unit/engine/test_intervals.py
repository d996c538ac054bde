"""Billing rules §3: from events to assignment intervals and anomalies, with literal answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from recon.engine.intervals import (
    INTERVAL_SCHEMA,
    assignment_anomalies,
    assignment_intervals,
    unordered_intervals,
)
from tests.conftest import SAMPLE, events_frame, make_event


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def intervals_of(rows: list[dict[str, Any]], catalog: pl.DataFrame) -> list[tuple[Any, ...]]:
    out = assignment_intervals(events_frame(rows), catalog).collect()
    return [
        (r["package"], r["location_id"], r["license_id"], r["start"], r["end"], r["end_reason"])
        for r in out.sort("start", "package").iter_rows(named=True)
    ]


def anomalies_of(rows: list[dict[str, Any]], catalog: pl.DataFrame) -> list[tuple[str, str]]:
    out = assignment_anomalies(events_frame(rows), catalog).collect()
    return sorted(zip(out["anomaly"], out["event_id"], strict=True))


def test_assign_then_unassign_gives_one_closed_interval(catalog):
    rows = [
        make_event("a", "2026-03-01T10:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-03T12:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-01 10:00"), _at("2026-03-03 12:00"), "UNASSIGN"),
    ]
    assert anomalies_of(rows, catalog) == []


def test_open_interval_has_no_end(catalog):
    rows = [make_event("a", "2026-03-01T10:00:00Z", "ASSIGN", "WEBEX_CALLING")]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-01 10:00"), None, None),
    ]


def test_duplicate_assign_changes_nothing_and_is_flagged(catalog):
    rows = [
        make_event("a", "2026-03-01T10:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-02T10:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("c", "2026-03-04T00:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-01 10:00"), _at("2026-03-04 00:00"), "UNASSIGN"),
    ]
    assert anomalies_of(rows, catalog) == [("DUPLICATE_ASSIGN", "b")]


def test_orphan_unassign_changes_nothing_and_is_flagged(catalog):
    rows = [
        make_event("a", "2026-03-01T10:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-02T10:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("c", "2026-03-03T10:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
        make_event("d", "2026-03-04T10:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-02 10:00"), _at("2026-03-03 10:00"), "UNASSIGN"),
    ]
    assert anomalies_of(rows, catalog) == [("ORPHAN_UNASSIGN", "a"), ("ORPHAN_UNASSIGN", "d")]


def test_implicit_package_change_closes_the_old_base_package(catalog):
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-10T06:00:00Z", "ASSIGN", "WEBEX_SUITE"),
        make_event("c", "2026-03-12T00:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
    ]
    assert intervals_of(rows, catalog) == [
        (
            "WEBEX_CALLING",
            "L1",
            "",
            _at("2026-03-01 00:00"),
            _at("2026-03-10 06:00"),
            "IMPLICIT_PACKAGE_CHANGE",
        ),
        ("WEBEX_SUITE", "L1", "", _at("2026-03-10 06:00"), None, None),
    ]
    # The later UNASSIGN of the already-closed package is an orphan.
    assert anomalies_of(rows, catalog) == [
        ("IMPLICIT_PACKAGE_CHANGE", "b"),
        ("ORPHAN_UNASSIGN", "c"),
    ]


def test_same_base_package_at_another_location_is_an_implicit_change(catalog):
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING", location_id="L1"),
        make_event("b", "2026-03-05T00:00:00Z", "ASSIGN", "WEBEX_CALLING", location_id="L2"),
    ]
    assert intervals_of(rows, catalog) == [
        (
            "WEBEX_CALLING",
            "L1",
            "",
            _at("2026-03-01 00:00"),
            _at("2026-03-05 00:00"),
            "IMPLICIT_PACKAGE_CHANGE",
        ),
        ("WEBEX_CALLING", "L2", "", _at("2026-03-05 00:00"), None, None),
    ]


def test_same_base_package_under_another_license_is_an_implicit_change(catalog):
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING", license_id=""),
        make_event("b", "2026-03-05T00:00:00Z", "ASSIGN", "WEBEX_CALLING", license_id="LIC-9"),
    ]
    assert [(i[2], i[4]) for i in intervals_of(rows, catalog)] == [
        ("", _at("2026-03-05 00:00")),
        ("LIC-9", None),
    ]
    assert anomalies_of(rows, catalog) == [("IMPLICIT_PACKAGE_CHANGE", "b")]


def test_location_move_by_unassign_then_assign_at_one_instant_is_clean(catalog):
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING", location_id="L1"),
        # Same instant: UNASSIGN applies before ASSIGN whatever the event ids say.
        make_event("z", "2026-03-05T08:00:00Z", "UNASSIGN", "WEBEX_CALLING", location_id="L1"),
        make_event("b", "2026-03-05T08:00:00Z", "ASSIGN", "WEBEX_CALLING", location_id="L2"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-01 00:00"), _at("2026-03-05 08:00"), "UNASSIGN"),
        ("WEBEX_CALLING", "L2", "", _at("2026-03-05 08:00"), None, None),
    ]
    assert anomalies_of(rows, catalog) == []


def test_addon_beside_a_base_package_never_conflicts(catalog):
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-02T00:00:00Z", "ASSIGN", "ATTENDANT_CONSOLE"),
        make_event("c", "2026-03-03T00:00:00Z", "ASSIGN", "CALL_RECORDING"),
        make_event("d", "2026-03-04T00:00:00Z", "ASSIGN", "WEBEX_SUITE"),
    ]
    assert intervals_of(rows, catalog) == [
        (
            "WEBEX_CALLING",
            "L1",
            "",
            _at("2026-03-01 00:00"),
            _at("2026-03-04 00:00"),
            "IMPLICIT_PACKAGE_CHANGE",
        ),
        ("ATTENDANT_CONSOLE", "L1", "", _at("2026-03-02 00:00"), None, None),
        ("CALL_RECORDING", "L1", "", _at("2026-03-03 00:00"), None, None),
        ("WEBEX_SUITE", "L1", "", _at("2026-03-04 00:00"), None, None),
    ]
    assert anomalies_of(rows, catalog) == [("IMPLICIT_PACKAGE_CHANGE", "d")]


def test_equal_timestamps_unassign_before_assign_then_event_id(catalog):
    # At one instant: ASSIGN "a" and UNASSIGN "b". UNASSIGN goes first (an orphan), so the
    # ASSIGN opens an interval that stays open.
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-01T00:00:00Z", "UNASSIGN", "WEBEX_CALLING"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-01 00:00"), None, None),
    ]
    assert anomalies_of(rows, catalog) == [("ORPHAN_UNASSIGN", "b")]


def test_two_assigns_at_one_instant_apply_in_event_id_order(catalog):
    # "x1" (SUITE) applies before "x2" (CALLING): the SUITE interval is zero-length and dropped.
    rows = [
        make_event("x2", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("x1", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_SUITE"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_CALLING", "L1", "", _at("2026-03-01 00:00"), None, None),
    ]
    assert anomalies_of(rows, catalog) == [("IMPLICIT_PACKAGE_CHANGE", "x2")]


def test_arrival_order_does_not_matter(catalog):
    rows = [
        make_event("c", "2026-03-09T00:00:00Z", "UNASSIGN", "WEBEX_SUITE"),
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-05T00:00:00Z", "ASSIGN", "WEBEX_SUITE"),
    ]
    assert (
        intervals_of(rows, catalog)
        == intervals_of(list(reversed(rows)), catalog)
        == [
            (
                "WEBEX_CALLING",
                "L1",
                "",
                _at("2026-03-01 00:00"),
                _at("2026-03-05 00:00"),
                "IMPLICIT_PACKAGE_CHANGE",
            ),
            ("WEBEX_SUITE", "L1", "", _at("2026-03-05 00:00"), _at("2026-03-09 00:00"), "UNASSIGN"),
        ]
    )


def test_same_day_assign_and_unassign(catalog):
    rows = [
        make_event("a", "2026-03-01T09:00:00Z", "ASSIGN", "WEBEX_MEETINGS"),
        make_event("b", "2026-03-01T15:00:00Z", "UNASSIGN", "WEBEX_MEETINGS"),
    ]
    assert intervals_of(rows, catalog) == [
        ("WEBEX_MEETINGS", "L1", "", _at("2026-03-01 09:00"), _at("2026-03-01 15:00"), "UNASSIGN"),
    ]


def test_empty_license_and_location_are_values_of_their_own(catalog):
    rows = [
        make_event(
            "a",
            "2026-03-01T00:00:00Z",
            "ASSIGN",
            "ATTENDANT_CONSOLE",
            license_id="",
            location_id="",
        ),
        make_event(
            "b",
            "2026-03-02T00:00:00Z",
            "ASSIGN",
            "ATTENDANT_CONSOLE",
            license_id="LIC",
            location_id="",
        ),
        make_event(
            "c",
            "2026-03-03T00:00:00Z",
            "UNASSIGN",
            "ATTENDANT_CONSOLE",
            license_id="",
            location_id="",
        ),
    ]
    assert intervals_of(rows, catalog) == [
        ("ATTENDANT_CONSOLE", "", "", _at("2026-03-01 00:00"), _at("2026-03-03 00:00"), "UNASSIGN"),
        ("ATTENDANT_CONSOLE", "", "LIC", _at("2026-03-02 00:00"), None, None),
    ]
    assert anomalies_of(rows, catalog) == []


def test_workspaces_and_users_are_separate_subjects(catalog):
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "COMMON_AREA_CALLING", workspace_id="w1"),
        make_event("b", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING", user_id="w1"),
    ]
    out = assignment_intervals(events_frame(rows), catalog).collect().sort("subject_type")
    assert out.select(
        "subject_type", "subject_id", "user_id", "workspace_id", "package"
    ).rows() == [
        ("USER", "w1", "w1", "", "WEBEX_CALLING"),
        ("WORKSPACE", "w1", "", "w1", "COMMON_AREA_CALLING"),
    ]


def test_interval_carries_attributes_of_its_opening_assign(catalog):
    rows = [
        make_event(
            "a",
            "2026-03-01T00:00:00Z",
            "ASSIGN",
            "WEBEX_CALLING",
            subscription_id="S1",
            subscriber_id="sub-1",
        ),
        make_event(
            "b",
            "2026-03-02T00:00:00Z",
            "ASSIGN",
            "WEBEX_CALLING",
            subscription_id="S2",
            subscriber_id="sub-2",
        ),
    ]
    out = assignment_intervals(events_frame(rows), catalog).collect()
    assert out.select("subscription_id", "subscriber_id", "opened_by", "closed_by").rows() == [
        ("S1", "sub-1", "a", None),
    ]


def _sample_lake_events(tmp_path: Path) -> pl.LazyFrame:
    from recon.api import Recon
    from recon.ingest.lake import scan_events

    rc = Recon(tmp_path / "home")
    rc.ingest([SAMPLE])
    return scan_events(rc.layout)


def test_hash_ordered_intervals_are_the_text_ordered_ones(tmp_path, catalog):
    events = _sample_lake_events(tmp_path)
    columns = list(INTERVAL_SCHEMA)
    expected = assignment_intervals(events, catalog).collect()
    fast = unordered_intervals(events, catalog)
    assert expected.height > 1000
    assert fast.select(columns).sort(columns).equals(expected.select(columns).sort(columns))


def test_a_hash_collision_between_groups_falls_back_to_the_text_order(
    tmp_path, catalog, monkeypatch
):
    from recon.engine import intervals

    events = _sample_lake_events(tmp_path)
    columns = list(INTERVAL_SCHEMA)
    expected = assignment_intervals(events, catalog).collect().select(columns).sort(columns)
    # Every group hashes alike: runs of equal hashes mix groups, which must be noticed.
    monkeypatch.setattr(intervals, "_group_hash", lambda: pl.lit(7, pl.UInt64))
    ordered = intervals.hash_ordered_events(events, catalog)
    assert ordered.equals(intervals.ordered_events(events, catalog).collect())
    fast = unordered_intervals(events, catalog).select(columns).sort(columns)
    assert fast.equals(expected)


def test_a_package_missing_from_the_catalog_never_conflicts(catalog):
    """Such packages are refused before reports; the rules alone treat them as ADDONs."""
    rows = [
        make_event("a", "2026-03-01T00:00:00Z", "ASSIGN", "WEBEX_CALLING"),
        make_event("b", "2026-03-02T00:00:00Z", "ASSIGN", "NOT_IN_CATALOG"),
        make_event("c", "2026-03-03T00:00:00Z", "ASSIGN", "ALSO_NOT_IN_CATALOG"),
    ]
    opened = [("WEBEX_CALLING", "2026-03-01"), ("NOT_IN_CATALOG", "2026-03-02")]
    opened.append(("ALSO_NOT_IN_CATALOG", "2026-03-03"))
    expected = sorted((p, "L1", "", _at(f"{d} 00:00"), None, None) for p, d in opened)
    assert sorted(intervals_of(rows, catalog)) == expected
    assert anomalies_of(rows, catalog) == []
    # With no BASE package in the catalog at all, nothing conflicts either.
    addons_only = catalog.with_columns(kind=pl.lit("ADDON"))
    assert len(intervals_of(rows, addons_only)) == 3
    assert anomalies_of(rows, addons_only) == []
