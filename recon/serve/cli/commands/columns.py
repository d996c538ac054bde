"""`recon columns learn|show|reset`: the column order of this home's report CSVs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recon.serve.cli import render, render_records
from recon.serve.cli.options import open_recon


def columns_learn(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="Vendor report CSVs, or folders of them.", show_default=False),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was learned as JSON.")
    ] = False,
) -> None:
    """Learn each report type's column order from the vendor's CSVs (detected by header).

    Report CSVs created afterwards, and their downloads, use it; reconciliation still matches
    columns by name.
    """
    learned = open_recon(ctx).columns.learn(paths)
    if as_json:
        render.print_json(learned.as_json())
    else:
        render_records.columns_learned(learned)


def columns_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the orders as JSON.")] = False,
) -> None:
    """Show the column order of every report type: learned, or the documented one."""
    orders = open_recon(ctx).columns.show()
    if as_json:
        render.print_json({"items": [o.as_json() for o in orders]})
    else:
        render_records.column_orders(orders)


def columns_reset(
    ctx: typer.Context,
    report_type: Annotated[
        str | None, typer.Argument(help="Only this report type (default: all).")
    ] = None,
) -> None:
    """Forget learned column orders; the documented order applies again."""
    render_records.columns_reset(open_recon(ctx).columns.reset(report_type))


def register(app: typer.Typer) -> None:
    """Add the `recon columns` group."""
    group = typer.Typer(
        help="The column order of report CSVs, learned from a vendor file.", no_args_is_help=True
    )
    group.command("learn")(columns_learn)
    group.command("show")(columns_show)
    group.command("reset")(columns_reset)
    app.add_typer(group, name="columns")
