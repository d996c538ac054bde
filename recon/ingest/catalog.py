"""The package catalog: SERVICE_NAME → SKU, DESCRIPTION and KIND (BASE or ADDON)."""

from __future__ import annotations

import hashlib
import sys
from importlib.util import find_spec
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


def load_catalog(
    path: Path, verdicts: Path | None = None, *, remember: bool = False
) -> pl.DataFrame:
    """Read and check a catalog CSV; the frame has columns package, sku, description, kind.

    A file already checked in this process, unchanged since (same size and modification
    time), is not read and validated again: the monthly batch asks for it once per report.
    `verdicts` (a home's `.checked` folder) tells across processes which catalogs passed
    their contract; a writer (`remember`) reads the file again to add to it (see
    `read_checked_csv`).
    """
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _checked and not remember:  # a writer records its verdict
        return _checked[key]
    raw = read_checked_csv(path, catalog_contract(), "catalog", verdicts, remember=remember)
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


def read_checked_csv(
    path: Path,
    contract: Contract,
    what: str,
    verdicts: Path | None = None,
    *,
    remember: bool = False,
) -> pl.DataFrame:
    """A small user-edited CSV (catalog, price list) as text, checked against its contract.

    Header case and spaces around values are forgiven; anything else is a clear error. With
    `verdicts`, a file whose exact bytes passed this exact contract before is not handed to
    Pandera again: importing Pandera alone cost 0.3-0.45 s of every report, for a catalog
    that rarely changes. Every other check still runs. With `remember` (a writer, holding
    the home's lock: readers change nothing), a pass leaves an empty file named by a digest
    of the bytes and the contract in `verdicts`.
    """
    try:
        data = path.read_bytes()
        raw = pl.read_csv(data, infer_schema=False, encoding="utf8-lossy")
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
    verdict = None if verdicts is None else verdicts / verdict_name(data, contract)
    if verdict is not None and verdict.is_file():
        return raw
    try:
        contract.validate(raw)
    except ContractError as exc:
        raise BadInputError(
            f"{what} {path} is invalid: {exc.summary()}", hint=f"fix the {what}"
        ) from exc
    if verdict is not None and remember:
        try:
            verdict.parent.mkdir(parents=True, exist_ok=True)
            verdict.touch()
        except OSError:
            pass  # a read-only home: the next process checks again
    return raw


def verdict_name(data: bytes, contract: Contract) -> str:
    """The name of the verdict that `data` passed `contract`.

    A digest of the bytes, the contract, the code that turns a contract into checks and the
    Pandera release that runs them: a change to any of them checks the file afresh.
    """
    checks = Path(sys.modules[Contract.__module__].__file__ or "")
    digest = hashlib.sha256(f"{contract!r}\0".encode())
    digest.update(_pandera_release())
    digest.update(checks.read_bytes())
    digest.update(data)
    return f"{contract.name}-{digest.hexdigest()[:40]}"


def _pandera_release() -> bytes:
    """The installed Pandera's release, found without importing it (that is what is saved).

    Its generated `_version.py` is read (2 ms); where there is none, the package metadata
    (30 ms).
    """
    spec = find_spec("pandera")
    if spec is not None and spec.origin is not None:
        generated = Path(spec.origin).with_name("_version.py")
        if generated.is_file():
            return generated.read_bytes()
    from importlib.metadata import version  # noqa: PLC0415

    return version("pandera").encode()
