"""A static HTML summary of one reconciliation, for people who never open a notebook.

One self-contained file: the counts, the key charts (classes, quantity or money by service,
the customers that matter most) as embedded PNGs, and the summary tables.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import polars as pl

from recon.core.errors import BadInputError
from recon.home.files import write_text_atomically
from recon.reconcile.run import ReconciliationResult
from recon.viz import charts

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; } td, th { padding: 0.2rem 0.6rem; }
th { text-align: left; border-bottom: 1px solid #999; } td.n { text-align: right; }
.counts span { display: inline-block; margin-right: 1.2rem; } img { max-width: 100%; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(frame: pl.DataFrame, limit: int = 50) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.head(limit).iter_rows():
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            numeric = text.replace("-", "", 1).replace(".", "", 1).isdigit()
            cells.append(f'<td class="{"n" if numeric else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def reconciliation_html(result: ReconciliationResult) -> str:
    """The whole page."""
    report = result.report
    period = report.period_text(" to ")
    value = "MONEY_DELTA" if result.currency else "QUANTITY_DELTA"
    unit = f" ({result.currency})" if result.currency else ""
    parts = [
        f"<h1>{html.escape(report.type)} reconciliation, {html.escape(period)}</h1>",
        f"<p>Our report <code>{html.escape(report.id)}</code> against "
        f"<code>{html.escape(result.vendor_file)}</code>, "
        f"tolerance {html.escape(result.tolerance)}.</p>",
        '<p class="counts">'
        + "".join(f"<span><b>{html.escape(k)}</b> {v:,}</span>" for k, v in result.counts.items())
        + "</p>",
        _img(png=charts.png_bytes(charts.discrepancy_classes(result.counts)), alt="rows by class"),
        f"<h2>By service{html.escape(unit)}</h2>",
        _img(
            charts.png_bytes(
                charts.delta_by(result.by_service, "SERVICE_NAME", value, f"{value} by service")
            ),
            alt="delta by service",
        ),
        _table(result.by_service),
    ]
    if result.unpriced_skus:
        parts.append(
            "<p>The money leaves out the SKUs the price list lacks: "
            + ", ".join(
                f"<code>{html.escape(s['sku'])}</code> (quantity delta "
                f"{html.escape(s['quantityDelta'])})"
                for s in result.unpriced_skus
            )
            + ".</p>"
        )
    if result.by_customer is not None:
        parts += [
            f"<h2>The customers that matter most{html.escape(unit)}</h2>",
            _img(
                charts.png_bytes(
                    charts.delta_by(
                        result.by_customer, "CUSTOMER_ORG_ID", value, f"{value}, top 20", top=20
                    )
                ),
                alt="top customers",
            ),
            _table(
                result.by_customer.with_columns(_abs=pl.col(value).cast(pl.Float64).abs())
                .sort("_abs", descending=True)
                .drop("_abs"),
                limit=20,
            ),
        ]
    parts.append(
        f"<p>Every discrepancy: <code>{html.escape(result.discrepancy_file)}</code>. "
        "Explain one with <code>recon explain</code>.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>recon reconciliation</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_reconciliation_html(result: ReconciliationResult, path: Path) -> Path:
    """Write the page atomically and durably; a folder or a missing parent is refused."""
    check_html_target(path)
    write_text_atomically(path, reconciliation_html(result))
    return path


def check_html_target(path: Path) -> None:
    """Refuse an HTML target that is a folder, or whose parent is not a folder."""
    if path.is_dir():
        raise BadInputError(
            f"--html {path} is a folder", hint="name the HTML file to write, e.g. summary.html"
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise BadInputError(f"--html {path}: {path.parent} is not a folder")
