"""`recon compact`: merge the lake's small part files; every answer stays the same."""

from __future__ import annotations

from typing import Annotated

import typer

from recon.serve.cli import render
from recon.serve.cli.options import open_recon


def compact_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Merge each event date's part files into one (crash-safe; holds the home's lock)."""
    with render.progress(not as_json) as progress:
        result = open_recon(ctx).compact(progress)
    if as_json:
        render.print_json(result.as_json())
        return
    render.out.print(
        f"compacted {len(result.compacted):,} of {result.partitions:,} event dates: "
        f"{result.files_before:,} part files -> {result.files_after:,} "
        f"({result.rows:,} events rewritten, none changed)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `recon compact`."""
    app.command("compact")(compact_command)
