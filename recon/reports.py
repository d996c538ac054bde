"""Report lifecycle (billing rules §6): validate, create, get, list, delete.

A report is COMPLETED only after its CSV has been validated against its Pandera contract,
written under a temporary name, flushed and renamed into place, and its rows committed to the
store in the same transaction that flips its status. Anything else ends FAILED with errors.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import pendulum
import polars as pl
import pyarrow.parquet as pq

from recon import config
from recon.catalog import load_catalog
from recon.config import BillingZones
from recon.csvsafe import neutralised
from recon.errors import BadInputError, ConflictError, NotFoundError
from recon.intervals import RULE_COLUMNS, assignment_intervals, unordered_intervals
from recon.lake import HomeLayout, lake_rows, scan_events
from recon.proration import (
    finished_usage,
    holdings_at,
    partner_name_keys,
    partner_names,
    zoned_usage,
)
from recon.rollup import SpilledUsage, Usage, report_row_batches
from recon.schemas import (
    CATEGORIES,
    REPORT_TYPES,
    Category,
    ContractError,
    ReportType,
    report_contract,
)
from recon.store import REPORT_ROW_COLUMNS, Store, point_report_rows, report_rows_path
from recon.timezones import DayTable, day_table, from_micros, to_micros

Status = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
SORT_KEYS = {
    "id": "id",
    "billingStartDate": "billing_start_date",
    "billingEndDate": "billing_end_date",
    "status": "status",
}
MAX_AGE_YEARS = 5


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
            "asOf": _iso(self.as_of) if self.as_of else None,
            "created": _iso(self.created),
            "errors": self.errors,
            "csvPath": self.csv_path,
            "rowCount": self.row_count,
            "totalQuantity": self.total_quantity,
        }


def _iso(instant: datetime) -> str:
    return pendulum.instance(instant).in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss.SSSSSS") + "Z"


def new_report_id() -> str:
    """An opaque, random report id (`rpt-` and 16 hex digits)."""
    return f"rpt-{uuid.uuid4().hex[:16]}"


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


def validate_request(request: ReportRequest, today: date) -> ReportRequest:
    """Check a request against the rules; return it normalised or raise naming the field.

    `today` is the current date in the billing time zone.
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


# ---------------------------------------------------------------- computing a report's rows


def customer_zones(customers: pl.DataFrame, zones: BillingZones) -> pl.DataFrame:
    """customer_org_id → billing zone: customer override, else partner override, else default."""
    return customers.select(
        "customer_org_id",
        zone=pl.col("customer_org_id")
        .replace_strict(zones.customers, default=None, return_dtype=pl.String)
        .fill_null(
            pl.col("partner_org_id").replace_strict(
                zones.partners, default=None, return_dtype=pl.String
            )
        )
        .fill_null(zones.default),
    ).unique("customer_org_id", keep="first", maintain_order=True)


def _check_catalog(events: pl.LazyFrame, catalog: pl.DataFrame) -> None:
    unknown = (
        events.select("package").unique().join(catalog.lazy(), on="package", how="anti").collect()
    )
    if unknown.height:
        names = ", ".join(sorted(unknown["package"].to_list())[:10])
        raise BadInputError(
            f"the lake holds package(s) missing from the catalog: {names}",
            hint="add them to the home's catalog.csv (SERVICE_NAME, SKU, DESCRIPTION, KIND)",
        )


def compute_report_batches(
    layout: HomeLayout,
    catalog: pl.DataFrame,
    request: ReportRequest,
    zones: BillingZones,
    now: datetime,
    usage: Usage | None = None,
) -> Iterator[pl.DataFrame]:
    """The rows of a validated request as text, in order, in bounded batches.

    `usage` is `report_usage` of the same request, when the caller already has it.
    """
    if usage is None:
        usage = report_usage(layout, catalog, request, zones, now)
    report_type: ReportType = request.type  # type: ignore[assignment]
    category: Category = request.category  # type: ignore[assignment]
    report_date = None
    if category == "POINT_IN_TIME":
        report_date = _iso(request.as_of or now)
    return report_row_batches(
        usage,
        catalog,
        report_type,
        category,
        report_date,
        spill_dir=layout.spill,
        sub_partner_org_id=request.sub_partner_org_id,
    )


