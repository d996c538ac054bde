"""The `recon` command line: parse, call the library, render, return an exit code.

Exit codes are a contract: 0 ok, 1 discrepancies found, 2 bad input or usage.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, cast

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recon.api import Recon
from recon.core import config
from recon.core.errors import ReconError
from recon.home.lock import home_lock
from recon.home.tokens import create_token
from recon.reconcile.explain import Subject
from recon.reconcile.run import ReconciliationResult
from recon.reports.model import Report, ReportRequest
from recon.reports.request import month_period
from recon.serve.http.server import BASE as SERVER_BASE
from recon.serve.http.server import make_server

app = typer.Typer(
    name="recon",
    help="Recompute Webex Wholesale billing from your own provisioning logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="Create, get, list and delete billing reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")

# Outside a terminal (pipes, CI logs) rich would wrap at 80 columns; tables read better wide.
_WIDTH = None if sys.stdout.isatty() else shutil.get_terminal_size((160, 24)).columns
out = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)


class _State:
    home: Path | None = None
    catalog: Path | None = None


state = _State()


def _recon() -> Recon:
    return Recon(state.home, state.catalog)


def _fail(exc: ReconError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    if exc.hint:
        err.print(f"[dim]what to do:[/] {exc.hint}", highlight=False)
    return typer.Exit(exc.exit_code)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except ReconError as exc:
        raise _fail(exc) from None


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield update


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(
            ReconError(f"{name} {value!r} is not a date", hint="write it as YYYY-MM-DD")
        ) from None


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


@app.callback()
def main_options(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", help="Home folder (default: $RECON_HOME, else ./data).", show_default=False
        ),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="Package catalog CSV (default: <home>/catalog.csv).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Recompute Webex Wholesale billing from your own provisioning logs."""
    state.home = home
    state.catalog = catalog


# ---------------------------------------------------------------------------- generate


