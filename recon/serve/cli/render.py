"""Everything the `recon` command line prints: tables, summaries, JSON, errors, progress.

Commands hand results here; nothing here calls the library or decides an exit code. The
reconciliation views (a comparison, an audit trail, a month's run) are in `render_reconcile`.

Text from data and arguments is printed as it is: the consoles read no Rich markup and no
emoji codes (`[b]`, `[link=...]`, `:x:` stay literal), and our own styling goes through
`Text` objects (`styled`), never through markup strings.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from recon.serve.cli.render_lineage import lake_text, stale_text

if TYPE_CHECKING:
    import polars as pl

    from recon import (
        GenerateResult,
        IngestResult,
        ReconError,
        Report,
        TokenRecord,
    )

# Outside a terminal (pipes, CI logs) rich would wrap at 80 columns; tables read better wide.
_WIDTH = None if sys.stdout.isatty() else shutil.get_terminal_size((160, 24)).columns
out = Console(width=_WIDTH, markup=False, emoji=False, highlight=False)
# Messages on stderr are never wrapped: a long path or id stays on one line for grep.
err = Console(stderr=True, width=_WIDTH, markup=False, emoji=False, highlight=False, soft_wrap=True)

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


class FittingTable(Table):
    """A table that never cuts or squeezes away a value.

    When even its narrowest layout is wider than the terminal (8 columns in 80), each row is
    printed as a block of `column  value` lines instead.
    """

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The table, or its rows as blocks when it cannot fit."""
        if not self.columns or self.__rich_measure__(console, options).minimum <= options.max_width:
            yield from super().__rich_console__(console, options)
            return
        if self.title:
            yield Text(str(self.title), style="bold")
        names = [str(c.header) for c in self.columns]
        width = max(len(n) for n in names)
        cells = [list(c.cells) for c in self.columns]
        for row in range(self.row_count):
            for name, column in zip(names, cells, strict=True):
                value = column[row]
                shown = value if isinstance(value, Text) else Text(str(value))
                yield Text.assemble((f"{name:>{width}}", "bold"), "  ", shown)
            yield Text("")


# ---------------------------------------------------------------------------- plumbing


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line of plain text and (text, style) pairs; no part is read as markup."""
    return Text.assemble(*parts)


def error(exc: ReconError) -> None:
    """A failure the user can act on: one line, and what to do."""
    err.print(styled(("error:", "bold red"), " ", exc.message))
    if exc.hint:
        err.print(styled(("what to do:", "dim"), " ", exc.hint))


def internal_error(exc: Exception) -> None:
    """A bug in recon: one line and where to find the traceback."""
    err.print(styled(("internal error:", "bold red"), f" {type(exc).__name__}: {exc}"))
    err.print(
        styled(("what to do:", "dim"), " rerun with RECON_DEBUG=1 for the traceback and report it")
    )


def interrupted() -> None:
    """Ctrl-C (or SIGINT) stopped the command: whatever it was doing was rolled back."""
    err.print(styled(("interrupted,", "bold red"), " nothing was published"))


def print_json(payload: Any) -> None:
    """`payload` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def print_line(text: str) -> None:
    """One plain line on stdout."""
    sys.stdout.write(text + "\n")


