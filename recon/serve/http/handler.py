"""The HTTP plumbing of `recon serve`: parse a request, route it, write the response.

What each operation does is `ReportsApi`'s; how a report looks on the wire is `wire`'s. Every
request's body is read (or the connection closed) before anything is answered, so an early
error never leaves bytes behind for the next request on a kept-alive connection; every error,
protocol errors included, is the documented JSON body with a trackingId.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import recon
from recon.serve.http.reports_api import ReportsApi
from recon.serve.http.wire import BASE, HttpError, error_body, next_link, status_of

log = logging.getLogger("recon.serve.http")
access = logging.getLogger("recon.serve.http.access")

_REPORT_PATH = re.compile(rf"^{BASE}/(?P<id>[^/]+)$")
_DOWNLOAD_PATH = re.compile(rf"^{BASE}/(?P<id>[^/]+)/download$")
_MAX_BODY = 1_000_000
_MAX_REQUEST_LINE = 8_192
_CHUNK = 1 << 16
_LINGER_SECONDS = 2.0
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def _tracking_id() -> str:
    return f"recon_{uuid.uuid4()}"


def make_handler(api: ReportsApi) -> type[BaseHTTPRequestHandler]:
    """An HTTP handler class bound to one API."""

    class Handler(_Handler):
        reports = api

    return Handler


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods a path answers (what a 405's Allow header lists)."""
    if path == BASE:
        return ("GET", "POST")
    if _DOWNLOAD_PATH.match(path):
        return ("GET",)
    return ("GET", "DELETE")


def _printable(text: str, limit: int = 200) -> str:
    """`text` for a log line: control and non-ASCII characters escaped, long ones cut."""
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else "?", cut)


