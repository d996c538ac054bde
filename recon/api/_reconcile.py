"""The face's reconciliation, monthly batch, explain and stored records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from recon.api._reports import ReportsFace
from recon.core import config
from recon.core.contracts import ReportType
from recon.core.errors import BadInputError, NotFoundError
from recon.reports.model import Report, ReportRequest

if TYPE_CHECKING:
    import polars as pl

    from recon.ingest.run import Progress
    from recon.reconcile.columns import ColumnOrders
    from recon.reconcile.explain import Explanation, Subject
    from recon.reconcile.monthly import MonthRun, TypeOutcome
    from recon.reconcile.records import ReconciliationRecord
    from recon.reconcile.run import ReconciliationResult

# The stages each method needs are imported by it: opening the face loads none of them.


class ReconcileFace(ReportsFace):
    """Reconciliation with the vendor's files, the monthly batch, explain, charts."""

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
        from recon.reconcile.run import reconcile_report  # noqa: PLC0415

        self.get_report(report_id)  # an unknown id is NOT_FOUND before waiting for the lock
        price_list = Path(prices) if prices else self._default_prices()
        with self._writing():
            report = self.get_report(report_id)  # as it is now: not deleted or rebuilt meanwhile
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
        keep_stale: bool = False,
    ) -> MonthRun:
        """The monthly batch: ingest, build every report type, reconcile, summarise.

        An existing COMPLETED report for the month is reused (unless `regenerate`), so a
        second run on the same inputs produces the same outputs and no duplicates. A stale
        one (late events arrived after it was built, §8) is deleted and built again, unless
        `keep_stale`: then it is reused and the outcome says so. Missing `logs` raise before
        any report is built; nothing to compare is NOTHING_COMPARED (exit 4).
        """
        from recon.reconcile.monthly import (  # noqa: PLC0415
            MonthRun,
            build_and_compare,
            check_log_paths,
            report_to_reuse,
            staleness_text,
        )
        from recon.reports.request import month_period  # noqa: PLC0415

        start, end = month_period(month)
        self.check_engine()  # before anything is ingested
        run = MonthRun(month=month)
        paths = [Path(p) for p in logs]
        check_log_paths(paths)
        if paths:
            run.add_ingest(self.ingest(paths, progress))
        vendor_files = run.add_vendor_folder(Path(vendor_dir)) if vendor_dir is not None else {}
        wanted_zone = zone or self.settings.zones.describe()

        def obtain(outcome: TypeOutcome) -> tuple[Report, bool]:
            report_type: ReportType = outcome.type
            existing = self.list_reports(
                report_type=report_type, category="RECONCILIATION", start=start, end=end
            )
            reused, replaced = report_to_reuse(
                existing, report_type, (start, end), wanted_zone, regenerate
            )
            if reused is not None:
                if not reused.stale or keep_stale:
                    if reused.stale:
                        outcome.kept_stale = f"{reused.id} is stale: {staleness_text(reused)}"
                    return reused, True
                outcome.rebuilt = f"{staleness_text(reused)} (was {reused.id})"
                replaced = [reused]
            for report in replaced:  # the Webex rule: delete, then create
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
        import polars as pl  # noqa: PLC0415

        from recon.core.timezones import day_table, to_micros  # noqa: PLC0415
        from recon.ingest.lake import scan_events, scan_quarantine  # noqa: PLC0415
        from recon.reconcile.explain import explained  # noqa: PLC0415
        from recon.reports.zones import customer_zones  # noqa: PLC0415

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
        import polars as pl  # noqa: PLC0415

        from recon.core.timezones import day_table, to_micros  # noqa: PLC0415
        from recon.engine.intervals import assignment_intervals  # noqa: PLC0415
        from recon.engine.proration import daily_quantities  # noqa: PLC0415
        from recon.ingest.lake import scan_events  # noqa: PLC0415

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

    def list_reconciliations(
        self, report_id: str | None = None, report_type: str | None = None, latest: bool = False
    ) -> list[ReconciliationRecord]:
        """Stored reconciliations, oldest first: of one report or type, or only the latest."""
        from recon.reconcile.records import list_reconciliations  # noqa: PLC0415

        with self._reading(), self.store.connect() as con:
            return list_reconciliations(
                con, self.layout, report_id=report_id, report_type=report_type, latest_only=latest
            )

    def delete_reconciliation(self, reconciliation_id: str) -> ReconciliationRecord:
        """Delete a reconciliation: its record, its discrepancy rows, its files in the home."""
        from recon.reconcile.records import delete_reconciliation  # noqa: PLC0415

        with self._writing():
            return delete_reconciliation(self.store, reconciliation_id)

    @property
    def columns(self) -> ColumnOrders:
        """The column order of report CSVs: `learn(paths)` from vendor files, `show`, `reset`."""
        from recon.reconcile.columns import ColumnOrders  # noqa: PLC0415

        return ColumnOrders(self.store, self._writing, self._reading)
