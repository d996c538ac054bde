"""The monthly batch, safe to re-run.

Ingest new logs, build every report for the month, reconcile each one against the vendor file
found for it, and summarise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon.core.contracts import REPORT_TYPES, ReportType
from recon.core.errors import ReconError
from recon.ingest.run import IngestResult
from recon.reconcile.run import ReconciliationResult
from recon.reconcile.vendor import detect_type, read_header
from recon.reports.model import Report

_MONTH_IN_NAME = re.compile(r"(\d{4}-\d{2})")


@dataclass
class TypeOutcome:
    """One report type's part of the run."""

    type: ReportType
    report: Report | None = None
    reused: bool = False
    vendor_file: str | None = None
    reconciliation: ReconciliationResult | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "type": self.type,
            "reportId": self.report.id if self.report else None,
            "reportStatus": self.report.status if self.report else None,
            "reused": self.reused,
            "csvPath": self.report.csv_path if self.report else None,
            "vendorFile": self.vendor_file,
            "reconciliation": self.reconciliation.as_json() if self.reconciliation else None,
            "error": self.error,
        }


@dataclass
class MonthRun:
    """Everything a monthly run did."""

    month: str
    ingest: IngestResult | None = None
    outcomes: list[TypeOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 if anything could not be built or compared, else 1 if discrepancies, else 0."""
        if self.problems or any(o.error for o in self.outcomes):
            return 2
        if any(o.reconciliation and o.reconciliation.discrepancies for o in self.outcomes):
            return 1
        return 0

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "month": self.month,
            "exitCode": self.exit_code,
            "ingest": self.ingest.as_dict() if self.ingest else None,
            "reports": [o.as_json() for o in self.outcomes],
            "problems": self.problems,
        }


def vendor_files_by_type(vendor_dir: Path, month: str) -> tuple[dict[ReportType, Path], list[str]]:
    """The vendor CSV for each report type in `vendor_dir`, told apart by their headers.

    A file whose name carries another month (YYYY-MM) is ignored; a header that is no report
    type's, or two files of one type, is a problem to report.
    """
    found: dict[ReportType, list[Path]] = {}
    problems: list[str] = []
    if not vendor_dir.is_dir():
        return {}, [f"vendor folder {vendor_dir} does not exist"]
    for path in sorted(vendor_dir.glob("*.csv")):
        named = _MONTH_IN_NAME.search(path.name)
        if named and named.group(1) != month:
            continue
        try:
            detected = detect_type(read_header(path))
        except ReconError as exc:
            problems.append(str(exc))
            continue
        if detected is None or detected[1] != "RECONCILIATION":
            problems.append(f"{path}: the header is not a RECONCILIATION report's; skipped")
            continue
        found.setdefault(detected[0], []).append(path)
    chosen: dict[ReportType, Path] = {}
    for report_type in REPORT_TYPES:
        paths = found.get(report_type, [])
        if len(paths) > 1:
            problems.append(
                f"{len(paths)} vendor files look like {report_type} reports for {month}: "
                + ", ".join(p.name for p in paths)
                + "; keep one"
            )
        elif paths:
            chosen[report_type] = paths[0]
    return chosen, problems
