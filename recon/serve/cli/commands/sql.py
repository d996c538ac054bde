"""`recon sql`: read-only SQL on the report store."""

from __future__ import annotations

from typing import Annotated

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.options import open_recon

FORMATS = ("table", "csv", "json")


def sql_command(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run read-only SQL on the report store (tables, report rows, lake views)."""
    if output not in FORMATS:
        raise recon.ReconError(f"--format {output!r} is unknown", hint="use table, csv or json")
    render.sql_result(open_recon(ctx).sql(query), output)


def register(app: typer.Typer) -> None:
    """Add `recon sql`."""
    app.command("sql")(sql_command)
