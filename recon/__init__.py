"""recon: recompute Webex Wholesale billing from a partner's own provisioning logs.

The public face. A library user, the CLI and the HTTP server need nothing else::

    from recon import Recon, ReportRequest

    rc = Recon("data")
    rc.ingest(["data/sample"])
    report = rc.create_report(ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31)))

Names load on first use, so `import recon` (and `recon --help`) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.api import Recon
    from recon.core.errors import (
        BadInputError,
        ConflictError,
        LockedError,
        NotFoundError,
        ReconError,
    )
    from recon.ingest.run import FileResult, IngestResult
    from recon.reconcile.explain import Explanation, Subject
    from recon.reconcile.monthly import MonthRun, TypeOutcome
    from recon.reconcile.run import ReconciliationResult
    from recon.reports.model import Report, ReportRequest

__version__ = "0.1.0"

# Public name → the module that defines it.
_FACE: dict[str, str] = {
    "Recon": "recon.api",
    "ReportRequest": "recon.reports.model",
    "Report": "recon.reports.model",
    "IngestResult": "recon.ingest.run",
    "FileResult": "recon.ingest.run",
    "ReconciliationResult": "recon.reconcile.run",
    "MonthRun": "recon.reconcile.monthly",
    "TypeOutcome": "recon.reconcile.monthly",
    "Explanation": "recon.reconcile.explain",
    "Subject": "recon.reconcile.explain",
    "ReconError": "recon.core.errors",
    "BadInputError": "recon.core.errors",
    "ConflictError": "recon.core.errors",
    "NotFoundError": "recon.core.errors",
    "LockedError": "recon.core.errors",
}

__all__ = [
    "BadInputError",
    "ConflictError",
    "Explanation",
    "FileResult",
    "IngestResult",
    "LockedError",
    "MonthRun",
    "NotFoundError",
    "Recon",
    "ReconError",
    "ReconciliationResult",
    "Report",
    "ReportRequest",
    "Subject",
    "TypeOutcome",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module 'recon' has no attribute {name!r}")
    value = getattr(import_module(_FACE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
