"""The column order of a home's report CSVs, per report type and category.

The documented order (`schemas/report_<type>.yaml`) is the default. A home may keep another
one, learned from a vendor file the partner already has (`recon columns learn`), so scripts
that read Webex's files by position read recon's the same way. The order is stored in the
`column_orders` table; it must hold exactly the type's columns, checked when learned and
again when used (a newer schema may have changed them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from recon.core.contracts import Category, ReportType, report_contract
from recon.core.errors import BadInputError
from recon.core.timezones import from_micros, iso_utc

COLUMN_ORDERS_SQL = """
CREATE TABLE IF NOT EXISTS column_orders (
    report_type VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    columns VARCHAR NOT NULL,
    learned_from VARCHAR,
    learned_at TIMESTAMPTZ,
    PRIMARY KEY (report_type, category)
);
"""


@dataclass(frozen=True)
class ColumnOrder:
    """The column order a home writes one report type and category in."""

    report_type: str
    category: str
    columns: list[str]
    learned_from: str | None = None
    learned_at: datetime | None = None

    @property
    def learned(self) -> bool:
        """True when learned from a file, False for the documented order."""
        return self.learned_from is not None

    def as_json(self) -> dict[str, Any]:
        """The order with the API's camelCase keys."""
        return {
            "type": self.report_type,
            "category": self.category,
            "columns": self.columns,
            "learned": self.learned,
            "learnedFrom": self.learned_from,
            "learnedAt": iso_utc(self.learned_at) if self.learned_at else None,
        }


def checked_order(
    report_type: ReportType, category: Category, columns: list[str], source: str
) -> list[str]:
    """`columns` (names normalised) if they are exactly the type's, else `BadInputError`."""
    names = [c.strip().upper() for c in columns]
    expected = report_contract(report_type, category).names
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if missing or extra or repeated:
        problems = [
            f"{label} {', '.join(found)}"
            for label, found in (
                ("missing", missing),
                ("unexpected", extra),
                ("repeated", repeated),
            )
            if found
        ]
        raise BadInputError(
            f"{source} does not hold exactly the {report_type} {category} columns "
            f"({'; '.join(problems)})",
            hint=f"a {report_type} {category} report has {', '.join(expected)}",
        )
    return names


def _stored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store has the table yet (a home no writer of this version has opened)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'column_orders' AND table_catalog = current_database()"
    ).fetchone()
    return bool(found and found[0])


def learned_orders(con: duckdb.DuckDBPyConnection) -> list[ColumnOrder]:
    """Every learned order, by type and category."""
    if not _stored(con):
        return []
    rows = con.execute(
        "SELECT report_type, category, columns, learned_from, epoch_us(learned_at) "
        "FROM column_orders ORDER BY report_type, category"
    ).fetchall()
    return [
        ColumnOrder(t, c, json.loads(cols), src, from_micros(at) if at is not None else None)
        for t, c, cols, src, at in rows
    ]


def column_order(
    con: duckdb.DuckDBPyConnection, report_type: ReportType, category: Category
) -> list[str]:
    """The order to write a report in: the learned one, else the documented one."""
    if not _stored(con):
        return report_contract(report_type, category).names
    row = con.execute(
        "SELECT columns, learned_from FROM column_orders WHERE report_type = ? AND category = ?",
        [report_type, category],
    ).fetchone()
    if row is None:
        return report_contract(report_type, category).names
    source = f"the column order learned from {row[1]}"
    try:
        return checked_order(report_type, category, json.loads(row[0]), source)
    except BadInputError as exc:
        raise BadInputError(
            exc.message,
            hint=f"learn it again (recon columns learn) or forget it: "
            f"recon columns reset {report_type}",
        ) from exc


def save_order(con: duckdb.DuckDBPyConnection, order: ColumnOrder) -> None:
    """Store (or replace) a learned order."""
    con.execute(
        "INSERT OR REPLACE INTO column_orders VALUES (?, ?, ?, ?, ?)",
        [
            order.report_type,
            order.category,
            json.dumps(order.columns),
            order.learned_from,
            order.learned_at,
        ],
    )


def forget_orders(con: duckdb.DuckDBPyConnection, report_type: str | None = None) -> list[str]:
    """Forget the learned orders (of one type, or all); returns 'TYPE CATEGORY' of each."""
    where, params = ("WHERE report_type = ?", [report_type]) if report_type else ("", [])
    rows = con.execute(
        f"DELETE FROM column_orders {where} RETURNING report_type, category", params
    ).fetchall()
    return sorted(f"{t} {c}" for t, c in rows)
