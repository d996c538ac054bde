"""Fixtures shared by the unit tests: a small home with a hand-written month of events."""

from __future__ import annotations

import pytest

from recon.api import Recon
from tests.conftest import raw_row


def _events() -> list[dict[str, str]]:
    return [
        # C1 (direct, external id X1): u1 Calling all October, ATTENDANT add-on half of Oct 10.
        raw_row(
            event_id="a1",
            occurred_at="2026-09-15T08:00:00Z",
            user_id="u1",
            subscriber_id="s-1",
            customer_external_id="X1",
            location_id="L1",
        ),
        raw_row(
            event_id="a2",
            occurred_at="2026-10-10T00:00:00Z",
            user_id="u1",
            package="ATTENDANT_CONSOLE",
            customer_external_id="X1",
            location_id="L1",
            license_id="LIC-A",
        ),
        raw_row(
            event_id="a3",
            occurred_at="2026-10-10T12:00:00Z",
            action="UNASSIGN",
            user_id="u1",
            package="ATTENDANT_CONSOLE",
            customer_external_id="X1",
            location_id="L1",
            license_id="LIC-A",
        ),
        # C1: workspace w1 Common Area Calling from Oct 21 (11 days), at L2.
        raw_row(
            event_id="a4",
            occurred_at="2026-10-21T00:00:00Z",
            user_id="",
            workspace_id="w1",
            package="COMMON_AREA_CALLING",
            customer_external_id="X1",
            location_id="L2",
        ),
        # C2 (sub-partner SP1): u2 Suite Oct 1-5, then churned; held in September too.
        raw_row(
            event_id="b1",
            occurred_at="2026-09-01T00:00:00Z",
            customer_org_id="C2",
            user_id="u2",
            package="WEBEX_SUITE",
            sub_partner_org_id="SP1",
            location_id="M1",
        ),
        raw_row(
            event_id="b2",
            occurred_at="2026-10-06T00:00:00Z",
            action="UNASSIGN",
            customer_org_id="C2",
            user_id="u2",
            package="WEBEX_SUITE",
            sub_partner_org_id="SP1",
            location_id="M1",
        ),
        # C3 (sub-partner SP2): u3 Voice from Oct 30 06:00 (1.75 days).
        raw_row(
            event_id="c1",
            occurred_at="2026-10-30T06:00:00Z",
            customer_org_id="C3",
            user_id="u3",
            package="WEBEX_VOICE",
            sub_partner_org_id="SP2",
            location_id="N1",
        ),
    ]


@pytest.fixture
def rc(home, write_csv) -> Recon:
    """A home holding `_events()`: three customers, two sub-partners, October 2026."""
    recon = Recon(home)
    result = recon.ingest([write_csv("events.csv", _events())])
    assert result.accepted == 7
    return recon
