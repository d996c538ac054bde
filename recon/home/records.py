"""The home's own files as the store records them: relative paths, and reconciliation records.

A home is relocatable: the store keeps paths *inside* the home relative to it (`reports/<id>.csv`,
`reconciliations/<id>/discrepancies.csv`) and resolves them under the home it was opened as, so
a copied or moved home reads its own files and never the original's. Homes written by earlier
versions (absolute paths) are migrated when first opened for writing: a path is re-derived from
the report's or reconciliation's id under the *current* home; an absolute path is never
followed.

Reconciliations are records: every run is kept in `reconciliations` and `all_discrepancies`;
the `latest_reconciliations` view holds the newest one per report and the `discrepancies` view
only that one's rows, so `SELECT class, count(*) FROM discrepancies` counts each report once.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import duckdb

from recon.home.layout import HomeLayout

RECONCILIATION_FILES = (
    "discrepancies.csv",
    "summary_by_service.csv",
    "summary_by_customer.csv",
    "summary.json",
)

RECONCILIATION_VIEWS_SQL = """
CREATE OR REPLACE VIEW latest_reconciliations AS
    SELECT * EXCLUDE (newest) FROM (
        SELECT r.*, row_number() OVER (
            PARTITION BY r.report_id ORDER BY r.created DESC, r.seq DESC NULLS LAST, r.id DESC
        ) AS newest
        FROM reconciliations r WHERE r.report_id IN (SELECT id FROM reports)
    ) WHERE newest = 1;
CREATE OR REPLACE VIEW discrepancies AS
    SELECT d.* FROM all_discrepancies d
    WHERE d.reconciliation_id IN (SELECT id FROM latest_reconciliations);
"""


def _kind(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_name = ? AND table_catalog = current_database()",
        [name],
    ).fetchone()
    return None if row is None else str(row[0])


def migrate_before_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Earlier homes kept every run's rows in a `discrepancies` table: it becomes `all_...`."""
    if _kind(con, "discrepancies") == "BASE TABLE" and _kind(con, "all_discrepancies") is None:
        con.execute("ALTER TABLE discrepancies RENAME TO all_discrepancies")


def migrate_after_schema(con: duckdb.DuckDBPyConnection, layout: HomeLayout) -> None:
    """Give earlier homes the run order column, and make stored paths relative to the home."""
    con.execute("ALTER TABLE reconciliations ADD COLUMN IF NOT EXISTS seq BIGINT")
    con.execute(
        "UPDATE reports SET csv_path = 'reports/' || id || '.csv' "
        "WHERE csv_path IS NOT NULL AND csv_path <> 'reports/' || id || '.csv'"
    )
    rows = con.execute(
        "SELECT id, discrepancy_file FROM reconciliations WHERE discrepancy_file LIKE '/%'"
    ).fetchall()
    for rec_id, stored in rows:
        relative = _relative_record(layout, rec_id, Path(stored))
        if relative is not None:
            con.execute(
                "UPDATE reconciliations SET discrepancy_file = ? WHERE id = ?", [relative, rec_id]
            )


def _relative_record(layout: HomeLayout, rec_id: str, stored: Path) -> str | None:
    """The home-relative form of an absolute discrepancy file path, or None (outside)."""
    if stored.parts[-3:] == ("reconciliations", rec_id, "discrepancies.csv"):
        return f"reconciliations/{rec_id}/discrepancies.csv"  # the default folder, any home
    try:
        return stored.relative_to(layout.root).as_posix()
    except ValueError:
        return None  # written to a folder outside the home on purpose (`--out`): a record only


def stored_path(layout: HomeLayout, path: Path) -> str:
    """How the store keeps `path`: relative to the home if inside it, else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(layout.root.resolve()).as_posix()
    except ValueError:
        return str(absolute)


def inside_home(layout: HomeLayout, stored: str) -> Path | None:
    """A stored path resolved under the home, or None if it is (or leads) outside it."""
    if Path(stored).is_absolute():
        return None
    root = layout.root.resolve()
    resolved = (root / stored).resolve()
    return resolved if resolved.is_relative_to(root) else None


def resolved_path(layout: HomeLayout, stored: str) -> str:
    """A stored path as users see it: absolute, under the current home when it is inside."""
    inside = inside_home(layout, stored)
    return str(inside) if inside is not None else stored


def reconciliation_folders(layout: HomeLayout, rec_id: str, stored: str | None) -> list[Path]:
    """The folders under the home that may hold a reconciliation's files."""
    folders = [layout.root / "reconciliations" / rec_id]
    if stored:
        inside = inside_home(layout, stored)
        if inside is not None and inside.parent not in folders:
            folders.append(inside.parent)
    return folders


def remove_reconciliation_files(layout: HomeLayout, rec_id: str, stored: str | None) -> None:
    """Remove a reconciliation's files, only ever under the home (never a path outside it)."""
    for folder in reconciliation_folders(layout, rec_id, stored):
        for name in RECONCILIATION_FILES:
            (folder / name).unlink(missing_ok=True)
        if folder.parent == layout.root / "reconciliations":
            with suppress(OSError):  # gone already, or holds files recon did not write
                folder.rmdir()


def delete_reconciliation_rows(
    con: duckdb.DuckDBPyConnection, where: str, params: list[object]
) -> list[tuple[str, str | None]]:
    """Delete reconciliations matching `where` and their discrepancy rows.

    Runs in the caller's transaction; returns (id, stored discrepancy file) of each, so the
    caller removes the files once it has committed.
    """
    found = con.execute(
        f"SELECT id, discrepancy_file FROM reconciliations WHERE {where}", params
    ).fetchall()
    for rec_id, _ in found:
        con.execute("DELETE FROM all_discrepancies WHERE reconciliation_id = ?", [rec_id])
        con.execute("DELETE FROM reconciliations WHERE id = ?", [rec_id])
    return [(str(r), s) for r, s in found]
