"""Read-only SQL on the store: one SELECT (or EXPLAIN), kept inside the home.

The store is opened read-only, file access is limited to the lake and the reports folder (the
`report_rows` view reads the rows files there), and the configuration is locked so the query
cannot loosen any of it.
"""

from __future__ import annotations

import duckdb
import polars as pl

from recon.core.errors import BadInputError
from recon.home.layout import HomeLayout
from recon.home.store import views_of_this_home

_READ_ONLY_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def read_only_query(layout: HomeLayout, query: str) -> pl.DataFrame:
    """Run one read-only statement on the store; anything that would write or reach out is refused.

    The caller brings the store up to date first (tables exist, views point at the lake).
    """
    con = duckdb.connect(str(layout.store), read_only=True)
    try:
        views_of_this_home(con, layout)
        lake = str(layout.root / "lake") + "/"
        reports = str(layout.reports) + "/"  # report_rows reads the rows files there
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET allowed_directories = [?, ?]", [lake, reports])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise BadInputError(f"SQL does not parse: {exc}", hint="check the query") from exc
        if len(statements) != 1:
            raise BadInputError(
                f"give exactly one SQL statement (got {len(statements)})",
                hint="run statements one at a time",
            )
        if statements[0].type not in _READ_ONLY_STATEMENTS:
            raise BadInputError(
                f"recon sql is read-only: a {statements[0].type.name} statement is refused",
                hint="use SELECT (or EXPLAIN); reports change through `recon report`",
            )
        try:
            result: pl.DataFrame = con.sql(query).pl()
        except duckdb.Error as exc:
            raise BadInputError(
                f"SQL failed: {exc}",
                hint="duckdb_tables() and duckdb_views() list what exists",
            ) from exc
        return result
    finally:
        con.close()
