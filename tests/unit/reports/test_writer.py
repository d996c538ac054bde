"""The report CSV written by DuckDB is byte for byte what recon has always written."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.core.contracts import ContractError, ReportType, report_contract
from recon.core.csvsafe import neutralised
from recon.core.quantity import text_of
from recon.reports import writer
from recon.reports.columns import csv_sql
from recon.reports.rollup import RolledUp, _rollup_connection, rolled_up_frame
from recon.reports.usage import arrow_of
from recon.reports.writer import check_rows, write_csv

PARTNER = report_contract("PARTNER", "RECONCILIATION")
# Any text a log can carry into a report cell: separators, quotes, line breaks, formulas.
cells = st.text(alphabet=st.sampled_from(list(",\"\n\r\t#=+-@ 'aZ0é")), max_size=6)


def _polars_text(rows: pl.DataFrame) -> bytes:
    """The same rows as text, written as recon wrote reports before (Polars' CSV writer)."""
    text = rows.with_columns(
        QUANTITY=pl.col("QUANTITY").map_elements(text_of, return_dtype=pl.String),
        CONSUMPTION_START_DATE=pl.col("CONSUMPTION_START_DATE").cast(pl.String),
        CONSUMPTION_END_DATE=pl.col("CONSUMPTION_END_DATE").cast(pl.String),
    )
    out = io.BytesIO()
    neutralised(text).write_csv(out, quote_style="necessary", line_terminator="\n")
    return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(cells, cells, st.integers(0, 10**12), st.dates(date(1, 1, 1))), max_size=4)
)
def test_duckdb_csv_equals_the_polars_csv_for_any_text(tmp_path_factory, values):
    frame = pl.DataFrame(
        {
            "PARTNER_NAME": [v[0] for v in values],
            "PARTNER_ORG_ID": ["P1"] * len(values),
            "SUBSCRIPTION_ID": [v[1] for v in values],
            "SERVICE_NAME": ["WEBEX_SUITE"] * len(values),
            "SKU": ["-SKU"] * len(values),
            "DESCRIPTION": [v[1] + v[0] for v in values],
            "CONSUMPTION_START_DATE": [v[3] for v in values],
            "CONSUMPTION_END_DATE": [v[3] for v in values],
            "QUANTITY": [v[2] for v in values],
        },
        schema_overrides={
            "CONSUMPTION_START_DATE": pl.Date,
            "CONSUMPTION_END_DATE": pl.Date,
            "QUANTITY": pl.Int64,
        },
    )
    target = Path(tmp_path_factory.mktemp("csv")) / "report.csv"
    with rolled_up_frame(frame, "PARTNER") as rows:
        write_csv(rows, PARTNER.names, target)
    assert target.read_bytes() == _polars_text(frame)


def _partner_rows(keys: list[tuple[str, str]]) -> pl.DataFrame:
    """Typed PARTNER rows, one per (PARTNER_ORG_ID, SUBSCRIPTION_ID), in the order given."""
    day = date(2026, 10, 1)
    return pl.DataFrame(
        {
            "PARTNER_NAME": ["Partner"] * len(keys),
            "PARTNER_ORG_ID": [k[0] for k in keys],
            "SUBSCRIPTION_ID": [k[1] for k in keys],
            "SERVICE_NAME": ["WEBEX_SUITE"] * len(keys),
            "SKU": ["SKU-1"] * len(keys),
            "DESCRIPTION": ["Suite"] * len(keys),
            "CONSUMPTION_START_DATE": [day] * len(keys),
            "CONSUMPTION_END_DATE": [day] * len(keys),
            "QUANTITY": [1_000_000] * len(keys),
        },
        schema_overrides={"QUANTITY": pl.Int64},
    )


@contextmanager
def _held_as_frame(frame: pl.DataFrame, report_type: ReportType) -> Iterator[RolledUp]:
    """Rows held as a frame, as `rolled_up_report` holds rows that fit in memory."""
    con = _rollup_connection(None)
    try:
        con.register("report_typed", arrow_of(frame))
        yield RolledUp(con, report_type, "RECONCILIATION", frame)
    finally:
        con.close()


@pytest.mark.parametrize("held", [rolled_up_frame, _held_as_frame])  # read by a cursor, or not
@pytest.mark.parametrize("batch_rows", [2, 3, 500_000])
def test_the_key_is_unique_across_batches(monkeypatch, batch_rows, held):
    monkeypatch.setattr(writer, "BATCH_ROWS", batch_rows)
    keys = [("p1", f"s{i}") for i in range(5)]
    with held(_partner_rows(keys), "PARTNER") as rows:
        check_rows(rows, PARTNER)  # sorted and unique: passes
    at = min(batch_rows, 4)  # the repeat is the first row of the second batch, if there is one
    repeated = [*keys[:at], keys[at - 1], *keys[at:]]
    with (
        held(_partner_rows(repeated), "PARTNER") as rows,
        pytest.raises(ContractError) as caught,
    ):
        check_rows(rows, PARTNER)
    assert "sorted, none repeated" in caught.value.summary()


def test_rows_out_of_key_order_break_the_contract():
    keys = [("p1", "s2"), ("p1", "s1")]
    with (
        rolled_up_frame(_partner_rows(keys), "PARTNER") as rows,
        pytest.raises(ContractError, match="PARTNER"),
    ):
        check_rows(rows, PARTNER)


