"""Intervals and anomalies over the whole lake, kept as Parquet for the store's SQL views.

Ingest only marks them stale (rebuilding walks the whole lake); they are rebuilt here when
someone asks for them.
"""

from __future__ import annotations

import polars as pl

from recon.engine.intervals import assignment_anomalies, assignment_intervals
from recon.home.files import write_atomically
from recon.home.layout import HomeLayout
from recon.ingest.lake import scan_events


def refresh_derived(layout: HomeLayout, catalog: pl.DataFrame) -> None:
    """Recompute intervals and anomalies over the whole lake, for the store's views."""
    events = scan_events(layout)
    write_atomically(
        assignment_intervals(events, catalog).collect(), layout.derived / "intervals.parquet"
    )
    write_atomically(
        assignment_anomalies(events, catalog).collect(), layout.derived / "anomalies.parquet"
    )
