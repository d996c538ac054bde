"""Everything the `recon` command line prints: tables, summaries, JSON, errors, progress.

Commands hand results here; nothing here calls the library or decides an exit code. The
reconciliation views (a comparison, an audit trail, a month's run) are in `render_reconcile`.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from recon import (
        GenerateResult,
        IngestResult,
        ReconError,
        Report,
        TokenRecord,
    )

# Outside a terminal (pipes, CI logs) rich would wrap at 80 columns; tables read better wide.
_WIDTH = None if sys.stdout.isatty() else shutil.get_terminal_size((160, 24)).columns
out = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)

_REPORT_COLUMNS = (
    "id",
    "type",
    "category",
    "start",
    "end",
    "sub-partner",
    "status",
    "rows",
    "quantity",
)
_SQL_ROWS = 1000


# ---------------------------------------------------------------------------- plumbing


def error(exc: ReconError) -> None:
    """A failure the user can act on: one line, and what to do."""
    err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    if exc.hint:
        err.print(f"[dim]what to do:[/] {exc.hint}", highlight=False)


def internal_error(exc: Exception) -> None:
    """A bug in recon: one line and where to find the traceback."""
    err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False)
    err.print("[dim]what to do:[/] rerun with RECON_DEBUG=1 for the traceback and report it")


def print_json(payload: Any) -> None:
    """`payload` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback drawing a bar on a terminal's stderr; None when not drawing."""
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


def spinner(message: str) -> AbstractContextManager[Any]:
    """A spinner on a terminal's stderr while a step without progress runs."""
    return err.status(message, spinner="dots") if err.is_terminal else nullcontext()


def frame_table(frame: pl.DataFrame, title: str, limit: int = 20) -> Table:
    """The first `limit` rows of a frame; numbers and deltas right-aligned."""
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        numeric = frame.schema[name].is_numeric() or name.endswith(("DELTA", "QUANTITY"))
        table.add_column(name, justify="right" if numeric else "left")
    for row in frame.head(limit).iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


# ---------------------------------------------------------------------------- commands


def generated_json(result: GenerateResult) -> None:
    """What `recon generate --json` prints."""
    print_json(
        {
            "files": result.files,
            "events": result.events,
            "injected": result.injected,
            "vendorFiles": result.vendor_files,
        }
    )


def generated(result: GenerateResult, out_dir: Path) -> None:
    """What `recon generate` wrote."""
    out.print(f"wrote {result.events:,} events in {len(result.files)} files to {out_dir}")
    out.print("injected mess: " + ", ".join(f"{k}={v:,}" for k, v in result.injected.items()))
    for report_type, path in result.vendor_files.items():
        out.print(f"vendor {report_type} report: {path}", highlight=False)


def ingest_result(result: IngestResult) -> None:
    """Counts per file and in total, quarantine reasons, and the files that failed."""
    table = Table(title=f"ingest {result.ingest_id}", title_justify="left")
    for column in ("file", "read", "accepted", "duplicate", "quarantined"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for f in result.files:
        name = Path(f.path).name + (" [red](unreadable)[/]" if f.error else "")
        counts = (f.rows_read, f.accepted, f.duplicates, f.quarantined)
        table.add_row(name, *(f"{n:,}" for n in counts))
    table.add_section()
    totals = (result.rows_read, result.accepted, result.duplicates, result.quarantined)
    table.add_row("[bold]total", *(f"{n:,}" for n in totals))
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


def report(report: Report) -> None:
    """One report, a field a line, and its errors."""
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


def reports(reports: list[Report]) -> None:
    """A table of reports, or a line saying none match."""
    if not reports:
        out.print("no reports match")
        return
    table = Table(title_justify="left")
    for column in _REPORT_COLUMNS:
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
    out.print(table)


def deleted(report: Report) -> None:
    """The line `recon report delete` prints."""
    out.print(f"deleted report {report.id}", highlight=False)


def serving(home: Path, url: str) -> None:
    """The line `recon serve` prints once it listens (tests and scripts read the URL)."""
    out.print(f"recon serving {home} at {url}", highlight=False)
    sys.stdout.flush()


def token_json(token: str, record: TokenRecord) -> None:
    """What `recon token create --json` prints."""
    print_json(
        {
            "token": token,
            "id": record.id,
            "scope": record.scope,
            "subPartnerOrgId": record.sub_partner_org_id,
        }
    )


def token(token: str, record: TokenRecord) -> None:
    """A new token on stdout (for scripts), what it is on stderr."""
    out.print(token, highlight=False)
    scope = record.sub_partner_org_id
    err.print(
        f"[dim]token {record.id}, scope {record.scope}"
        f"{', sub-partner ' + scope if scope else ''}; it is not shown again[/]"
    )


def sql_result(result: pl.DataFrame, output: str) -> None:
    """A query's rows as CSV, JSON, or a table of the first 1,000."""
    if output == "csv":
        sys.stdout.write(result.write_csv())
    elif output == "json":
        print_json(result.to_dicts())
    else:
        table = Table()
        for name in result.columns:
            table.add_column(name)
        for row in result.head(_SQL_ROWS).iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        out.print(table)
        if result.height > _SQL_ROWS:
            out.print(
                f"[dim]{result.height:,} rows; first 1,000 shown (use --format csv for all)[/]"
            )
