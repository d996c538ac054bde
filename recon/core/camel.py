"""The one key style of recon's JSON: camelCase, like the Webex API (`rowsRead`, `serviceName`).

Field and column names are converted (`rows_read`, `QUANTITY_DELTA` → `rowsRead`,
`quantityDelta`); values are never touched, also where a map is keyed by values (counts by
discrepancy class, quarantine reasons keep `UNDER_BILLED`, `NAIVE_TIMESTAMP`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


def camel(name: str) -> str:
    """`rows_read` → `rowsRead`, `SERVICE_NAME` → `serviceName`; camelCase stays as it is."""
    if "_" not in name and not name.isupper():
        return name
    head, *rest = [part for part in name.lower().split("_") if part]
    return head + "".join(part.capitalize() for part in rest)


def camel_keys(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping of field names to values, with the names in camelCase."""
    return {camel(name): value for name, value in fields.items()}


def camel_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts keyed by camelCase column names."""
    return frame.rename(camel).to_dicts()
