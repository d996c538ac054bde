"""Read a vendor (Webex) billing report CSV into the same shape as ours, or say why not.

Forgiven: column order, header case, surrounding spaces, a UTF-8 byte-order mark, CRLF line
ends and quantities with fewer than 6 decimals. Not forgiven (the files cannot be compared):
text that is not UTF-8, a column set that is not the report type's, values that break the
type's contract, more than 6 decimals, and two rows with the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
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

QUANTITY_TEXT = r"^[0-9]+(\.[0-9]{0,6})?$"


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
            "with at most 6 decimals"
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
