"""An unknown sub-partner is an error naming the known ones, never an empty report (issue 19,
item 7)."""

from __future__ import annotations

from datetime import date

import pytest

from recon.api import Recon
from recon.core.errors import BadInputError
from recon.reports.model import ReportRequest
from tests.conftest import raw_row, run

OCT = {"start": date(2026, 10, 1), "end": date(2026, 10, 31)}
LIST_THEM = 'recon sql "SELECT DISTINCT sub_partner_org_id FROM events"'


def test_a_typo_in_the_sub_partner_is_refused_naming_the_known_ones(rc):
    with pytest.raises(BadInputError) as refused:
        rc.create_report(ReportRequest(type="PARTNER", sub_partner_org_id="SP9", **OCT))
    assert refused.value.message == "unknown sub-partner 'SP9'; the lake knows SP1, SP2"
    assert refused.value.hint == f"list them all with: {LIST_THEM}"
    assert rc.list_reports() == []
    known = rc.create_report(ReportRequest(type="PARTNER", sub_partner_org_id="SP1", **OCT))
    assert known.status == "COMPLETED"


def test_the_first_ten_are_named_and_the_count_given(home, write_csv):
    rows = [
        raw_row(event_id=f"e{n}", customer_org_id=f"C{n}", sub_partner_org_id=f"SP{n:02d}")
        for n in range(1, 13)
    ]
    rc = Recon(home)
    rc.ingest([write_csv("many.csv", rows)])
    with pytest.raises(BadInputError) as refused:
        rc.create_report(ReportRequest(type="PARTNER", sub_partner_org_id="SP13", **OCT))
    assert refused.value.message == (
        "unknown sub-partner 'SP13'; the lake knows SP01, SP02, SP03, SP04, SP05, SP06, SP07, "
        "SP08, SP09, SP10 (first 10 of 12)"
    )


def test_an_empty_lake_says_there_are_no_sub_partners_yet(home):
    with pytest.raises(BadInputError) as refused:
        Recon(home).create_report(ReportRequest(type="PARTNER", sub_partner_org_id="SP1", **OCT))
    assert refused.value.message == "unknown sub-partner 'SP1': the lake has no sub-partners yet"


def test_a_token_for_an_unknown_sub_partner_is_refused(rc):
    with pytest.raises(BadInputError, match="unknown sub-partner 'SP9'"):
        rc.create_token("read", "SP9")
    token, record = rc.create_token("read", "SP2")
    assert record.sub_partner_org_id == "SP2"
    assert rc.find_token(token) == record


def test_the_cli_exits_2_for_an_unknown_sub_partner(rc):
    args = ("--type", "PARTNER", "--start", "2026-10-01", "--end", "2026-10-31")
    created = run(rc.home, "report", "create", *args, "--sub-partner", "TYPO")
    assert created.returncode == 2
    assert "unknown sub-partner 'TYPO'; the lake knows SP1, SP2" in created.stderr
    assert LIST_THEM in created.stderr
    token = run(rc.home, "token", "create", "--sub-partner", "TYPO")
    assert token.returncode == 2
    assert "unknown sub-partner 'TYPO'" in token.stderr
    assert run(rc.home, "report", "list", "--json").stdout.strip() == '{\n  "items": []\n}'
