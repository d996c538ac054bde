"""The `recon` command line: the app, its global options, and errors turned into exit codes.

Exit codes are a contract: 0 ok, 1 discrepancies found, 2 bad input or usage, 3 a bug in
recon, 4 `recon run` built the reports but compared nothing, 130 interrupted (Ctrl-C or
SIGINT). Each command (in `commands/`) parses, calls the library and hands the result to
`render`; a `ReconError` it lets through becomes one clear line here and its exit code.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.commands import (
    columns,
    compact,
    generate,
    ingest,
    reconcile,
    reports,
    run,
    serve,
    sql,
)
from recon.serve.cli.options import HomeOptions

app = typer.Typer(
    name="recon",
    help="Recompute Webex Wholesale billing from your own provisioning logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        render.print_line(f"recon {recon.__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[
        str | None,  # text, not Path: Path("") would silently be the current folder
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
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print recon's version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """Recompute Webex Wholesale billing from your own provisioning logs."""
    ctx.obj = HomeOptions(home, catalog)


# The order here is the order of `recon --help` (groups, such as `report`, come last).
for _commands in (generate, ingest, reports, reconcile, run, serve, sql, compact, columns):
    _commands.register(app)


INTERRUPTED = 130
_signalled: list[int] = []


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """Remember the SIGINT, then interrupt as Python does (KeyboardInterrupt).

    DuckDB and Polars turn a KeyboardInterrupt inside a query into their own errors, and
    Typer turns it into a silent exit; the mark lets `main` tell an interrupt from a bug.
    """
    _signalled.append(signum)
    signal.default_int_handler(signum, frame)


def main() -> None:
    """Entry point of the `recon` script.

    A `ReconError` is the user's to act on: one line, what to do, and its exit code. Ctrl-C
    says nothing was published (whatever was half-done is failed or rolled back) and exits
    130. Any other exception is a bug in recon, not in the input: it prints one line, where
    to find the traceback (RECON_DEBUG=1), and exits 3.
    """
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        app()
    except recon.ReconError as exc:
        if _signalled:
            _interrupted()
        render.error(exc)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, SystemExit) as exc:
        if _signalled or isinstance(exc, KeyboardInterrupt):
            _interrupted()
        raise
    except Exception as exc:
        if _signalled:
            _interrupted()
        if recon.debug():
            raise
        render.internal_error(exc)
        sys.exit(3)


def _interrupted() -> None:
    render.interrupted()
    sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
