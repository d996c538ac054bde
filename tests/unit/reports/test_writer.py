"""The report CSV written by DuckDB is byte for byte what recon has always written."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.core.contracts import report_contract
from recon.core.csvsafe import neutralised
from recon.core.quantity import text_of
from recon.reports.rollup import rolled_up_frame
from recon.reports.writer import write_csv

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
