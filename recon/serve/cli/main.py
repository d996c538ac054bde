"""The `recon` command line: the app, its global options, and errors turned into exit codes.

Exit codes are a contract: 0 ok, 1 discrepancies found, 2 bad input or usage, 3 a bug in
recon. Each command (in `commands/`) parses, calls the library and hands the result to
`render`; a `ReconError` it lets through becomes one clear line here and its exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.commands import generate, ingest, reconcile, reports, run, serve, sql
from recon.serve.cli.options import HomeOptions

app = typer.Typer(
    name="recon",
    help="Recompute Webex Wholesale billing from your own provisioning logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="Home folder (default: $RECON_HOME, else ./data).", show_default=False
        ),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="Package catalog CSV (default: <home>/catalog.csv).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Recompute Webex Wholesale billing from your own provisioning logs."""
    ctx.obj = HomeOptions(home, catalog)


# The order here is the order of `recon --help` (groups, such as `report`, come last).
for _commands in (generate, ingest, reports, reconcile, run, serve, sql):
    _commands.register(app)


def main() -> None:
    """Entry point of the `recon` script.

    A `ReconError` is the user's to act on: one line, what to do, and its exit code. Any
    other exception is a bug in recon, not in the input: it prints one line, where to find
    the traceback (RECON_DEBUG=1), and exits 3.
    """
    pl.Config.set_tbl_hide_dataframe_shape(True)
    try:
        app()
    except recon.ReconError as exc:
        render.error(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if recon.debug():
            raise
        render.internal_error(exc)
        sys.exit(3)


if __name__ == "__main__":
    main()