def _zone_tables(request: ReportRequest, zones: BillingZones) -> dict[str, DayTable]:
    assert request.start is not None and request.end is not None
    if request.timezone:
        zones = zones.forced(request.timezone)
    used = {zones.default, *zones.partners.values(), *zones.customers.values()}
    return {z: day_table(z, request.start, request.end) for z in sorted(used)}


def usage_key(request: ReportRequest, zones: BillingZones, now: datetime) -> tuple[object, ...]:
    """What USER usage depends on besides the lake and the catalog.

    Report type and sub-partner are applied after usage, so every type of one period shares
    it; "now" matters only while the period is still running.
    """
    if request.category == "POINT_IN_TIME":
        return ("POINT_IN_TIME", to_micros(request.as_of or now))
    if request.timezone:
        zones = zones.forced(request.timezone)
    cutoff = max(t.end for t in _zone_tables(request, zones).values())
    return (
        "RECONCILIATION",
        request.start,
        request.end,
        zones.default,
        tuple(sorted(zones.partners.items())),
        tuple(sorted(zones.customers.items())),
        min(to_micros(now), cutoff),
    )


def report_usage(
    layout: HomeLayout,
    catalog: pl.DataFrame,
    request: ReportRequest,
    zones: BillingZones,
    now: datetime,
) -> Usage:
    """USER-level usage for a validated request (every report type rolls up from it).

    In memory for a lake of up to `RECON_SLICE_EVENTS` events, as Parquet parts beyond.
    """
    events = scan_events(layout)
    if request.category == "POINT_IN_TIME":
        at = request.as_of or now
        scoped_events = events.filter(pl.col("occurred_at") <= at)
        _check_catalog(scoped_events, catalog)
        return holdings_at(assignment_intervals(scoped_events, catalog), to_micros(at)).collect(
            engine="in-memory"
        )
    if request.timezone:
        zones = zones.forced(request.timezone)
    tables = _zone_tables(request, zones)
    cutoff = max(t.end for t in tables.values())
    scoped_events = events.filter(pl.col("occurred_at").dt.epoch("us") < cutoff)
    _check_catalog(scoped_events, catalog)
    # Large lakes are processed in slices of customers (a customer's events never straddle
    # two slices, and rows of different customers are independent except for the partner
    # name), each slice's usage written to Parquet as it is done: the memory the rules need
    # follows the slice, and the roll-up reads the parts from disk.
    if lake_rows(layout) <= config.engine_slice_events():
        whole = _zoned_slice(scoped_events, catalog, zones, tables, now)
        return finished_usage(whole, ordered=False).collect(engine="in-memory")
    _remove_stale_usage(layout)
    layout.spill.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"usage-{os.getpid()}-", dir=layout.spill))
    try:
        chunks = customer_slices(scoped_events, layout, folder)
        parts, keys = [], []
        for number, chunk in enumerate(chunks):
            zoned = _zoned_slice(chunk, catalog, zones, tables, now).collect(engine="in-memory")
            keys.append(partner_name_keys(zoned.lazy()).collect(engine="in-memory"))
            path = folder / f"part-{number:04d}.parquet"
            finished_usage(zoned.lazy(), ordered=False).collect(engine="in-memory").write_parquet(
                path, compression="lz4", statistics=False
            )
            parts.append(path)
            del zoned
        shutil.rmtree(folder / "events", ignore_errors=True)
        names = partner_names(pl.concat(keys).lazy()).collect(engine="in-memory")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return SpilledUsage(folder, tuple(parts), names)


