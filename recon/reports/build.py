"""A report request on its way down the stages: request → registry → usage → roll-up → writer.

Creating a report has two halves. `register_request` is fast: it validates the request and
registers the report IN_PROGRESS (the HTTP server answers then). `build_registered` does the
work: USER usage, the roll-up to the report's type, and the validated, atomic write that ends
COMPLETED, or FAILED with the error.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pendulum
import polars as pl

from recon.core import config
from recon.core.config import BillingZones
from recon.core.engines import EngineSettings
from recon.core.errors import ReconError
from recon.home.store import Store
from recon.ingest.run import Progress
from recon.reports.lineage import begin_lineage, check_known_on
from recon.reports.model import Report, ReportRequest
from recon.reports.registry import BUILDING, fail_report, register_report
from recon.reports.request import validate_request
from recon.reports.rollup import rolled_up_report
from recon.reports.scope import check_sub_partner
from recon.reports.staleness import with_lineage
from recon.reports.usage import UsageCache, report_usage
from recon.reports.writer import complete_report


def local_today(zone: str) -> pendulum.Date:
    """Today's date in `zone` (`RECON_NOW` applies)."""
    return pendulum.instance(config.now()).in_timezone(zone).date()


def register_request(
    store: Store,
    request: ReportRequest,
    zones: BillingZones,
    catalog: Callable[[], pl.DataFrame],
    writing: AbstractContextManager[object],
) -> tuple[Report, ReportRequest]:
    """Validate `request`, then, holding `writing`, register its report as IN_PROGRESS.

    Returns the report and the normalised request to build. A bad request raises before the
    lock is taken (it never waits for a running build); a conflict, an unknown sub-partner or
    a catalog that cannot be read raises before anything is stored.
    """
    zone = config.check_zone(request.timezone) if request.timezone else zones.default
    valid = validate_request(request, local_today(zone), config.now())
    check_known_on(valid, config.now())
    with writing:
        store.layout.ensure()
        catalog()  # a broken catalog is a bad request, not a failed report
        check_sub_partner(store.layout, valid.sub_partner_org_id)  # a typo is not an empty report
        return register_report(store, valid, zones, config.now()), valid


def build_registered(
    store: Store,
    report: Report,
    request: ReportRequest,
    catalog: pl.DataFrame,
    zones: BillingZones,
    usage_cache: UsageCache | None = None,
    progress: Progress | None = None,
    engine: EngineSettings | None = None,
) -> Report:
    """Compute a registered report: COMPLETED with its CSV, or FAILED with the error.

    `request` is the normalised request `register_request` returned; the report's `created`
    instant is its "now". A `ReconError` fails the report with its code; anything else fails
    it as INTERNAL_ERROR and is raised again. `engine` computes USER usage (default embedded).
    """
    now = report.created
    try:
        request = begin_lineage(store, report, request, zones)
        if progress:
            progress("computing intervals and quantities", 1, 3)
        if usage_cache is None:
            usage = report_usage(store.layout, catalog, request, zones, now, engine)
        else:
            usage = usage_cache.usage(catalog, request, zones, now, engine)
        with rolled_up_report(store.layout, catalog, request, now, usage) as rows:
            if progress:
                progress("validating and writing the report", 2, 3)
            done = complete_report(store, report, rows)
        if progress:
            progress("done", 3, 3)
        with store.connect(read_only=True) as con:  # published by complete_report
            return with_lineage(con, [done])[0]
    except ReconError as exc:
        return fail_report(store, report, exc.code, str(exc))
    except KeyboardInterrupt:
        fail_report(store, report, "INTERRUPTED", "interrupted before it was published")
        raise
    except Exception as exc:
        fail_report(store, report, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        BUILDING.discard(report.id)  # from now on, still IN_PROGRESS means orphaned
