"""The API's operations (list, create, get, delete, download), independent of HTTP plumbing.

Every business rule (validation, conflicts, lifecycle) is the library's: this layer checks
tokens and their sub-partner scope, reads parameters and shapes answers in the wire format.
Creation runs in the background, as on Webex: a create returns at once with IN_PROGRESS.
LOCATION reports (recon's extension; the API's type enum has no LOCATION) are shown only to a
request that asks for `type=LOCATION`, so a client generated from Webex's spec never meets one.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import Any

from recon import (
    REPORT_TYPES,
    SORT_KEYS,
    NotFoundError,
    Recon,
    Report,
    ReportRequest,
    TokenRecord,
    now,
    parse_instant,
)
from recon.serve.http.wire import (
    CREATE_FIELDS,
    MAX_PAGE,
    STATUSES,
    HttpError,
    Signer,
    bad_request,
    cursor_offset,
    date_param,
    expired,
    full_report,
    list_item,
    one_of,
    report_id_body,
)

log = logging.getLogger("recon.serve.http")


class ReportsApi:
    """The API's behaviour over one home (testable without a socket)."""

    def __init__(self, rc: Recon) -> None:
        self.recon = rc
        self.signer = Signer(rc.server_secret())
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-builder")
        self._building = 0  # reports queued or being built
        self._building_lock = threading.Lock()
        rc.recover_interrupted()  # a previous server's IN_PROGRESS ones

    def busy(self) -> bool:
        """Whether a report is queued or being built."""
        with self._building_lock:
            return self._building > 0

    # -------------------------------------------------------------- auth

    def authorise(self, header: str | None, *, write: bool) -> TokenRecord:
        """The token behind an Authorization header; 401 if missing or unknown, 403 if read-only."""
        if not header or not header.startswith("Bearer "):
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                "missing bearer token: send 'Authorization: Bearer <token>'",
                {"WWW-Authenticate": "Bearer"},
            )
        record = self.recon.find_token(header.removeprefix("Bearer ").strip())
        if record is None:
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                "the bearer token is not valid: create one with `recon token create`",
                {"WWW-Authenticate": "Bearer"},
            )
        refusal = record.refusal(now())
        if refusal is not None:
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                f"{refusal}: create a new one with `recon token create`",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if write and not record.can_write():
            raise HttpError(
                HTTPStatus.FORBIDDEN,
                "this token has read scope; creating and deleting reports "
                "needs a write-scope token",
            )
        return record

    def _report(self, report_id: str, token: TokenRecord, params: dict[str, str]) -> Report:
        report = self.recon.get_report(report_id)
        scope = token.sub_partner_org_id
        hidden = report.type == "LOCATION" and params.get("type") != "LOCATION"
        if hidden or (scope is not None and report.sub_partner_org_id != scope):
            raise NotFoundError(f"no report with id {report_id!r}")
        return report

    # -------------------------------------------------------------- operations

    def list(
        self, params: dict[str, str], token: TokenRecord
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of reports and the offset of the next page (None on the last)."""
        sort_by = params.get("sortBy", "billingStartDate")
        if sort_by not in SORT_KEYS:
            raise bad_request(f"sortBy {sort_by!r} must be one of {', '.join(SORT_KEYS)}")
        try:
            size = int(params.get("max", MAX_PAGE))
        except ValueError:
            raise bad_request(f"max {params['max']!r} is not a number") from None
        if not 1 <= size <= MAX_PAGE:
            raise bad_request(f"max must be between 1 and {MAX_PAGE}")
        offset = cursor_offset(params.get("cursor"))
        scope = params.get("subPartnerOrgId")
        if token.sub_partner_org_id is not None:
            if scope not in (None, token.sub_partner_org_id):
                raise HttpError(
                    HTTPStatus.FORBIDDEN,
                    f"this token may only list reports of sub-partner {token.sub_partner_org_id}",
                )
            scope = token.sub_partner_org_id
        report_type = params.get("type")
        if report_type is not None and report_type not in REPORT_TYPES:
            raise bad_request(f"type {report_type!r} must be {one_of(REPORT_TYPES)}")
        status = params.get("status")
        if status is not None and status not in STATUSES:
            raise bad_request(f"status {status!r} must be {one_of(STATUSES)}")
        reports = self.recon.list_reports(
            sort_by=sort_by,
            report_type=report_type,
            category=params.get("category"),
            status=status,
            start=date_param(params, "billingStartDate"),
            end=date_param(params, "billingEndDate"),
            sub_partner_org_id=scope,
        )
        if report_type is None:  # LOCATION is recon's extension: only when asked for
            reports = [r for r in reports if r.type != "LOCATION"]
        page = reports[offset : offset + size]
        following = offset + size if offset + size < len(reports) else None
        return [list_item(r) for r in page], following

    def create(self, body: Any, token: TokenRecord) -> dict[str, Any]:
        """Register a report and build it in the background; returns the ReportId body."""
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        unknown = set(body) - CREATE_FIELDS
        if unknown:
            raise bad_request(f"unknown field(s): {', '.join(sorted(unknown))}")
        scope = body.get("subPartnerOrgId")
        if token.sub_partner_org_id is not None:
            if scope not in (None, token.sub_partner_org_id):
                raise HttpError(
                    HTTPStatus.FORBIDDEN,
                    "this token may only create reports for sub-partner "
                    f"{token.sub_partner_org_id}",
                )
            scope = token.sub_partner_org_id
        names = ("billingStartDate", "billingEndDate", "type", "subPartnerOrgId", "category")
        for name in (*names, "asKnownOn"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise bad_request(f"{name} must be a string")
        request = ReportRequest(
            type=body.get("type") or "PARTNER",
            category=body.get("category") or "RECONCILIATION",
            start=date_param(body, "billingStartDate"),
            end=date_param(body, "billingEndDate"),
            sub_partner_org_id=scope,
            as_known_on=parse_instant(body["asKnownOn"], what="asKnownOn")
            if body.get("asKnownOn")
            else None,
        )
        report, valid = self.recon.begin_report(request)
        with self._building_lock:
            self._building += 1
        self.pool.submit(self._build, report, valid)
        return report_id_body(report)

    def _build(self, report: Report, request: ReportRequest) -> None:
        try:
            self.recon.build_report(report, request)
        except Exception:
            # The report is FAILED with the error's name; the traceback is for the operator.
            log.exception("building report %s failed", report.id)
        finally:
            with self._building_lock:
                self._building -= 1

    def get(
        self, report_id: str, token: TokenRecord, base_url: str, params: dict[str, str]
    ) -> dict[str, Any]:
        """One report in full, with a fresh download link when it is COMPLETED."""
        report = self._report(report_id, token, params)
        link = None
        if report.status == "COMPLETED":
            link = self.signer.download_url(base_url, report.id, now())
        return full_report(report, link)

    def delete(self, report_id: str, token: TokenRecord, params: dict[str, str]) -> None:
        """Delete a COMPLETED or FAILED report."""
        self._report(report_id, token, params)
        self.recon.delete_report(report_id)

    def download(self, report_id: str, params: dict[str, str]) -> Path:
        """The CSV behind a signed, unexpired link."""
        expires = self.signer.check(
            report_id, params.get("expires", ""), params.get("signature", "")
        )
        if expired(expires, now()):
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
