"""Publishing a report: validated rows copied by DuckDB to the CSV and the Parquet rows file.

A report is COMPLETED only after its rows have passed their Pandera contract, both files have
been written under temporary names, flushed and renamed into place, and the status flipped in
the transaction that adds its rows to the `report_rows` view. Anything else ends FAILED.

The rows stay typed until they are written (ids as text, days as DATEs, quantities as integer
millionths): the contract checks them in that form while DuckDB writes the CSV text and the
typed rows from the same table, and nothing of the report passes through Python as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import duckdb
import polars as pl
import pyarrow as pa

from recon.core.contracts import KEY_ORDER, Contract, ContractError, report_contract
from recon.core.csvsafe import NUMERIC_COLUMNS
from recon.core.quantity import sql_decimal, text_of
from recon.home.columns import column_order
from recon.home.files import fsync_dir, fsync_file, temporary_path
from recon.home.store import (
    REPORT_ROW_COLUMNS,
    Store,
    point_report_rows,
    report_rows_path,
    sql_literal,
    transaction,
)
from recon.reports.columns import csv_sql, starts_with_trigger
from recon.reports.model import Report
from recon.reports.registry import fail_report, get_report
from recon.reports.rollup import BATCH_ROWS, RolledUp
from recon.reports.usage import arrow_of

# USER rows are put in key order by the ranks of their ids' codes (`recon.ingest.codes`).
_USER_ORDER_HINT: Final = (
    ". USER rows are put in order by the lake's stored text orders; if one is wrong, delete"
    " <home>/lake/codes/dictionary=*/order-*.parquet and reports sort the texts again"
)
_CSV_OPTIONS: Final = (
    "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\\n', COMMENT ''"
)


def complete_report(store: Store, report: Report, rows: RolledUp) -> Report:
    """Validate `rows`, write the CSV and the rows file atomically, then flip to COMPLETED.

    DuckDB writes the CSV with one thread fewer (see `write_csv`) while a second thread
    checks the contract and then writes the rows file on a cursor of its own: the check and
    the rows file take the core the CSV leaves (USER report at 1M subjects: 4.99 to 4.68 s
    against the CSV, the check and the rows file one after another beside it; all three at
    once gained nothing). A row that breaks the contract removes both files and fails the
    report with the column, the check and the first bad rows named. Rows are written in the
    home's column order (a learned one, else the contract's).
    """
    contract = report_contract(report.type, report.category)
    with store.connect(read_only=True) as con:  # reading it needs no write session
        order = column_order(con, report.type, report.category)
    path = store.layout.reports / f"{report.id}.csv"
    rows_path = report_rows_path(store.layout, report.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, rows_tmp = temporary_path(path), temporary_path(rows_path)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="contract") as pool:
            cursor = rows.connection.cursor()  # here: the CSV is about to hold the connection
            checked = pool.submit(_checked_rows_file, rows, cursor, contract, report.id, rows_tmp)
            try:
                write_csv(rows, order, tmp)
                count, total = _count_and_total(rows)
            finally:
                checked.result()  # a broken contract raises here, whatever else happened
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
        if report.type == "USER" and KEY_ORDER in description:
            description += _USER_ORDER_HINT
        return fail_report(store, report, exc.code, description)
    finally:
        tmp.unlink(missing_ok=True)
        rows_tmp.unlink(missing_ok=True)


def _checked_rows_file(
    rows: RolledUp,
    cursor: duckdb.DuckDBPyConnection,
    contract: Contract,
    report_id: str,
    target: Path,
) -> None:
    """`check_rows`, then (the rows being good) the rows file on `cursor`, which it closes."""
    try:
        check_rows(rows, contract)
        if rows.frame is not None:  # a registered frame is seen by its own connection only
            cursor.register("report_typed", arrow_of(rows.frame))
        on_cursor = RolledUp(cursor, rows.report_type, rows.category, rows.frame)
        _write_rows_file(on_cursor, report_id, target)
    finally:
        cursor.close()


def check_rows(rows: RolledUp, contract: Contract) -> None:
    """Check typed report rows against `contract` (Pandera, Polars backend), batch by batch.

    Each batch is checked with the last row of the one before in front of it, so the key's
    order (unique, ascending) holds across batches. Rows held as a frame are checked in it,
    bucket files file by file; others are read through a cursor of their own. Either way
    this can run beside the writes. Raises `ContractError`.
    """
    if rows.frame is not None:
        _check_batches(rows.frame.iter_slices(BATCH_ROWS), contract)
        return
    if rows.files:  # a bucket each (`recon.reports.buckets`): read by Polars as they are
        _check_batches((pl.read_parquet(f) for f in rows.files), contract)
        return
    cursor = rows.connection.cursor()
    try:
        columns = ", ".join(contract.names)
        reader = cursor.sql(f"SELECT {columns} FROM report_typed").to_arrow_reader(BATCH_ROWS)
        _check_batches(_frames(_gathered(reader, BATCH_ROWS)), contract)
    finally:
        cursor.close()


def _check_batches(batches: Iterator[pl.DataFrame], contract: Contract) -> None:
    before: pl.DataFrame | None = None
    for frame in batches:
        if frame.is_empty():  # the next batch is checked against the last row before this
            continue
        checked = frame if before is None else pl.concat([before, frame])
        contract.validate(checked, typed=True)
        before = frame.tail(1)


def _frames(tables: Iterator[pa.Table]) -> Iterator[pl.DataFrame]:
    for table in tables:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def _gathered(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """`reader`'s batches (DuckDB hands out small ones) gathered into tables of ~`rows`."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        held.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(held)
            held, count = [], 0
    if count:
        yield pa.Table.from_batches(held)


