"""Find the files recon ships beside its code: the column contracts and the default catalog.

A wheel carries them under `recon/_contracts/`; a source checkout (editable install) has them
at the repository's top level, in `schemas/` and `data/catalog.csv`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # recon/, above core/


@cache
def schema_dir() -> Path:
    """The folder holding the YAML column contracts."""
    for candidate in (_PACKAGE / "_contracts" / "schemas", _PACKAGE.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("recon's schemas/ folder is missing: reinstall recon")


@cache
def default_catalog() -> Path:
    """The catalog shipped with recon, copied into a new home on first use."""
    for candidate in (
        _PACKAGE / "_contracts" / "catalog.csv",
        _PACKAGE.parent / "data" / "catalog.csv",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("recon's default catalog.csv is missing: reinstall recon")
