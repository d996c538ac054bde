"""Publishing a report: validated CSV and typed Parquet rows, renamed into place atomically.

A report is COMPLETED only after its CSV has been validated against its Pandera contract,
written under a temporary name, flushed and renamed into place, and its rows committed to the
store in the same transaction that flips its status. Anything else ends FAILED with errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import polars as pl
import pyarrow.parquet as pq

from recon.core.contracts import ContractError, report_contract
from recon.core.csvsafe import neutralised
from recon.core.quantity import micros, text_of
from recon.home.columns import column_order
from recon.home.files import fsync_dir, fsync_file, temporary_path
from recon.home.store import (
    REPORT_ROW_COLUMNS,
    Store,
    point_report_rows,
    report_rows_path,
    transaction,
)
from recon.reports.model import Report
from recon.reports.registry import fail_report, get_report


def complete_report(
    store: Store, report: Report, rows: pl.DataFrame | Iterable[pl.DataFrame]
) -> Report:
    """Validate, write the CSV and the rows file atomically, then flip to COMPLETED.

    `rows` may come in batches (in order): each is validated, appended to the temporary CSV
    and to the temporary Parquet rows file that SQL reads, so a report of millions of rows
    is never held whole. Both files are flushed and renamed into place, and the status flips
    in the same transaction that adds the rows to the `report_rows` view. A batch that breaks
    the contract removes both files and fails the report.

    Rows are validated in the contract's order, then written in the home's column order (a
    learned one, else the contract's).
    """
    contract = report_contract(report.type, report.category)
    with store.connect(read_only=True) as con:  # reading it needs no write session
        order = column_order(con, report.type, report.category)
    batches = [rows] if isinstance(rows, pl.DataFrame) else rows
    path = store.layout.reports / f"{report.id}.csv"
    rows_path = report_rows_path(store.layout, report.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, rows_tmp = temporary_path(path), temporary_path(rows_path)
    total = count = 0
    try:
        with tmp.open("wb") as handle, _RowsFile(rows_tmp) as stored:
            header = True
            for batch in batches:
                contract.validate(batch)
                neutralised(batch.select(order)).write_csv(
                    handle,
                    include_header=header,
                    quote_style="necessary",
                    line_terminator="\n",
                )
                header = False
                stored.append(report.id, batch)
                total += int(batch.select(micros(pl.col("QUANTITY")).sum()).item())
                count += batch.height
            if header:  # no rows: the header alone
                empty = pl.DataFrame(schema=dict.fromkeys(order, pl.String))
                empty.write_csv(handle, quote_style="necessary", line_terminator="\n")
            handle.flush()
            os.fsync(handle.fileno())
        with store.connect() as con:
            try:
                with transaction(con):
                    tmp.replace(path)
                    rows_tmp.replace(rows_path)
                    fsync_dir(path.parent)  # both names are on disk before the status flips
                    con.execute(
                        "UPDATE reports SET status = 'COMPLETED', csv_path = ?, row_count = ?, "
                        "total_quantity = CAST(? AS DECIMAL(38, 6)), completed_at = now() "
                        "WHERE id = ?",
                        [f"reports/{report.id}.csv", count, text_of(total), report.id],
                    )
                    point_report_rows(con, store.layout)
            except BaseException:
                path.unlink(missing_ok=True)
                rows_path.unlink(missing_ok=True)
                raise
            return get_report(con, report.id, layout=store.layout)
    except ContractError as exc:
        description = f"report rows break the {exc.contract} contract: {exc.summary()}"
        return fail_report(store, report, exc.code, description)
    finally:
        tmp.unlink(missing_ok=True)
        rows_tmp.unlink(missing_ok=True)


_ROW_TYPES: Final[dict[str, pl.DataType]] = {
    "report_id": pl.String(),
    **{
        c: pl.Date() if c.endswith("_date") and c != "report_date" else pl.String()
        for c in REPORT_ROW_COLUMNS
        if c != "report_id"
    },
    "quantity": pl.Decimal(38, 6),
    "report_date": pl.Datetime("us", "UTC"),
}


def typed_rows(report_id: str, rows: pl.DataFrame) -> pl.DataFrame:
    """Report rows as text → the typed, lower-case columns of the `report_rows` view."""
    present = {c.lower(): c for c in rows.columns}
    columns = []
    for name, dtype in _ROW_TYPES.items():
        if name == "report_id":
            columns.append(pl.lit(report_id, pl.String).alias(name))
            continue
        if name not in present:
            columns.append(pl.lit(None, dtype).alias(name))
            continue
        text = pl.col(present[name])
        if dtype == pl.Date():
            value = text.replace("", None).str.to_date("%Y-%m-%d")
        elif name == "report_date":
            value = text.replace("", None).str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", time_unit="us"
            )
        elif name == "quantity":
            value = text.cast(dtype)
        else:
            value = text
        columns.append(value.alias(name))
    return rows.select(columns)


class _RowsFile:
    """A Parquet file written batch by batch (always with the full `report_rows` schema)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> _RowsFile:
        return self

    def append(self, report_id: str, rows: pl.DataFrame) -> None:
        table = typed_rows(report_id, rows).to_arrow(compat_level=pl.CompatLevel.oldest())
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table)

    def __exit__(self, *_: object) -> None:
        if self._writer is None:  # no rows: an empty file with the schema
            empty = pl.DataFrame(schema=_ROW_TYPES).to_arrow(compat_level=pl.CompatLevel.oldest())
            self._writer = pq.ParquetWriter(self.path, empty.schema, compression="zstd")
        self._writer.close()
        fsync_file(self.path)
