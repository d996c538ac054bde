"""USER-level usage → PARTNER, CUSTOMER, LOCATION and USER report rows, in DuckDB SQL.

Quantities stay integers (millionths) until the last step, so every level is the exact sum of
the USER rows below it, and text is produced only when a row is written. Every query here
reads two relations, `usage` and `catalog`, registered by the caller.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import duckdb
import polars as pl

from recon.schemas import Category, ReportType, report_contract

_QUANTITY = "printf('%d.%06d', {m} // 1000000, {m} % 1000000)"
_DATE = "strftime({d}, '%Y-%m-%d')"

_COMMON: Final = {
    "PARTNER_NAME": "any_value(u.partner_name)",
    "PARTNER_ORG_ID": "u.partner_org_id",
    "SUBSCRIPTION_ID": "u.subscription_id",
    "SERVICE_NAME": "u.package",
    "SKU": "any_value(c.sku)",
    "DESCRIPTION": "any_value(c.description)",
    "CONSUMPTION_START_DATE": _DATE.format(d="min(u.first_day)"),
    "CONSUMPTION_END_DATE": _DATE.format(d="max(u.last_day)"),
    "QUANTITY": _QUANTITY.format(m="sum(u.quantity_micros)::HUGEINT"),
    "CUSTOMER_ORG_ID": "u.customer_org_id",
    "CUSTOMER_EXTERNAL_ID": "any_value(u.customer_external_id)",
    "SUBSCRIBER_ID": "any_value(u.subscriber_id)",
    "USER_ID": "any_value(u.user_id)",
    "WORKSPACE_ID": "any_value(u.workspace_id)",
    "LOCATION_ID": "u.location_id",
    "LICENSE_ID": "u.license_id",
}

# USER rows are the usage rows themselves (usage is unique at the USER grain): no group-by.
_PLAIN: Final = {
    "PARTNER_NAME": "u.partner_name",
    "PARTNER_ORG_ID": "u.partner_org_id",
    "SUBSCRIPTION_ID": "u.subscription_id",
    "SERVICE_NAME": "u.package",
    "SKU": "c.sku",
    "DESCRIPTION": "c.description",
    "CONSUMPTION_START_DATE": _DATE.format(d="u.first_day"),
    "CONSUMPTION_END_DATE": _DATE.format(d="u.last_day"),
    "QUANTITY": _QUANTITY.format(m="u.quantity_micros"),
    "CUSTOMER_ORG_ID": "u.customer_org_id",
    "CUSTOMER_EXTERNAL_ID": "u.customer_external_id",
    "SUBSCRIBER_ID": "u.subscriber_id",
    "USER_ID": "u.user_id",
    "WORKSPACE_ID": "u.workspace_id",
    "LOCATION_ID": "u.location_id",
    "LICENSE_ID": "u.license_id",
}
# Spill to disk past this much memory (a DuckDB size); sorts of millions of rows stay bounded.
ROLLUP_MEMORY: Final = "2GB"
BATCH_ROWS: Final = 500_000

# The USER grain includes the subject, which fixes USER_ID and WORKSPACE_ID.
_GROUP_BY: Final[dict[ReportType, list[str]]] = {
    "PARTNER": ["u.partner_org_id", "u.subscription_id", "u.package"],
    "CUSTOMER": [
        "u.partner_org_id",
        "u.subscription_id",
        "u.customer_org_id",
        "u.package",
        "u.location_id",
        "u.license_id",
    ],
    "LOCATION": [
        "u.partner_org_id",
        "u.subscription_id",
        "u.customer_org_id",
        "u.location_id",
        "u.package",
    ],
    "USER": [
        "u.partner_org_id",
        "u.subscription_id",
        "u.customer_org_id",
        "u.subject_type",
        "u.subject_id",
        "u.package",
        "u.location_id",
        "u.license_id",
    ],
}


def _select_list(
    report_type: ReportType, category: Category, report_date: str | None, plain: bool = False
) -> str:
    contract = report_contract(report_type, category)
    source = _PLAIN if plain else _COMMON
    items = []
    for column in contract.names:
        if column == "REPORT_DATE":
            items.append(f"'{report_date}' AS REPORT_DATE")
        else:
            items.append(f"{source[column]} AS {column}")
    return ",\n       ".join(items)


def rollup_sql(report_type: ReportType, category: Category, report_date: str | None = None) -> str:
    """The SQL that rolls `usage` up to one report type, rows sorted by the type's key."""
    contract = report_contract(report_type, category)
    join = "FROM usage u JOIN catalog c ON c.package = u.package\n"
    order = f"ORDER BY {', '.join(contract.key)}"
    if report_type == "USER":
        return (
            f"SELECT {_select_list(report_type, category, report_date, plain=True)}\n{join}{order}"
        )
    group_by = list(_GROUP_BY[report_type])
    if category == "POINT_IN_TIME" and report_type == "CUSTOMER":
        group_by = ["u.partner_org_id", "u.subscription_id", "u.customer_org_id", "u.package"]
    return (
        f"SELECT {_select_list(report_type, category, report_date)}\n"
        f"{join}GROUP BY {', '.join(group_by)}\n{order}"
    )


def report_row_batches(
    usage: pl.DataFrame,
    catalog: pl.DataFrame,
    report_type: ReportType,
    category: Category = "RECONCILIATION",
    report_date: str | None = None,
    spill_dir: Path | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pl.DataFrame]:
    """The report's rows as text, in order, in batches of at most `batch_rows`.

    For RECONCILIATION `usage` holds prorated USER rows (`quantity_micros`, `first_day`,
    `last_day`); for POINT_IN_TIME it holds one row per key ever held, `quantity_micros` being
    1 000 000 for a key held at the instant and 0 otherwise. USER point-in-time rows are the
    held ones only. DuckDB works within `ROLLUP_MEMORY` and spills to `spill_dir` beyond it,
    and the rows come out as they are produced: a report of ten million rows is never held
    in memory as text.
    """
    if category == "POINT_IN_TIME" and report_type == "USER":
        usage = usage.filter(pl.col("quantity_micros") > 0)
    contract = report_contract(report_type, category)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{ROLLUP_MEMORY}'")
        if spill_dir is not None:
            spill_dir.mkdir(parents=True, exist_ok=True)
            con.execute("SET temp_directory = ?", [str(spill_dir)])
        con.execute("SET threads = ?", [max(1, os.cpu_count() or 1)])
        con.register("usage", usage)
        con.register("catalog", catalog)
        reader = con.sql(rollup_sql(report_type, category, report_date)).to_arrow_reader(batch_rows)
        for batch in reader:
            if batch.num_rows == 0:
                continue
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.select([pl.col(c).cast(pl.String).fill_null("") for c in contract.names])
    finally:
        con.close()


def report_rows(
    usage: pl.DataFrame,
    catalog: pl.DataFrame,
    report_type: ReportType,
    category: Category = "RECONCILIATION",
    report_date: str | None = None,
) -> pl.DataFrame:
    """All of `report_row_batches` in one frame (for small reports and tests)."""
    contract = report_contract(report_type, category)
    batches = list(report_row_batches(usage, catalog, report_type, category, report_date))
    if not batches:
        return pl.DataFrame(schema=dict.fromkeys(contract.names, pl.String))
    return pl.concat(batches, how="vertical")