def _remove_stale_usage(layout: HomeLayout) -> None:
    """Remove usage parts left by recon processes that have ended (killed mid-report)."""
    if not layout.spill.exists():
        return
    for folder in layout.spill.glob("usage-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _zoned_slice(
    events: pl.LazyFrame,
    catalog: pl.DataFrame,
    zones: BillingZones,
    tables: dict[str, DayTable],
    now: datetime,
) -> pl.LazyFrame:
    """`zoned_usage` of some customers' events (intervals collected once, zones looked up)."""
    intervals = unordered_intervals(events, catalog)
    customers = intervals.select("customer_org_id", "partner_org_id").unique()
    zone_map = customer_zones(customers, zones)
    present = set(zone_map["zone"].unique().to_list())
    return zoned_usage(
        intervals.lazy(),
        zone_map.lazy(),
        {z: t for z, t in tables.items() if z in present},
        to_micros(now),
        merge=False,  # intervals of the rules engine never overlap per row
    )


def customer_slices(events: pl.LazyFrame, layout: HomeLayout, work: Path) -> list[pl.LazyFrame]:
    """`events` split into slices of customers of about `RECON_SLICE_EVENTS` events each.

    A customer's events are all in one slice (the slice is a hash of its id), so anything
    computed per customer or finer is exact per slice. One slice, `events` itself, when the
    lake is small; otherwise the columns the rules read are written once, streaming, to
    Parquet under `work` split by slice (one pass over the lake instead of one per slice).
    """
    slices = max(1, -(-lake_rows(layout) // config.engine_slice_events()))
    if slices == 1:
        return [events]
    folder = work / "events"
    events.select(RULE_COLUMNS).with_columns(
        _slice=(pl.col("customer_org_id").hash(seed=17) % slices).cast(pl.Int64)
    ).sink_parquet(
        pl.PartitionBy(folder, key="_slice", include_key=False),
        compression="lz4",
        statistics=False,
        mkdir=True,
        engine="streaming",
    )
    schema = events.select(RULE_COLUMNS).collect_schema()
    return [
        pl.scan_parquet(sorted(part.glob("*.parquet")), schema=schema)
        for part in sorted(folder.glob("_slice=*"), key=lambda p: int(p.name.split("=")[1]))
        if any(part.glob("*.parquet"))
    ]


# ---------------------------------------------------------------- the registry


_COLUMNS = (
    "id, type, category, billing_start_date, billing_end_date, sub_partner_org_id, timezone, "
    "epoch_us(as_of), epoch_us(created), status, errors, csv_path, row_count, "
    "CAST(total_quantity AS VARCHAR)"
)


def _report_from_row(row: tuple[Any, ...]) -> Report:
    return Report(
        id=row[0],
        type=row[1],
        category=row[2],
        billing_start_date=row[3],
        billing_end_date=row[4],
        sub_partner_org_id=row[5],
        timezone=row[6],
        as_of=from_micros(row[7]) if row[7] is not None else None,
        created=from_micros(row[8]),
        status=row[9],
        errors=json.loads(row[10]),
        csv_path=row[11],
        row_count=row[12],
        total_quantity=row[13],
    )


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_interrupted(con: duckdb.DuckDBPyConnection, reports_dir: Path | None = None) -> None:
    """Mark IN_PROGRESS reports whose process has gone as FAILED (they can never finish).

    A CSV such a report may have written before it was interrupted is removed: only a
    COMPLETED report has a file.
    """
    rows = con.execute("SELECT id, pid FROM reports WHERE status = 'IN_PROGRESS'").fetchall()
    for report_id, pid in rows:
        if pid != os.getpid() and not _pid_alive(pid):
            errors = [
                {
                    "code": "INTERRUPTED",
                    "description": f"the recon process (PID {pid}) ended before the report "
                    "completed; delete it and create it again",
                }
            ]
            con.execute(
                "UPDATE reports SET status = 'FAILED', errors = ? WHERE id = ?",
                [json.dumps(errors), report_id],
            )
            if reports_dir is not None:
                (reports_dir / f"{report_id}.csv").unlink(missing_ok=True)
                (reports_dir / f"{report_id}.parquet").unlink(missing_ok=True)


def get_report(con: duckdb.DuckDBPyConnection, report_id: str) -> Report:
    """One report by id, or `NotFoundError`."""
    row = con.execute(f"SELECT {_COLUMNS} FROM reports WHERE id = ?", [report_id]).fetchone()
    if row is None:
        raise NotFoundError(
            f"no report with id {report_id!r}", hint="`recon report list` shows the ids"
        )
    return _report_from_row(row)


def list_reports(
    con: duckdb.DuckDBPyConnection,
    *,
    report_type: str | None = None,
    category: str | None = None,
    status: str | None = None,
    start: date | None = None,
    end: date | None = None,
    sub_partner_org_id: str | None = None,
    sort_by: str = "billingStartDate",
) -> list[Report]:
    """Reports matching every given filter exactly, sorted by `sort_by` (then created, id)."""
    if sort_by not in SORT_KEYS:
        raise BadInputError(
            f"cannot sort by {sort_by!r}", hint=f"use one of {', '.join(SORT_KEYS)}"
        )
    clauses, params = [], []
    for column, value in (
        ("type", report_type.upper() if report_type else None),
        ("category", category.upper() if category else None),
        ("status", status.upper() if status else None),
        ("billing_start_date", start),
        ("billing_end_date", end),
        ("sub_partner_org_id", sub_partner_org_id),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM reports {where} "
        f"ORDER BY {SORT_KEYS[sort_by]} NULLS LAST, created, id",
        params,
    ).fetchall()
    return [_report_from_row(r) for r in rows]


def _conflicting(con: duckdb.DuckDBPyConnection, request: ReportRequest) -> Report | None:
    row = con.execute(
        f"SELECT {_COLUMNS} FROM reports WHERE category = 'RECONCILIATION' AND type = ? "
        "AND billing_start_date = ? AND billing_end_date = ? "
        "AND sub_partner_org_id IS NOT DISTINCT FROM ? "
        "AND status IN ('COMPLETED', 'IN_PROGRESS') ORDER BY created LIMIT 1",
        [request.type, request.start, request.end, request.sub_partner_org_id],
    ).fetchone()
    return _report_from_row(row) if row else None


def register_report(
    store: Store, request: ReportRequest, zones: BillingZones, created: datetime
) -> Report:
    """Insert the report as IN_PROGRESS, or raise `ConflictError` if the rules forbid it."""
    with store.connect() as con:
        fail_interrupted(con, store.layout.reports)
        if request.category == "RECONCILIATION":
            existing = _conflicting(con, request)
            if existing is not None:
                scope = request.sub_partner_org_id
                scoped = f" for sub-partner {scope}" if scope else ""
                raise ConflictError(
                    f"a {existing.status} {request.type} report for {request.start}..{request.end}"
                    f"{scoped} already exists (id {existing.id})",
                    hint=f"delete it first: recon report delete {existing.id}",
                )
        zone = request.timezone or zones.describe()
        report = Report(
            id=new_report_id(),
            type=request.type,  # type: ignore[arg-type]
            category=request.category,  # type: ignore[arg-type]
            billing_start_date=request.start,
            billing_end_date=request.end,
            sub_partner_org_id=request.sub_partner_org_id,
            timezone=zone if request.category == "RECONCILIATION" else "UTC",
            as_of=(request.as_of or created) if request.category == "POINT_IN_TIME" else None,
            created=created,
            status="IN_PROGRESS",
        )
        con.execute(
            "INSERT INTO reports (id, type, category, billing_start_date, billing_end_date, "
            "sub_partner_org_id, timezone, as_of, created, status, errors, pid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'IN_PROGRESS', '[]', ?)",
            [
                report.id,
                report.type,
                report.category,
                report.billing_start_date,
                report.billing_end_date,
                report.sub_partner_org_id,
                report.timezone,
                report.as_of,
                report.created,
                os.getpid(),
            ],
        )
    return report


def complete_report(
    store: Store, report: Report, rows: pl.DataFrame | Iterable[pl.DataFrame]
) -> Report:
    """Validate, write the CSV and the rows file atomically, then flip to COMPLETED.

    `rows` may come in batches (in order): each is validated, appended to the temporary CSV
    and to the temporary Parquet rows file that SQL reads, so a report of millions of rows
    is never held whole. Both files are flushed and renamed into place, and the status flips
    in the same transaction that adds the rows to the `report_rows` view. A batch that breaks
    the contract removes both files and fails the report.
    """
    contract = report_contract(report.type, report.category)
    batches = [rows] if isinstance(rows, pl.DataFrame) else rows
    path = store.layout.reports / f"{report.id}.csv"
    rows_path = report_rows_path(store.layout, report.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    rows_tmp = rows_path.with_name(f".{rows_path.name}.tmp")
    violation: ContractError | None = None
    total = count = 0
    try:
        with tmp.open("wb") as handle, _RowsFile(rows_tmp) as stored:
            header = True
            for batch in batches:
                try:
                    contract.validate(batch)
                except ContractError as exc:
                    violation = exc
                    break
                neutralised(batch).write_csv(
                    handle,
                    include_header=header,
                    quote_style="necessary",
                    line_terminator="\n",
                )
                header = False
                stored.append(report.id, batch)
                total += _micros(batch)
                count += batch.height
            if header and violation is None:  # no rows: the header alone
                empty = pl.DataFrame(schema=dict.fromkeys(contract.names, pl.String))
                empty.write_csv(handle, quote_style="necessary", line_terminator="\n")
            handle.flush()
            os.fsync(handle.fileno())
        if violation is None:
            with store.connect() as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    tmp.replace(path)
                    rows_tmp.replace(rows_path)
                    con.execute(
                        "UPDATE reports SET status = 'COMPLETED', csv_path = ?, row_count = ?, "
                        "total_quantity = CAST(? AS DECIMAL(38, 6)), completed_at = now() "
                        "WHERE id = ?",
                        [
                            str(path),
                            count,
                            f"{total // 1_000_000}.{total % 1_000_000:06d}",
                            report.id,
                        ],
                    )
                    point_report_rows(con, store.layout)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    path.unlink(missing_ok=True)
                    rows_path.unlink(missing_ok=True)
                    raise
                return get_report(con, report.id)
    finally:
        tmp.unlink(missing_ok=True)
        rows_tmp.unlink(missing_ok=True)
    assert violation is not None
    return fail_report(
        store,
        report,
        "SCHEMA_VIOLATION",
        f"report rows break the {contract.name} contract: {violation.summary()}",
    )


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
        with self.path.open("rb") as handle:
            os.fsync(handle.fileno())


def _micros(rows: pl.DataFrame) -> int:
    if not rows.height:
        return 0
    return int(rows["QUANTITY"].str.replace(".", "", literal=True).cast(pl.Int64).sum())


def fail_report(store: Store, report: Report, code: str, description: str) -> Report:
    """Mark a report FAILED with one error."""
    errors = [{"code": code, "description": description}]
    with store.connect() as con:
        con.execute(
            "UPDATE reports SET status = 'FAILED', errors = ? WHERE id = ?",
            [json.dumps(errors), report.id],
        )
        return get_report(con, report.id)


def delete_report(store: Store, report_id: str) -> Report:
    """Remove a COMPLETED or FAILED report, its rows and its CSV."""
    with store.connect() as con:
        fail_interrupted(con, store.layout.reports)
        report = get_report(con, report_id)
        if report.status == "IN_PROGRESS":
            raise ConflictError(
                f"report {report_id} is IN_PROGRESS and cannot be deleted",
                hint="wait until it is COMPLETED or FAILED",
            )
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM reports WHERE id = ?", [report_id])
        point_report_rows(con, store.layout)
        con.execute("COMMIT")
    report_rows_path(store.layout, report_id).unlink(missing_ok=True)
    if report.csv_path:
        Path(report.csv_path).unlink(missing_ok=True)
    (store.layout.reports / f"{report_id}.csv").unlink(missing_ok=True)
    return report


def load_catalog_for(layout: HomeLayout, catalog_path: Path | None) -> pl.DataFrame:
    """The catalog a home uses."""
    layout.ensure()
    return load_catalog(catalog_path or layout.catalog)
