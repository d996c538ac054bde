"""Run one reconciliation: read both sides, compare, write the files, store the discrepancies.

The id is derived from what was compared (our report, the vendor file's bytes, the tolerance
and the price list's bytes), so running the same comparison again replaces its own results
instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from recon.core.camel import camel_rows
from recon.core.contracts import prices_contract, report_contract
from recon.core.csvsafe import neutralised, restored
from recon.core.errors import BadInputError
from recon.core.quantity import micros_of, text_of
from recon.home.files import file_sha256, write_text_atomically, write_with
from recon.home.records import stored_path
from recon.home.store import Store, transaction
from recon.ingest.catalog import read_checked_csv
from recon.reconcile import compare as rec
from recon.reconcile.vendor import IncomparableError, check_period, read_vendor_report
from recon.reports.model import Report

TOLERANCE_TEXT = r"^[0-9]{1,10}(\.[0-9]{1,6})?$"  # 64-bit millionths, as quantities
STORED_KEYS = [
    "partner_org_id",
    "subscription_id",
    "customer_org_id",
    "user_id",
    "workspace_id",
    "service_name",
    "sku",
    "location_id",
    "license_id",
]


@dataclass
class ReconciliationResult:
    """The outcome of comparing one report with one vendor file."""

    id: str
    report: Report
    vendor_file: str
    tolerance: str
    prices_file: str | None
    currency: str | None
    counts: dict[str, int]
    by_service: pl.DataFrame
    by_customer: pl.DataFrame | None
    discrepancy_file: str
    out_dir: str
    files: list[str] = field(default_factory=list)
    unpriced_skus: list[dict[str, Any]] = field(default_factory=list)
    money_delta: str | None = None

    @property
    def money_complete(self) -> bool:
        """False when the price list lacks SKUs whose rows differ: the money total omits them."""
        return not self.unpriced_skus

    @property
    def discrepancies(self) -> int:
        """Rows that are not MATCH."""
        return sum(n for c, n in self.counts.items() if c != rec.MATCH)

    @property
    def exit_code(self) -> int:
        """0 when everything matches, 1 when discrepancies exist."""
        return 1 if self.discrepancies else 0

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "id": self.id,
            "reportId": self.report.id,
            "reportStale": self.report.stale,
            "type": self.report.type,
            "category": self.report.category,
            "billingStartDate": str(self.report.billing_start_date or "") or None,
            "billingEndDate": str(self.report.billing_end_date or "") or None,
            "vendorFile": self.vendor_file,
            "tolerance": self.tolerance,
            "pricesFile": self.prices_file,
            "currency": self.currency,
            "counts": self.counts,
            "discrepancies": self.discrepancies,
            "byService": camel_rows(self.by_service),
            "byCustomer": camel_rows(self.by_customer) if self.by_customer is not None else None,
            "moneyDelta": self.money_delta,
            "moneyComplete": self.money_complete if self.currency else None,
            "unpricedSkus": self.unpriced_skus,
            "discrepancyFile": self.discrepancy_file,
            "outDir": self.out_dir,
        }


def parse_tolerance(text: str) -> int:
    """A non-negative quantity with at most 6 decimals, in millionths."""
    value = text.strip()
    if not re.fullmatch(TOLERANCE_TEXT, value):
        raise BadInputError(
            f"tolerance {text!r} is not a non-negative quantity with at most 6 decimals",
            hint="write it like 0 or 0.01",
        )
    return micros_of(value)


def load_prices(path: Path) -> pl.DataFrame:
    """A checked price list with a single currency."""
    prices = read_checked_csv(path, prices_contract(), "price list")
    currencies = sorted(set(prices["CURRENCY"].to_list()))
    if len(currencies) > 1:
        raise BadInputError(
            f"price list {path} mixes currencies ({', '.join(currencies)})",
            hint="use one price list per currency",
        )
    return prices


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    safe = neutralised(frame)
    write_with(path, lambda tmp: safe.write_csv(tmp, quote_style="necessary", line_terminator="\n"))


def reconcile_report(
    store: Store,
    report: Report,
    vendor_path: Path,
    tolerance_text: str = "0",
    prices_path: Path | None = None,
    out_dir: Path | None = None,
    created: datetime | None = None,
) -> ReconciliationResult:
    """Compare a COMPLETED report with a vendor CSV; raise `IncomparableError` if impossible."""
    if report.status != "COMPLETED" or not report.csv_path:
        raise IncomparableError(
            f"report {report.id} is {report.status}; only a COMPLETED report can be reconciled",
            hint="create the report again",
        )
    tolerance = parse_tolerance(tolerance_text)
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise BadInputError(
            f"--out {out_dir} is a file, not a folder",
            hint="name a folder for the discrepancy files (it is created if missing)",
        )
    prices = load_prices(prices_path) if prices_path else None
    contract = report_contract(report.type, report.category)
    vendor = read_vendor_report(vendor_path, report.type, report.category)
    check_period(vendor, report)
    ours = restored(pl.read_csv(report.csv_path, infer_schema=False).fill_null(""))
    if report.billing_start_date and report.billing_end_date:
        period_days = (report.billing_end_date - report.billing_start_date).days + 1
    else:
        period_days = 1  # point-in-time quantities are package counts: one month each
    key = list(contract.key)
    compared = rec.with_money(
        rec.compared_rows(ours, vendor.rows, key, tolerance), prices, period_days
    )
    counts = {c: int((compared["CLASS"] == c).sum()) for c in rec.CLASSES}
    priced = prices is not None
    by_service = rec.summary_by(compared, "SERVICE_NAME", priced)
    by_customer = (
        rec.summary_by(compared, "CUSTOMER_ORG_ID", priced) if "CUSTOMER_ORG_ID" in key else None
    )
    unpriced = rec.unpriced_skus(compared) if priced else None
    found = rec.discrepancies(compared)

    fingerprint = "|".join(
        [report.id, vendor.sha256, str(tolerance), file_sha256(prices_path) if prices_path else ""]
    )
    rec_id = "rec-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    target = out_dir or store.layout.root / "reconciliations" / rec_id
    target.mkdir(parents=True, exist_ok=True)
    discrepancy_file = target / "discrepancies.csv"
    _write_csv(found, discrepancy_file)
    _write_csv(by_service, target / "summary_by_service.csv")
    files = [str(discrepancy_file), str(target / "summary_by_service.csv")]
    if by_customer is not None:
        _write_csv(by_customer, target / "summary_by_customer.csv")
        files.append(str(target / "summary_by_customer.csv"))
    result = ReconciliationResult(
        id=rec_id,
        report=report,
        vendor_file=str(vendor_path),
        tolerance=text_of(tolerance),
        prices_file=str(prices_path) if prices_path else None,
        currency=prices["CURRENCY"][0] if prices is not None and prices.height else None,
        counts=counts,
        by_service=by_service,
        by_customer=by_customer,
        discrepancy_file=str(discrepancy_file),
        out_dir=str(target),
        files=files,
        unpriced_skus=[
            {"sku": sku, "rows": rows, "quantityDelta": delta}
            for sku, rows, delta in (unpriced.iter_rows() if unpriced is not None else [])
        ],
        money_delta=(
            text_of(int(compared["MONEY_DELTA"].sum()))
            if prices is not None and prices.height
            else None
        ),
    )
    write_text_atomically(
        target / "summary.json", json.dumps(result.as_json(), indent=2, default=str) + "\n"
    )
    _store(store, result, found, vendor.sha256, created)
    return result


def _store(
    store: Store,
    result: ReconciliationResult,
    found: pl.DataFrame,
    sha: str,
    created: datetime | None,
) -> None:
    rows = found.rename(str.lower)
    for column in STORED_KEYS:
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(column))
    rows = rows.select(
        "class", *STORED_KEYS, "our_quantity", "vendor_quantity", "delta", "money_delta", "currency"
    )
    report = result.report
    with store.connect() as con, transaction(con):
        con.execute("DELETE FROM all_discrepancies WHERE reconciliation_id = ?", [result.id])
        con.execute("DELETE FROM reconciliations WHERE id = ?", [result.id])
        con.execute(
            "INSERT INTO reconciliations (id, report_id, report_type, category, "
            "billing_start_date, billing_end_date, vendor_file, vendor_sha256, tolerance, "
            "prices_file, currency, created, counts, discrepancy_file, seq, report_late_events) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS DECIMAL(18, 6)), ?, ?, "
            "COALESCE(?, now()), ?, ?, nextval('reconciliation_seq'), ?)",
            [
                result.id,
                report.id,
                report.type,
                report.category,
                report.billing_start_date,
                report.billing_end_date,
                result.vendor_file,
                sha,
                result.tolerance,
                result.prices_file,
                result.currency,
                created,
                json.dumps(result.counts),
                stored_path(store.layout, Path(result.discrepancy_file)),
                report.late_events,  # made against a stale report (§8): > 0
            ],
        )
        con.register("found_rows", rows)
        con.execute(
            "INSERT INTO all_discrepancies SELECT ?, ?, class, "
            + ", ".join(STORED_KEYS)
            + ", our_quantity::DECIMAL(38, 6), vendor_quantity::DECIMAL(38, 6), "
            "delta::DECIMAL(38, 6), money_delta::DECIMAL(38, 6), currency FROM found_rows",
            [result.id, report.id],
        )
