"""`recon ingest`: check, deduplicate and store log files in the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.options import open_recon


def ingest_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Log files or folders (CSV, JSON Lines, Parquet).")
    ],
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="recon's column = your logs' column, e.g. --map event_id=EventRef (repeatable).",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--tz", help="Read naive timestamps as local time in this IANA zone."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Check, deduplicate and store log files in the lake; every row is accounted for."""
    columns = _mapping(column_map or [])
    with render.progress(not as_json) as progress:
        result = open_recon(ctx).ingest(paths, progress, columns=columns, timezone=timezone)
    if as_json:
        render.print_json(result.as_json())
    else:
        render.ingest_result(result)
    if result.failed_files or not result.files:
        raise typer.Exit(2)


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise recon.BadInputError(
                f"--map {pair!r} is not recon's column = your column",
                hint="write it like --map event_id=EventRef",
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def register(app: typer.Typer) -> None:
    """Add `recon ingest`."""
    app.command("ingest")(ingest_command)
