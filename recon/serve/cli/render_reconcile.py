"""What `recon reconcile`, `recon explain` and `recon run` print (see `render` for the rest)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from recon.serve.cli.render import FittingTable, add_column, err, frame_table, out, styled

if TYPE_CHECKING:
    import polars as pl

    from recon import Explanation, MonthRun, ReconciliationResult, Subject

_MONTH_COLUMNS = (
    "type",
    "report",
    "status",
    "rows",
    "quantity",
    "vendor file",
    "match",
    "discrepancies",
    "money",
)


def reconciliation(result: ReconciliationResult) -> None:
    """Counts by class, deltas by service, the customers that differ most, and the file."""
    report = result.report
    period = report.period_text()
    out.print(
        styled(
            (f"{report.type} {period}", "bold"),
            f": our report {report.id} vs {result.vendor_file} (tolerance {result.tolerance})",
        )
    )
    out.print("  " + ", ".join(f"{name} {count:,}" for name, count in result.counts.items()))
    columns = ["SERVICE_NAME", *[c for c in result.counts if c != "MATCH"], "QUANTITY_DELTA"]
    if result.currency:
        columns += ["MONEY_DELTA", "CURRENCY"]
    out.print(frame_table(result.by_service.select(columns), "by service"))
    _money_lines(result)
    if result.by_customer is not None and result.discrepancies:
        ranked = _ranked_customers(result.by_customer, result.counts, bool(result.currency))
        out.print(
            frame_table(
                ranked.select(["CUSTOMER_ORG_ID", *columns[1:]]),
                "customers with discrepancies (top 20)",
            )
        )
    out.print(f"  discrepancies: {result.discrepancy_file}")


def money_text(result: ReconciliationResult) -> str:
    """The money total and what it leaves out, e.g. '55.17 EUR + 2 SKUs unpriced' ('' unpriced)."""
    if not result.currency or result.money_delta is None:
        return ""
    text = f"{Decimal(result.money_delta):.2f} {result.currency}"
    if count := len(result.unpriced_skus):
        text += f" + {count} SKU{'s' if count > 1 else ''} unpriced"
    return text


def _money_lines(result: ReconciliationResult) -> None:
    """The money total; when the price list lacks SKUs that differ, each one and its delta."""
    if not result.currency:
        return
    if not result.unpriced_skus:
        out.print(f"  money: {money_text(result)}")
        return
    out.print(f"  money: {money_text(result)}: the total leaves out the SKUs the price list lacks")
    for sku in result.unpriced_skus:
        rows = f"{sku['rows']:,} row{'s' if sku['rows'] > 1 else ''}"
        out.print(f"    {sku['sku']}: quantity delta {sku['quantityDelta']} ({rows}), no price")


def _ranked_customers(
    by_customer: pl.DataFrame, counts: dict[str, int], priced: bool
) -> pl.DataFrame:
    """Customers with at least one discrepancy, the largest absolute delta first."""
    import polars as pl  # noqa: PLC0415 - only a reconciliation summary needs it

    differing = by_customer.filter(pl.col("MATCH") < pl.sum_horizontal(counts.keys()))
    order = "MONEY_DELTA" if priced else "QUANTITY_DELTA"
    return differing.sort(pl.col(order).cast(pl.Float64).abs(), descending=True)


def html_written(path: Path) -> None:
    """Where the HTML summary went."""
    err.print(f"HTML summary: {path}", style="dim")


def explanation(trail: Explanation, subject: Subject, first: date, last: date) -> None:
    """The audit trail: each section as a table (or 'none'), then the report rows."""
    who = subject.user_id or subject.workspace_id or ""
    out.print(
        styled(
            (subject.customer_org_id, "bold"),
            f" {who} {subject.package or ''} {first}..{last} ({trail.zone})",
        )
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
            out.print(frame_table(frame, title, limit=400))
        else:
            out.print(f"{title}: none", style="dim")
    out.print(
        frame_table(
            trail.totals.drop("partner_org_id", "subscription_id", "customer_org_id"),
            "USER report rows (the sum of the days, rounded once)",
            limit=200,
        )
    )


def month_run(run: MonthRun) -> None:
    """The monthly batch: ingest counts, a row per report type, then what needs a look."""
    if run.ingest:
        i = run.ingest
        out.print(
            f"ingest: read {i.rows_read:,}, accepted {i.accepted:,}, duplicate {i.duplicates:,}, "
            f"quarantined {i.quarantined:,}"
        )
    table = FittingTable(title=f"month {run.month}", title_justify="left")
    for column in _MONTH_COLUMNS:
        add_column(table, column, column in {"report", "rows", "quantity", "money"})
    for o in run.outcomes:
        r, c = o.report, o.reconciliation
        money = money_text(c) if c else ""
        table.add_row(
            o.type,
            (r.id + (" (reused, STALE)" if o.kept_stale else " (reused)" if o.reused else ""))
            if r
            else "",
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
        if o.rebuilt:
            out.print(styled((f"{o.type} rebuilt:", "bold yellow"), f" {o.rebuilt}"))
        if o.kept_stale:
            err.print(
                styled(
                    (f"{o.type} KEPT STALE (--keep-stale):", "bold red"),
                    f" {o.kept_stale}; its numbers miss those events"
                    + ("; it was reconciled anyway" if o.reconciliation else ""),
                )
            )
        if o.reconciliation and o.reconciliation.discrepancies:
            out.print(
                f"{o.type}: "
                + ", ".join(f"{k} {v:,}" for k, v in o.reconciliation.counts.items() if v)
                + f" -> {o.reconciliation.discrepancy_file}"
            )
        if o.error:
            err.print(styled((f"{o.type}:", "bold red"), f" {o.error}"))
    for problem in run.problems:
        err.print(styled(("problem:", "bold red"), f" {problem}"))
    if run.not_compared:
        names = ", ".join(run.not_compared)
        nothing = run.outcome == "NOTHING_COMPARED"
        err.print(
            styled(
                ("nothing to compare:" if nothing else "not compared:", "bold yellow"),
                f" {names}: no vendor file for {run.month}"
                + ("; the reports were built, nothing was reconciled" if nothing else "")
                + " (give --vendor-dir a folder with the vendor's files of the month)",
            )
        )
    out.print(f"outcome: {run.outcome} (exit {run.exit_code})")
