"""`explain`: the audit trail behind a quantity, with literal answers."""

from __future__ import annotations

from datetime import date

import pytest

from recon.core.errors import NotFoundError
from recon.reconcile.explain import Subject
from tests.conftest import raw_row


def test_the_trail_of_one_user(rc):
    trail = rc.explain(Subject("C1", user_id="u1"), date(2026, 10, 9), date(2026, 10, 11))
    assert trail.zone == "UTC"
    assert trail.events.select("event_id", "action", "package", "source_row").rows() == [
        ("a1", "ASSIGN", "WEBEX_CALLING", 1),
        ("a2", "ASSIGN", "ATTENDANT_CONSOLE", 2),
        ("a3", "UNASSIGN", "ATTENDANT_CONSOLE", 3),
    ]
    assert trail.events["source_file"][0].endswith("events.csv")
    assert trail.daily.select(
        "package", "day", "hours_assigned", "day_hours", "quantity"
    ).rows() == [
        ("ATTENDANT_CONSOLE", date(2026, 10, 10), 12.0, 24.0, "0.500000"),
        ("WEBEX_CALLING", date(2026, 10, 9), 24.0, 24.0, "1.000000"),
        ("WEBEX_CALLING", date(2026, 10, 10), 24.0, 24.0, "1.000000"),
        ("WEBEX_CALLING", date(2026, 10, 11), 24.0, 24.0, "1.000000"),
    ]
    assert trail.totals.select("package", "days", "exact", "QUANTITY").rows() == [
        ("ATTENDANT_CONSOLE", 1, "43200000000/86400000000", "0.500000"),
        ("WEBEX_CALLING", 3, "259200000000/86400000000", "3.000000"),
    ]


def test_package_filter_and_a_dst_zone(rc):
    trail = rc.explain(
        Subject("C1", user_id="u1", package="ATTENDANT_CONSOLE"),
        date(2026, 10, 10),
        date(2026, 10, 10),
        "America/New_York",
    )
    # 00:00Z..12:00Z on Oct 10 is 20:00..08:00 EDT: 4 h on the 9th (outside) and 8 h on the 10th.
    assert trail.daily.select("day", "hours_assigned", "quantity").rows() == [
        (date(2026, 10, 10), 8.0, "0.333333"),
    ]
    assert trail.events["package"].unique().to_list() == ["ATTENDANT_CONSOLE"]


def test_quarantined_rows_that_name_the_subject_are_shown(rc, write_csv):
    rc.ingest(
        [
            write_csv(
                "late.csv",
                [
                    raw_row(
                        event_id="q1",
                        customer_org_id="C1",
                        user_id="u1",
                        occurred_at="2026-10-20T10:00:00",
                        action="UNASSIGN",
                    )
                ],
            )
        ]
    )
    trail = rc.explain(Subject("C1", user_id="u1"), date(2026, 10, 1), date(2026, 10, 31))
    assert trail.quarantined.select("reason", "source_row").rows() == [("NAIVE_TIMESTAMP", 1)]


def test_anomalies_are_listed(rc, write_csv):
    rc.ingest(
        [
            write_csv(
                "dup.csv",
                [
                    raw_row(
                        event_id="d1",
                        customer_org_id="C1",
                        user_id="u1",
                        occurred_at="2026-10-05T00:00:00Z",
                        location_id="L1",
                    )
                ],
            )
        ]
    )
    trail = rc.explain(Subject("C1", user_id="u1"), date(2026, 10, 1), date(2026, 10, 31))
    assert trail.anomalies.select("anomaly", "event_id").rows() == [("DUPLICATE_ASSIGN", "d1")]


def test_unknown_customer(rc):
    with pytest.raises(NotFoundError, match="no events for customer 'C404'"):
        rc.explain(Subject("C404"), date(2026, 10, 1), date(2026, 10, 31))
