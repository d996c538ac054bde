"""Read a vendor (Webex) billing report CSV into the same shape as ours, or say why not.

Forgiven: column order, header case, surrounding spaces, a UTF-8 byte-order mark, CRLF line
ends and quantities with fewer than 6 decimals. Not forgiven (the files cannot be compared):
text that is not UTF-8, a column set that is not the report type's, values that break the
type's contract, more than 6 decimals, and two rows with the same key. A file is compared only
with a report of its own period (`check_period`): one row outside it refuses the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import polars as pl

from recon.core.contracts import (
    CATEGORIES,
    REPORT_TYPES,
    Category,
    Contract,
    ContractError,
    ReportType,
    report_contract,
)
from recon.core.csvsafe import restored
from recon.core.errors import BadInputError
from recon.core.quantity import six_decimals
from recon.home.files import file_sha256
from recon.reports.model import Report

# At most 10 digits before the point: quantities are summed as 64-bit millionths.
QUANTITY_TEXT = r"^[0-9]{1,10}(\.[0-9]{0,6})?$"


class IncomparableError(BadInputError):
    """The vendor file and our report cannot be compared; exit code 2."""

    code = "INCOMPARABLE"


@dataclass(frozen=True)
class VendorReport:
    """A vendor report normalised to our contract's columns and text formats."""

    path: Path
    sha256: str
    rows: pl.DataFrame


def _contracts() -> list[tuple[ReportType, Category, Contract]]:
    found = []
    for report_type in REPORT_TYPES:
        for category in CATEGORIES:
            try:
                found.append((report_type, category, report_contract(report_type, category)))
            except KeyError:
                continue
    return found


def detect_type(columns: list[str]) -> tuple[ReportType, Category] | None:
    """The report type and category whose columns are exactly `columns` (any order, any case)."""
    wanted = {c.strip().upper() for c in columns}
    for report_type, category, contract in _contracts():
        if set(contract.names) == wanted:
            return report_type, category
    return None


def read_header(path: Path) -> list[str]:
    """The column names of a CSV, as written."""
    return _read_text(path).columns


def _read_text(path: Path) -> pl.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IncomparableError(f"cannot read vendor file {path}: {exc.strerror}") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IncomparableError(
            f"vendor file {path} is not UTF-8 text (bad byte at offset {exc.start})",
            hint="export the report as UTF-8 CSV",
        ) from exc
    if not data.strip():
        raise IncomparableError(f"vendor file {path} is empty", hint="download the report again")
    try:
        frame = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        raise IncomparableError(
            f"vendor file {path} is not a readable CSV: {str(exc).splitlines()[0]}",
            hint="check the delimiter (,) and the quoting",
        ) from exc
    return frame