def write_csv(rows: RolledUp, order: list[str], target: Path) -> None:
    """The report CSV, written by DuckDB's CSV writer from the typed rows, flushed.

    Text cells are neutralised in SQL; quantities and days are printed by the writer.
    Only the text columns that hold a cell a spreadsheet would run are neutralised (a report
    of millions of rows usually has none): a pass over the rows finds them, except among
    the columns the roll-up knows hold none (`RolledUp.formula_free`).
    """
    text = [c for c in order if c not in NUMERIC_COLUMNS and c not in rows.formula_free]
    touched: set[str] = set()
    if text:
        flags = ", ".join(f"bool_or({starts_with_trigger(c)})" for c in text)
        found = rows.connection.execute(f"SELECT {flags} FROM report_typed").fetchone()
        touched = {c for c, flag in zip(text, found or (), strict=False) if flag}
    columns = ", ".join(f"{csv_sql(c, neutralise=c in touched)} AS {c}" for c in order)
    with _one_thread_fewer(rows.connection):
        rows.connection.execute(
            f"COPY (SELECT {columns} FROM report_typed) TO {sql_literal(target)} ({_CSV_OPTIONS})"
        )
    fsync_file(target)


@contextmanager
def _one_thread_fewer(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread fewer for a while (on one, the caller's, on a 2-core machine).

    The contract check, then the rows file, run beside the CSV and need a core. On 2 cores
    DuckDB's CSV writer gains little from its second thread (1.26M USER rows: 0.73 s on one,
    0.69-0.99 s on two, with twice the CPU, most of it in the kernel): the USER report 3%
    faster at 1M subjects, 7% at 10M. (Its Parquet writer does gain from two: the rows
    file, started on one, has both once the CSV is written.)
    """
    found = con.execute("SELECT current_setting('threads')").fetchone()
    assert found is not None
    threads = int(found[0])
    con.execute("SET threads = ?", [max(1, threads - 1)])
    try:
        yield
    finally:
        con.execute("SET threads = ?", [threads])


def _write_rows_file(rows: RolledUp, report_id: str, target: Path) -> None:
    """The typed rows SQL reads (`report_rows`), always with the view's full schema."""
    present = set(report_contract(rows.report_type, rows.category).names)
    columns = [f"{sql_literal(report_id)}::VARCHAR AS report_id"]
    for name, sql_type in REPORT_ROW_COLUMNS.items():
        column = name.upper()
        if name == "report_id":
            continue
        if column not in present:
            columns.append(f"NULL::{sql_type} AS {name}")
        elif column == "QUANTITY":  # exact: the millionths with the point moved
            columns.append(f"CAST({sql_decimal(column)} AS {sql_type}) AS {name}")
        elif column == "REPORT_DATE":
            columns.append(f"CAST(NULLIF({column}, '') AS {sql_type}) AS {name}")
        else:
            columns.append(f"{column} AS {name}")
    rows.connection.execute(
        f"COPY (SELECT {', '.join(columns)} FROM report_typed) TO {sql_literal(target)} "
        "(FORMAT parquet, COMPRESSION snappy)"
    )
    fsync_file(target)


def _count_and_total(rows: RolledUp) -> tuple[int, int]:
    found = rows.connection.execute(
        "SELECT count(*), coalesce(sum(QUANTITY), 0)::HUGEINT FROM report_typed"
    ).fetchone()
    assert found is not None
    return int(found[0]), int(found[1])
