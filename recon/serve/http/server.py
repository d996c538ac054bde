"""`recon serve`: the Webex Wholesale Billing Reports API over recon's own store.

Tooling written against Webex's public billing-report API (create, get, list, delete) runs
unchanged against recon. The HTTP layer only parses, authorises and renders: every business
rule (validation, conflicts, scoping, lifecycle) is the library's (`recon.api.Recon`).
Creation runs in the background, as on Webex: a create returns at once with IN_PROGRESS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

from recon.api import Recon
from recon.core import config
from recon.core.errors import ConflictError, LockedError, NotFoundError, ReconError
from recon.core.timezones import to_micros
from recon.home.tokens import TokenRecord, find_token, load_tokens
from recon.reports.model import SORT_KEYS, Report, ReportRequest
from recon.reports.registry import fail_interrupted

BASE = "/v1/wholesale/billing/reports"
DOWNLOAD_TTL = timedelta(minutes=30)
MAX_PAGE = 100
SECRET_FILE = ".server-secret"
# Webex reports errors with numeric codes; recon's symbolic codes map onto these.
ERROR_CODES = {
    "BAD_INPUT": 4000,
    "CONFLICT": 4090,
    "NOT_FOUND": 4040,
    "SCHEMA_VIOLATION": 5001,
    "INTERRUPTED": 5002,
    "INTERNAL_ERROR": 5000,
}
_REPORT_PATH = re.compile(rf"^{BASE}/(?P<id>[^/]+)$")
_DOWNLOAD_PATH = re.compile(rf"^{BASE}/(?P<id>[^/]+)/download$")


class HttpError(Exception):
    """An HTTP error response with a helpful message."""

    def __init__(
        self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _status_of(exc: ReconError) -> HTTPStatus:
    if isinstance(exc, NotFoundError):
        return HTTPStatus.NOT_FOUND
    if isinstance(exc, ConflictError):
        return HTTPStatus.CONFLICT
    if isinstance(exc, LockedError):
        return HTTPStatus.LOCKED
    return HTTPStatus.BAD_REQUEST


def _date_param(params: dict[str, str], name: str) -> date | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, f"{name} {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def _compact(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


@dataclass
class Signer:
    """Signs and checks expiring download links with a secret kept in the home."""

    secret: bytes

    @classmethod
    def for_home(cls, home: Path) -> Signer:
        """The home's signing secret, created (mode 0600) on first use."""
        path = home / SECRET_FILE
        if not path.exists():
            home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return cls(path.read_text().strip().encode())

    def signature(self, report_id: str, expires: int) -> str:
        """HMAC-SHA256 of the report id and expiry, base64url."""
        mac = hmac.new(self.secret, f"{report_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def check(self, report_id: str, expires: str, signature: str) -> int:
        """The expiry (epoch seconds) of a genuine link; raise 403 for a forged one."""
        if not expires.isdigit() or not hmac.compare_digest(
            self.signature(report_id, int(expires)), signature
        ):
            raise HttpError(
                HTTPStatus.FORBIDDEN,
                "this download link is not valid; get the report again for a new one",
            )
        return int(expires)


class ReportsApi:
    """The API's behaviour, independent of the HTTP plumbing (and testable without it)."""

    def __init__(self, recon: Recon) -> None:
        self.recon = recon
        self.signer = Signer.for_home(recon.home)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-builder")
        with recon.store.connect() as con:
            fail_interrupted(con, recon.layout.reports)  # a previous server's IN_PROGRESS ones

    # -------------------------------------------------------------- auth

    def authorise(self, header: str | None, *, write: bool) -> TokenRecord:
        """The token behind an Authorization header; 401 if missing or unknown, 403 if read-only."""
        if not header or not header.startswith("Bearer "):
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                "missing bearer token: send 'Authorization: Bearer <token>'",
                {"WWW-Authenticate": "Bearer"},
            )
        record = find_token(load_tokens(self.recon.home), header.removeprefix("Bearer ").strip())
        if record is None:
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                "the bearer token is not valid: create one with `recon token create`",
                {"WWW-Authenticate": "Bearer"},
            )
        if write and not record.can_write():
            raise HttpError(
                HTTPStatus.FORBIDDEN,
                "this token has read scope; creating and deleting reports "
                "needs a write-scope token",
            )
        return record

    def _visible(self, report: Report, token: TokenRecord) -> bool:
        return (
            token.sub_partner_org_id is None
            or report.sub_partner_org_id == token.sub_partner_org_id
        )

    def _report(self, report_id: str, token: TokenRecord) -> Report:
        report = self.recon.get_report(report_id)
        if not self._visible(report, token):
            raise NotFoundError(f"no report with id {report_id!r}")
        return report

    # -------------------------------------------------------------- shapes

    def list_item(self, report: Report) -> dict[str, Any]:
        """A report as a list item (ListReport)."""
        body = report.as_json()
        return _compact(
            {
                "id": report.id,
                "billingStartDate": body["billingStartDate"],
                "billingEndDate": body["billingEndDate"],
                "status": report.status,
                "type": report.type,
                "category": report.category,
                "created": body["created"],
                "subPartnerOrgId": report.sub_partner_org_id,
            }
        )

    def full(self, report: Report, base_url: str) -> dict[str, Any]:
        """A report in full (Report), with a fresh download link when it is COMPLETED."""
        body = self.list_item(report)
        body["createdBy"] = "recon"
        body["errors"] = [
            {
                "code": ERROR_CODES.get(e["code"], 5000),
                "description": e["description"],
                "reason": e["code"],
            }
            for e in report.errors
        ]
        if report.status == "COMPLETED":
            expires = int((config.now() + DOWNLOAD_TTL).timestamp())
            query = urlencode(
                {"expires": expires, "signature": self.signer.signature(report.id, expires)}
            )
            body["tempDownloadURL"] = f"{base_url}{BASE}/{report.id}/download?{query}"
        return body

    # -------------------------------------------------------------- operations

    def list(
        self, params: dict[str, str], token: TokenRecord
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of reports and the offset of the next page (None on the last)."""
        sort_by = params.get("sortBy", "billingStartDate")
        if sort_by not in SORT_KEYS:
            raise HttpError(
                HTTPStatus.BAD_REQUEST, f"sortBy {sort_by!r} must be one of {', '.join(SORT_KEYS)}"
            )
        try:
            size = int(params.get("max", MAX_PAGE))
        except ValueError:
            raise HttpError(
                HTTPStatus.BAD_REQUEST, f"max {params['max']!r} is not a number"
            ) from None
        if not 1 <= size <= MAX_PAGE:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"max must be between 1 and {MAX_PAGE}")
        offset = _cursor_offset(params.get("cursor"))
        scope = params.get("subPartnerOrgId")
        if token.sub_partner_org_id is not None:
            if scope not in (None, token.sub_partner_org_id):
                return [], None
            scope = token.sub_partner_org_id
        report_type = params.get("type")
        if report_type is not None and report_type not in (
            "PARTNER",
            "CUSTOMER",
            "LOCATION",
            "USER",
        ):
            raise HttpError(
                HTTPStatus.BAD_REQUEST, f"type {report_type!r} must be PARTNER, CUSTOMER or USER"
            )
        status = params.get("status")
        if status is not None and status not in ("IN_PROGRESS", "COMPLETED", "FAILED"):
            raise HttpError(
                HTTPStatus.BAD_REQUEST,
                f"status {status!r} must be IN_PROGRESS, COMPLETED or FAILED",
            )
        reports = self.recon.list_reports(
            sort_by=sort_by,
            report_type=report_type,
            category=params.get("category"),
            status=status,
            start=_date_param(params, "billingStartDate"),
            end=_date_param(params, "billingEndDate"),
            sub_partner_org_id=scope,
        )
        page = reports[offset : offset + size]
        following = offset + size if offset + size < len(reports) else None
        return [self.list_item(r) for r in page], following

    def create(self, body: Any, token: TokenRecord) -> dict[str, Any]:
        """Register a report and build it in the background; returns the ReportId body."""
        if not isinstance(body, dict):
            raise HttpError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        unknown = set(body) - {
            "billingStartDate",
            "billingEndDate",
            "type",
            "subPartnerOrgId",
            "internal",
            "category",
        }
        if unknown:
            raise HttpError(
                HTTPStatus.BAD_REQUEST, f"unknown field(s): {', '.join(sorted(unknown))}"
            )
        scope = body.get("subPartnerOrgId")
        if token.sub_partner_org_id is not None:
            if scope not in (None, token.sub_partner_org_id):
                raise HttpError(
                    HTTPStatus.FORBIDDEN,
                    "this token may only create reports for sub-partner "
                    f"{token.sub_partner_org_id}",
                )
            scope = token.sub_partner_org_id
        for name in ("billingStartDate", "billingEndDate", "type", "subPartnerOrgId", "category"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise HttpError(HTTPStatus.BAD_REQUEST, f"{name} must be a string")
        request = ReportRequest(
            type=body.get("type") or "PARTNER",
            category=body.get("category") or "RECONCILIATION",
            start=_date_param(body, "billingStartDate"),
            end=_date_param(body, "billingEndDate"),
            sub_partner_org_id=scope,
        )
        report, valid = self.recon.begin_report(request)
        self.pool.submit(self._build, report, valid)
        item = self.list_item(report)
        return _compact(
            {
                k: item.get(k)
                for k in ("id", "billingStartDate", "billingEndDate", "type", "category")
            }
        )

    def _build(self, report: Report, request: ReportRequest) -> None:
        try:
            self.recon.build_report(report, request)
        except Exception:
            return

    def get(self, report_id: str, token: TokenRecord, base_url: str) -> dict[str, Any]:
        """One report."""
        return self.full(self._report(report_id, token), base_url)

    def delete(self, report_id: str, token: TokenRecord) -> None:
        """Delete a COMPLETED or FAILED report."""
        self._report(report_id, token)
        self.recon.delete_report(report_id)

    def download(self, report_id: str, params: dict[str, str]) -> Path:
        """The CSV behind a signed, unexpired link."""
        expires = self.signer.check(
            report_id, params.get("expires", ""), params.get("signature", "")
        )
        if to_micros(config.now()) >= expires * 1_000_000:
            raise HttpError(
                HTTPStatus.GONE,
                "this download link has expired (links last 30 minutes); "
                "get the report again for a new one",
            )
        report = self.recon.get_report(report_id)
        if (
            report.status != "COMPLETED"
            or not report.csv_path
            or not Path(report.csv_path).exists()
        ):
            raise HttpError(HTTPStatus.NOT_FOUND, f"report {report_id} has no CSV to download")
        return Path(report.csv_path)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _cursor_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "offset" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except ValueError:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, "cursor is not valid; follow the Link header"
        ) from None


def make_handler(api: ReportsApi) -> type[BaseHTTPRequestHandler]:
    """An HTTP handler class bound to one API."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "recon"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            if os.environ.get("RECON_HTTP_LOG"):
                super().log_message(format, *args)

        # ---------------------------------------------------------- plumbing

        def _base_url(self) -> str:
            address = cast("tuple[str, int]", self.server.server_address)
            host = self.headers.get("Host") or f"{address[0]}:{address[1]}"
            return f"http://{host}"

        def _params(self) -> dict[str, str]:
            query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
            return {k: v[-1] for k, v in query.items()}

        def _send_json(
            self, status: HTTPStatus, payload: Any, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("TrackingID", f"recon_{uuid.uuid4()}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_error(
            self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None
        ) -> None:
            tracking = f"recon_{uuid.uuid4()}"
            self._send_json(
                status,
                {"message": message, "errors": [{"description": message}], "trackingId": tracking},
                headers,
            )

        def _dispatch(self, method: str) -> None:
            path = urlsplit(self.path).path.rstrip("/") or "/"
            try:
                if method == "GET" and (match := _DOWNLOAD_PATH.match(path)):
                    self._download(match["id"])
                elif path == BASE:
                    self._collection(method)
                elif match := _REPORT_PATH.match(path):
                    self._item(method, match["id"])
                else:
                    raise HttpError(HTTPStatus.NOT_FOUND, f"no such resource: {path}")
            except HttpError as exc:
                self._send_error(exc.status, exc.message, exc.headers)
            except ReconError as exc:
                self._send_error(_status_of(exc), str(exc))
            except Exception as exc:
                self._send_error(
                    HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}"
                )

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        # ---------------------------------------------------------- resources

        def _collection(self, method: str) -> None:
            if method == "GET":
                token = api.authorise(self.headers.get("Authorization"), write=False)
                params = self._params()
                items, following = api.list(params, token)
                headers = {}
                if following is not None:
                    params["cursor"] = _cursor(following)
                    headers["Link"] = f'<{self._base_url()}{BASE}?{urlencode(params)}>; rel="next"'
                self._send_json(HTTPStatus.OK, {"items": items}, headers)
            elif method == "POST":
                token = api.authorise(self.headers.get("Authorization"), write=True)
                self._send_json(HTTPStatus.OK, api.create(self._json_body(), token))
            else:
                raise HttpError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{method} is not allowed here; use GET or POST",
                    {"Allow": "GET, POST"},
                )

        def _item(self, method: str, report_id: str) -> None:
            if method == "GET":
                token = api.authorise(self.headers.get("Authorization"), write=False)
                self._send_json(HTTPStatus.OK, api.get(report_id, token, self._base_url()))
            elif method == "DELETE":
                token = api.authorise(self.headers.get("Authorization"), write=True)
                api.delete(report_id, token)
                self.send_response(HTTPStatus.NO_CONTENT)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                raise HttpError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{method} is not allowed here; use GET or DELETE",
                    {"Allow": "GET, DELETE"},
                )

        def _json_body(self) -> Any:
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type != "application/json":
                raise HttpError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the request body as application/json"
                )
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1_000_000:
                raise HttpError(HTTPStatus.BAD_REQUEST, "the request body is too large")
            try:
                return json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                raise HttpError(
                    HTTPStatus.BAD_REQUEST, "the request body is not valid JSON"
                ) from None

        def _download(self, report_id: str) -> None:
            path = api.download(report_id, self._params())
            size = path.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Disposition", f'attachment; filename="{report_id}.csv"')
            self.end_headers()
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 16):
                    self.wfile.write(chunk)

    return Handler


def make_server(recon: Recon, host: str, port: int) -> tuple[ThreadingHTTPServer, ReportsApi]:
    """A ready-to-run server (call `serve_forever`) and its API."""
    api = ReportsApi(recon)
    server = ThreadingHTTPServer((host, port), make_handler(api))
    server.daemon_threads = True
    return server, api


__all__ = ["BASE", "ReportsApi", "make_server"]
