"""Reconciliations as records: list them, delete one (its rows and its files under the home)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from recon.core.contracts import REPORT_TYPES
from recon.core.errors import BadInputError, NotFoundError
from recon.core.timezones import from_micros, iso_utc
from recon.home.layout import HomeLayout
from recon.home.records import (
    delete_reconciliation_rows,
    remove_reconciliation_files,
    resolved_path,
)
from recon.home.store import Store, transaction


@dataclass(frozen=True)
class ReconciliationRecord:
    """One stored reconciliation (a comparison of a report with a vendor file)."""

    id: str
    report_id: str
    report_type: str
    category: str
    billing_start_date: date | None
    billing_end_date: date | None
    vendor_file: str
    vendor_sha256: str
    tolerance: str
    prices_file: str | None
    currency: str | None
    created: datetime
    counts: dict[str, int]
    discrepancy_file: str
    latest: bool

    @property
    def discrepancies(self) -> int:
        """Rows that are not MATCH."""
        return sum(n for c, n in self.counts.items() if c != "MATCH")

    def as_json(self) -> dict[str, Any]:
        """The record with the API's camelCase keys."""
        return {
            "id": self.id,
            "reportId": self.report_id,
            "type": self.report_type,
            "category": self.category,
            "billingStartDate": self.billing_start_date.isoformat()
            if self.billing_start_date
            else None,
            "billingEndDate": self.billing_end_date.isoformat() if self.billing_end_date else None,
            "vendorFile": self.vendor_file,
            "vendorSha256": self.vendor_sha256,
            "tolerance": self.tolerance,
            "pricesFile": self.prices_file,
            "currency": self.currency,
            "created": iso_utc(self.created),
            "counts": self.counts,
            "discrepancies": self.discrepancies,
            "discrepancyFile": self.discrepancy_file,
            "latest": self.latest,
        }


_SELECT = """
SELECT r.id, r.report_id, r.report_type, r.category, r.billing_start_date, r.billing_end_date,
       r.vendor_file, r.vendor_sha256, CAST(r.tolerance AS VARCHAR), r.prices_file, r.currency,
       epoch_us(r.created), r.counts, r.discrepancy_file, r.latest
FROM ({records}) r
"""
# Each record and whether it is its report's newest (what `latest_reconciliations` holds),
# computed here too so a reader sees it in a home no writer of this version has opened yet.
_LATEST = """
SELECT *, {seq} AS run_order, row_number() OVER (
    PARTITION BY report_id ORDER BY created DESC, {seq} DESC NULLS LAST, id DESC
) = 1 AND report_id IN (SELECT id FROM reports) AS latest
FROM reconciliations
"""


def _select(con: duckdb.DuckDBPyConnection) -> str:
    has_seq = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'reconciliations' AND column_name = 'seq' "
        "AND table_catalog = current_database()"
    ).fetchone()
    seq = "seq" if has_seq and has_seq[0] else "NULL::BIGINT"
    return _SELECT.format(records=_LATEST.format(seq=seq))


def _record(row: tuple[Any, ...], layout: HomeLayout) -> ReconciliationRecord:
    return ReconciliationRecord(
        id=row[0],
        report_id=row[1],
        report_type=row[2],
        category=row[3],
        billing_start_date=row[4],
        billing_end_date=row[5],
        vendor_file=row[6],
        vendor_sha256=row[7],
        tolerance=row[8],
        prices_file=row[9],
        currency=row[10],
        created=from_micros(row[11]),
        counts=json.loads(row[12]),
        discrepancy_file=resolved_path(layout, row[13]),
        latest=bool(row[14]),
    )


def list_reconciliations(
    con: duckdb.DuckDBPyConnection,
    layout: HomeLayout,
    *,
    report_id: str | None = None,
    report_type: str | None = None,
    latest_only: bool = False,
) -> list[ReconciliationRecord]:
    """Stored reconciliations matching every given filter, oldest first."""
    clauses, params = [], []
    if report_id is not None:
        clauses.append("r.report_id = ?")
        params.append(report_id)
    if report_type is not None:
        if report_type.upper() not in REPORT_TYPES:
            raise BadInputError(
                f"type {report_type!r} is not a report type",
                hint=f"use one of {', '.join(REPORT_TYPES)}",
            )
        clauses.append("r.report_type = ?")
        params.append(report_type.upper())
    if latest_only:
        clauses.append("r.latest")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = con.execute(
        f"{_select(con)} {where} ORDER BY r.created, r.run_order NULLS FIRST, r.id", params
    ).fetchall()
    return [_record(r, layout) for r in rows]


def delete_reconciliation(store: Store, rec_id: str) -> ReconciliationRecord:
    """Remove one reconciliation: its row, its discrepancy rows and its files under the home.

    Files it wrote outside the home (`--out`) are left where they are.
    """
    with store.connect() as con:
        found = con.execute(f"{_select(con)} WHERE r.id = ?", [rec_id]).fetchone()
        if found is None:
            raise NotFoundError(
                f"no reconciliation with id {rec_id!r}",
                hint="`recon reconcile list` shows the ids",
            )
        record = _record(found, store.layout)
        with transaction(con):
            removed = delete_reconciliation_rows(con, "id = ?", [rec_id])
    for removed_id, stored in removed:
        remove_reconciliation_files(store.layout, removed_id, stored)
    return record
