"""`recon report create|get|list|delete`: billing reports in the home's registry."""

from __future__ import annotations

from typing import Annotated

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.allocator import keep_freed_memory
from recon.serve.cli.options import EngineOption, SparkMasterOption, open_recon, optional_date


def report_create(
    ctx: typer.Context,
    report_type: Annotated[
        str, typer.Option("--type", help="PARTNER, CUSTOMER, LOCATION or USER.")
    ],
    category: Annotated[
        str, typer.Option(help="RECONCILIATION or POINT_IN_TIME.")
    ] = "RECONCILIATION",
    start: Annotated[
        str | None, typer.Option(help="billingStartDate, YYYY-MM-DD (inclusive).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="billingEndDate, YYYY-MM-DD (inclusive).")] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Bill every customer in this IANA zone.")
    ] = None,
    sub_partner: Annotated[
        str | None, typer.Option("--sub-partner", help="Only this sub-partner's customers.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="POINT_IN_TIME instant (ISO 8601, default now).")
    ] = None,
    as_known_on: Annotated[
        str | None,
        typer.Option(
            "--as-known-on",
            help="Compute from the events ingested by this instant only (ISO 8601).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Create a report and compute it; prints where its CSV is."""
    keep_freed_memory()  # loads Polars, its allocator tuned for reports (`allocator`)
    request = recon.ReportRequest(
        type=report_type,
        category=category,
        start=optional_date(start, "--start"),
        end=optional_date(end, "--end"),
        sub_partner_org_id=sub_partner,
        timezone=tz,
        as_of=recon.parse_instant(as_of, what="--as-of") if as_of else None,
        as_known_on=recon.parse_instant(as_known_on, what="--as-known-on") if as_known_on else None,
    )
    with render.progress(not as_json) as progress:
        report = open_recon(ctx, engine, spark_master).create_report(request, progress)
    if as_json:
        render.print_json(report.as_json())
    else:
        render.report(report)
    if report.status != "COMPLETED":
        raise typer.Exit(2)


def report_get(
    ctx: typer.Context,
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show one report."""
    report = open_recon(ctx).get_report(report_id)
    if as_json:
        render.print_json(report.as_json())
    else:
        render.report(report)


def report_list(
    ctx: typer.Context,
    report_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    start: Annotated[str | None, typer.Option(help="Only this exact billingStartDate.")] = None,
    end: Annotated[str | None, typer.Option(help="Only this exact billingEndDate.")] = None,
    sub_partner: Annotated[
        str | None, typer.Option("--sub-partner", help="Only this sub-partner scope.")
    ] = None,
    sort_by: Annotated[
        str, typer.Option("--sort-by", help="id, billingStartDate, billingEndDate or status.")
    ] = "billingStartDate",
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """List reports; filters match exactly."""
    rc = open_recon(ctx)
    reports = rc.list_reports(
        sort_by=sort_by,
        report_type=report_type,
        category=category,
        status=status,
        start=optional_date(start, "--start"),
        end=optional_date(end, "--end"),
        sub_partner_org_id=sub_partner,
    )
    if as_json:
        render.print_json({"items": [r.as_json() for r in reports]})
    else:
        render.reports(reports)


def report_delete(
    ctx: typer.Context,
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the deleted report as JSON.")
    ] = False,
) -> None:
    """Delete a COMPLETED or FAILED report and its CSV."""
    report = open_recon(ctx).delete_report(report_id)
    if as_json:
        render.print_json(report.as_json())
    else:
        render.deleted(report)


def register(app: typer.Typer) -> None:
    """Add the `recon report` group."""
    group = typer.Typer(help="Create, get, list and delete billing reports.", no_args_is_help=True)
    group.command("create")(report_create)
    group.command("get")(report_get)
    group.command("list")(report_list)
    group.command("delete")(report_delete)
    app.add_typer(group, name="report")
