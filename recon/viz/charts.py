"""The charts finance and operations people look at, drawn with matplotlib (no display needed).

Each function takes frames that recon's library already produces and returns a Figure; the
notebooks and the static HTML summary use the same functions, so they never disagree.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.figure import Figure

from recon.reconcile.compare import CLASSES

CLASS_COLOURS = {
    "MATCH": "#4c9a5f",
    "OVER_BILLED": "#d1495b",
    "UNDER_BILLED": "#edae49",
    "MISSING_FROM_VENDOR": "#00798c",
    "NOT_IN_OUR_RECORDS": "#8e6c8a",
}


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (and the figure closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def discrepancy_classes(
    counts: dict[str, int], title: str = "Rows by reconciliation class"
) -> Figure:
    """A bar per class, MATCH included, on a log scale when MATCH dwarfs the rest."""
    figure, axis = plt.subplots(figsize=(7, 3.2))
    names = list(CLASSES)
    values = [counts.get(c, 0) for c in names]
    bars = axis.bar(names, values, color=[CLASS_COLOURS[c] for c in names])
    axis.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8)
    if max(values, default=0) > 50 * max(1, sorted(values)[-2] if len(values) > 1 else 1):
        axis.set_yscale("log")
    axis.set_title(title)
    axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    axis.set_ylabel("rows")
    return figure


def delta_by(
    summary: pl.DataFrame, label: str, value: str, title: str, top: int | None = None
) -> Figure:
    """Horizontal bars of a signed delta (quantity or money) per service or customer."""
    frame = summary.filter(pl.col(value).is_not_null()).with_columns(
        _v=pl.col(value).cast(pl.Float64)
    )
    frame = frame.filter(pl.col("_v") != 0).sort(pl.col("_v").abs(), descending=True)
    if top is not None:
        frame = frame.head(top)
    frame = frame.reverse()
    figure, axis = plt.subplots(figsize=(7, max(2.0, 0.32 * frame.height + 1)))
    colours = ["#d1495b" if v > 0 else "#00798c" for v in frame["_v"]]
    axis.barh(frame[label].to_list(), frame["_v"].to_list(), color=colours)
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_title(title)
    axis.tick_params(axis="y", labelsize=8)
    axis.set_xlabel(f"{value} (vendor - ours; red: the vendor bills more)")
    return figure


def daily_licenses(
    daily: pl.DataFrame, title: str = "Active licenses per package per day"
) -> Figure:
    """One line per package: the day's quantity (package-days used that day)."""
    figure, axis = plt.subplots(figsize=(8, 3.8))
    for package in sorted(daily["package"].unique().to_list()):
        part = daily.filter(pl.col("package") == package).sort("day")
        axis.plot(part["day"].to_list(), part["quantity"].to_list(), label=package, linewidth=1.5)
    axis.set_title(title)
    axis.set_ylabel("licenses (daily quantity)")
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.autofmt_xdate()
    return figure


def bars(
    frame: pl.DataFrame, label: str, value: str, title: str, top: int | None = None, unit: str = ""
) -> Figure:
    """Horizontal bars of `value` per `label`, largest on top (quantities, counts)."""
    data = frame.sort(value, descending=True)
    if top is not None:
        data = data.head(top)
    data = data.reverse()
    figure, axis = plt.subplots(figsize=(7, max(2.0, 0.3 * data.height + 1)))
    axis.barh(
        data[label].cast(pl.String).to_list(),
        data[value].cast(pl.Float64).to_list(),
        color="#30638e",
    )
    axis.set_title(title)
    axis.tick_params(axis="y", labelsize=8)
    axis.set_xlabel(unit or value)
    return figure


def proration_timeline(
    intervals: pl.DataFrame,
    daily: pl.DataFrame,
    events: pl.DataFrame,
    title: str,
    zone: str,
) -> Figure:
    """One subject: its events (ticks), intervals (bars per package) and daily fractions below."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=[1.3, 1])
    packages = sorted(set(intervals["package"].to_list()) | set(events["package"].to_list()))
    rows = {p: i for i, p in enumerate(packages)}
    days = daily["day"].to_list()
    end_of_view = (
        datetime.combine(max(days), datetime.min.time()) + timedelta(days=1) if days else None
    )
    tz = ZoneInfo(zone)

    def local(instant: datetime) -> datetime:
        return instant.astimezone(tz).replace(tzinfo=None)

    for record in intervals.iter_rows(named=True):
        start = local(record["start"])
        end = (local(record["end"]) if record["end"] is not None else end_of_view) or start
        top.barh(
            rows[record["package"]],
            (end - start).total_seconds() / 86400,
            left=start,
            height=0.5,
            color="#30638e",
            alpha=0.8,
        )
    for record in events.iter_rows(named=True):
        at = local(record["occurred_at"])
        marker = "^" if record["action"] == "ASSIGN" else "v"
        top.plot([at], [rows[record["package"]]], marker=marker, color="#d1495b", markersize=9)
    top.set_yticks(range(len(packages)), packages, fontsize=8)
    top.set_title(f"{title} (events ▲ assign ▼ unassign; days in {zone})")
    stacked: dict[object, float] = {}
    for package in packages:
        part = daily.filter(pl.col("package") == package).sort("day")
        if part.height:
            days_of = part["day"].to_list()
            fractions = part["fraction"].to_list()
            bottom.bar(
                [datetime.combine(d, datetime.min.time()) + timedelta(hours=12) for d in days_of],
                fractions,
                bottom=[stacked.get(d, 0.0) for d in days_of],
                width=0.8,
                label=package,
            )
            for day, value in zip(days_of, fractions, strict=True):
                stacked[day] = stacked.get(day, 0.0) + value
    bottom.set_ylim(0, max([2.0, *stacked.values()]) * 1.1)
    bottom.set_ylabel("daily quantity (stacked)")
    bottom.legend(fontsize=7, loc="upper left")
    figure.autofmt_xdate()
    return figure
