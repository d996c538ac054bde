"""`recon reconcile` (our report against the vendor's) and `recon explain` (the audit trail)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import recon
from recon.serve.cli import render, render_reconcile
from recon.serve.cli.options import open_recon, parse_date


def reconcile_command(
    ctx: typer.Context,
    report_id: Annotated[str, typer.Option("--report", help="Our report's id.")],
    vendor: Annotated[
        Path, typer.Option("--vendor", help="The vendor's report CSV of the same type and period.")
    ],
    tolerance: Annotated[
        str, typer.Option(help="Largest quantity difference that still MATCHes.")
    ] = "0",
    prices: Annotated[
        Path | None,
        typer.Option(
            help="Price list CSV (SKU, UNIT_PRICE, UNIT, CURRENCY); default <home>/prices.csv."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the discrepancy and summary files.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a static HTML summary with charts.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare a report with the vendor's: exit 0 all match, 1 discrepancies, 2 not comparable."""
    result = open_recon(ctx).reconcile(report_id, vendor, tolerance, prices, out_dir)
    if html_file is not None:
        # Imported here: matplotlib is slow to import.
        from recon import write_reconciliation_html  # noqa: PLC0415

        write_reconciliation_html(result, html_file)
        render_reconcile.html_written(html_file)
    if as_json:
        render.print_json(result.as_json())
    else:
        render_reconcile.reconciliation(result)
    raise typer.Exit(result.exit_code)


def explain_command(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="Customer org id.")],
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    user: Annotated[str | None, typer.Option("--user", help="One user id.")] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", help="One workspace id.")] = None,
    package: Annotated[str | None, typer.Option("--package", help="One package.")] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Billing zone (default: the home's for this customer)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit trail as JSON.")] = False,
) -> None:
    """Show the audit trail behind a quantity: events, quarantine, intervals, anomalies, days."""
    if user and workspace:
        raise recon.ReconError("give --user or --workspace, not both")
    first = parse_date(start, "--start")
    last = parse_date(end, "--end")
    subject = recon.Subject(customer, user, workspace, package)
    trail = open_recon(ctx).explain(subject, first, last, tz)
    if as_json:
        render.print_json(trail.as_json())
    else:
        render_reconcile.explanation(trail, subject, first, last)


def register(app: typer.Typer) -> None:
    """Add `recon reconcile` and `recon explain`."""
    app.command("reconcile")(reconcile_command)
    app.command("explain")(explain_command)