def test_quantities_and_days_print_as_text_of_the_millionths(tmp_path):
    frame = _partner_rows([("p1", "s1"), ("p1", "s2"), ("p2", "s1")]).with_columns(
        QUANTITY=pl.Series([0, 5, 10**18 + 1], dtype=pl.Int64),
        CONSUMPTION_START_DATE=pl.Series([date(1, 1, 1), date(999, 12, 31), date(9999, 12, 31)]),
    )
    target = tmp_path / "report.csv"
    with rolled_up_frame(frame, "PARTNER") as rows:
        write_csv(rows, PARTNER.names, target)
    lines = target.read_text().splitlines()[1:]
    assert [line.split(",")[8] for line in lines] == [
        "0.000000",
        "0.000005",
        "1000000000000.000001",
    ]
    assert [line.split(",")[6] for line in lines] == ["0001-01-01", "0999-12-31", "9999-12-31"]


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_the_csv_is_written_on_one_thread_fewer_and_the_setting_restored(tmp_path, threads):
    def setting(rows: RolledUp) -> int:
        found = rows.connection.execute("SELECT current_setting('threads')").fetchone()
        assert found is not None
        return int(found[0])

    with rolled_up_frame(_partner_rows([("P1", "S1"), ("P1", "S2")]), "PARTNER") as rows:
        rows.connection.execute("SET threads = ?", [threads])
        with writer._one_thread_fewer(rows.connection):
            assert setting(rows) == max(1, threads - 1)
        write_csv(rows, PARTNER.names, tmp_path / "report.csv")
        assert setting(rows) == threads  # restored after a CSV written
        with pytest.raises(duckdb.IOException):
            write_csv(rows, PARTNER.names, tmp_path / "no such folder" / "report.csv")
        assert setting(rows) == threads  # and after one that failed


def test_rows_in_bucket_files_are_checked_in_order_across_empty_files(tmp_path):
    """Bucket files are checked file by file, each against the last row before it."""
    first, second = _partner_rows([("p1", "s3"), ("p2", "s1")]), _partner_rows([("p1", "s5")])
    empty = first.clear()
    for name, frame in (("a", first), ("b", empty), ("c", second)):
        frame.write_parquet(tmp_path / f"{name}.parquet")
    files = tuple(tmp_path / f"{n}.parquet" for n in "abc")
    con = _rollup_connection(None)
    try:
        rows = RolledUp(con, "PARTNER", "RECONCILIATION", files=files)
        with pytest.raises(ContractError, match="PARTNER"):
            check_rows(rows, PARTNER)  # p1/s5 after p2/s1, an empty file between
        in_order = RolledUp(con, "PARTNER", "RECONCILIATION", files=(files[1], files[0]))
        check_rows(in_order, PARTNER)
    finally:
        con.close()


@pytest.mark.parametrize("threads", [2, 3])  # the CSV runs on one thread fewer: 1 and 2
def test_rows_in_bucket_files_are_written_in_their_order_with_formulas_neutralised(
    tmp_path, threads
):
    """DuckDB reads files out of order for some projections: the CSV's must not be one.

    An `IN` list of the six trigger code points in the neutralising CASE did it (DuckDB
    made it a join), on one thread too, with buckets of uneven sizes (as key buckets are):
    the CSV must be the rows in the files' order, neutralised.
    """
    sizes = [712, 549, 16, 16, 16, 16, 79]
    keys = [(f"p{i // 100:02d}", f"s{i % 100:02d}") for i in range(sum(sizes))]
    frame = _partner_rows(keys).with_columns(
        PARTNER_NAME=pl.when(pl.int_range(pl.len()) % 97 == 5)
        .then(pl.lit("=HYPERLINK(1)"))
        .otherwise(pl.col("PARTNER_NAME"))
    )
    files, start = [], 0
    for number, size in enumerate(sizes):
        files.append(tmp_path / f"rows-{number:04d}.parquet")
        frame.slice(start, size).write_parquet(files[-1])
        start += size
    con = _rollup_connection(None)
    con.execute("SET threads = ?", [threads])
    try:
        listed = ", ".join(f"'{f}'" for f in files)
        con.execute(f"CREATE VIEW report_typed AS SELECT * FROM read_parquet([{listed}])")
        rows = RolledUp(con, "PARTNER", "RECONCILIATION", files=tuple(files))
        write_csv(rows, PARTNER.names, tmp_path / "report.csv")
    finally:
        con.close()
    assert (tmp_path / "report.csv").read_bytes() == _polars_text(frame)
    assert b"'=HYPERLINK(1)" in (tmp_path / "report.csv").read_bytes()


def test_the_csv_projection_plans_no_join_that_could_reorder_rows(tmp_path):
    """Every text column neutralised, over bucket files: a scan and a projection, no join."""
    frame = _partner_rows([("p1", "s1"), ("p2", "s2")])
    frame.write_parquet(tmp_path / "rows-0000.parquet")
    con = _rollup_connection(None)
    try:
        path = tmp_path / "rows-0000.parquet"
        con.execute(f"CREATE VIEW report_typed AS SELECT * FROM read_parquet('{path}')")
        columns = ", ".join(f"{csv_sql(c, neutralise=True)} AS {c}" for c in PARTNER.names)
        for sql in (
            f"SELECT {columns} FROM report_typed",
            # the optimizer's rewrite is off on the roll-up's connection too
            "SELECT PARTNER_NAME FROM report_typed WHERE ord(SKU) IN (1, 2, 3, 4, 5, 6)",
        ):
            plan = "".join(row[1] for row in con.execute(f"EXPLAIN {sql}").fetchall())
            assert "JOIN" not in plan.upper(), plan
    finally:
        con.close()
