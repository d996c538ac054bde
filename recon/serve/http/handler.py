"""The HTTP plumbing of `recon serve`: parse a request, route it, write the response.

What each operation does is `ReportsApi`'s; how a report looks on the wire is `wire`'s.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import recon
from recon.serve.http.reports_api import ReportsApi
from recon.serve.http.wire import BASE, HttpError, error_body, next_link, status_of

log = logging.getLogger("recon.serve.http")

_REPORT_PATH = re.compile(rf"^{BASE}/(?P<id>[^/]+)$")
_DOWNLOAD_PATH = re.compile(rf"^{BASE}/(?P<id>[^/]+)/download$")
_COLLECTION_METHODS = {"GET", "POST"}
_ITEM_METHODS = {"GET", "DELETE"}
_MAX_BODY = 1_000_000
_CHUNK = 1 << 16


def _tracking_id() -> str:
    return f"recon_{uuid.uuid4()}"


def make_handler(api: ReportsApi) -> type[BaseHTTPRequestHandler]:
    """An HTTP handler class bound to one API."""

    class Handler(_Handler):
        reports = api

    return Handler


class _Handler(BaseHTTPRequestHandler):
    server_version = "recon"
    protocol_version = "HTTP/1.1"
    reports: ReportsApi

    def log_message(self, format: str, *args: Any) -> None:
        if recon.http_access_log():
            super().log_message(format, *args)

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

    # ---------------------------------------------------------- routing

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            self._route(method, path)
        except HttpError as exc:
            self._send_error(exc.status, exc.message, exc.headers)
        except recon.ReconError as exc:
            self._send_error(status_of(exc), str(exc))
        except Exception as exc:
            tracking = _tracking_id()
            log.exception("internal error, trackingId %s: %s %s", tracking, method, path)
            self._send_error(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"internal error: {type(exc).__name__}",
                tracking=tracking,
            )

    def _route(self, method: str, path: str) -> None:
        if method == "GET" and (match := _DOWNLOAD_PATH.match(path)):
            self._download(match["id"])
        elif path == BASE:
            self._collection(method)
        elif match := _REPORT_PATH.match(path):
            self._item(method, match["id"])
        else:
            raise HttpError(HTTPStatus.NOT_FOUND, f"no such resource: {path}")

    def _collection(self, method: str) -> None:
        if method not in _COLLECTION_METHODS:
            raise _not_allowed(method, "GET", "POST")
        if method == "GET":
            token = self.reports.authorise(self._authorization(), write=False)
            params = self._params()
            items, following = self.reports.list(params, token)
            headers = {}
            if following is not None:
                headers["Link"] = next_link(self._base_url(), params, following)
            self._send_json(HTTPStatus.OK, {"items": items}, headers)
        else:
            token = self.reports.authorise(self._authorization(), write=True)
            self._send_json(HTTPStatus.OK, self.reports.create(self._json_body(), token))

    def _item(self, method: str, report_id: str) -> None:
        if method not in _ITEM_METHODS:
            raise _not_allowed(method, "GET", "DELETE")
        if method == "GET":
            token = self.reports.authorise(self._authorization(), write=False)
            self._send_json(HTTPStatus.OK, self.reports.get(report_id, token, self._base_url()))
        else:
            token = self.reports.authorise(self._authorization(), write=True)
            self.reports.delete(report_id, token)
            self.send_response(HTTPStatus.NO_CONTENT)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _download(self, report_id: str) -> None:
        self._send_file(self.reports.download(report_id, self._params()), f"{report_id}.csv")

    # ---------------------------------------------------------- reading the request

    def _authorization(self) -> str | None:
        return self.headers.get("Authorization")

    def _base_url(self) -> str:
        address = cast("tuple[str, int]", self.server.server_address)
        host = self.headers.get("Host") or f"{address[0]}:{address[1]}"
        return f"http://{host}"

    def _params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        return {k: v[-1] for k, v in query.items()}

    def _json_body(self) -> Any:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type != "application/json":
            raise HttpError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the request body as application/json"
            )
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise HttpError(HTTPStatus.BAD_REQUEST, "the request body is too large")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "the request body is not valid JSON") from None

    # ---------------------------------------------------------- writing the response

    def _send_json(
        self,
        status: HTTPStatus,
        payload: Any,
        headers: dict[str, str] | None = None,
        tracking: str | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("TrackingID", tracking or _tracking_id())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(
        self,
        status: HTTPStatus,
        message: str,
        headers: dict[str, str] | None = None,
        tracking: str | None = None,
    ) -> None:
        tracking = tracking or _tracking_id()
        self._send_json(status, error_body(message, tracking), headers, tracking)

    def _send_file(self, path: Path, name: str) -> None:
        size = path.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.end_headers()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                self.wfile.write(chunk)


def _not_allowed(method: str, *allowed: str) -> HttpError:
    return HttpError(
        HTTPStatus.METHOD_NOT_ALLOWED,
        f"{method} is not allowed here; use {' or '.join(allowed)}",
        {"Allow": ", ".join(allowed)},
    )
