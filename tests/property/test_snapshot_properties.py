"""Snapshots never change an answer (§8): a period computed from a snapshot equals the full
recomputation from the lake, to the last decimal, whatever arrived late and wherever the
snapshots were taken.

Each example ingests random logs over four months, builds reports for random months (which
leave snapshots of the state at their month boundaries), ingests random late events (some
before those snapshots, which must invalidate them), then computes a random period in a random
zone both ways: from the newest valid snapshot, and from the whole lake.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.api import Recon
from recon.core import config
from recon.home.lineage import ingest_floors, lake_mark
from recon.reports.model import LakeMark, ReportRequest
from recon.reports.snapshots import plan_snapshots, stored_snapshots
from recon.reports.usage import period_day_tables, report_usage
from tests.conftest import raw_row

MONTHS = [date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
ORIGIN = datetime(2026, 5, 28, tzinfo=UTC)
SPAN_HOURS = 130 * 24
BOUNDARIES = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in MONTHS]
ZONES = ["UTC", "Pacific/Auckland", "America/Los_Angeles"]
PACKAGES = ["WEBEX_CALLING", "WEBEX_SUITE", "ATTENDANT_CONSOLE", "CALL_RECORDING"]
EXAMPLES = max(8, settings().max_examples // 8)  # each example ingests and builds reports


@st.composite
def logs(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for i in range(draw(st.integers(min_value=0, max_value=30))):
        if draw(st.integers(0, 3)) == 0:  # exactly at a snapshot instant, on purpose
            at = draw(st.sampled_from(BOUNDARIES)) + timedelta(
                microseconds=draw(st.sampled_from([0, 0, -1, 1]))
            )
        else:
            at = ORIGIN + timedelta(hours=draw(st.integers(0, SPAN_HOURS)))
        subject = draw(st.sampled_from([("u1", ""), ("u2", ""), ("", "w1")]))
        rows.append(
            raw_row(
                event_id=f"e{i:03d}",
                occurred_at=at.isoformat().replace("+00:00", "Z"),
                action=draw(st.sampled_from(["ASSIGN", "ASSIGN", "UNASSIGN"])),
                package=draw(st.sampled_from(PACKAGES)),
                customer_org_id=draw(st.sampled_from(["C1", "C2"])),
                partner_org_id=draw(st.sampled_from(["P1", "P2"])),
                user_id=subject[0],
                workspace_id=subject[1],
                location_id=draw(st.sampled_from(["", "L1"])),
                license_id=draw(st.sampled_from(["", "LIC"])),
                partner_name=draw(st.sampled_from(["Partner One", "Partner 1"])),
                customer_external_id=draw(st.sampled_from(["", "X1", "X2"])),
                subscriber_id=draw(st.sampled_from(["", "s-1"])) if subject[0] else "",
            )
        )
    return rows


def _write(folder: Path, name: str, rows: list[dict[str, str]]) -> Path:
    path = folder / name
    pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)).write_csv(path)
    return path


def _usage(rc: Recon, request: ReportRequest, *, snapshots: bool) -> pl.DataFrame:
    """USER usage of `request` with snapshots (the build's way) or from the whole lake."""
    with rc._writing():  # the writer lock, as a build holds it
        if snapshots:
            with rc.store.connect() as con:
                request = ReportRequest(
                    **{**request.__dict__, "lake": LakeMark(lake_mark(con)[0], ingest_floors(con))}
                )
        usage = report_usage(rc.layout, rc.catalog(), request, rc.settings.zones, config.now())
    frame = usage if isinstance(usage, pl.DataFrame) else usage.frame()
    return frame.sort(frame.columns)


@settings(max_examples=EXAMPLES)
@given(
    logs(),
    st.lists(st.sampled_from(MONTHS), min_size=1, max_size=2, unique=True),
    st.lists(st.integers(0, 29), max_size=6, unique=True),
    st.sampled_from(MONTHS),
    st.integers(1, 2),
    st.sampled_from(ZONES),
    st.booleans(),
)
def test_a_period_from_a_snapshot_equals_the_full_recomputation(
    rows, built, held_back, first, months, zone, sliced
):
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        if sliced:  # the large-lake path: slices of customers, usage spilled to Parquet
            patch.setenv("RECON_SLICE_EVENTS", "7")
        folder = Path(tmp)
        late = [r for i, r in enumerate(rows) if i in held_back]
        early = [r for i, r in enumerate(rows) if i not in held_back]
        patch.setenv("RECON_NOW", "2026-10-20T00:00:00Z")
        rc = Recon(folder / "home")
        if early:
            rc.ingest([_write(folder, "early.csv", early)])
        for month in built:  # reports leave snapshots at their month boundaries
            end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            rc.create_report(ReportRequest(type="USER", start=month, end=end))
        patch.setenv("RECON_NOW", "2026-10-21T00:00:00Z")
        if late:
            rc.ingest([_write(folder, "late.csv", late)])
        last = MONTHS[min(MONTHS.index(first) + months - 1, len(MONTHS) - 1)]
        end = (last + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        request = ReportRequest(type="USER", start=first, end=end, timezone=zone)
        assert _usage(rc, request, snapshots=True).equals(_usage(rc, request, snapshots=False))
        # ... and again, now from the snapshots that computation left behind.
        assert _usage(rc, request, snapshots=True).equals(_usage(rc, request, snapshots=False))


def test_a_month_reads_its_snapshot_and_a_late_event_invalidates_it_and_every_later_one(
    tmp_path, write_csv, monkeypatch
):
    rows = [
        raw_row(event_id="a", occurred_at="2026-06-10T00:00:00Z", user_id="u1"),
        raw_row(event_id="b", occurred_at="2026-07-10T00:00:00Z", user_id="u2"),
    ]
    rc = Recon(tmp_path / "home")
    monkeypatch.setenv("RECON_NOW", "2026-10-20T00:00:00Z")
    rc.ingest([write_csv("a.csv", rows)])
    rc.create_report(ReportRequest(type="USER", start=date(2026, 6, 1), end=date(2026, 8, 31)))
    instants = [s.instant for s in stored_snapshots(rc.layout)]
    assert [datetime.fromtimestamp(i / 1e6, UTC).date() for i in instants] == [
        date(2026, 6, 1),
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
    ]
    september = ReportRequest(type="USER", start=date(2026, 9, 1), end=date(2026, 9, 30))

    def base_of(request: ReportRequest) -> date | None:
        with rc._writing(), rc.store.connect() as con:
            marked = ReportRequest(
                **{**request.__dict__, "lake": LakeMark(lake_mark(con)[0], ingest_floors(con))}
            )
            tables = period_day_tables(marked, rc.settings.zones)
            plan = plan_snapshots(rc.layout, marked, rc.catalog(), tables)
        return None if plan.base is None else plan.base.path.name[6:16]  # type: ignore[return-value]

    assert base_of(september) == "2026-09-01"
    monkeypatch.setenv("RECON_NOW", "2026-10-21T00:00:00Z")
    rc.ingest(
        [
            write_csv(
                "late.csv",
                [raw_row(event_id="c", occurred_at="2026-07-20T00:00:00Z", user_id="u3")],
            )
        ]
    )
    assert base_of(september) == "2026-07-01"  # Aug 1 and Sep 1 are invalid now
    remaining = sorted(s.path.name[6:16] for s in stored_snapshots(rc.layout))
    assert remaining == ["2026-06-01", "2026-07-01"]
    built = rc.create_report(september)
    assert built.total_quantity == "90.000000"  # u1, u2, u3 all of September


def test_a_snapshot_keeps_codes_only_and_a_text_computation_reads_the_full_history(
    tmp_path, write_csv, monkeypatch
):
    from recon.engine.intervals import INTERVAL_SCHEMA
    from recon.reports import usage
    from recon.reports.snapshots import code_schema

    monkeypatch.setenv("RECON_NOW", "2026-10-20T00:00:00Z")
    rc = Recon(tmp_path / "home")
    rows = [
        raw_row(event_id="a", occurred_at="2026-06-10T00:00:00Z", user_id="u1"),
        raw_row(event_id="b", occurred_at="2026-06-20T00:00:00Z", user_id="", workspace_id="w1"),
        raw_row(
            event_id="c", occurred_at="2026-07-10T00:00:00Z", user_id="u2", package="WEBEX_SUITE"
        ),
    ]
    rc.ingest([write_csv("a.csv", rows)])
    rc.create_report(ReportRequest(type="USER", start=date(2026, 6, 1), end=date(2026, 6, 30)))
    july = [s for s in stored_snapshots(rc.layout) if s.path.name.startswith("state-2026-07-01")]
    kept = pl.read_parquet(july[0].path)
    assert kept.height == 2  # u1's and w1's assignments, open on July 1
    assert set(code_schema()) <= set(kept.columns)
    assert not {"customer_org_id", "user_id", "partner_name"} & set(kept.columns)
    request = ReportRequest(type="USER", start=date(2026, 7, 1), end=date(2026, 7, 31))
    coded = _usage(rc, request, snapshots=True)
    monkeypatch.setattr(usage, "lake_ids", lambda layout: None)  # ids that do not pack: text
    text = _usage(rc, request, snapshots=True)
    full = _usage(rc, request, snapshots=False)
    assert coded.equals(full)
    assert text.equals(full)
    assert full.height == 3
    assert set(INTERVAL_SCHEMA) - set(kept.columns)  # so the text kernel could not replay it


def test_a_lone_slice_state_is_renamed_into_place_not_written_again(
    tmp_path, write_csv, monkeypatch
):
    from recon.reports import snapshots

    def copied(state: object, path: Path) -> None:
        raise AssertionError("a lone slice's part is the snapshot: renamed, not copied")

    monkeypatch.setattr(snapshots, "_sink", copied)
    monkeypatch.setenv("RECON_NOW", "2026-10-20T00:00:00Z")
    rc = Recon(tmp_path / "home")
    rc.ingest([write_csv("a.csv", [raw_row(event_id="a", occurred_at="2026-06-10T00:00:00Z")])])
    report = rc.create_report(
        ReportRequest(type="USER", start=date(2026, 6, 1), end=date(2026, 6, 30))
    )
    assert report.status == "COMPLETED", report.errors
    assert len(stored_snapshots(rc.layout)) == 2  # June 1 and July 1
    assert not list(rc.layout.spill.rglob("*.parquet"))


def test_an_empty_state_kept_as_text_still_starts_the_coded_kernel(
    tmp_path, write_csv, monkeypatch
):
    """A period before the lake's first event has no events: the text kernel keeps it."""
    monkeypatch.setenv("RECON_NOW", "2026-10-20T00:00:00Z")
    rc = Recon(tmp_path / "home")
    rc.ingest([write_csv("a.csv", [raw_row(event_id="a", occurred_at="2026-07-10T00:00:00Z")])])
    rc.create_report(ReportRequest(type="USER", start=date(2026, 5, 1), end=date(2026, 5, 31)))
    june = [s for s in stored_snapshots(rc.layout) if s.path.name.startswith("state-2026-06-01")]
    assert pl.read_parquet(june[0].path).height == 0
    assert "customer_org_id" in pl.read_parquet_schema(june[0].path)  # kept as text
    july = ReportRequest(type="USER", start=date(2026, 7, 1), end=date(2026, 7, 31))
    with rc._writing(), rc.store.connect() as con:
        marked = ReportRequest(
            **{**july.__dict__, "lake": LakeMark(lake_mark(con)[0], ingest_floors(con))}
        )
        plan = plan_snapshots(
            rc.layout, marked, rc.catalog(), period_day_tables(marked, rc.settings.zones)
        )
    assert plan.base is not None and plan.base.path == june[0].path
    assert plan.has_codes  # an empty state replays no event: the codes path takes it
    assert _usage(rc, july, snapshots=True).equals(_usage(rc, july, snapshots=False))
