"""`recon reconcile` (compare, list, delete) and `recon explain` (the audit trail).

`recon reconcile` is a group that runs the comparison when no subcommand is given, so
`recon reconcile --report ID --vendor FILE` works as it always did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import recon
from recon.serve.cli import render, render_reconcile, render_records
from recon.serve.cli.options import open_recon, parse_date


def reconcile_command(
    ctx: typer.Context,
    report_id: Annotated[str | None, typer.Option("--report", help="Our report's id.")] = None,
    vendor: Annotated[
        Path | None,
        typer.Option("--vendor", help="The vendor's report CSV of the same type and period."),
    ] = None,
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
    """Compare a report with the vendor's: exit 0 all match, 1 discrepancies, 2 not comparable.

    `recon reconcile list` and `recon reconcile delete ID` manage the stored reconciliations.
    """
    if ctx.invoked_subcommand is not None:
        return
    if report_id is None or vendor is None:
        missing = " and ".join(
            n for n, v in (("--report", report_id), ("--vendor", vendor)) if not v
        )
        raise recon.BadInputError(
            f"recon reconcile needs {missing}",
            hint="recon reconcile --report ID --vendor FILE (or: recon reconcile list)",
        )
    if html_file is not None:
        # Imported here: matplotlib is slow to import.
        from recon import check_html_target  # noqa: PLC0415

        check_html_target(html_file)  # before anything is stored
    result = open_recon(ctx).reconcile(report_id, vendor, tolerance, prices, out_dir)
    if html_file is not None:
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


def reconcile_list(
    ctx: typer.Context,
    report_id: Annotated[str | None, typer.Option("--report", help="Only this report's.")] = None,
    report_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Only the newest reconciliation of each report.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """List stored reconciliations, oldest first (`latest` marks each report's newest)."""
    found = open_recon(ctx).list_reconciliations(report_id, report_type, latest)
    if as_json:
        render.print_json({"items": [r.as_json() for r in found]})
    else:
        render_records.reconciliations(found)


def reconcile_delete(
    ctx: typer.Context,
    reconciliation_id: Annotated[str, typer.Argument(help="The reconciliation's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the deleted record.")] = False,
) -> None:
    """Delete a stored reconciliation: its record, its discrepancies and its files."""
    rc = open_recon(ctx)
    record = rc.delete_reconciliation(reconciliation_id)
    if as_json:
        render.print_json(record.as_json())
    else:
        render_records.reconciliation_deleted(record, rc.home)


def register(app: typer.Typer) -> None:
    """Add the `recon reconcile` group (compare; list; delete) and `recon explain`."""
    group = typer.Typer(
        help="Compare a report with the vendor's; list and delete stored reconciliations.",
        invoke_without_command=True,
    )
    group.callback()(reconcile_command)
    group.command("list")(reconcile_list)
    group.command("delete")(reconcile_delete)
    app.add_typer(group, name="reconcile")
    app.command("explain")(explain_command)