def log_line(message: str) -> None:
    """One plain progress line on stderr (cron, CI, pipes): a UTC timestamp and the step."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sys.stderr.write(f"{stamp} recon: {message}\n")
    sys.stderr.flush()


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback: a bar on a terminal's stderr, else one log line per step.

    None when not enabled (`--json`).
    """
    if not enabled:
        yield None
        return
    if not err.is_terminal:
        last: list[str] = []

        def log(step: str, done: int, total: int) -> None:
            if last != [step]:
                last[:] = [step]
                log_line(f"{step} ({done}/{total})")

        yield log
        return
    # rich.progress costs 7 ms to import, and only a long step on a terminal draws a bar.
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    with Progress(
        TextColumn("{task.description}", markup=False),
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
    if err.is_terminal:
        return err.status(message, spinner="dots")
    log_line(message)
    return nullcontext()


def is_key(name: str, dtype: pl.DataType | None = None) -> bool:
    """Ids, quantities, deltas and numbers: columns that are never wrapped or cut off."""
    lowered = name.lower().replace(" ", "_")
    numeric = dtype is not None and dtype.is_numeric()
    return numeric or lowered in {"id", "rows"} or lowered.endswith(("_id", "quantity", "delta"))


def add_column(table: Table, name: str, key: bool, **options: Any) -> None:
    """A column whose text folds instead of being cut with an ellipsis; key columns don't wrap."""
    table.add_column(name, overflow="fold", no_wrap=key, **options)


def frame_table(frame: pl.DataFrame, title: str, limit: int = 20) -> Table:
    """The first `limit` rows of a frame; numbers and deltas right-aligned."""
    table = FittingTable(title=title, title_justify="left")
    for name in frame.columns:
        numeric = frame.schema[name].is_numeric() or name.endswith(("DELTA", "QUANTITY"))
        add_column(
            table, name, is_key(name, frame.schema[name]), justify="right" if numeric else "left"
        )
    for row in frame.head(limit).iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


# ---------------------------------------------------------------------------- commands


def generated_json(result: GenerateResult) -> None:
    """What `recon generate --json` prints."""
    print_json(result.as_json())


def generated(result: GenerateResult, out_dir: Path) -> None:
    """What `recon generate` wrote."""
    out.print(f"wrote {result.events:,} events in {len(result.files)} files to {out_dir}")
    out.print("injected mess: " + ", ".join(f"{k}={v:,}" for k, v in result.injected.items()))
    for report_type, path in result.vendor_files.items():
        out.print(f"vendor {report_type} report: {path}", highlight=False)


def ingest_result(result: IngestResult) -> None:
    """Counts per file and in total, quarantine reasons, and the files that failed."""
    table = FittingTable(title=f"ingest {result.ingest_id}", title_justify="left")
    for column in ("file", "read", "accepted", "duplicate", "quarantined"):
        add_column(table, column, column != "file", justify="left" if column == "file" else "right")
    for f in result.files:
        name = styled(Path(f.path).name, (" (unreadable)" if f.error else "", "red"))
        counts = (f.rows_read, f.accepted, f.duplicates, f.quarantined)
        table.add_row(name, *(f"{n:,}" for n in counts))
    table.add_section()
    totals = (result.rows_read, result.accepted, result.duplicates, result.quarantined)
    table.add_row(styled(("total", "bold")), *(f"{n:,}" for n in totals))
    out.print(table)
    if result.reasons:
        out.print(
            "quarantined by reason: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(result.reasons.items()))
        )
        out.print(
            'see them with: recon sql "SELECT reason, detail, source_file, source_row '
            'FROM quarantine"',
            style="dim",
        )
    for f in result.failed_files:
        err.print(styled(("error:", "bold red"), f" {f.error}"))
    for s in result.skipped:
        err.print(styled(("skipped", "yellow"), f" {s['path']}: {s['reason']}"))
    if not result.files:
        err.print(styled(("error:", "bold red"), " no log files found in the given paths"))


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
        ("lake", lake_text(report)),
    ]
    for label, value in lines:
        if value:
            out.print(styled((f"{label:>9}", "bold"), f"  {value}"))
    if report.stale:
        err.print(styled(("    STALE", "bold red"), f"  {stale_text(report)}"))
    for e in report.errors:
        err.print(styled((f"{e['code']}:", "bold red"), f" {e['description']}"))


def reports(reports: list[Report]) -> None:
    """A table of reports, or a line saying none match."""
    if not reports:
        out.print("no reports match")
        return
    table = FittingTable(title_justify="left")
    for column in _REPORT_COLUMNS:
        add_column(table, column, is_key(column))
    for r in reports:
        table.add_row(
            r.id,
            r.type,
            r.category,
            str(r.billing_start_date or ""),
            str(r.billing_end_date or ""),
            r.sub_partner_org_id or "",
            f"{r.status} (STALE: {r.late_events:,} late)" if r.stale else r.status,
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
    note = f", note {record.note!r}" if record.note else ""
    err.print(
        f"token {record.id}, scope {record.scope}"
        f"{', sub-partner ' + scope if scope else ''}{note}; it is not shown again",
        style="dim",
    )


def _token_fields(record: TokenRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "scope": record.scope,
        "subPartnerOrgId": record.sub_partner_org_id,
        "created": record.created,
        "expires": record.expires,
        "revoked": record.revoked,
        "note": record.note,
    }


def tokens_json(records: list[TokenRecord]) -> None:
    """What `recon token list --json` prints: every record, never a token or its hash."""
    print_json({"tokens": [_token_fields(r) for r in records]})


def tokens(records: list[TokenRecord]) -> None:
    """The home's tokens as a table (never a token or its hash)."""
    table = FittingTable(title_justify="left")
    for name in ("id", "scope", "sub-partner", "created", "expires", "revoked", "note"):
        table.add_column(name)
    for record in records:
        fields = _token_fields(record)
        table.add_row(
            *(
                Text(str(fields[key] or "-"))
                for key in ("id", "scope", "subPartnerOrgId", "created", "expires", "revoked")
            ),
            Text(record.note),
        )
    out.print(table)


def revoked(record: TokenRecord) -> None:
    """What `recon token revoke` prints."""
    err.print(f"revoked token {record.id} at {record.revoked}", style="dim", highlight=False)


def sql_result(result: pl.DataFrame, output: str) -> None:
    """A query's rows as CSV, JSON, or a table of the first 1,000."""
    if output == "csv":
        sys.stdout.write(result.write_csv())
    elif output == "json":
        print_json(result.to_dicts())
    else:
        table = FittingTable()
        for name in result.columns:
            add_column(table, name, is_key(name, result.schema[name]))
        for row in result.head(_SQL_ROWS).iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        out.print(table)
        if result.height > _SQL_ROWS:
            out.print(
                f"{result.height:,} rows; first 1,000 shown (use --format csv for all)",
                style="dim",
            )
