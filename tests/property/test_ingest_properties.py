"""Ingest invariants on generated logs: counts add up, files and order do not matter."""

from __future__ import annotations

import random
import tempfile
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.api import Recon
from recon.ingest.lake import scan_events, scan_quarantine
from recon.reports.model import ReportRequest
from tests.conftest import raw_row

FIELDS = list(raw_row())
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@st.composite
def raw_logs(draw: st.DrawFn) -> list[dict[str, str]]:
    """Mostly valid rows over a few event ids, with garbage in random fields."""
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=30))):
        day = draw(st.integers(min_value=1, max_value=28))
        hour = draw(st.integers(min_value=0, max_value=23))
        row = raw_row(
            event_id=f"e{draw(st.integers(min_value=0, max_value=12))}",
            occurred_at=f"2026-10-{day:02d}T{hour:02d}:00:00Z",
            action=draw(st.sampled_from(["ASSIGN", "ASSIGN", "UNASSIGN"])),
            package=draw(st.sampled_from(["WEBEX_CALLING", "WEBEX_SUITE", "ATTENDANT_CONSOLE"])),
            user_id=draw(st.sampled_from(["u1", "u2"])),
        )
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            row[draw(st.sampled_from(FIELDS))] = draw(TEXT)
        rows.append(row)
    return rows


def _write(rows: list[dict[str, str]], path: Path) -> Path:
    pl.DataFrame(rows, schema=dict.fromkeys(FIELDS, pl.String)).write_csv(path)
    return path


@settings(max_examples=40)
@given(raw_logs())
def test_counts_always_add_up_and_reingest_changes_nothing(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(rows, Path(tmp) / "log.csv")
        rc = Recon(Path(tmp) / "home")
        first = rc.ingest([path])
        assert first.rows_read == len(rows)
        assert first.rows_read == first.accepted + first.duplicates + first.quarantined
        assert sum(first.reasons.values()) == first.quarantined
        assert scan_quarantine(rc.layout).collect().height == first.quarantined
        lake = scan_events(rc.layout).collect()
        assert lake.height == first.accepted
        assert lake["event_id"].n_unique() == lake.height
        second = rc.ingest([path])
        assert (second.accepted, second.rows_read) == (0, len(rows))
        assert second.duplicates == first.accepted + first.duplicates
        assert scan_events(rc.layout).collect().height == lake.height
        assert scan_quarantine(rc.layout).collect().height == first.quarantined


@settings(max_examples=15)
@given(raw_logs(), st.integers(min_value=2, max_value=4), st.randoms(use_true_random=False))
def test_splitting_across_files_and_shuffling_rows_gives_the_same_report(
    rows, parts, rnd: random.Random
):
    # Conflicting duplicates make the first arrival win by design, so keep one content per id.
    unique = list({r["event_id"]: r for r in rows}.values())
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        whole = Recon(base / "whole")
        whole.ingest([_write(unique, base / "all.csv")])
        shuffled = list(unique)
        rnd.shuffle(shuffled)
        folder = base / "split"
        folder.mkdir()
        for i in range(parts):
            chunk = shuffled[i::parts]
            if chunk:
                _write(chunk, folder / f"part{i}.csv")
        split = Recon(base / "split-home")
        split.ingest([folder])
        request = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
        a = whole.create_report(request)
        b = split.create_report(request)
        assert a.status == b.status == "COMPLETED"
        assert whole.report_csv(a.id).equals(split.report_csv(b.id))
