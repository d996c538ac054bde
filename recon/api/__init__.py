"""The library face of recon: everything the CLI and the HTTP server do, callable from Python.

Example::

    rc = Recon("data")
    rc.ingest(["data/sample"])
    october = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    report = rc.create_report(october)

`Recon` is one class for its users; its methods are kept by concern in this package's private
modules: the home (`_home`), ingest and reports (`_reports`), reconciliation (`_reconcile`)
and the server's tokens (`_tokens`). Each calls down into the stages once.
"""

from __future__ import annotations

from recon.api._reconcile import ReconcileFace
from recon.api._tokens import TokensFace
from recon.reports.model import Report, ReportRequest

__all__ = ["Recon", "Report", "ReportRequest"]


class Recon(ReconcileFace, TokensFace):
    """One recon home: its lake, report store, catalog and settings.

    Every write takes the home's writer lock for its length; reads take none and never wait.
    """
