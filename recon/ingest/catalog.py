"""The package catalog: SERVICE_NAME → SKU, DESCRIPTION and KIND (BASE or ADDON)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recon.core.contracts import Contract, ContractError, catalog_contract
from recon.core.errors import BadInputError

CATALOG_SCHEMA = {
    "package": pl.String,
    "sku": pl.String,
    "description": pl.String,
    "kind": pl.String,
}


_checked: dict[tuple[str, int, int], pl.DataFrame] = {}


def load_catalog(path: Path) -> pl.DataFrame:
    """Read and check a catalog CSV; the frame has columns package, sku, description, kind.

    A file already checked in this process, unchanged since (same size and modification
    time), is not read and validated again: the monthly batch asks for it once per report.
    """
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _checked:
        return _checked[key]
    raw = read_checked_csv(path, catalog_contract(), "catalog")
    catalog = raw.select(
        package=pl.col("SERVICE_NAME"),
        sku=pl.col("SKU"),
        description=pl.col("DESCRIPTION"),
        kind=pl.col("KIND"),
    )
    shared = catalog.filter(pl.col("sku").is_duplicated()).sort("sku", "package")
    if shared.height:
        sku = shared["sku"][0]
        packages = shared.filter(pl.col("sku") == sku)["package"].to_list()
        raise BadInputError(
            f"catalog {path}: SKU {sku!r} is on {len(packages)} packages ({', '.join(packages)})",
            hint="give each package its own SKU: a vendor row names its package by SKU",
        )
    if key is not None:
        _checked.clear()
        _checked[key] = catalog
    return catalog


def read_checked_csv(path: Path, contract: Contract, what: str) -> pl.DataFrame:
    """A small user-edited CSV (catalog, price list) as text, checked against its contract.

    Header case and spaces around values are forgiven; anything else is a clear error.
    """
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise BadInputError(f"cannot read {what} {path}: {exc}", hint="check the file") from exc
    raw = raw.rename({c: c.strip().upper() for c in raw.columns}).with_columns(
        pl.all().str.strip_chars().fill_null("")
    )
    missing = [c for c in contract.names if c not in raw.columns]
    if missing:
        raise BadInputError(
            f"{what} {path} lacks column(s) {', '.join(missing)}",
            hint=f"a {what} has the columns {', '.join(contract.names)}",
        )
    raw = raw.select(contract.names)
    try:
        contract.validate(raw)
    except ContractError as exc:
        raise BadInputError(
            f"{what} {path} is invalid: {exc.summary()}", hint=f"fix the {what}"
        ) from exc
    return raw
