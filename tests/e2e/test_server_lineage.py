"""Lineage over HTTP (§8): an extra `lineage` field says whether a report is stale.

Clients generated from the Webex spec ignore it (every reply is still checked against the
spec); `asKnownOn` on create is recon's own field.
"""

from __future__ import annotations

from pathlib import Path

from recon.api import Recon
from tests.conftest import FROZEN_NOW, raw_row
from tests.e2e.test_server import BASE, Client, _token, start_server, stop_server

OCTOBER = {"billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31", "type": "USER"}


def test_reports_say_over_http_what_lake_they_came_from_and_whether_stale(
    tmp_path: Path, write_csv, monkeypatch
):
    home = tmp_path / "home"
    monkeypatch.setenv("RECON_NOW", "2026-11-20T00:00:00Z")
    first = Recon(home).ingest(
        [write_csv("a.csv", [raw_row(event_id="a1", occurred_at="2026-10-01T00:00:00Z")])]
    )
    monkeypatch.setenv("RECON_NOW", "2026-11-21T00:00:00Z")
    second = Recon(home).ingest(
        [
            write_csv(
                "b.csv", [raw_row(event_id="b1", occurred_at="2026-10-01T00:00:00Z", user_id="u2")]
            )
        ]
    )
    write, read = _token(home, "--scope", "write"), _token(home, "--scope", "read")
    process, url = start_server(home, FROZEN_NOW)
    try:
        client = Client(url)
        now = client.wait_done(client.call("POST", BASE, write, OCTOBER).body["id"], read)
        then = client.wait_done(
            client.call("POST", BASE, write, {**OCTOBER, "asKnownOn": "2026-11-20T12:00:00Z"}).body[
                "id"
            ],
            read,
        )
        assert now["lineage"] == {
            "lakeVersion": 2,
            "lastIngestId": second.ingest_id,
            "asKnownOn": None,
            "stale": False,
            "lateEvents": 0,
            "lateSinceIngestId": None,
        }
        assert then["lineage"]["lakeVersion"] == 1
        assert then["lineage"]["lastIngestId"] == first.ingest_id
        assert then["lineage"]["asKnownOn"] == "2026-11-20T12:00:00.000000Z"

        monkeypatch.setenv("RECON_NOW", "2026-11-22T00:00:00Z")
        late = Recon(home).ingest(
            [
                write_csv(
                    "c.csv",
                    [raw_row(event_id="c1", occurred_at="2026-10-09T00:00:00Z", user_id="u3")],
                )
            ]
        )
        seen = client.call("GET", f"{BASE}/{now['id']}", read).body["lineage"]
        assert (seen["stale"], seen["lateEvents"], seen["lateSinceIngestId"]) == (
            True,
            1,
            late.ingest_id,
        )
        listed = client.call("GET", f"{BASE}?type=USER", read).body["items"]
        assert {i["id"]: i["lineage"]["stale"] for i in listed} == {
            now["id"]: True,
            then["id"]: False,
        }
        bad = client.call("POST", BASE, write, {**OCTOBER, "asKnownOn": "yesterday"})
        assert bad.status == 400
        assert "asKnownOn 'yesterday' is not an ISO 8601 instant" in bad.body["message"]
    finally:
        stop_server(process)