class _Handler(BaseHTTPRequestHandler):
    server_version = "recon"
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle kept-alive connection is closed after a minute
    reports: ReportsApi

    # ---------------------------------------------------------- one request

    def handle_one_request(self) -> None:
        self._started = time.monotonic()
        self._status: int | None = None
        self._linger = False
        try:
            super().handle_one_request()
        finally:
            if self._status is not None:
                self._log_access()

    def parse_request(self) -> bool:
        self._started = time.monotonic()
        if len(getattr(self, "raw_requestline", b"")) > _MAX_REQUEST_LINE:
            self.request_version = "HTTP/1.1"
            self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        return super().parse_request()

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

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            return  # the client is gone
        if self._linger:
            self._drain()

    def _drain(self) -> None:
        """Read what a refused client still sends, so closing does not reset the connection.

        Closing with unread bytes pending sends a reset, which can lose the answer.
        """
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline = time.monotonic() + _LINGER_SECONDS
            while time.monotonic() < deadline and self.connection.recv(_CHUNK):
                pass
        except OSError:
            pass

    # ---------------------------------------------------------- logging

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by `_log_access`, once the response is written."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _log_access(self) -> None:
        if not recon.http_access_log():
            return
        path = urlsplit(getattr(self, "path", "") or "").path  # never the query: signatures
        access.info(
            '%s "%s %s" %s %.1fms',
            self.client_address[0],
            _printable(getattr(self, "command", "") or "-"),
            _printable(path or "-"),
            self._status,
            (time.monotonic() - self._started) * 1000,
        )

    # ---------------------------------------------------------- routing

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            body = self._read_body()
            self._route(method, path, body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client hung up: nothing to answer
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

    def _route(self, method: str, path: str, body: bytes) -> None:
        if path == BASE or _REPORT_PATH.match(path) or _DOWNLOAD_PATH.match(path):
            allowed = allowed_methods(path)
            if method not in allowed:
                raise _not_allowed(method, allowed)
        if method == "GET" and (match := _DOWNLOAD_PATH.match(path)):
            self._download(match["id"])
        elif path == BASE:
            self._collection(method, body)
        elif match := _REPORT_PATH.match(path):
            self._item(method, match["id"])
        else:
            raise HttpError(HTTPStatus.NOT_FOUND, f"no such resource: {_printable(path)}")

    def _collection(self, method: str, body: bytes) -> None:
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
            self._send_json(HTTPStatus.OK, self.reports.create(self._json_body(body), token))

    def _item(self, method: str, report_id: str) -> None:
        if method == "GET":
            token = self.reports.authorise(self._authorization(), write=False)
            report = self.reports.get(report_id, token, self._base_url(), self._params())
            self._send_json(HTTPStatus.OK, report)
        else:
            token = self.reports.authorise(self._authorization(), write=True)
            self.reports.delete(report_id, token, self._params())
            self.send_response(HTTPStatus.NO_CONTENT)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _download(self, report_id: str) -> None:
        path = self.reports.download(report_id, self._params())
        try:
            handle = path.open("rb")
        except FileNotFoundError:  # deleted since it was found
            raise HttpError(HTTPStatus.NOT_FOUND, f"report {report_id} has no CSV") from None
        with handle:
            self._send_file(handle, os.fstat(handle.fileno()).st_size, f"{report_id}.csv")

    # ---------------------------------------------------------- reading the request

    def _read_body(self) -> bytes:
        """The whole request body (at most 1 MB).

        A body recon will not read closes the connection after the answer.
        """
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HttpError(
                HTTPStatus.BAD_REQUEST,
                "chunked request bodies are not accepted; send Content-Length",
            )
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return b""
        if len(set(values)) > 1 or not values[0].strip().isdigit():
            self.close_connection = True
            raise HttpError(
                HTTPStatus.BAD_REQUEST, "Content-Length must be one non-negative whole number"
            )
        length = int(values[0])
        if length > _MAX_BODY:
            self.close_connection = True
            self._linger = True
            raise HttpError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body is larger than {_MAX_BODY} bytes",
            )
        data = self.rfile.read(length)
        if len(data) < length:
            raise ConnectionResetError("the client closed the connection mid-body")
        return data

    def _authorization(self) -> str | None:
        return self.headers.get("Authorization")

    def _base_url(self) -> str:
        address = cast("tuple[str, int]", self.server.server_address)
        host = self.headers.get("Host") or f"{address[0]}:{address[1]}"
        return f"http://{host}"

    def _params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        return {k: v[-1] for k, v in query.items()}

    def _json_body(self, body: bytes) -> Any:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type != "application/json":
            raise HttpError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the request body as application/json"
            )
        try:
            return json.loads(body or b"null")
        except RecursionError:
            raise HttpError(
                HTTPStatus.BAD_REQUEST, "the request body is nested too deeply"
            ) from None
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "the request body is not valid JSON") from None

    # ---------------------------------------------------------- writing the response

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = int(code)
        super().send_response(code, message)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors `http.server` finds, as JSON like every other error; then close.

        A bad request line, headers too long, a method with no `do_` (TRACE...: 405).
        """
        status = HTTPStatus(code)
        headers: dict[str, str] = {}
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # recon answers with headers, always
        if status == HTTPStatus.NOT_IMPLEMENTED:  # a method http.server has no do_ for
            path = urlsplit(getattr(self, "path", "") or "").path.rstrip("/") or "/"
            error = _not_allowed(_printable(self.command or "-"), allowed_methods(path))
            status, message, headers = error.status, error.message, error.headers
        self.close_connection = True
        text = f"{status.phrase}: {message}" if message and message != status.phrase else None
        self._send_error(status, text or status.phrase, headers)

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
        if self.close_connection:
            self.send_header("Connection", "close")
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

    def _send_file(self, handle: Any, size: int, name: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.end_headers()
        while chunk := handle.read(_CHUNK):
            self.wfile.write(chunk)


def _not_allowed(method: str, allowed: tuple[str, ...]) -> HttpError:
    return HttpError(
        HTTPStatus.METHOD_NOT_ALLOWED,
        f"{method} is not allowed here; use {' or '.join(allowed)}",
        {"Allow": ", ".join(allowed)},
    )
