"""USER-level usage → PARTNER, CUSTOMER, LOCATION and USER report rows, in DuckDB SQL.

Quantities stay integers (millionths) until the last step, so every level is the exact sum of
the USER rows below it, and text is produced only when a row is written. Every query here
reads two relations, `usage` and `catalog`, registered by the caller.
"""

from __future__ import annotations

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


def _select_list(report_type: ReportType, category: Category, report_date: str | None) -> str:
    contract = report_contract(report_type, category)
    items = []
    for column in contract.names:
        if column == "REPORT_DATE":
            items.append(f"'{report_date}' AS REPORT_DATE")
        else:
            items.append(f"{_COMMON[column]} AS {column}")
    return ",\n       ".join(items)


def rollup_sql(report_type: ReportType, category: Category, report_date: str | None = None) -> str:
    """The SQL that rolls `usage` up to one report type, rows sorted by the type's key."""
    contract = report_contract(report_type, category)
    group_by = list(_GROUP_BY[report_type])
    if category == "POINT_IN_TIME" and report_type == "CUSTOMER":
        group_by = ["u.partner_org_id", "u.subscription_id", "u.customer_org_id", "u.package"]
    return (
        f"SELECT {_select_list(report_type, category, report_date)}\n"
        "FROM usage u JOIN catalog c ON c.package = u.package\n"
        f"GROUP BY {', '.join(group_by)}\n"
        f"ORDER BY {', '.join(contract.key)}"
    )


def report_rows(
    usage: pl.DataFrame,
    catalog: pl.DataFrame,
    report_type: ReportType,
    category: Category = "RECONCILIATION",
    report_date: str | None = None,
) -> pl.DataFrame:
    """The report's rows as text, columns in the contract's order.

    For RECONCILIATION `usage` holds prorated USER rows (`quantity_micros`, `first_day`,
    `last_day`); for POINT_IN_TIME it holds one row per key ever held, `quantity_micros` being
    1 000 000 for a key held at the instant and 0 otherwise. USER point-in-time rows are the
    held ones only.
    """
    if category == "POINT_IN_TIME" and report_type == "USER":
        usage = usage.filter(pl.col("quantity_micros") > 0)
    con = duckdb.connect()
    try:
        con.register("usage", usage)
        con.register("catalog", catalog)
        result: pl.DataFrame = con.sql(rollup_sql(report_type, category, report_date)).pl()
    finally:
        con.close()
    contract = report_contract(report_type, category)
    return result.select([pl.col(c).cast(pl.String).fill_null("") for c in contract.names])
