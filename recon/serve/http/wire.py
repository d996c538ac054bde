"""The wire format of the Webex billing-report API: what goes over HTTP, and nothing else.

A report as Webex names its fields, paging cursors, date parameters, error bodies and codes,
and the signing of download links. No I/O here: the secret comes from the home via `Recon`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from recon import ConflictError, LockedError, NotFoundError, ReconError, Report

BASE = "/v1/wholesale/billing/reports"
DOWNLOAD_TTL = timedelta(minutes=30)
MAX_PAGE = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = ("IN_PROGRESS", "COMPLETED", "FAILED")
# `asKnownOn` is recon's own (§8): the period as the logs ingested by that instant said.
CREATE_FIELDS = frozenset(
    {
        "billingStartDate",
        "billingEndDate",
        "type",
        "subPartnerOrgId",
        "internal",
        "category",
        "asKnownOn",
    }
)
# Webex reports errors with numeric codes; recon's symbolic codes map onto these.
ERROR_CODES = {
    "BAD_INPUT": 4000,
    "CONFLICT": 4090,
    "NOT_FOUND": 4040,
    "SCHEMA_VIOLATION": 5001,
    "INTERRUPTED": 5002,
    "INTERNAL_ERROR": 5000,
}


class HttpError(Exception):
    """An HTTP error response with a helpful message."""

    def __init__(
        self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> HttpError:
    """A 400 with `message`."""
    return HttpError(HTTPStatus.BAD_REQUEST, message)


def status_of(exc: ReconError) -> HTTPStatus:
    """The HTTP status of a library error."""
    if isinstance(exc, NotFoundError):
        return HTTPStatus.NOT_FOUND
    if isinstance(exc, ConflictError):
        return HTTPStatus.CONFLICT
    if isinstance(exc, LockedError):
        return HTTPStatus.LOCKED
    return HTTPStatus.BAD_REQUEST


def error_body(message: str, tracking_id: str) -> dict[str, Any]:
    """The body of an error response."""
    return {"message": message, "errors": [{"description": message}], "trackingId": tracking_id}


def one_of(values: tuple[str, ...]) -> str:
    """`A, B, C or D`, for messages that list every accepted value."""
    return f"{', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else values[0]


def date_param(params: dict[str, Any], name: str) -> date | None:
    """An optional day (query or body); 400 naming the field for anything not a whole day.

    YYYY-MM-DD, or midnight UTC as clients generated from Webex's spec send it
    (2026-09-01T00:00:00.000Z).
    """
    value = params.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(
            f"{name} {value!r} is not a date (YYYY-MM-DD, or YYYY-MM-DDT00:00:00.000Z)"
        ) from None
    if instant.utcoffset() != timedelta(0) or instant.time() != time(0):
        raise bad_request(
            f"{name} {value!r} is not a whole day: give YYYY-MM-DD or midnight UTC "
            "(YYYY-MM-DDT00:00:00.000Z)"
        )
    return instant.date()


def compact(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without its None fields (Webex omits them)."""
    return {k: v for k, v in payload.items() if v is not None}


# ---------------------------------------------------------------------------- reports


def list_item(report: Report) -> dict[str, Any]:
    """A report as a list item (ListReport)."""
    body = report.as_json()
    return compact(
        {
            "id": report.id,
            "billingStartDate": body["billingStartDate"],
            "billingEndDate": body["billingEndDate"],
            "status": report.status,
            "type": report.type,
            "category": report.category,
            "created": body["created"],
            "subPartnerOrgId": report.sub_partner_org_id,
            # recon's own: the lake the report was computed from, and whether it is stale
            # (§8); clients generated from Webex's spec ignore fields they do not know.
            "lineage": report.lineage_json() if report.status == "COMPLETED" else None,
        }
    )


def report_id_body(report: Report) -> dict[str, Any]:
    """What a create answers (ReportId)."""
    item = list_item(report)
    return compact(
        {k: item.get(k) for k in ("id", "billingStartDate", "billingEndDate", "type", "category")}
    )


def full_report(report: Report, download_url: str | None) -> dict[str, Any]:
    """A report in full (Report), with its download link when it has one."""
    body = list_item(report)
    body["createdBy"] = "recon"
    body["errors"] = [
        {
            "code": ERROR_CODES.get(e["code"], 5000),
            "description": e["description"],
            "reason": e["code"],
        }
        for e in report.errors
    ]
    if download_url is not None:
        body["tempDownloadURL"] = download_url
    return body


# ---------------------------------------------------------------------------- paging


def cursor(offset: int) -> str:
    """The opaque cursor of a page starting at `offset`."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def cursor_offset(value: str | None) -> int:
    """The offset a cursor stands for (0 without one); 400 for one recon did not make."""
    if not value:
        return 0
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "offset" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except ValueError:
        raise bad_request("cursor is not valid; follow the Link header") from None


def next_link(base_url: str, params: dict[str, str], offset: int) -> str:
    """The Link header pointing at the page that starts at `offset`."""
    query = urlencode({**params, "cursor": cursor(offset)})
    return f'<{base_url}{BASE}?{query}>; rel="next"'


# ---------------------------------------------------------------------------- download links


@dataclass
class Signer:
    """Signs and checks expiring download links with a secret kept in the home."""

    secret: bytes

    def signature(self, report_id: str, expires: int) -> str:
        """HMAC-SHA256 of the report id and expiry, base64url."""
        mac = hmac.new(self.secret, f"{report_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def download_url(self, base_url: str, report_id: str, now: datetime) -> str:
        """A link to a report's CSV that lasts `DOWNLOAD_TTL` from `now`."""
        expires = int((now + DOWNLOAD_TTL).timestamp())
        query = urlencode({"expires": expires, "signature": self.signature(report_id, expires)})
        return f"{base_url}{BASE}/{report_id}/download?{query}"

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


def expired(expires: int, now: datetime) -> bool:
    """Whether a link that expires at `expires` (epoch seconds) has expired at `now`.

    Compared in whole microseconds, as the registry keeps instants.
    """
    return (now - _EPOCH) // timedelta(microseconds=1) >= expires * 1_000_000