def read_vendor_report(path: Path, report_type: ReportType, category: Category) -> VendorReport:
    """Read, normalise and validate a vendor CSV against the report type's contract."""
    raw = _read_text(path)
    contract = report_contract(report_type, category)
    headers = [c.strip().upper().replace("\r", "") for c in raw.columns]
    if len(set(headers)) != len(headers):
        raise IncomparableError(f"vendor file {path} repeats a column name", hint="fix the header")
    raw = raw.rename(dict(zip(raw.columns, headers, strict=True)))
    missing = [c for c in contract.names if c not in headers]
    extra = [c for c in headers if c not in contract.names]
    if missing or extra:
        looks_like = detect_type(headers)
        if looks_like is not None:
            raise IncomparableError(
                f"vendor file {path} is a {looks_like[0]} {looks_like[1]} report, "
                f"but the report to compare is {report_type} {category}",
                hint="compare it with a report of the same type",
            )
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise IncomparableError(
            f"vendor file {path} does not have the {report_type} {category} columns "
            f"({'; '.join(parts)})",
            hint=f"a {report_type} report has {', '.join(contract.names)}",
        )
    text = raw.select(
        [
            pl.col(c).str.strip_chars().str.strip_chars("\r").fill_null("").alias(c)
            for c in contract.names
        ]
    )
    bad_quantity = text.with_row_index("row", offset=1).filter(
        ~pl.col("QUANTITY").str.contains(QUANTITY_TEXT)
    )
    if bad_quantity.height:
        row, value = bad_quantity.select("row", "QUANTITY").row(0)
        raise IncomparableError(
            f"vendor file {path} row {row}: QUANTITY {value!r} is not a non-negative number "
            "with at most 6 decimals (and at most 10 digits before the point)"
            + (f" ({bad_quantity.height} such rows)" if bad_quantity.height > 1 else ""),
            hint="fix the file or download it again",
        )
    normalised = restored(text).with_columns(QUANTITY=six_decimals(pl.col("QUANTITY")))
    duplicated = normalised.filter(pl.struct(list(contract.key)).is_duplicated())
    if duplicated.height:
        example = ", ".join(f"{k}={duplicated[k][0]!r}" for k in contract.key if duplicated[k][0])
        raise IncomparableError(
            f"vendor file {path} has {duplicated.height} rows sharing a key (e.g. {example}); "
            f"a {report_type} report has one row per {', '.join(contract.key)}",
            hint="remove or merge the repeated rows",
        )
    try:
        contract.validate(normalised)
    except ContractError as exc:
        raise IncomparableError(
            f"vendor file {path} breaks the {contract.name} contract: "
            f"{exc.summary(3, with_rows=True)}",
            hint="fix the file or download it again",
        ) from exc
    return VendorReport(path=path, sha256=file_sha256(path), rows=normalised)


def check_period(vendor: VendorReport, report: Report) -> None:
    """Refuse a vendor file that is not of `report`'s billing period (or, point in time, its day).

    Strict on purpose: a file for another month would otherwise match nothing, or everything
    whose quantities happen to agree, and say so with a confident exit code. Every row must lie
    inside the period; the message says what the file covers and how many rows are off.
    """
    rows = vendor.rows.with_row_index("row", offset=1)
    if not rows.height:
        return
    start, end = report.billing_start_date, report.billing_end_date
    if "CONSUMPTION_START_DATE" in rows.columns and start and end:
        first = pl.col("CONSUMPTION_START_DATE").str.to_date("%Y-%m-%d")
        last = pl.col("CONSUMPTION_END_DATE").str.to_date("%Y-%m-%d")
        outside = rows.filter((first < start) | (last > end))
        covers = rows.select(first.min(), last.max()).row(0)
        ours = f"{start}..{end}"
        shown = f"{covers[0]}..{covers[1]}"
        example = ("CONSUMPTION_START_DATE", "CONSUMPTION_END_DATE")
    elif "REPORT_DATE" in rows.columns and report.as_of:
        as_of = report.as_of if report.as_of.tzinfo else report.as_of.replace(tzinfo=UTC)
        day = as_of.astimezone(UTC).date().isoformat()
        outside = rows.filter(pl.col("REPORT_DATE").str.slice(0, 10) != day)
        dates = rows.select(pl.col("REPORT_DATE").str.slice(0, 10).unique().sort())[:, 0]
        ours, shown = f"as of {day} (UTC)", f"REPORT_DATE {', '.join(dates.head(3))}"
        example = ("REPORT_DATE", "REPORT_DATE")
    else:
        return
    if not outside.height:
        return
    what = f"{report.type} report {report.id}"
    if outside.height == rows.height:
        raise IncomparableError(
            f"vendor file {vendor.path} covers {shown}, but {what} is {ours}: "
            "no row of the file is in the report's period",
            hint="compare it with our report of the period it covers, "
            f"or use the vendor's file for {ours}",
        )
    row, low, high = outside.select("row", *example).row(0)
    span = low if example[0] == example[1] else f"{low}..{high}"
    raise IncomparableError(
        f"vendor file {vendor.path} has {outside.height:,} of {rows.height:,} rows outside "
        f"{what}'s period {ours} (e.g. row {row}: {span}); nothing was compared",
        hint="a vendor report covers one billing period: download the file for the report's "
        "period again, or remove the rows of other periods",
    )
