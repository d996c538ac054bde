"""`recon ingest`: check, deduplicate and store log files in the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recon.serve.cli import render
from recon.serve.cli.options import open_recon


def ingest_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Log files or folders (CSV, JSON Lines, Parquet).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Check, deduplicate and store log files in the lake; every row is accounted for."""
    with render.progress(not as_json) as progress:
        result = open_recon(ctx).ingest(paths, progress)
    if as_json:
        render.print_json(result.as_json())
    else:
        render.ingest_result(result)
    if result.failed_files or not result.files:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add `recon ingest`."""
    app.command("ingest")(ingest_command)
