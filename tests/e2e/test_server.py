"""`recon serve` as a real server on a loopback port, driven by a real HTTP client.

Every response is checked against the Webex OpenAPI subset in ../shared (openapi-core): bodies
where the spec defines them, and status codes against the ones each operation documents.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from recon.api import Recon
from tests.conftest import FROZEN_NOW, RECON, SAMPLE

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "webex-wholesale-billing-openapi.json"
SPEC = json.loads(SPEC_PATH.read_text())
BASE = "/v1/wholesale/billing/reports"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes


class Client:
    """urllib against one server, checking each response against the spec."""

    def __init__(self, url: str) -> None:
        self.url = url
        spec = {**SPEC, "servers": [{"url": f"{url}/v1"}]}
        self.openapi = OpenAPI.from_dict(spec)

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if token:
            sent["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                reply = Reply(response.status, dict(response.headers), None, response.read())
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, dict(error.headers), None, error.read())
        if reply.headers.get("Content-Type", "").startswith("application/json") and reply.raw:
            reply.body = json.loads(reply.raw)
        self._check(method, path, reply)
        return reply

    def _check(self, method: str, path: str, reply: Reply) -> None:
        split = urlsplit(path)
        if not split.path.startswith(BASE) or split.path.endswith("/download"):
            return
        template = BASE if split.path.rstrip("/") == BASE else BASE + "/{id}"
        operation = SPEC["paths"][template.removeprefix("/v1")].get(method.lower())
        if operation is None:
            assert reply.status == 405
            return
        assert str(reply.status) in operation["responses"], (
            f"{reply.status} is not documented for {method}"
        )
        if not operation["responses"][str(reply.status)].get("content"):
            return
        args = {k: v[-1] for k, v in parse_qs(split.query).items()}
        request = MockRequest(self.url, method.lower(), split.path, args=args)
        response = MockResponse(
            reply.raw, status_code=reply.status, content_type="application/json"
        )
        self.openapi.validate_response(request, response)

    def wait_done(self, report_id: str, token: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            reply = self.call("GET", f"{BASE}/{report_id}", token)
            if reply.body["status"] != "IN_PROGRESS":
                return reply.body
            time.sleep(0.2)
        raise AssertionError(f"report {report_id} did not finish")


def start_server(home: Path, now: str = FROZEN_NOW) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [RECON, "--home", str(home), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RECON_NOW": now},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "serving" not in line:
        process.kill()
        raise AssertionError(
            f"server did not start: {line} {process.stderr.read() if process.stderr else ''}"
        )
    url = line.split(" at ", 1)[1].strip().removesuffix(BASE)
    return process, url


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL without a token (download links); HTTP errors come back as statuses."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@dataclass
class Served:
    home: Path
    client: Client
    tokens: dict[str, str]
    restart: Callable[[str], Client]


def _token(home: Path, *args: str) -> str:
    done = subprocess.run(
        [RECON, "--home", str(home), "token", "create", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECON_NOW", FROZEN_NOW)
        Recon(home).ingest([SAMPLE])
    tokens = {
        "write": _token(home, "--scope", "write"),
        "read": _token(home, "--scope", "read"),
        "sub_write": _token(home, "--scope", "write", "--sub-partner", "org-subpartner-1-2"),
        "sub_read": _token(home, "--scope", "read", "--sub-partner", "org-subpartner-1-2"),
    }
    state: dict[str, subprocess.Popen[str]] = {}
    process, url = start_server(home)
    state["process"] = process

    def restart(now: str) -> Client:
        stop_server(state["process"])
        state["process"], new_url = start_server(home, now)
        return Client(new_url)

    yield Served(home, Client(url), tokens, restart)
    stop_server(state["process"])


def test_the_whole_lifecycle(served):
    client, write, read = served.client, served.tokens["write"], served.tokens["read"]
    created = client.call(
        "POST",
        BASE,
        write,
        {"billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31", "type": "USER"},
    )
    assert created.status == 200
    assert created.body == {
        "id": created.body["id"],
        "billingStartDate": "2026-10-01",
        "billingEndDate": "2026-10-31",
        "type": "USER",
        "category": "RECONCILIATION",
    }
    report = client.wait_done(created.body["id"], read)
    assert report["status"] == "COMPLETED" and report["errors"] == []
    assert report["created"] == "2026-11-21T12:00:00.000000Z"

    status, headers, content = fetch(report["tempDownloadURL"])
    text = content.decode()
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert text.splitlines()[0].startswith(
        "PARTNER_NAME,PARTNER_ORG_ID,SUBSCRIPTION_ID,SERVICE_NAME"
    )
    assert text == (Path(served.home) / "reports" / f"{report['id']}.csv").read_text()

    listed = client.call(
        "GET", f"{BASE}?billingStartDate=2026-10-01&billingEndDate=2026-10-31&type=USER", read
    )
    assert [item["id"] for item in listed.body["items"]] == [report["id"]]

    assert client.call("DELETE", f"{BASE}/{report['id']}", write).status == 204
    assert client.call("GET", f"{BASE}/{report['id']}", read).status == 404
    assert fetch(report["tempDownloadURL"])[0] == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"billingStartDate": "2026-10-31", "billingEndDate": "2026-10-01"},
            "billingStartDate 2026-10-31 is after billingEndDate 2026-10-01",
        ),
        (
            {"billingStartDate": "2026-10-01", "billingEndDate": "2026-11-21"},
            "billingEndDate 2026-11-21 is not before today",
        ),
        (
            {"billingStartDate": "2020-01-01", "billingEndDate": "2020-01-31"},
            "more than 5 years ago",
        ),
        ({"billingStartDate": "2026-10-01"}, "billingEndDate is required"),
        (
            {"billingStartDate": "2026-10-01", "billingEndDate": "10/31/2026"},
            "billingEndDate '10/31/2026' is not a date",
        ),
        (
            {"billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31", "type": "INVOICE"},
            "not a report type",
        ),
        (
            {"type": "PARTNER", "category": "POINT_IN_TIME"},
            "POINT_IN_TIME reports exist for CUSTOMER and USER only",
        ),
        (
            {"billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31", "colour": "red"},
            "unknown field(s): colour",
        ),
        ([1, 2], "must be a JSON object"),
        (
            {
                "billingStartDate": "2026-10-01",
                "billingEndDate": "2026-10-31",
                "subPartnerOrgId": "org-subpartner-9-9",
            },
            "unknown sub-partner 'org-subpartner-9-9'; the lake knows org-subpartner-1-1,",
        ),
    ],
)
def test_bad_creates_are_400_with_a_helpful_message(served, body, message):
    reply = served.client.call("POST", BASE, served.tokens["write"], body)
    assert reply.status == 400
    assert message in reply.body["message"]
    assert reply.body["errors"][0]["description"] == reply.body["message"]


def test_other_error_codes(served):
    client, write, read = served.client, served.tokens["write"], served.tokens["read"]
    first = client.call(
        "POST",
        BASE,
        write,
        {"billingStartDate": "2026-09-01", "billingEndDate": "2026-09-30", "type": "PARTNER"},
    )
    assert first.status == 200
    conflict = client.call(
        "POST",
        BASE,
        write,
        {"billingStartDate": "2026-09-01", "billingEndDate": "2026-09-30", "type": "PARTNER"},
    )
    assert conflict.status == 409
    assert f"delete it first: recon report delete {first.body['id']}" in conflict.body["message"]
    assert client.call("GET", f"{BASE}/rpt-nope", read).status == 404
    assert client.call("GET", BASE).status == 401
    assert client.call("GET", BASE, "rcn_forged").status == 401
    assert (
        client.call(
            "POST", BASE, read, {"billingStartDate": "2026-09-01", "billingEndDate": "2026-09-30"}
        ).status
        == 403
    )
    assert client.call("DELETE", f"{BASE}/{first.body['id']}", read).status == 403
    unsupported = client.call(
        "POST", BASE, write, raw_body=b"type=USER", headers={"Content-Type": "text/plain"}
    )
    assert unsupported.status == 415
    broken = client.call(
        "POST", BASE, write, raw_body=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400 and "not valid JSON" in broken.body["message"]
    assert client.call("PUT", BASE, write, {}).status == 405
    assert client.call("GET", f"{BASE}?sortBy=size", read).status == 400
    assert client.call("GET", f"{BASE}?max=1000", read).status == 400
    assert client.call("GET", f"{BASE}?billingStartDate=yesterday", read).status == 400
    client.wait_done(first.body["id"], read)


def test_pagination_follows_link_headers(served):
    client, write, read = served.client, served.tokens["write"], served.tokens["read"]
    made = []
    for _ in range(5):
        made.append(
            client.call("POST", BASE, write, {"type": "USER", "category": "POINT_IN_TIME"}).body[
                "id"
            ]
        )
    for report_id in made:
        client.wait_done(report_id, read)
    seen, pages = [], 0
    url = f"{BASE}?max=2&sortBy=id&type=USER&status=COMPLETED"
    while url:
        reply = client.call("GET", url, read)
        pages += 1
        seen += [item["id"] for item in reply.body["items"]]
        link = reply.headers.get("Link")
        if link:
            assert link.endswith('>; rel="next"')
            url = link[1 : link.index(">")].removeprefix(client.url)
        else:
            url = ""
    assert set(made) <= set(seen)
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert pages == (len(seen) + 1) // 2


def test_sub_partner_tokens_see_only_their_own(served):
    client = served.client
    sub_write, sub_read, read = (
        served.tokens["sub_write"],
        served.tokens["sub_read"],
        served.tokens["read"],
    )
    created = client.call(
        "POST",
        BASE,
        sub_write,
        {"billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31", "type": "CUSTOMER"},
    )
    assert created.status == 200
    report = client.wait_done(created.body["id"], sub_read)
    assert report["subPartnerOrgId"] == "org-subpartner-1-2"
    rows = pl.read_csv(fetch(report["tempDownloadURL"])[2], infer_schema=False)
    customers = set(rows["CUSTOMER_ORG_ID"].to_list())
    lake = pl.scan_parquet(str(served.home / "lake" / "events" / "*" / "*.parquet"))
    theirs = set(
        lake.filter(pl.col("sub_partner_org_id") == "org-subpartner-1-2")
        .select("customer_org_id")
        .unique()
        .collect()["customer_org_id"]
        .to_list()
    )
    assert customers and customers <= theirs

    everything = client.call("GET", BASE, read).body["items"]
    others = [
        item["id"] for item in everything if item.get("subPartnerOrgId") != "org-subpartner-1-2"
    ]
    assert others, "the partner's own reports exist"
    mine = client.call("GET", BASE, sub_read).body["items"]
    assert {item["id"] for item in mine} == {created.body["id"]}
    assert client.call("GET", f"{BASE}/{others[0]}", sub_read).status == 404
    assert client.call("DELETE", f"{BASE}/{others[0]}", sub_write).status == 404
    # Another sub-partner's listing is refused, as creating for it is (README, docs).
    other = client.call("GET", f"{BASE}?subPartnerOrgId=org-subpartner-2-1", sub_read)
    assert other.status == 403
    assert "org-subpartner-1-2" in other.body["message"]
    denied = client.call(
        "POST",
        BASE,
        sub_write,
        {
            "billingStartDate": "2026-09-01",
            "billingEndDate": "2026-09-30",
            "subPartnerOrgId": "org-subpartner-2-1",
        },
    )
    assert denied.status == 403


def test_download_links_expire_after_30_minutes_and_cannot_be_forged(served):
    client, write, read = served.client, served.tokens["write"], served.tokens["read"]
    created = client.call(
        "POST",
        BASE,
        write,
        {"billingStartDate": "2026-08-01", "billingEndDate": "2026-08-31", "type": "PARTNER"},
    )
    link = client.wait_done(created.body["id"], read)["tempDownloadURL"]
    assert fetch(link.replace("signature=", "signature=x"))[0] == 403

    later = served.restart("2026-11-21T12:29:59Z")
    assert fetch(later.url + link[link.index(BASE) :])[0] == 200
    expired = served.restart("2026-11-21T12:30:00Z")
    status, _, body = fetch(expired.url + link[link.index(BASE) :])
    assert status == 410
    assert "expired" in json.loads(body)["message"]
    served.client = served.restart("2026-11-21T12:00:00Z")


def test_the_home_stays_readable_and_writable_while_the_server_runs(served):
    # Writers take the lock per write, not for the server's life: this one gets its answer.
    done = subprocess.run(
        [RECON, "--home", str(served.home), "report", "delete", "rpt-x"],
        capture_output=True,
        text=True,
        env={**os.environ, "RECON_NOW": FROZEN_NOW, "RECON_LOCK_WAIT": "0.5"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "no report with id 'rpt-x'" in done.stderr


def test_a_bad_type_filter_names_every_accepted_type(served):
    reply = served.client.call("GET", f"{BASE}?type=INVOICE", served.tokens["read"])
    assert reply.status == 400
    assert reply.body["message"] == "type 'INVOICE' must be PARTNER, CUSTOMER, LOCATION or USER"
    located = served.client.call("GET", f"{BASE}?type=LOCATION", served.tokens["read"])
    assert located.status == 200


def test_an_internal_error_is_logged_with_its_tracking_id(tmp_path):
    home = tmp_path / "home"
    read = _token(home, "--scope", "read")
    process, url = start_server(home)
    try:
        (home / "recon.duckdb").write_bytes(b"not a DuckDB file" * 512)
        reply = Client(url).call("GET", f"{BASE}/rpt-any", read)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert reply.status == 500
    assert reply.body["message"].startswith("internal error: ")
    tracking = reply.body["trackingId"]
    assert reply.headers["TrackingID"] == tracking
    assert f"trackingId {tracking}" in stderr
    assert "Traceback (most recent call last)" in stderr
