"""Each report column: where it comes from in USER usage, and how it is written as CSV text.

The roll-up (`recon.reports.rollup`) selects and aggregates columns by `COLUMN_SOURCES`; the
writer (`recon.reports.writer`) prints them with `csv_sql`. Quantities stay integer millionths
and days DATEs until then.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from recon.core.csvsafe import NUMERIC_COLUMNS, TRIGGERS, holds_formula
from recon.core.quantity import sql_decimal, sql_text
from recon.home.store import sql_literal

_DATE = "CAST({d} AS VARCHAR)"  # ISO 8601, YYYY-MM-DD

# Each report column: the usage expression ("u." a usage column, "c." a catalog column looked
# up by package), and the aggregate that folds it over a group (None for the group's own key
# columns). USER rows are the usage rows themselves (usage is unique at the USER grain), so
# USER selects the plain expressions and has no group-by.
COLUMN_SOURCES: Final[dict[str, tuple[str, str | None]]] = {
    "PARTNER_NAME": ("u.partner_name", "any_value"),
    "PARTNER_ORG_ID": ("u.partner_org_id", None),
    "SUBSCRIPTION_ID": ("u.subscription_id", None),
    "SERVICE_NAME": ("u.package", None),
    "SKU": ("c.sku", "any_value"),
    "DESCRIPTION": ("c.description", "any_value"),
    "CONSUMPTION_START_DATE": ("u.first_day", "min"),
    "CONSUMPTION_END_DATE": ("u.last_day", "max"),
    "QUANTITY": ("u.quantity_micros", "sum"),
    "CUSTOMER_ORG_ID": ("u.customer_org_id", None),
    "CUSTOMER_EXTERNAL_ID": ("u.customer_external_id", "any_value"),
    "SUBSCRIBER_ID": ("u.subscriber_id", "any_value"),
    "USER_ID": ("u.user_id", "any_value"),
    "WORKSPACE_ID": ("u.workspace_id", "any_value"),
    "LOCATION_ID": ("u.location_id", None),
    "LICENSE_ID": ("u.license_id", None),
}


def source_of(column: str) -> tuple[str, str]:
    """Where a report column comes from: ("u", usage column) or ("c", catalog column).

    ("", "") for a column of neither (REPORT_DATE, the report's own instant).
    """
    if column not in COLUMN_SOURCES:
        return "", ""
    table, _, name = COLUMN_SOURCES[column][0].partition(".")
    return table, name


def formula_free_report_columns(
    usage_free: frozenset[str], catalog: pl.DataFrame, names: list[str]
) -> frozenset[str]:
    """The report columns (of `names`) that hold no cell a spreadsheet would run.

    Those of a usage column known free of them (`SpilledUsage.formula_free`) and those of a
    catalog column that holds none.
    """
    free = set()
    for name in names:
        table, column = source_of(name)
        if (table == "u" and column in usage_free) or (
            table == "c" and not holds_formula(catalog[column])
        ):
            free.add(name)
    return frozenset(free)


def typed_column_sql(column: str, aggregated: bool) -> str:
    """A report column as a typed value: text ids, DATE days, BIGINT millionths."""
    expression, aggregate = COLUMN_SOURCES[column]
    if aggregated and aggregate is not None:
        expression = f"{aggregate}({expression})"
    if column == "QUANTITY":
        expression = f"CAST({expression} AS BIGINT)"  # an overflow raises; it never wraps
    return expression


def text_sql(column: str, *, neutralise: bool = True) -> str:
    """SQL turning a typed report column into its CSV text.

    Quantities become '1.250000', days 'YYYY-MM-DD'. With `neutralise`, a text cell a
    spreadsheet would run as a formula gets a leading apostrophe (see `recon.core.csvsafe`).
    Empty text stays '', which the CSV writer quotes (`""`), as report CSVs always were.
    """
    if column == "QUANTITY":
        return sql_text(column)
    if column in _DAY_COLUMNS:
        return _DATE.format(d=column)
    if column in NUMERIC_COLUMNS or not neutralise:
        return column
    quoted = sql_literal("'")
    return f"CASE WHEN {starts_with_trigger(column)} THEN {quoted} || {column} ELSE {column} END"


def csv_sql(column: str, *, neutralise: bool) -> str:
    """SQL for a typed report column as DuckDB's CSV writer is handed it.

    Like `text_sql`, but quantities go as exact DECIMALs and days as DATEs: the writer prints
    them as the same '1.250000' and 'YYYY-MM-DD' with less work than text made in SQL.
    """
    if column == "QUANTITY":
        return sql_decimal(column)
    if column in _DAY_COLUMNS:
        return column
    return text_sql(column, neutralise=neutralise)


def starts_with_trigger(column: str) -> str:
    """SQL: whether a text cell starts with a character a spreadsheet would act on.

    Compares the first character's code point: half the cost of comparing `left(cell, 1)`.
    Equalities joined by OR, not `IN (...)`: DuckDB's `in_clause` optimizer turns a list of 5
    or more constants (`IN`, `list_contains`) into a join, which does not keep the rows'
    order, and a report's rows are written in key order (the roll-up's connection also
    disables that optimizer: `rollup._rollup_connection`).
    """
    return "(" + " OR ".join(f"ord({column}) = {ord(t)}" for t in TRIGGERS) + ")"


_DAY_COLUMNS: Final = frozenset({"CONSUMPTION_START_DATE", "CONSUMPTION_END_DATE"})
