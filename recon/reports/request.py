"""Checking a report request against the rules (billing rules §6) before anything is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pendulum

from recon.core.contracts import (
    CATEGORIES,
    REPORT_TYPES,
)
from recon.core.errors import BadInputError
from recon.reports.model import ReportRequest

MAX_AGE_YEARS = 5


def month_period(month: str) -> tuple[date, date]:
    """'2026-10' → (2026-10-01, 2026-10-31)."""
    try:
        first = pendulum.from_format(month.strip(), "YYYY-MM").date()
    except ValueError as exc:
        raise BadInputError(
            f"month {month!r} is not YYYY-MM", hint="write it like 2026-10"
        ) from exc
    last = first.end_of("month")
    return date(first.year, first.month, 1), date(last.year, last.month, last.day)


def validate_request(
    request: ReportRequest, today: date, now: datetime | None = None
) -> ReportRequest:
    """Check a request against the rules; return it normalised or raise naming the field.

    `today` is the current date in the billing time zone; `now` the current instant (an
    `asOf` after it is refused).
    """
    report_type = request.type.upper()
    category = request.category.upper()
    if report_type not in REPORT_TYPES:
        raise BadInputError(
            f"type {request.type!r} is not a report type",
            hint=f"use one of {', '.join(REPORT_TYPES)}",
        )
    if category not in CATEGORIES:
        raise BadInputError(
            f"category {request.category!r} is not a report category",
            hint=f"use one of {', '.join(CATEGORIES)}",
        )
    if category == "POINT_IN_TIME":
        if report_type not in ("CUSTOMER", "USER"):
            raise BadInputError(
                f"type {report_type}: POINT_IN_TIME reports exist for CUSTOMER and USER only",
                hint="ask for --type CUSTOMER or --type USER, or a RECONCILIATION report",
            )
        if request.as_of is not None and now is not None and request.as_of > now:
            raise BadInputError(
                f"asOf {request.as_of.isoformat()} is in the future (now is {now.isoformat()})",
                hint="a point-in-time report counts what was assigned at an instant that has "
                "passed; leave --as-of out for now",
            )
        # The period does not apply to a point-in-time report.
        return replace(request, type=report_type, category=category, start=None, end=None)
    if request.as_of is not None:
        raise BadInputError(
            "asOf applies to POINT_IN_TIME reports only",
            hint="drop --as-of or add --category POINT_IN_TIME",
        )
    if request.start is None:
        raise BadInputError("billingStartDate is required", hint="give --start YYYY-MM-DD")
    if request.end is None:
        raise BadInputError("billingEndDate is required", hint="give --end YYYY-MM-DD")
    if request.start > request.end:
        raise BadInputError(
            f"billingStartDate {request.start} is after billingEndDate {request.end}",
            hint="the start must be on or before the end",
        )
    earliest = pendulum.date(today.year, today.month, today.day).subtract(years=MAX_AGE_YEARS)
    for name, value in (("billingStartDate", request.start), ("billingEndDate", request.end)):
        if value < earliest:
            raise BadInputError(
                f"{name} {value} is more than {MAX_AGE_YEARS} years ago",
                hint=f"dates must be on or after {earliest.isoformat()}",
            )
    if request.end >= today:
        raise BadInputError(
            f"billingEndDate {request.end} is not before today ({today} in the billing time zone)",
            hint="billing is in arrears: report on days that have ended",
        )
    return replace(request, type=report_type, category=category)
