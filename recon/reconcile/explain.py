"""The audit trail behind a number: events, quarantined rows, intervals, anomalies, days.

This is how a person answers "why does Webex say 31 and we say 15.75?": every source event of
the subject (with its file and row), the rows of it that were quarantined and why, the
intervals the rules built, the anomalies applied, and the daily quantities that sum to the
USER report's QUANTITY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from recon.core.camel import camel_rows
from recon.core.errors import NotFoundError
from recon.core.quantity import as_text, rounded_micros
from recon.core.timezones import DayTable
from recon.engine.intervals import assignment_anomalies, assignment_intervals
from recon.engine.proration import ROW_GRAIN, daily_quantities

EVENT_COLUMNS = [
    "occurred_at",
    "event_id",
    "action",
    "package",
    "location_id",
    "license_id",
    "user_id",
    "workspace_id",
    "subscription_id",
    "source_file",
    "source_row",
]


@dataclass(frozen=True)
class Subject:
    """Which part of the lake to explain: a customer, optionally one subject and one package."""

    customer_org_id: str
    user_id: str | None = None
    workspace_id: str | None = None
    package: str | None = None

    def events_filter(self) -> pl.Expr:
        """Rows of the lake (or of intervals) that belong to this subject."""
        condition = pl.col("customer_org_id") == self.customer_org_id
        if self.user_id is not None:
            condition &= pl.col("user_id") == self.user_id
        if self.workspace_id is not None:
            condition &= pl.col("workspace_id") == self.workspace_id
        return condition

    def package_filter(self) -> pl.Expr:
        """Restrict to the package, when one was named."""
        return pl.lit(True) if self.package is None else pl.col("package") == self.package

    def quarantine_filter(self) -> pl.Expr:
        """Quarantined rows whose original text names this customer (and subject)."""
        original = pl.col("original")
        condition = original.str.contains(f'"{self.customer_org_id}"', literal=True)
        for value in (self.user_id, self.workspace_id):
            if value is not None:
                condition &= original.str.contains(f'"{value}"', literal=True)
        return condition


@dataclass
class Explanation:
    """Everything behind the quantities of one subject in one period."""

    subject: Subject
    start: date
    end: date
    zone: str
    events: pl.DataFrame
    quarantined: pl.DataFrame
    intervals: pl.DataFrame
    anomalies: pl.DataFrame
    daily: pl.DataFrame
    totals: pl.DataFrame

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "customerOrgId": self.subject.customer_org_id,
            "userId": self.subject.user_id,
            "workspaceId": self.subject.workspace_id,
            "package": self.subject.package,
            "billingStartDate": self.start.isoformat(),
            "billingEndDate": self.end.isoformat(),
            "timezone": self.zone,
            "events": camel_rows(self.events),
            "quarantined": camel_rows(self.quarantined),
            "intervals": camel_rows(self.intervals),
            "anomalies": camel_rows(self.anomalies),
            "daily": camel_rows(self.daily),
            "totals": camel_rows(self.totals),
        }


def explained(
    subject: Subject,
    events: pl.LazyFrame,
    quarantine: pl.LazyFrame,
    catalog: pl.DataFrame,
    table: DayTable,
    until: int,
) -> Explanation:
    """Build the audit trail from the lake (`events`), the quarantine and one zone's days.

    A user or workspace that no event or quarantined row of the customer names is an error
    (a typo would otherwise explain an empty trail).
    """
    own = events.filter(subject.events_filter())
    _check_named(subject, own, quarantine)
    # Intervals need the subject's other BASE packages too (implicit changes), so filter after.
    intervals = assignment_intervals(own, catalog).filter(subject.package_filter())
    anomalies = assignment_anomalies(own, catalog).filter(subject.package_filter())
    daily = (
        daily_quantities(intervals, table, until)
        .with_columns(
            hours_assigned=(pl.col("assigned_us") / 3_600_000_000).round(6),
            day_hours=(pl.col("day_length") / 3_600_000_000).round(6),
            quantity=as_text(
                rounded_micros(pl.col("assigned_us") * pl.col("weight"), pl.lit(table.unit))
            ),
        )
        .collect()
    )
    totals = (
        daily.lazy()
        .group_by(ROW_GRAIN)
        .agg(
            units=(pl.col("assigned_us") * pl.col("weight")).sum(),
            first_day=pl.col("day").min(),
            last_day=pl.col("day").max(),
            days=pl.len(),
        )
        .with_columns(
            QUANTITY=as_text(rounded_micros(pl.col("units"), pl.lit(table.unit))),
            exact=pl.format("{}/{}", pl.col("units"), pl.lit(table.unit)),
        )
        .filter(pl.col("QUANTITY") != "0.000000")
        .sort(ROW_GRAIN)
        .collect()
    )
    return Explanation(
        subject=subject,
        start=table.days[0],
        end=table.days[-1],
        zone=table.zone,
        events=own.filter(subject.package_filter())
        .select(EVENT_COLUMNS)
        .sort("occurred_at", "event_id")
        .collect(),
        quarantined=quarantine.filter(subject.quarantine_filter())
        .select("source_file", "source_row", "reason", "detail", "original")
        .sort("source_file", "source_row")
        .collect(),
        intervals=intervals.select(
            "package",
            "location_id",
            "license_id",
            "start",
            "end",
            "end_reason",
            "opened_by",
            "closed_by",
        ).collect(),
        anomalies=anomalies.select(
            "occurred_at", "anomaly", "event_id", "package", "detail"
        ).collect(),
        daily=daily.select(
            "subject_id",
            "package",
            "location_id",
            "license_id",
            "day",
            "hours_assigned",
            "day_hours",
            "quantity",
        ),
        totals=totals.select(*ROW_GRAIN, "first_day", "last_day", "days", "exact", "QUANTITY"),
    )


def _check_named(subject: Subject, own: pl.LazyFrame, quarantine: pl.LazyFrame) -> None:
    """Raise `NotFoundError` when the named user or workspace appears nowhere."""
    named = subject.user_id or subject.workspace_id
    if not named:
        return
    found = own.select(pl.len()).collect().item() or (
        quarantine.filter(subject.quarantine_filter()).select(pl.len()).collect().item()
    )
    if not found:
        kind, column = ("user", "user_id") if subject.user_id else ("workspace", "workspace_id")
        raise NotFoundError(
            f"no events for {kind} {named!r} of customer {subject.customer_org_id!r}",
            hint=f'check the id; list them with recon sql "SELECT DISTINCT {column} FROM events '
            f"WHERE customer_org_id = '{subject.customer_org_id}'\"",
        )