@app.command("generate")
def generate_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write daily log files into.")],
    start: Annotated[str, typer.Option(help="First day of events (YYYY-MM-DD).")] = "2026-09-01",
    end: Annotated[str, typer.Option(help="Last day of events (YYYY-MM-DD).")] = "2026-10-31",
    subjects: Annotated[int, typer.Option(help="Users plus workspaces.", min=1)] = 3000,
    customers: Annotated[int, typer.Option(help="Customers.", min=1)] = 120,
    partners: Annotated[int, typer.Option(help="Partners.", min=1)] = 2,
    sub_partners: Annotated[int, typer.Option(help="Sub-partners per partner.", min=0)] = 3,
    mess_rate: Annotated[
        float, typer.Option(help="Share of rows that carry real-log mess.", min=0.0, max=0.5)
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    reassignments: Annotated[
        float,
        typer.Option(
            "--reassignments-per-month",
            help="Mean UNASSIGN+ASSIGN pairs per subject per month (event density).",
            min=0.0,
        ),
    ] = 0.0,
    file_format: Annotated[
        str, typer.Option("--format", help="csv, jsonl, parquet or mixed.")
    ] = "mixed",
    vendor_month: Annotated[
        str | None,
        typer.Option(
            "--vendor-month", help="Also write the vendor's reports for this month (YYYY-MM)."
        ),
    ] = None,
    vendor_dir: Annotated[
        Path | None, typer.Option("--vendor-dir", help="Where (default: 'vendor' beside OUT_DIR).")
    ] = None,
    vendor_differences: Annotated[
        int, typer.Option("--vendor-differences", help="Recorded changes of each kind.", min=0)
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write realistic, seeded event-log files (with duplicates, orphans, bad rows...)."""
    from recon.synth.generate import GeneratorSpec, generate  # noqa: PLC0415 - numpy only when generating

    first = _parse_date(start, "--start")
    last = _parse_date(end, "--end")
    assert first is not None and last is not None
    if file_format not in ("csv", "jsonl", "parquet", "mixed"):
        raise _fail(
            ReconError(
                f"--format {file_format!r} is unknown", hint="use csv, jsonl, parquet or mixed"
            )
        )
    if last < first:
        raise _fail(ReconError("--end is before --start", hint="swap them"))
    spec = GeneratorSpec(
        start=first,
        end=last,
        subjects=subjects,
        customers=customers,
        partners=partners,
        sub_partners_per_partner=sub_partners,
        mess_rate=mess_rate,
        seed=seed,
        reassignments_per_month=reassignments,
        format=file_format,  # type: ignore[arg-type]
    )
    month = None
    if vendor_month:
        with _errors():
            month = month_period(vendor_month)[0]
    with err.status("generating event logs", spinner="dots") if err.is_terminal else _nullcontext():
        result = generate(out_dir, spec, month, vendor_dir, vendor_differences)
    if as_json:
        _print_json(
            {
                "files": result.files,
                "events": result.events,
                "injected": result.injected,
                "vendorFiles": result.vendor_files,
            }
        )
        return
    out.print(f"wrote {result.events:,} events in {len(result.files)} files to {out_dir}")
    out.print("injected mess: " + ", ".join(f"{k}={v:,}" for k, v in result.injected.items()))
    for report_type, path in result.vendor_files.items():
        out.print(f"vendor {report_type} report: {path}", highlight=False)


@contextmanager
def _nullcontext() -> Iterator[None]:
    yield


# ---------------------------------------------------------------------------- ingest


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Log files or folders (CSV, JSON Lines, Parquet).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Check, deduplicate and store log files in the lake; every row is accounted for."""
    with _errors(), _progress(not as_json) as progress:
        result = _recon().ingest(paths, progress)
    failed = bool(result.failed_files) or (not result.files)
    if as_json:
        _print_json(result.as_dict())
    else:
        table = Table(title=f"ingest {result.ingest_id}", title_justify="left")
        for column in ("file", "read", "accepted", "duplicate", "quarantined"):
            table.add_column(column, justify="left" if column == "file" else "right")
        for f in result.files:
            name = Path(f.path).name + (" [red](unreadable)[/]" if f.error else "")
            table.add_row(
                name,
                f"{f.rows_read:,}",
                f"{f.accepted:,}",
                f"{f.duplicates:,}",
                f"{f.quarantined:,}",
            )
        table.add_section()
        table.add_row(
            "[bold]total",
            f"{result.rows_read:,}",
            f"{result.accepted:,}",
            f"{result.duplicates:,}",
            f"{result.quarantined:,}",
        )
        out.print(table)
        if result.reasons:
            out.print(
                "quarantined by reason: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(result.reasons.items()))
            )
            out.print(
                "[dim]see them with: recon sql "
                '"SELECT reason, detail, source_file, source_row FROM quarantine"[/]'
            )
        for f in result.failed_files:
            err.print(f"[bold red]error:[/] {f.error}", highlight=False)
        for s in result.skipped:
            err.print(f"[yellow]skipped[/] {s['path']}: {s['reason']}", highlight=False)
        if not result.files:
            err.print("[bold red]error:[/] no log files found in the given paths", highlight=False)
    if failed:
        raise typer.Exit(2)


# ---------------------------------------------------------------------------- reports


def _report_table(reports: list[Report]) -> Table:
    table = Table(title_justify="left")
    for column in (
        "id",
        "type",
        "category",
        "start",
        "end",
        "sub-partner",
        "status",
        "rows",
        "quantity",
    ):
        table.add_column(column, overflow="fold")
    for r in reports:
        table.add_row(
            r.id,
            r.type,
            r.category,
            str(r.billing_start_date or ""),
            str(r.billing_end_date or ""),
            r.sub_partner_org_id or "",
            r.status,
            str(r.row_count or ""),
            r.total_quantity or "",
        )
    return table


def _show_report(report: Report) -> None:
    period = (
        f"{report.billing_start_date} .. {report.billing_end_date} ({report.timezone})"
        if report.billing_start_date
        else f"as of {report.as_json()['asOf']}"
    )
    lines = [
        ("report", report.id),
        ("status", report.status),
        ("type", f"{report.type} {report.category}"),
        ("period", period),
        ("scope", report.sub_partner_org_id or "all customers"),
        ("rows", "" if report.row_count is None else f"{report.row_count:,}"),
        ("quantity", report.total_quantity or ""),
        ("csv", report.csv_path or ""),
    ]
    for label, value in lines:
        if value:
            out.print(f"[bold]{label:>9}[/]  {value}", highlight=False)
    for e in report.errors:
        err.print(f"[bold red]{e['code']}:[/] {e['description']}", highlight=False)


@report_app.command("create")
def report_create(
    report_type: Annotated[
        str, typer.Option("--type", help="PARTNER, CUSTOMER, LOCATION or USER.")
    ],
    category: Annotated[
        str, typer.Option(help="RECONCILIATION or POINT_IN_TIME.")
    ] = "RECONCILIATION",
    start: Annotated[
        str | None, typer.Option(help="billingStartDate, YYYY-MM-DD (inclusive).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="billingEndDate, YYYY-MM-DD (inclusive).")] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Bill every customer in this IANA zone.")
    ] = None,
    sub_partner: Annotated[
        str | None, typer.Option("--sub-partner", help="Only this sub-partner's customers.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="POINT_IN_TIME instant (ISO 8601, default now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Create a report and compute it; prints where its CSV is."""
    with _errors():
        request = ReportRequest(
            type=report_type,
            category=category,
            start=_parse_date(start, "--start"),
            end=_parse_date(end, "--end"),
            sub_partner_org_id=sub_partner,
            timezone=tz,
            as_of=config.parse_instant(as_of, what="--as-of") if as_of else None,
        )
        with _progress(not as_json) as progress:
            report = _recon().create_report(request, progress)
    if as_json:
        _print_json(report.as_json())
    else:
        _show_report(report)
    if report.status != "COMPLETED":
        raise typer.Exit(2)


@report_app.command("get")
def report_get(
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show one report."""
    with _errors():
        report = _recon().get_report(report_id)
    if as_json:
        _print_json(report.as_json())
    else:
        _show_report(report)


@report_app.command("list")
def report_list(
    report_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    start: Annotated[str | None, typer.Option(help="Only this exact billingStartDate.")] = None,
    end: Annotated[str | None, typer.Option(help="Only this exact billingEndDate.")] = None,
    sub_partner: Annotated[
        str | None, typer.Option("--sub-partner", help="Only this sub-partner scope.")
    ] = None,
    sort_by: Annotated[
        str, typer.Option("--sort-by", help="id, billingStartDate, billingEndDate or status.")
    ] = "billingStartDate",
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """List reports; filters match exactly."""
    with _errors():
        reports = _recon().list_reports(
            sort_by=sort_by,
            report_type=report_type,
            category=category,
            status=status,
            start=_parse_date(start, "--start"),
            end=_parse_date(end, "--end"),
            sub_partner_org_id=sub_partner,
        )
    if as_json:
        _print_json({"items": [r.as_json() for r in reports]})
    elif reports:
        out.print(_report_table(reports))
    else:
        out.print("no reports match")


@report_app.command("delete")
def report_delete(
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the deleted report as JSON.")
    ] = False,
) -> None:
    """Delete a COMPLETED or FAILED report and its CSV."""
    with _errors():
        report = _recon().delete_report(report_id)
    if as_json:
        _print_json(report.as_json())
    else:
        out.print(f"deleted report {report.id}", highlight=False)


# ---------------------------------------------------------------------------- reconcile


def _frame_table(frame: pl.DataFrame, title: str, limit: int = 20) -> Table:
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        numeric = frame.schema[name].is_numeric() or name.endswith(("DELTA", "QUANTITY"))
        table.add_column(name, justify="right" if numeric else "left")
    for row in frame.head(limit).iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def _show_reconciliation(result: ReconciliationResult) -> None:
    report = result.report
    period = (
        f"{report.billing_start_date}..{report.billing_end_date}"
        if report.billing_start_date
        else "point in time"
    )
    out.print(
        f"[bold]{report.type} {period}[/]: our report {report.id} vs {result.vendor_file} "
        f"(tolerance {result.tolerance})",
        highlight=False,
    )
    out.print(
        "  " + ", ".join(f"{name} {count:,}" for name, count in result.counts.items()),
        highlight=False,
    )
    columns = ["SERVICE_NAME", *[c for c in result.counts if c != "MATCH"], "QUANTITY_DELTA"]
    if result.currency:
        columns += ["MONEY_DELTA", "CURRENCY"]
    out.print(_frame_table(result.by_service.select(columns), "by service"))
    if result.by_customer is not None and result.discrepancies:
        by_customer = result.by_customer.filter(
            pl.col("MATCH") < pl.sum_horizontal(result.counts.keys())
        )
        order = "MONEY_DELTA" if result.currency else "QUANTITY_DELTA"
        ranked = by_customer.sort(pl.col(order).cast(pl.Float64).abs(), descending=True)
        out.print(
            _frame_table(
                ranked.select(["CUSTOMER_ORG_ID", *columns[1:]]),
                "customers with discrepancies (top 20)",
            )
        )
    out.print(f"  discrepancies: {result.discrepancy_file}", highlight=False)


@app.command("reconcile")
def reconcile_command(
    report_id: Annotated[str, typer.Option("--report", help="Our report's id.")],
    vendor: Annotated[
        Path, typer.Option("--vendor", help="The vendor's report CSV of the same type and period.")
    ],
    tolerance: Annotated[
        str, typer.Option(help="Largest quantity difference that still MATCHes.")
    ] = "0",
    prices: Annotated[
        Path | None,
        typer.Option(
            help="Price list CSV (SKU, UNIT_PRICE, UNIT, CURRENCY); default <home>/prices.csv."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the discrepancy and summary files.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a static HTML summary with charts.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare a report with the vendor's: exit 0 all match, 1 discrepancies, 2 not comparable."""
    with _errors():
        result = _recon().reconcile(report_id, vendor, tolerance, prices, out_dir)
    if html_file is not None:
        from recon.viz.html import write_reconciliation_html  # noqa: PLC0415 - matplotlib is slow to import

        write_reconciliation_html(result, html_file)
        err.print(f"[dim]HTML summary: {html_file}[/]", highlight=False)
    if as_json:
        _print_json(result.as_json())
    else:
        _show_reconciliation(result)
    raise typer.Exit(result.exit_code)


# ---------------------------------------------------------------------------- explain


@app.command("explain")
def explain_command(
    customer: Annotated[str, typer.Option("--customer", help="Customer org id.")],
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    user: Annotated[str | None, typer.Option("--user", help="One user id.")] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", help="One workspace id.")] = None,
    package: Annotated[str | None, typer.Option("--package", help="One package.")] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Billing zone (default: the home's for this customer)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit trail as JSON.")] = False,
) -> None:
    """Show the audit trail behind a quantity: events, quarantine, intervals, anomalies, days."""
    if user and workspace:
        raise _fail(ReconError("give --user or --workspace, not both"))
    first = _parse_date(start, "--start")
    last = _parse_date(end, "--end")
    assert first is not None and last is not None
    with _errors():
        trail = _recon().explain(Subject(customer, user, workspace, package), first, last, tz)
    if as_json:
        _print_json(trail.as_json())
        return
    out.print(
        f"[bold]{customer}[/] {user or workspace or ''} {package or ''} "
        f"{first}..{last} ({trail.zone})",
        highlight=False,
    )
    sections = [
        (trail.events, "source events"),
        (trail.quarantined.drop("original"), "quarantined rows naming this subject"),
        (trail.intervals, "intervals"),
        (trail.anomalies, "anomalies"),
        (trail.daily, "daily quantities"),
    ]
    for frame, title in sections:
        if frame.height:
            out.print(_frame_table(frame, title, limit=400))
        else:
            out.print(f"[dim]{title}: none[/]")
    out.print(
        _frame_table(
            trail.totals.drop("partner_org_id", "subscription_id", "customer_org_id"),
            "USER report rows (the sum of the days, rounded once)",
            limit=200,
        )
    )


# ---------------------------------------------------------------------------- run


@app.command("run")
def run_command(
    month: Annotated[str, typer.Option(help="The billing month, YYYY-MM.")],
    logs: Annotated[
        list[Path] | None, typer.Option("--logs", help="Log files or folders to ingest first.")
    ] = None,
    vendor_dir: Annotated[
        Path | None, typer.Option("--vendor-dir", help="Folder with the vendor's report CSVs.")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Bill every customer in this IANA zone.")
    ] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Delete and rebuild this month's reports.")
    ] = False,
    tolerance: Annotated[
        str, typer.Option(help="Largest quantity difference that still MATCHes.")
    ] = "0",
    prices: Annotated[
        Path | None, typer.Option(help="Price list CSV; default <home>/prices.csv.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """The monthly batch: ingest, every report type, reconcile with the vendor, one summary."""
    with _errors(), _progress(not as_json) as progress:
        run = _recon().run_month(
            month, logs or [], vendor_dir, tz, regenerate, tolerance, prices, progress
        )
    if as_json:
        _print_json(run.as_json())
        raise typer.Exit(run.exit_code)
    if run.ingest:
        i = run.ingest
        out.print(
            f"ingest: read {i.rows_read:,}, accepted {i.accepted:,}, duplicate {i.duplicates:,}, "
            f"quarantined {i.quarantined:,}",
            highlight=False,
        )
    table = Table(title=f"month {month}", title_justify="left")
    for column in (
        "type",
        "report",
        "status",
        "rows",
        "quantity",
        "vendor file",
        "match",
        "discrepancies",
        "money",
    ):
        table.add_column(column)
    for o in run.outcomes:
        r, c = o.report, o.reconciliation
        money = ""
        if c and c.currency:
            money = f"{c.by_service['MONEY_DELTA'].cast(pl.Decimal(38, 6)).sum():.2f} {c.currency}"
        table.add_row(
            o.type,
            (r.id + (" (reused)" if o.reused else "")) if r else "",
            r.status if r else "ERROR",
            f"{r.row_count:,}" if r and r.row_count is not None else "",
            r.total_quantity or "" if r else "",
            Path(o.vendor_file).name if o.vendor_file else "(none)",
            f"{c.counts['MATCH']:,}" if c else "",
            f"{c.discrepancies:,}" if c else "",
            money,
        )
    out.print(table)
    for o in run.outcomes:
        if o.reconciliation and o.reconciliation.discrepancies:
            out.print(
                f"{o.type}: "
                + ", ".join(f"{k} {v:,}" for k, v in o.reconciliation.counts.items() if v)
                + f" -> {o.reconciliation.discrepancy_file}",
                highlight=False,
            )
        if o.error:
            err.print(f"[bold red]{o.type}:[/] {o.error}", highlight=False)
    for problem in run.problems:
        err.print(f"[bold red]problem:[/] {problem}", highlight=False)
    raise typer.Exit(run.exit_code)


# ---------------------------------------------------------------------------- serve, tokens

token_app = typer.Typer(help="Bearer tokens for `recon serve`.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on (0 picks a free one).", min=0, max=65535)
    ] = 8080,
) -> None:
    """Serve the Webex Wholesale Billing Reports API over this home (Ctrl-C stops it)."""
    recon = _recon()
    with _errors(), home_lock(recon.layout, wait_seconds=0):
        shared = Recon(state.home, state.catalog, shared_process=True)
        shared.layout.ensure()
        try:
            server, _ = make_server(shared, host, port)
        except OSError as exc:
            raise _fail(
                ReconError(
                    f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port"
                )
            ) from None
        bound_host, bound_port = cast("tuple[str, int]", server.server_address)
        url = f"http://{bound_host}:{bound_port}{SERVER_BASE}"
        out.print(f"recon serving {shared.home} at {url}", highlight=False)
        sys.stdout.flush()
        signal.signal(
            signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
        )
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


@token_app.command("create")
def token_create(
    scope: Annotated[
        str, typer.Option(help="read (list, get) or write (also create, delete).")
    ] = "read",
    sub_partner: Annotated[
        str | None,
        typer.Option("--sub-partner", help="Limit the token to one sub-partner's reports."),
    ] = None,
    note: Annotated[str, typer.Option(help="A note to remember the token by.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the token as JSON.")] = False,
) -> None:
    """Create an API token; it is shown once and stored hashed in the home."""
    recon = _recon()
    with _errors():
        token, record = create_token(recon.home, scope, sub_partner, config.now(), note)
    if as_json:
        _print_json(
            {
                "token": token,
                "id": record.id,
                "scope": record.scope,
                "subPartnerOrgId": record.sub_partner_org_id,
            }
        )
        return
    out.print(token, highlight=False)
    err.print(
        f"[dim]token {record.id}, scope {record.scope}"
        f"{', sub-partner ' + sub_partner if sub_partner else ''}; it is not shown again[/]"
    )


# ---------------------------------------------------------------------------- sql


@app.command("sql")
def sql_command(
    query: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run read-only SQL on the report store (tables, report rows, lake views)."""
    if output not in ("table", "csv", "json"):
        raise _fail(ReconError(f"--format {output!r} is unknown", hint="use table, csv or json"))
    with _errors():
        result = _recon().sql(query)
    if output == "csv":
        sys.stdout.write(result.write_csv())
    elif output == "json":
        _print_json(result.to_dicts())
    else:
        table = Table()
        for name in result.columns:
            table.add_column(name)
        for row in result.head(1000).iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        out.print(table)
        if result.height > 1000:
            out.print(
                f"[dim]{result.height:,} rows; first 1,000 shown (use --format csv for all)[/]"
            )


def main() -> None:
    """Entry point of the `recon` script.

    An unexpected exception is a bug in recon, not in the input: it prints one line, where
    to find the traceback (RECON_DEBUG=1), and exits 3.
    """
    pl.Config.set_tbl_hide_dataframe_shape(True)
    try:
        app()
    except Exception as exc:
        if os.environ.get("RECON_DEBUG"):
            raise
        err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False)
        err.print("[dim]what to do:[/] rerun with RECON_DEBUG=1 for the traceback and report it")
        sys.exit(3)


if __name__ == "__main__":
    main()
