"""The library face of recon: everything the CLI does, callable from Python.

Example::

    rc = Recon("data")
    rc.ingest(["data/sample"])
    october = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    report = rc.create_report(october)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from pathlib import Path

import pendulum
import polars as pl

from recon.core import config
from recon.core.contracts import ReportType
from recon.core.csvsafe import restored
from recon.core.errors import BadInputError, LockedError, NotFoundError
from recon.core.timezones import day_table, to_micros
from recon.engine.intervals import assignment_intervals
from recon.engine.proration import daily_quantities
from recon.home import snapshot
from recon.home.layout import HomeLayout, event_files
from recon.home.lock import home_lock
from recon.home.sql import read_only_query
from recon.home.store import Store
from recon.home.tokens import (
    TokenRecord,
    create_token,
    find_token,
    load_tokens,
    revoke_token,
    server_secret,
)
from recon.home.tokens import expiry as token_expiry
from recon.ingest.lake import scan_events, scan_quarantine
from recon.ingest.run import IngestResult, Progress, derived_stale, ingest_paths
from recon.reconcile.explain import Explanation, Subject, explained
from recon.reconcile.monthly import MonthRun, build_and_compare, check_log_paths, report_to_reuse
from recon.reconcile.records import RecordsFace
from recon.reconcile.run import ReconciliationResult, reconcile_report
from recon.reports.build import build_registered, local_today, register_request
from recon.reports.derived import refresh_derived
from recon.reports.model import Report, ReportRequest
from recon.reports.registry import (
    delete_report,
    fail_interrupted,
    get_report,
    list_reports,
    seen_by_readers,
)
from recon.reports.request import month_period
from recon.reports.scope import check_sub_partner
from recon.reports.usage import UsageCache, customer_zones, load_catalog_for

__all__ = ["Recon", "Report", "ReportRequest"]


class Recon(RecordsFace):
    """One recon home: its lake, report store, catalog and settings."""

    def __init__(self, home: str | Path | None = None, catalog: str | Path | None = None) -> None:
        """Open a home.

        Every write takes the home's writer lock for its length (threads of one process queue
        first), so writers never interleave. Reads take no lock: they read the published
        store, so they never wait for a writer, and they create nothing (a read-only copy of a
        home can be read).
        """
        self.layout = HomeLayout(config.resolve_home(home))
        self.settings = config.load_settings(self.layout.root)
        chosen = catalog or self.settings.catalog
        self.catalog_path = Path(chosen).resolve() if chosen else None
        self.store = Store(self.layout)
        self._thread_lock = threading.RLock()
        self._locked = False  # this process holds the home's writer lock
        self._usage_cache = UsageCache(self.layout)

    @contextmanager
    def _writing(self, wait_seconds: float | None = None) -> Iterator[None]:
        with self._thread_lock:
            if self._locked:  # nested in this thread's write
                yield
                return
            with home_lock(self.layout, wait_seconds=wait_seconds):
                self._locked = True
                try:
                    yield
                finally:
                    self._locked = False

    def _reading(self) -> AbstractContextManager[None]:
        self.layout.require()  # a reader never creates a home
        return snapshot.reading()

    # ------------------------------------------------------------------ for the adapters
    # What the CLI and the HTTP server need beyond reports; they use nothing but this face.

    def create_token(
        self,
        scope: str,
        sub_partner_org_id: str | None = None,
        note: str = "",
        expires: str | None = None,
    ) -> tuple[str, TokenRecord]:
        """Make an API token for `recon serve`; the token is returned once, stored hashed.

        A sub-partner scope must name a sub-partner of the lake (`BadInputError` otherwise).
        `expires` is a duration from now (90m, 12h, 30d, 2w) or an ISO 8601 instant.
        """
        check_sub_partner(self.layout, sub_partner_org_id)
        now = config.now()
        until = token_expiry(expires, now) if expires is not None else None
        with self._writing():
            return create_token(self.home, scope, sub_partner_org_id, now, note, until)

    def find_token(self, presented: str) -> TokenRecord | None:
        """A presented bearer token's record, or None; `refusal(now)` says if it still works."""
        return find_token(load_tokens(self.home), presented)

    def list_tokens(self) -> list[TokenRecord]:
        """Every token record of the home, revoked and expired ones too (never a token)."""
        return load_tokens(self.home)

    def revoke_token(self, token_id: str) -> TokenRecord:
        """Revoke a token by id: the server refuses it (401) from then on."""
        with self._writing():
            return revoke_token(self.home, token_id, config.now())

    def recover_interrupted(self) -> None:
        """Mark reports whose process ended mid-way as FAILED (they can never finish)."""
        with self._writing(), self.store.connect() as con:
            fail_interrupted(con, self.layout.reports)

    def ensure_home(self) -> None:
        """Create the home: folders, catalog and report store (a server starting on a new one)."""
        self.layout.ensure()
        with self.store.connect():
            pass

    def server_secret(self) -> bytes:
        """The key `recon serve` signs download links with, created (mode 0600) on first use."""
        return server_secret(self.home)

    @property
    def home(self) -> Path:
        """The home folder."""
        return self.layout.root

    def catalog(self) -> pl.DataFrame:
        """The catalog in use (the home's, unless another was given)."""
        return load_catalog_for(self.layout, self.catalog_path)

    # ------------------------------------------------------------------ ingest

    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None) -> IngestResult:
        """Ingest log files and folders; counts always add up."""
        chosen = [Path(p) for p in paths]
        if not chosen:
            raise BadInputError("no paths to ingest", hint="name log files or folders")
        with self._writing():
            self.layout.ensure()
            return ingest_paths(
                chosen,
                self.layout,
                self.catalog_path or self.layout.catalog,
                config.now(),
                progress,
            )

    # ------------------------------------------------------------------ reports

    def today(self, zone: str | None = None) -> pendulum.Date:
        """Today's date in the billing time zone."""
        return local_today(config.check_zone(zone) if zone else self.settings.zones.default)

    def create_report(self, request: ReportRequest, progress: Progress | None = None) -> Report:
        """Create a report and compute it now; returns it COMPLETED or FAILED.

        Bad requests and conflicts raise before anything is stored.
        """
        report, valid = self.begin_report(request)
        return self.build_report(report, valid, progress)

    def begin_report(self, request: ReportRequest) -> tuple[Report, ReportRequest]:
        """Validate a request and register the report as IN_PROGRESS (the fast half of create).

        Returns the report and the normalised request to pass to `build_report`.
        """
        return register_request(
            self.store, request, self.settings.zones, self.catalog, self._writing()
        )

    def build_report(
        self, report: Report, request: ReportRequest, progress: Progress | None = None
    ) -> Report:
        """Compute a registered report: COMPLETED with its CSV, or FAILED with errors.

        USER usage is cached between calls: the report types of one period share it.
        """
        with self._writing():
            return build_registered(
                self.store,
                report,
                request,
                self.catalog(),
                self.settings.zones,
                self._usage_cache,
                progress,
            )

    def get_report(self, report_id: str) -> Report:
        """One report by id."""
        with self._reading(), self.store.connect() as con:
            return seen_by_readers(con, [get_report(con, report_id, layout=self.layout)])[0]

    def list_reports(self, sort_by: str = "billingStartDate", **filters: object) -> list[Report]:
        """Reports matching exact filters.

        Filters: report_type, category, status, start, end, sub_partner_org_id.
        """
        status = filters.pop("status", None)
        with self._reading(), self.store.connect() as con:
            found = list_reports(con, self.layout, sort_by=sort_by, **filters)  # type: ignore[arg-type]
            seen = seen_by_readers(con, found)
        wanted = str(status).upper() if status else None
        return [r for r in seen if wanted is None or r.status == wanted]

    def delete_report(self, report_id: str) -> Report:
        """Delete a COMPLETED or FAILED report, its CSV and its reconciliations."""
        with self._writing():
            return delete_report(self.store, report_id)

    def report_csv(self, report_id: str) -> pl.DataFrame:
        """A completed report's CSV, as text columns."""
        report = self.get_report(report_id)
        if report.status != "COMPLETED" or not report.csv_path:
            raise BadInputError(f"report {report_id} is {report.status}, it has no CSV")
        return restored(pl.read_csv(report.csv_path, infer_schema=False))

    # ------------------------------------------------------------------ reconciliation

    def reconcile(
        self,
        report_id: str,
        vendor: str | Path,
        tolerance: str = "0",
        prices: str | Path | None = None,
        out_dir: str | Path | None = None,
    ) -> ReconciliationResult:
        """Compare a COMPLETED report with the vendor's CSV of the same type and period.

        Raises `IncomparableError` (exit code 2) when the two cannot be compared; nothing is
        stored then.
        """
        report = self.get_report(report_id)
        price_list = Path(prices) if prices else self._default_prices()
        with self._writing():
            return reconcile_report(
                self.store,
                report,
                Path(vendor),
                tolerance,
                price_list,
                Path(out_dir) if out_dir else None,
                config.now(),
            )

    def run_month(
        self,
        month: str,
        logs: Iterable[str | Path] = (),
        vendor_dir: str | Path | None = None,
        zone: str | None = None,
        regenerate: bool = False,
        tolerance: str = "0",
        prices: str | Path | None = None,
        progress: Progress | None = None,
    ) -> MonthRun:
        """The monthly batch: ingest, build every report type, reconcile, summarise.

        An existing COMPLETED report for the month is reused (unless `regenerate`), so a
        second run on the same inputs produces the same outputs and no duplicates. Missing
        `logs` raise before any report is built; nothing to compare is NOTHING_COMPARED (exit 4).
        """
        start, end = month_period(month)
        run = MonthRun(month=month)
        paths = [Path(p) for p in logs]
        check_log_paths(paths)
        if paths:
            run.add_ingest(self.ingest(paths, progress))
        vendor_files = run.add_vendor_folder(Path(vendor_dir)) if vendor_dir is not None else {}
        wanted_zone = zone or self.settings.zones.describe()

        def obtain(report_type: ReportType) -> tuple[Report, bool]:
            existing = self.list_reports(
                report_type=report_type, category="RECONCILIATION", start=start, end=end
            )
            reused, stale = report_to_reuse(
                existing, report_type, (start, end), wanted_zone, regenerate
            )
            if reused is not None:
                return reused, True
            for report in stale:
                self.delete_report(report.id)
            request = ReportRequest(type=report_type, start=start, end=end, timezone=zone)
            return self.create_report(request), False

        def compare(report: Report, vendor: Path) -> ReconciliationResult:
            return self.reconcile(report.id, vendor, tolerance, prices)

        build_and_compare(run, vendor_files, obtain, compare, progress)
        return run

    def _default_prices(self) -> Path | None:
        path = self.layout.root / "prices.csv"
        return path if path.exists() else None

    def explain(
        self,
        subject: Subject,
        start: date,
        end: date,
        zone: str | None = None,
    ) -> Explanation:
        """The audit trail behind one subject's (or customer's) quantities in a period."""
        if end < start:
            raise BadInputError(f"--end {end} is before --start {start}", hint="swap them")
        self.layout.require()
        events = scan_events(self.layout)
        if zone is None:
            owners = (
                events.filter(pl.col("customer_org_id") == subject.customer_org_id)
                .select("customer_org_id", "partner_org_id")
                .unique()
                .collect()
            )
            if owners.is_empty():
                raise NotFoundError(
                    f"no events for customer {subject.customer_org_id!r} in the lake",
                    hint="check the id, or ingest its logs first",
                )
            zone = str(customer_zones(owners, self.settings.zones)["zone"][0])
        config.check_zone(zone)
        return explained(
            subject,
            events,
            scan_quarantine(self.layout),
            self.catalog(),
            day_table(zone, start, end),
            to_micros(config.now()),
        )

    def daily_totals(self, start: date, end: date, zone: str | None = None) -> pl.DataFrame:
        """Per package and local day: the sum of daily quantities (licenses in use that day).

        For charts: quantities are floats here; report quantities stay exact.
        """
        name = config.check_zone(zone) if zone else self.settings.zones.default
        table = day_table(name, start, end)
        intervals = assignment_intervals(scan_events(self.layout), self.catalog())
        daily = daily_quantities(intervals, table, to_micros(config.now()))
        return (
            daily.group_by("package", "day")
            .agg(quantity=(pl.col("assigned_us") / pl.col("day_length")).sum())
            .sort("package", "day")
            .collect()
        )

    # ------------------------------------------------------------------ SQL

    def sql(self, query: str) -> pl.DataFrame:
        """Run read-only SQL on the store; anything that would write or reach outside is refused.

        Derived tables and the store's views are brought up to date first, unless a writer is
        busy or the home is read-only: then it reads what was last published (a reader never
        waits for a writer, and never writes to a read-only home).
        """
        self.layout.require()
        root = self.layout.root
        if os.access(root, os.W_OK) and root.stat().st_mode & 0o222:
            with contextlib.suppress(LockedError), self._writing(wait_seconds=0):
                if derived_stale(self.layout) and event_files(self.layout):
                    refresh_derived(self.layout, self.catalog())
                self.store.refresh()  # tables exist and views point at the lake as it is now
        return read_only_query(self.layout, query)
