"""The monthly batch, safe to re-run.

Ingest new logs, build every report for the month, reconcile each one against the vendor file
found for it, and summarise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from recon.core.contracts import REPORT_TYPES, ReportType
from recon.core.errors import ConflictError, ReconError
from recon.ingest.run import IngestResult, Progress
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

    def add_ingest(self, result: IngestResult) -> None:
        """Record the ingest of the month's logs; files that failed are problems."""
        self.ingest = result
        self.problems += [f.error or f.path for f in result.failed_files]

    def add_vendor_folder(self, vendor_dir: Path) -> dict[ReportType, Path]:
        """The vendor file of each report type in `vendor_dir`; what is wrong there is a problem."""
        chosen, problems = vendor_files_by_type(vendor_dir, self.month)
        self.problems += problems
        return chosen

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


def report_to_reuse(
    existing: Iterable[Report],
    report_type: ReportType,
    period: tuple[date, date],
    zone: str,
    regenerate: bool,
) -> tuple[Report | None, list[Report]]:
    """Which stored report of the month the batch reuses, and which it must delete first.

    `existing` are the month's RECONCILIATION reports of `report_type`. The first one for the
    whole partner that has not FAILED is reused unless `regenerate` (then all of them are
    deleted); one computed in another zone than `zone` is a conflict.
    """
    candidates = [r for r in existing if r.sub_partner_org_id is None and r.status != "FAILED"]
    if not candidates or regenerate:
        return None, candidates
    report = candidates[0]
    if report.timezone != zone:
        start, end = period
        raise ConflictError(
            f"the {report_type} report {report.id} for {start}..{end} was computed in "
            f"{report.timezone}, not {zone}",
            hint="run again with --regenerate to rebuild it",
        )
    return report, []


def build_and_compare(
    run: MonthRun,
    vendor_files: dict[ReportType, Path],
    obtain: Callable[[ReportType], tuple[Report, bool]],
    compare: Callable[[Report, Path], ReconciliationResult],
    progress: Progress | None = None,
) -> None:
    """For every report type: obtain its report (built or reused), compare it with its vendor file.

    Each outcome is recorded in `run`; one type's error does not stop the others.
    """
    for number, report_type in enumerate(REPORT_TYPES, start=1):
        if progress:
            progress(f"{report_type} report for {run.month}", number, len(REPORT_TYPES))
        outcome = TypeOutcome(type=report_type)
        run.outcomes.append(outcome)
        try:
            outcome.report, outcome.reused = obtain(report_type)
            if outcome.report.status != "COMPLETED":
                outcome.error = "; ".join(e["description"] for e in outcome.report.errors)
                continue
            vendor = vendor_files.get(report_type)
            if vendor is not None:
                outcome.vendor_file = str(vendor)
                outcome.reconciliation = compare(outcome.report, vendor)
        except ReconError as exc:
            outcome.error = str(exc)
