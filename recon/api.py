"""The library face of recon: everything the CLI does, callable from Python.

Example::

    rc = Recon("data")
    rc.ingest(["data/sample"])
    october = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    report = rc.create_report(october)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from pathlib import Path

import duckdb
import pendulum
import polars as pl

from recon.core import config
from recon.core.contracts import REPORT_TYPES, ReportType
from recon.core.csvsafe import restored
from recon.core.errors import BadInputError, ConflictError, NotFoundError, ReconError
from recon.core.timezones import day_table, to_micros
from recon.engine.intervals import assignment_intervals
from recon.engine.proration import daily_quantities
from recon.home.layout import HomeLayout, event_files
from recon.home.lock import home_lock
from recon.home.store import Store
from recon.home.tokens import TokenRecord, create_token, find_token, load_tokens
from recon.ingest.lake import lake_fingerprint, scan_events, scan_quarantine
from recon.ingest.run import IngestResult, derived_stale, ingest_paths
from recon.reconcile.explain import Explanation, Subject, explained
from recon.reconcile.monthly import MonthRun, TypeOutcome, vendor_files_by_type
from recon.reconcile.run import ReconciliationResult, reconcile_report
from recon.reports.derived import refresh_derived
from recon.reports.model import Report, ReportRequest
from recon.reports.registry import (
    delete_report,
    fail_interrupted,
    fail_report,
    get_report,
    list_reports,
    register_report,
)
from recon.reports.request import month_period, validate_request
from recon.reports.rollup import Usage, shared_usage
from recon.reports.usage import (
    compute_report_batches,
    customer_zones,
    load_catalog_for,
    report_usage,
    usage_key,
)
from recon.reports.writer import complete_report

Progress = Callable[[str, int, int], None]

_READ_ONLY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

__all__ = ["Recon", "Report", "ReportRequest"]


class Recon:
    """One recon home: its lake, report store, catalog and settings."""

    def __init__(
        self,
        home: str | Path | None = None,
        catalog: str | Path | None = None,
        *,
        shared_process: bool = False,
    ) -> None:
        """Open a home.

        By default every write takes the home's lock file, so separate recon processes never
        interleave. A long-lived process that already holds that lock and serves many threads
        (`recon serve`) passes `shared_process=True`: writes then queue on an in-process lock
        and reads go straight to the store.
        """
        self.layout = HomeLayout(config.resolve_home(home))
        self.settings = config.load_settings(self.layout.root)
        chosen = catalog or self.settings.catalog
        self.catalog_path = Path(chosen).resolve() if chosen else None
        self.store = Store(self.layout)
        self._shared = shared_process
        self._thread_lock = threading.RLock()
        self._usage_cache: tuple[tuple[object, ...], Usage] | None = None

    def _writing(self) -> AbstractContextManager[None]:
        return self._thread_lock if self._shared else home_lock(self.layout)  # type: ignore[return-value]

    def _reading(self) -> AbstractContextManager[None]:
        return nullcontext() if self._shared else home_lock(self.layout)

    # ------------------------------------------------------------------ for the adapters
    # What the CLI and the HTTP server need beyond reports; they use nothing but this face.

    def create_token(
        self, scope: str, sub_partner_org_id: str | None = None, note: str = ""
    ) -> tuple[str, TokenRecord]:
        """Make an API token for `recon serve`; the token is returned once, stored hashed."""
        return create_token(self.home, scope, sub_partner_org_id, config.now(), note)

    def find_token(self, presented: str) -> TokenRecord | None:
        """The record of a presented bearer token, or None."""
        return find_token(load_tokens(self.home), presented)

    def exclusive(self, wait_seconds: float | None = None) -> AbstractContextManager[None]:
        """Hold the home's writer lock for a whole session (what `recon serve` does).

        Waits up to `wait_seconds` (default `RECON_LOCK_WAIT`), then raises `LockedError`.
        """
        return home_lock(self.layout, wait_seconds=wait_seconds)

    def recover_interrupted(self) -> None:
        """Mark reports whose process ended mid-way as FAILED (they can never finish)."""
        with self.store.connect() as con:
            fail_interrupted(con, self.layout.reports)

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
        name = config.check_zone(zone) if zone else self.settings.zones.default
        return pendulum.instance(config.now()).in_timezone(name).date()

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
        if request.timezone:
            config.check_zone(request.timezone)
        valid = validate_request(request, self.today(request.timezone))
        with self._writing():
            self.layout.ensure()
            self.catalog()  # a broken catalog is a bad request, not a failed report
            return register_report(self.store, valid, self.settings.zones, config.now()), valid

    def build_report(
        self, report: Report, request: ReportRequest, progress: Progress | None = None
    ) -> Report:
        """Compute a registered report: COMPLETED with its CSV, or FAILED with errors."""
        with self._writing():
            catalog = self.catalog()
            created = report.created
            valid = request
            try:
                if progress:
                    progress("computing intervals and quantities", 1, 3)
                rows = compute_report_batches(
                    self.layout,
                    catalog,
                    valid,
                    self.settings.zones,
                    created,
                    self._usage(catalog, valid, created),
                )
                if progress:
                    progress("validating and writing the report", 2, 3)
                done = complete_report(self.store, report, rows)
                if progress:
                    progress("done", 3, 3)
                return done
            except ReconError as exc:
                return fail_report(self.store, report, exc.code, str(exc))
            except Exception as exc:
                fail_report(self.store, report, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
                raise

    def _usage(self, catalog: pl.DataFrame, request: ReportRequest, now: datetime) -> Usage:
        """USER usage for a request, shared by every report type of the same period.

        The monthly batch builds four report types from one computation. The cache holds one
        entry and is keyed by the lake's files, the catalog and what `usage_key` names, so a
        new ingest or another period recomputes.
        """
        key = (
            lake_fingerprint(self.layout),
            catalog.hash_rows().sum(),
            catalog.height,
            usage_key(request, self.settings.zones, now),
        )
        cached = self._usage_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        self._usage_cache = None  # let the old one go before computing the new one
        usage = shared_usage(report_usage(self.layout, catalog, request, self.settings.zones, now))
        self._usage_cache = (key, usage)
        return usage

    def get_report(self, report_id: str) -> Report:
        """One report by id."""
        with self._reading(), self.store.connect() as con:
            if not self._shared:
                fail_interrupted(con, self.layout.reports)
            return get_report(con, report_id)

    def list_reports(self, sort_by: str = "billingStartDate", **filters: object) -> list[Report]:
        """Reports matching exact filters.

        Filters: report_type, category, status, start, end, sub_partner_org_id.
        """
        with self._reading(), self.store.connect() as con:
            if not self._shared:
                fail_interrupted(con, self.layout.reports)
            return list_reports(con, sort_by=sort_by, **filters)  # type: ignore[arg-type]

    def delete_report(self, report_id: str) -> Report:
        """Delete a COMPLETED or FAILED report and its CSV."""
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
        second run on the same inputs produces the same outputs and no duplicates.
        """
        start, end = month_period(month)
        run = MonthRun(month=month)
        paths = [Path(p) for p in logs]
        if paths:
            run.ingest = self.ingest(paths, progress)
            if run.ingest.failed_files:
                run.problems += [f.error or f.path for f in run.ingest.failed_files]
        vendor_files: dict[ReportType, Path] = {}
        if vendor_dir is not None:
            vendor_files, problems = vendor_files_by_type(Path(vendor_dir), month)
            run.problems += problems
        for number, report_type in enumerate(REPORT_TYPES, start=1):
            if progress:
                progress(f"{report_type} report for {month}", number, len(REPORT_TYPES))
            outcome = TypeOutcome(type=report_type)
            run.outcomes.append(outcome)
            try:
                outcome.report, outcome.reused = self._month_report(
                    report_type, start, end, zone, regenerate
                )
                if outcome.report.status != "COMPLETED":
                    outcome.error = "; ".join(e["description"] for e in outcome.report.errors)
                    continue
                vendor = vendor_files.get(report_type)
                if vendor is not None:
                    outcome.vendor_file = str(vendor)
                    outcome.reconciliation = self.reconcile(
                        outcome.report.id, vendor, tolerance, prices
                    )
            except ReconError as exc:
                outcome.error = str(exc)
        return run

    def _month_report(
        self, report_type: ReportType, start: date, end: date, zone: str | None, regenerate: bool
    ) -> tuple[Report, bool]:
        existing = [
            r
            for r in self.list_reports(
                report_type=report_type, category="RECONCILIATION", start=start, end=end
            )
            if r.sub_partner_org_id is None and r.status != "FAILED"
        ]
        wanted_zone = zone or self.settings.zones.describe()
        if existing and not regenerate:
            report = existing[0]
            if report.timezone != wanted_zone:
                raise ConflictError(
                    f"the {report_type} report {report.id} for {start}..{end} was computed in "
                    f"{report.timezone}, not {wanted_zone}",
                    hint="run again with --regenerate to rebuild it",
                )
            return report, True
        for report in existing:
            self.delete_report(report.id)
        request = ReportRequest(type=report_type, start=start, end=end, timezone=zone)
        return self.create_report(request), False

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
        """Run read-only SQL on the store; anything that would write or reach outside is refused."""
        with self._writing():
            if derived_stale(self.layout) and event_files(self.layout):
                refresh_derived(self.layout, self.catalog())
            self.store.refresh()  # tables exist and views point at the lake as it is now
        con = duckdb.connect(str(self.layout.store), read_only=True)
        try:
            lake = str(self.layout.root / "lake") + "/"
            reports = str(self.layout.reports) + "/"  # report_rows reads the rows files there
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET allowed_directories = [?, ?]", [lake, reports])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            try:
                statements = con.extract_statements(query)
            except duckdb.Error as exc:
                raise BadInputError(f"SQL does not parse: {exc}", hint="check the query") from exc
            if len(statements) != 1:
                raise BadInputError(
                    f"give exactly one SQL statement (got {len(statements)})",
                    hint="run statements one at a time",
                )
            if statements[0].type not in _READ_ONLY_STATEMENTS:
                raise BadInputError(
                    f"recon sql is read-only: a {statements[0].type.name} statement is refused",
                    hint="use SELECT (or EXPLAIN); reports change through `recon report`",
                )
            try:
                result: pl.DataFrame = con.sql(query).pl()
            except duckdb.Error as exc:
                raise BadInputError(
                    f"SQL failed: {exc}",
                    hint="duckdb_tables() and duckdb_views() list what exists",
                ) from exc
            return result
        finally:
            con.close()
