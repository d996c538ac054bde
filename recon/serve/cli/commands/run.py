"""`recon run`: the monthly batch (ingest, every report type, reconcile, one summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recon.serve.cli import render, render_reconcile
from recon.serve.cli.allocator import keep_freed_memory
from recon.serve.cli.options import EngineOption, SparkMasterOption, open_recon


def run_command(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="The billing month, YYYY-MM.")],
    logs: Annotated[
        list[Path] | None, typer.Option("--logs", help="Log files or folders to ingest first.")
    ] = None,
    vendor_dir: Annotated[
        Path | None, typer.Option("--vendor-dir", help="Folder with the vendor's report CSVs.")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Bill every customer in this IANA zone.")
    ] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Delete and rebuild this month's reports.")
    ] = False,
    keep_stale: Annotated[
        bool,
        typer.Option(
            "--keep-stale",
            help="Reuse reports that late events made stale instead of rebuilding them.",
        ),
    ] = False,
    tolerance: Annotated[
        str, typer.Option(help="Largest quantity difference that still MATCHes.")
    ] = "0",
    prices: Annotated[
        Path | None, typer.Option(help="Price list CSV; default <home>/prices.csv.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """The monthly batch: ingest, every report type, reconcile with the vendor, one summary."""
    if not logs:  # an ingest keeps Polars' allocator options (`recon.serve.cli.allocator`)
        keep_freed_memory()
    with render.progress(not as_json) as progress:
        run = open_recon(ctx, engine, spark_master).run_month(
            month,
            logs or [],
            vendor_dir,
            tz,
            regenerate,
            tolerance,
            prices,
            progress,
            keep_stale=keep_stale,
        )
    if as_json:
        render.print_json(run.as_json())
    else:
        render_reconcile.month_run(run)
    raise typer.Exit(run.exit_code)


def register(app: typer.Typer) -> None:
    """Add `recon run`."""
    app.command("run")(run_command)
