"""The static HTML summary of a reconciliation: self-contained, with real charts."""

from __future__ import annotations

import base64
import re
from datetime import date
from pathlib import Path

from recon.reports.model import ReportRequest
from recon.viz.html import write_reconciliation_html

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_html_summary_embeds_charts_and_counts(rc, tmp_path):
    report = rc.create_report(
        ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    lines = Path(report.csv_path or "").read_text().splitlines()
    vendor = tmp_path / "<b>vendor&co.csv"
    vendor.write_text(
        "\n".join([lines[0], *[x.replace(",31.000000,", ",32.000000,") for x in lines[1:]]]) + "\n"
    )
    result = rc.reconcile(report.id, vendor)
    page = write_reconciliation_html(result, tmp_path / "out" / "summary.html").read_text()
    assert "<b>OVER_BILLED</b> 1" in page and "<b>MATCH</b> 4" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3  # classes, by service, top customers
    for data in images:
        assert base64.b64decode(data).startswith(PNG_SIGNATURE)
    assert "C1" in page and "WEBEX_CALLING" in page
    assert "<script" not in page


def test_html_escapes_what_it_shows(rc, tmp_path):
    report = rc.create_report(
        ReportRequest(type="PARTNER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    vendor = tmp_path / "<b>vendor&co.csv"
    vendor.write_text(Path(report.csv_path or "").read_text())
    page = write_reconciliation_html(
        rc.reconcile(report.id, vendor), tmp_path / "p.html"
    ).read_text()
    assert "&lt;b&gt;vendor&amp;co.csv" in page
