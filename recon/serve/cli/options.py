"""What every command shares: the home the global options name, and date arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import typer

import recon


@dataclass(frozen=True)
class HomeOptions:
    """The global `--home` and `--catalog` options (kept on the Typer context)."""

    home: str | None = None
    catalog: Path | None = None


def open_recon(ctx: typer.Context) -> recon.Recon:
    """The home the global options name."""
    options = ctx.find_object(HomeOptions) or HomeOptions()
    return recon.Recon(options.home, options.catalog)


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
