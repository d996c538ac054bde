"""What `recon reconcile list|delete` and `recon columns learn|show|reset` print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from recon.serve.cli.render import add_column, err, is_key, out, styled

if TYPE_CHECKING:
    from recon import ColumnOrder, LearnedColumns, ReconciliationRecord

_RECONCILIATION_COLUMNS = (
    "id",
    "report_id",
    "type",
    "start",
    "end",
    "created",
    "latest",
    "discrepancies",
    "vendor file",
)


def reconciliations(records: list[ReconciliationRecord]) -> None:
    """A table of stored reconciliations, or a line saying none match."""
    if not records:
        out.print("no reconciliations match")
        return
    table = Table(title_justify="left")
    for column in _RECONCILIATION_COLUMNS:
        add_column(table, column, is_key(column) or column == "discrepancies")
    for r in records:
        table.add_row(
            r.id,
            r.report_id,
            f"{r.report_type} {r.category}",
            str(r.billing_start_date or ""),
            str(r.billing_end_date or ""),
            r.as_json()["created"],
            "yes" if r.latest else "",
            f"{r.discrepancies:,}",
            r.vendor_file,
        )
    out.print(table)


def reconciliation_deleted(record: ReconciliationRecord, home: Path) -> None:
    """One line: which reconciliation is gone; files it wrote outside the home stay."""
    out.print(f"deleted reconciliation {record.id} (report {record.report_id})")
    if not Path(record.discrepancy_file).is_relative_to(home):
        err.print(
            styled(
                ("kept", "yellow"),
                f" files outside the home: {record.discrepancy_file} and its folder",
            )
        )


def column_orders(orders: list[ColumnOrder]) -> None:
    """Each report type's column order, numbered, and where it was learned."""
    for order in orders:
        source = f"learned from {order.learned_from}" if order.learned else "documented order"
        out.print(styled((f"{order.report_type} {order.category}", "bold"), f"  ({source})"))
        for i, name in enumerate(order.columns):
            letter = chr(ord("A") + i) if i < 26 else ""  # the spreadsheet column
            out.print(f"  {i + 1:>2} {letter:>1}  {name}")


def columns_learned(learned: LearnedColumns) -> None:
    """The orders learned, and the files skipped."""
    for order in learned.orders:
        where = f" {order.report_type} {order.category} from {order.learned_from}"
        out.print(styled(("learned", "green"), where))
    for path, reason in learned.skipped:
        err.print(styled(("skipped", "yellow"), f" {path}: {reason}"))


def columns_reset(forgotten: list[str]) -> None:
    """Which learned orders are forgotten."""
    if not forgotten:
        out.print("no learned column order to forget; the documented order applies")
        return
    out.print(f"forgot the learned column order of {', '.join(forgotten)}")
