"""The face's ingest and report lifecycle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from recon.api._home import HomeFace
from recon.core import config
from recon.core.config import check_column_mapping
from recon.core.errors import BadInputError
from recon.reports.model import Report, ReportRequest
from recon.reports.registry import (
    delete_report,
    get_report,
    list_reports,
    seen_by_readers,
)
from recon.reports.staleness import with_lineage

if TYPE_CHECKING:
    import pendulum
    import polars as pl

    from recon.ingest.run import IngestResult, Progress

# Reading a report's status loads neither Polars nor the engine: the stages that compute are
# imported by the methods that use them.


class ReportsFace(HomeFace):
    """Ingest and the report lifecycle (billing rules §2, §6)."""

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: Progress | None = None,
        *,
        columns: Mapping[str, str] | None = None,
        timezone: str | None = None,
    ) -> IngestResult:
        """Ingest log files and folders; counts always add up.

        `columns` maps recon's column names to the logs' own (`{"event_id": "EventRef"}`) and
        `timezone` reads naive timestamps as local time there, for every file of this call, on
        top of the home's `[ingest]` settings in recon.toml.
        """
        from recon.ingest.run import ingest_paths  # noqa: PLC0415

        chosen = [Path(p) for p in paths]
        if not chosen:
            raise BadInputError("no paths to ingest", hint="name log files or folders")
        mapping = check_column_mapping(columns, "--map (columns)") if columns else None
        with self._writing():
            self.layout.ensure()
            return ingest_paths(
                chosen,
                self.layout,
                self.catalog_path or self.layout.catalog,
                config.now(),
                progress,
                columns=mapping,
                timezone=config.check_zone(timezone) if timezone else None,
                settings=self.settings.ingest,
            )

    def today(self, zone: str | None = None) -> pendulum.Date:
        """Today's date in the billing time zone."""
        from recon.reports.build import local_today  # noqa: PLC0415

        return local_today(config.check_zone(zone) if zone else self.settings.zones.default)

    def create_report(self, request: ReportRequest, progress: Progress | None = None) -> Report:
        """Create a report and compute it now; returns it COMPLETED or FAILED.

        Bad requests and conflicts raise before anything is stored.
        """
        report, valid = self.begin_report(request)
        return self.build_report(report, valid, progress)

    def begin_report(self, request: ReportRequest) -> tuple[Report, ReportRequest]:
        """Validate a request and register the report as IN_PROGRESS (the fast half of create).

        Returns the report and the normalised request to pass to `build_report`. With the Spark
        engine, a missing pyspark or Java is a `BadInputError` before anything is registered.
        """
        from recon.reports.build import register_request  # noqa: PLC0415

        self.check_engine()
        return register_request(
            self.store, request, self.settings.zones, self.catalog, self._writing()
        )

    def build_report(
        self, report: Report, request: ReportRequest, progress: Progress | None = None
    ) -> Report:
        """Compute a registered report: COMPLETED with its CSV, or FAILED with errors.

        USER usage is cached between calls: the report types of one period share it.
        """
        from recon.reports.build import build_registered  # noqa: PLC0415

        with self._writing():
            return build_registered(
                self.store,
                report,
                request,
                self.catalog(),
                self.settings.zones,
                self._usage_cache,
                progress,
                self.engine,
            )

    def check_engine(self) -> None:
        """Raise a `BadInputError` saying what to install when the chosen engine cannot run."""
        if self.engine.name == "spark":
            from recon.reports.spark import require_spark  # noqa: PLC0415 - Spark only if chosen

            require_spark()

    def get_report(self, report_id: str) -> Report:
        """One report by id."""
        with self._reading(), self.store.connect() as con:
            found = [get_report(con, report_id, layout=self.layout)]
            return with_lineage(con, seen_by_readers(con, found))[0]

    def list_reports(self, sort_by: str = "billingStartDate", **filters: object) -> list[Report]:
        """Reports matching exact filters.

        Filters: report_type, category, status, start, end, sub_partner_org_id.
        """
        status = filters.pop("status", None)
        with self._reading(), self.store.connect() as con:
            found = list_reports(con, self.layout, sort_by=sort_by, **filters)  # type: ignore[arg-type]
            seen = with_lineage(con, seen_by_readers(con, found))
        wanted = str(status).upper() if status else None
        return [r for r in seen if wanted is None or r.status == wanted]

    def delete_report(self, report_id: str) -> Report:
        """Delete a COMPLETED or FAILED report, its CSV and its reconciliations."""
        with self._writing():
            return delete_report(self.store, report_id)

    def report_csv(self, report_id: str) -> pl.DataFrame:
        """A completed report's CSV, as text columns."""
        import polars as pl  # noqa: PLC0415

        from recon.core.csvsafe import restored  # noqa: PLC0415

        report = self.get_report(report_id)
        if report.status != "COMPLETED" or not report.csv_path:
            raise BadInputError(f"report {report_id} is {report.status}, it has no CSV")
        return restored(pl.read_csv(report.csv_path, infer_schema=False))
