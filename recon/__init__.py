"""recon: recompute Webex Wholesale billing from a partner's own provisioning logs.

The public face. A library user, the CLI and the HTTP server need nothing else::

    from recon import Recon, ReportRequest

    rc = Recon("data")
    rc.ingest(["data/sample"])
    october = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    report = rc.create_report(october)

Names load on first use, so `import recon` (and `recon --help`) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.api import Recon
    from recon.core.config import debug, http_access_log, now, parse_instant
    from recon.core.contracts import REPORT_TYPES
    from recon.core.errors import (
        BadInputError,
        ConflictError,
        LockedError,
        NotFoundError,
        ReconError,
    )
    from recon.home.columns import ColumnOrder
    from recon.home.tokens import TokenRecord
    from recon.ingest.run import FileResult, IngestResult
    from recon.reconcile.columns import LearnedColumns
    from recon.reconcile.explain import Explanation, Subject
    from recon.reconcile.monthly import MonthRun, TypeOutcome
    from recon.reconcile.records import ReconciliationRecord
    from recon.reconcile.run import ReconciliationResult
    from recon.reports.model import SORT_KEYS, Report, ReportRequest
    from recon.reports.request import month_period
    from recon.synth.generate import GenerateResult, GeneratorSpec, generate
    from recon.viz.html import check_html_target, write_reconciliation_html

__version__ = "0.1.0"

# Public name → the module that defines it.
_FACE: dict[str, str] = {
    "Recon": "recon.api",
    "ReportRequest": "recon.reports.model",
    "Report": "recon.reports.model",
    "IngestResult": "recon.ingest.run",
    "FileResult": "recon.ingest.run",
    "ReconciliationResult": "recon.reconcile.run",
    "ReconciliationRecord": "recon.reconcile.records",
    "ColumnOrder": "recon.home.columns",
    "LearnedColumns": "recon.reconcile.columns",
    "MonthRun": "recon.reconcile.monthly",
    "TypeOutcome": "recon.reconcile.monthly",
    "Explanation": "recon.reconcile.explain",
    "Subject": "recon.reconcile.explain",
    "ReconError": "recon.core.errors",
    "BadInputError": "recon.core.errors",
    "ConflictError": "recon.core.errors",
    "NotFoundError": "recon.core.errors",
    "LockedError": "recon.core.errors",
    "SORT_KEYS": "recon.reports.model",
    "REPORT_TYPES": "recon.core.contracts",
    "TokenRecord": "recon.home.tokens",
    "month_period": "recon.reports.request",
    "now": "recon.core.config",
    "debug": "recon.core.config",
    "http_access_log": "recon.core.config",
    "parse_instant": "recon.core.config",
    "GeneratorSpec": "recon.synth.generate",
    "GenerateResult": "recon.synth.generate",
    "generate": "recon.synth.generate",
    "write_reconciliation_html": "recon.viz.html",
    "check_html_target": "recon.viz.html",
}

__all__ = [
    "REPORT_TYPES",
    "SORT_KEYS",
    "BadInputError",
    "ColumnOrder",
    "ConflictError",
    "Explanation",
    "FileResult",
    "GenerateResult",
    "GeneratorSpec",
    "IngestResult",
    "LearnedColumns",
    "LockedError",
    "MonthRun",
    "NotFoundError",
    "Recon",
    "ReconError",
    "ReconciliationRecord",
    "ReconciliationResult",
    "Report",
    "ReportRequest",
    "Subject",
    "TokenRecord",
    "TypeOutcome",
    "__version__",
    "check_html_target",
    "debug",
    "generate",
    "http_access_log",
    "month_period",
    "now",
    "parse_instant",
    "write_reconciliation_html",
]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module 'recon' has no attribute {name!r}")
    value = getattr(import_module(_FACE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
