"""The report registry in the store: register, get, list, fail and delete reports (§6)."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from recon.core.config import BillingZones
from recon.core.contracts import CATEGORIES, REPORT_TYPES
from recon.core.errors import BadInputError, ConflictError, NotFoundError
from recon.core.timezones import from_micros
from recon.home.layout import HomeLayout
from recon.home.lock import pid_alive, process_token
from recon.home.records import delete_reconciliation_rows, remove_reconciliation_files
from recon.home.store import Store, point_report_rows, report_rows_path, transaction
from recon.reports.model import SORT_KEYS, STATUSES, Report, ReportRequest


def new_report_id() -> str:
    """An opaque, random report id (`rpt-` and 16 hex digits)."""
    return f"rpt-{uuid.uuid4().hex[:16]}"


_COLUMNS = (
    "id, type, category, billing_start_date, billing_end_date, sub_partner_org_id, timezone, "
    "epoch_us(as_of), epoch_us(created), status, errors, csv_path, row_count, "
    "CAST(total_quantity AS VARCHAR)"
)


def _report_from_row(row: tuple[Any, ...], layout: HomeLayout) -> Report:
    # The CSV is always `reports/<id>.csv` under the home it was opened as: whatever path the
    # store holds (an absolute one from an earlier version, or a copied home's) is not followed.
    return Report(
        id=row[0],
        type=row[1],
        category=row[2],
        billing_start_date=row[3],
        billing_end_date=row[4],
        sub_partner_org_id=row[5],
        timezone=row[6],
        as_of=from_micros(row[7]) if row[7] is not None else None,
        created=from_micros(row[8]),
        status=row[9],
        errors=json.loads(row[10]),
        csv_path=str(layout.reports / f"{row[0]}.csv") if row[11] else None,
        row_count=row[12],
        total_quantity=row[13],
    )


def fail_interrupted(con: duckdb.DuckDBPyConnection, reports_dir: Path | None = None) -> None:
    """Mark IN_PROGRESS reports whose process has gone as FAILED (they can never finish).

    A CSV such a report may have written before it was interrupted is removed: only a
    COMPLETED report has a file.
    """
    for report_id, pid in _orphans(con).items():
        con.execute(
            "UPDATE reports SET status = 'FAILED', errors = ? WHERE id = ?",
            [json.dumps(_interrupted(pid)), report_id],
        )
        if reports_dir is not None:
            (reports_dir / f"{report_id}.csv").unlink(missing_ok=True)
            (reports_dir / f"{report_id}.parquet").unlink(missing_ok=True)


BUILDING: set[str] = set()  # ids of the reports this process registered and is building


def _orphans(con: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """IN_PROGRESS reports whose builder has gone, with that process's id.

    Another process's report is orphaned when its PID has ended. One with this process's PID
    is orphaned unless this very process (not an earlier one that had the same PID, as a
    restarted server in a container has) is building it now.
    """
    try:
        rows = con.execute(
            "SELECT id, pid, builder FROM reports WHERE status = 'IN_PROGRESS'"
        ).fetchall()
    except duckdb.BinderException:  # a store from before `builder`
        rows = con.execute(
            "SELECT id, pid, NULL FROM reports WHERE status = 'IN_PROGRESS'"
        ).fetchall()
    mine = process_token()
    return {
        i: pid
        for i, pid, builder in rows
        if (pid != os.getpid() and not pid_alive(pid))
        or (pid == os.getpid() and (builder != mine or i not in BUILDING))
    }


def _interrupted(pid: int | None) -> list[dict[str, str]]:
    return [
        {
            "code": "INTERRUPTED",
            "description": f"the recon process (PID {pid}) ended before the report "
            "completed; delete it and create it again",
        }
    ]


def seen_by_readers(con: duckdb.DuckDBPyConnection, reports: list[Report]) -> list[Report]:
    """Reports as a reader sees them: an IN_PROGRESS one whose process has gone is FAILED.

    Nothing is written (readers never write); the next writer records it (`fail_interrupted`).
    """
    if not any(r.status == "IN_PROGRESS" for r in reports):
        return reports
    orphans = _orphans(con)
    return [
        replace(r, status="FAILED", errors=_interrupted(orphans[r.id]), csv_path=None)
        if r.status == "IN_PROGRESS" and r.id in orphans
        else r
        for r in reports
    ]


def get_report(con: duckdb.DuckDBPyConnection, report_id: str, *, layout: HomeLayout) -> Report:
    """One report by id, or `NotFoundError`; its CSV path is under `layout`'s home."""
    row = con.execute(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", [report_id]).fetchone()
    if row is None:
        raise NotFoundError(
            f"no report with id {report_id!r}", hint="`recon report list` shows the ids"
        )
    return _report_from_row(row, layout)


def list_reports(
    con: duckdb.DuckDBPyConnection,
    layout: HomeLayout,
    *,
    report_type: str | None = None,
    category: str | None = None,
    status: str | None = None,
    start: date | None = None,
    end: date | None = None,
    sub_partner_org_id: str | None = None,
    sort_by: str = "billingStartDate",
) -> list[Report]:
    """Reports matching every given filter exactly, sorted by `sort_by` (then created, id)."""
    if sort_by not in SORT_KEYS:
        raise BadInputError(
            f"cannot sort by {sort_by!r}", hint=f"use one of {', '.join(SORT_KEYS)}"
        )
    for name, given, known in (
        ("type", report_type, REPORT_TYPES),
        ("category", category, CATEGORIES),
        ("status", status, STATUSES),
    ):
        if given is not None and given.upper() not in known:
            raise BadInputError(
                f"{name} {given!r} is not a report {name}", hint=f"use one of {', '.join(known)}"
            )
    clauses, params = [], []
    for column, value in (
        ("type", report_type.upper() if report_type else None),
        ("category", category.upper() if category else None),
        ("status", status.upper() if status else None),
        ("billing_start_date", start),
        ("billing_end_date", end),
        ("sub_partner_org_id", sub_partner_org_id),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM reports {where} "
        f"ORDER BY {SORT_KEYS[sort_by]} NULLS LAST, created, id",
        params,
    ).fetchall()
    return [_report_from_row(r, layout) for r in rows]


def _conflicting(
    con: duckdb.DuckDBPyConnection, request: ReportRequest, layout: HomeLayout
) -> Report | None:
    row = con.execute(
        f"SELECT {_COLUMNS} FROM reports WHERE category = 'RECONCILIATION' AND type = ? "
        "AND billing_start_date = ? AND billing_end_date = ? "
        "AND sub_partner_org_id IS NOT DISTINCT FROM ? "
        "AND as_known_on IS NOT DISTINCT FROM ? "  # a reproduction of the past stands apart
        "AND status IN ('COMPLETED', 'IN_PROGRESS') ORDER BY created LIMIT 1",
        [request.type, request.start, request.end, request.sub_partner_org_id, request.as_known_on],
    ).fetchone()
    return _report_from_row(row, layout) if row else None


def register_report(
    store: Store, request: ReportRequest, zones: BillingZones, created: datetime
) -> Report:
    """Insert the report as IN_PROGRESS, or raise `ConflictError` if the rules forbid it."""
    with store.connect() as con:
        fail_interrupted(con, store.layout.reports)
        if request.category == "RECONCILIATION":
            existing = _conflicting(con, request, store.layout)
            if existing is not None:
                scope = request.sub_partner_org_id
                scoped = f" for sub-partner {scope}" if scope else ""
                if request.as_known_on:
                    scoped += f" as known on {request.as_known_on.isoformat()}"
                raise ConflictError(
                    f"a {existing.status} {request.type} report for {request.start}..{request.end}"
                    f"{scoped} already exists (id {existing.id})",
                    hint=f"delete it first: recon report delete {existing.id}",
                )
        zone = request.timezone or zones.describe()
        report = Report(
            id=new_report_id(),
            type=request.type,  # type: ignore[arg-type]
            category=request.category,  # type: ignore[arg-type]
            billing_start_date=request.start,
            billing_end_date=request.end,
            sub_partner_org_id=request.sub_partner_org_id,
            timezone=zone if request.category == "RECONCILIATION" else "UTC",
            as_of=(request.as_of or created) if request.category == "POINT_IN_TIME" else None,
            created=created,
            status="IN_PROGRESS",
            as_known_on=request.as_known_on,
        )
        BUILDING.add(report.id)  # until build_registered ends, whatever its outcome
        con.execute(
            "INSERT INTO reports (id, type, category, billing_start_date, billing_end_date, "
            "sub_partner_org_id, timezone, as_of, created, status, errors, pid, builder, "
            "as_known_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'IN_PROGRESS', '[]', ?, ?, ?)",
            [
                report.id,
                report.type,
                report.category,
                report.billing_start_date,
                report.billing_end_date,
                report.sub_partner_org_id,
                report.timezone,
                report.as_of,
                report.created,
                os.getpid(),
                process_token(),
                request.as_known_on,  # the conflict rule tells it apart from now on
            ],
        )
    return report


def fail_report(store: Store, report: Report, code: str, description: str) -> Report:
    """Mark a report FAILED with one error."""
    errors = [{"code": code, "description": description}]
    with store.connect() as con:
        con.execute(
            "UPDATE reports SET status = 'FAILED', errors = ? WHERE id = ?",
            [json.dumps(errors), report.id],
        )
        return get_report(con, report.id, layout=store.layout)


def delete_report(store: Store, report_id: str) -> Report:
    """Remove a COMPLETED or FAILED report, its rows, its CSV and its reconciliations.

    Only files under this home are removed, found from the report's id: never a path the
    store holds (a copied home must not delete the original's files).
    """
    with store.connect() as con:
        fail_interrupted(con, store.layout.reports)
        report = get_report(con, report_id, layout=store.layout)
        if report.status == "IN_PROGRESS":
            raise ConflictError(
                f"report {report_id} is IN_PROGRESS and cannot be deleted",
                hint="wait until it is COMPLETED or FAILED",
            )
        with transaction(con):
            reconciliations = delete_reconciliation_rows(con, "report_id = ?", [report_id])
            con.execute("DELETE FROM late_events WHERE report_id = ?", [report_id])
            con.execute("DELETE FROM reports WHERE id = ?", [report_id])
            point_report_rows(con, store.layout)
    report_rows_path(store.layout, report_id).unlink(missing_ok=True)
    (store.layout.reports / f"{report_id}.csv").unlink(missing_ok=True)
    for rec_id, stored in reconciliations:
        remove_reconciliation_files(store.layout, rec_id, stored)
    return report
