"""What a caller asks for (ReportRequest) and what the registry holds (Report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from recon.core.contracts import (
    Category,
    ReportType,
)
from recon.core.timezones import iso_utc

Status = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
STATUSES: tuple[str, ...] = ("IN_PROGRESS", "COMPLETED", "FAILED")


SORT_KEYS = {
    "id": "id",
    "billingStartDate": "billing_start_date",
    "billingEndDate": "billing_end_date",
    "status": "status",
}


@dataclass(frozen=True)
class LakeMark:
    """The lake a build reads: its version, and each ingest's (seq, earliest event µs).

    Snapshots of assignment state (§8) are valid only while no later ingest brought an event
    before their instant; this is what that is judged from.
    """

    seq: int
    floors: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ReportRequest:
    """What a caller asks for; validated by `validate_request`."""

    type: str
    category: str = "RECONCILIATION"
    start: date | None = None
    end: date | None = None
    sub_partner_org_id: str | None = None
    timezone: str | None = None
    as_of: datetime | None = None
    as_known_on: datetime | None = None
    # Set by the build from `as_known_on`: only these ingests' events are read (None: all).
    known_ingests: tuple[str, ...] | None = None
    # Set by the build when the whole lake is read: lets the usage start from a snapshot.
    lake: LakeMark | None = None


@dataclass
class Report:
    """One entry of the report registry."""

    id: str
    type: ReportType
    category: Category
    billing_start_date: date | None
    billing_end_date: date | None
    sub_partner_org_id: str | None
    timezone: str
    as_of: datetime | None
    created: datetime
    status: Status
    errors: list[dict[str, Any]] = field(default_factory=list)
    csv_path: str | None = None
    row_count: int | None = None
    total_quantity: str | None = None
    lake_seq: int | None = None
    lake_ingest: str | None = None
    as_known_on: datetime | None = None
    late_events: int = 0
    late_since_ingest: str | None = None

    @property
    def stale(self) -> bool:
        """A COMPLETED report is stale when events that could change it arrived after it (§8)."""
        return self.status == "COMPLETED" and self.late_events > 0

    def lineage_json(self) -> dict[str, Any]:
        """The state of the lake the report was computed from, and whether it is stale."""
        return {
            "lakeVersion": self.lake_seq,
            "lastIngestId": self.lake_ingest,
            "asKnownOn": iso_utc(self.as_known_on) if self.as_known_on else None,
            "stale": self.stale,
            "lateEvents": self.late_events,
            "lateSinceIngestId": self.late_since_ingest,
        }

    def period_text(self, between: str = "..") -> str:
        """The billing period as text (`2026-10-01..2026-10-31`), or "point in time"."""
        if self.billing_start_date is None:
            return "point in time"
        return f"{self.billing_start_date}{between}{self.billing_end_date}"

    def as_json(self) -> dict[str, Any]:
        """The report as the Webex API names its fields, plus recon's own."""
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "category": self.category,
            "billingStartDate": self.billing_start_date.isoformat()
            if self.billing_start_date
            else None,
            "billingEndDate": self.billing_end_date.isoformat() if self.billing_end_date else None,
            "subPartnerOrgId": self.sub_partner_org_id,
            "timezone": self.timezone,
            "asOf": iso_utc(self.as_of) if self.as_of else None,
            "created": iso_utc(self.created),
            "errors": self.errors,
            "csvPath": self.csv_path,
            "rowCount": self.row_count,
            "totalQuantity": self.total_quantity,
            "lineage": self.lineage_json(),
        }
