"""The monthly batch, safe to re-run.

Ingest new logs, build every report for the month, reconcile each one against the vendor file
found for it, and summarise. The run's outcome and exit code: `ALL_MATCH` 0, `DISCREPANCIES`
1, `PROBLEMS` 2 (something could not be built or compared), `NOTHING_COMPARED` 4 (the reports
were built but no vendor file was there to compare them with: never a success).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from recon.core.contracts import REPORT_TYPES, ReportType
from recon.core.errors import BadInputError, ConflictError, ReconError
from recon.ingest.run import IngestResult, Progress
from recon.reconcile.run import ReconciliationResult
from recon.reconcile.vendor import detect_type, read_header
from recon.reports.model import Report

_MONTH_IN_NAME = re.compile(r"(\d{4}-\d{2})")

# A run's outcome → its exit code. 4 is recon run's own: reports built, nothing compared.
EXIT_CODES: dict[str, int] = {
    "ALL_MATCH": 0,
    "DISCREPANCIES": 1,
    "PROBLEMS": 2,
    "NOTHING_COMPARED": 4,
}


@dataclass
class TypeOutcome:
    """One report type's part of the run."""

    type: ReportType
    report: Report | None = None
    reused: bool = False
    vendor_file: str | None = None
    reconciliation: ReconciliationResult | None = None
    error: str | None = None
    rebuilt: str | None = None  # why a stale report was rebuilt (§8)
    kept_stale: str | None = None  # a stale report reused on purpose (--keep-stale)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "type": self.type,
            "reportId": self.report.id if self.report else None,
            "reportStatus": self.report.status if self.report else None,
            "reused": self.reused,
            "rebuilt": self.rebuilt,
            "keptStale": self.kept_stale,
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
        """Record the ingest of the month's logs; files that failed are problems.

        Logs were asked for, so finding no log file at all refuses the run (exit 2) before
        any report is built, as `recon ingest` does.
        """
        if not result.files:
            skipped = "; ".join(f"{s['path']}: {s['reason']}" for s in result.skipped[:5])
            raise BadInputError(
                "no log files found in the --logs paths"
                + (f" ({skipped})" if skipped else "")
                + "; no report was built",
                hint="name folders or files of CSV, JSON Lines or Parquet logs",
            )
        self.ingest = result
        self.problems += [f.error or f.path for f in result.failed_files]

    def add_vendor_folder(self, vendor_dir: Path) -> dict[ReportType, Path]:
        """The vendor file of each report type in `vendor_dir`; what is wrong there is a problem."""
        chosen, problems = vendor_files_by_type(vendor_dir, self.month)
        self.problems += problems
        return chosen

    @property
    def not_compared(self) -> list[ReportType]:
        """Types whose report was built but had no vendor file to be compared with."""
        return [
            o.type
            for o in self.outcomes
            if o.report and o.report.status == "COMPLETED" and not o.reconciliation and not o.error
        ]

    @property
    def outcome(self) -> str:
        """What the run found: one of `EXIT_CODES`' outcomes.

        PROBLEMS first, then NOTHING_COMPARED (no report was compared), then DISCREPANCIES or
        ALL_MATCH over the types that were compared (`not_compared` lists the others).
        """
        if self.problems or any(o.error for o in self.outcomes):
            return "PROBLEMS"
        if not any(o.reconciliation for o in self.outcomes):
            return "NOTHING_COMPARED"
        if any(o.reconciliation and o.reconciliation.discrepancies for o in self.outcomes):
            return "DISCREPANCIES"
        return "ALL_MATCH"

    @property
    def exit_code(self) -> int:
        """0 all compared rows match, 1 discrepancies, 2 problems, 4 nothing was compared."""
        return EXIT_CODES[self.outcome]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "month": self.month,
            "outcome": self.outcome,
            "exitCode": self.exit_code,
            "notCompared": self.not_compared,
            "ingest": self.ingest.as_json() if self.ingest else None,
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


def check_log_paths(paths: Iterable[Path]) -> None:
    """Refuse `--logs` paths that do not exist, before anything is ingested or built (exit 2)."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BadInputError(
            f"log path {', '.join(missing)} does not exist (no such file or folder); "
            "nothing was ingested and no report was built",
            hint="check the --logs paths",
        )


def report_to_reuse(
    existing: Iterable[Report],
    report_type: ReportType,
    period: tuple[date, date],
    zone: str,
    regenerate: bool,
) -> tuple[Report | None, list[Report]]:
    """Which stored report of the month the batch reuses, and which it must delete first.

    `existing` are the month's RECONCILIATION reports of `report_type`. The first one for the
    whole partner that has not FAILED (and is not "as known on" an instant) is reused unless
    `regenerate` (then all of them are deleted); one computed in another zone than `zone` is
    a conflict.
    """
    candidates = [
        r
        for r in existing
        if r.sub_partner_org_id is None and r.status != "FAILED" and r.as_known_on is None
    ]
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


def staleness_text(report: Report) -> str:
    """`1 late event since ingest <id>`: why a report is stale."""
    plural = "" if report.late_events == 1 else "s"
    return f"{report.late_events:,} late event{plural} since ingest {report.late_since_ingest}"


def build_and_compare(
    run: MonthRun,
    vendor_files: dict[ReportType, Path],
    obtain: Callable[[TypeOutcome], tuple[Report, bool]],
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
            outcome.report, outcome.reused = obtain(outcome)
            if outcome.report.status != "COMPLETED":
                outcome.error = "; ".join(e["description"] for e in outcome.report.errors)
                continue
            vendor = vendor_files.get(report_type)
            if vendor is not None:
                outcome.vendor_file = str(vendor)
                outcome.reconciliation = compare(outcome.report, vendor)
        except ReconError as exc:
            outcome.error = str(exc)
