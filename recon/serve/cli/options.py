"""What every command shares: the home the global options name, and date arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, TypeAlias

import typer

import recon


@dataclass(frozen=True)
class HomeOptions:
    """The global `--home` and `--catalog` options (kept on the Typer context)."""

    home: str | None = None
    catalog: Path | None = None


def open_recon(
    ctx: typer.Context, engine: str | None = None, spark_master: str | None = None
) -> recon.Recon:
    """The home the global options name (reports computed by `engine`, if given)."""
    options = ctx.find_object(HomeOptions) or HomeOptions()
    return recon.Recon(options.home, options.catalog, engine=engine, spark_master=spark_master)


# `--engine` and `--spark-master`, shared by the commands that build reports.
EngineOption: TypeAlias = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="embedded or spark (RECONCILIATION usage; default: recon.toml's, else embedded).",
    ),
]
SparkMasterOption: TypeAlias = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master for --engine spark (default: RECON_SPARK_MASTER, else local[*]).",
    ),
]


def parse_date(value: str, name: str) -> date:
    """A YYYY-MM-DD argument; a clear error names the option otherwise."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise recon.ReconError(
            f"{name} {value!r} is not a date", hint="write it as YYYY-MM-DD"
        ) from None


def optional_date(value: str | None, name: str) -> date | None:
    """An optional YYYY-MM-DD argument."""
    return None if value is None else parse_date(value, name)
