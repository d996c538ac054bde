"""Snapshots of assignment state at UTC month boundaries (§8): an optimisation, never a truth.

The rules engine (§3) is a state machine whose whole state, per conflict group, is the one
assignment open at an instant (or none): its key, its start, the attributes of the ASSIGN that
opened it and that event's id. So the state at instant X, "after every event before X", is
the set of intervals with `start < X` and `end` null or `>= X`. Replaying that state as one
ASSIGN per open interval (at its original start, with its original id and attributes),
followed by the lake's events from X on, gives exactly the intervals the full history gives
for everything that overlaps `[X, ...)`; a period starting at or after X only ever reads those
(attribute harmonisation and proration look only at intervals that overlap the period). The
lake is partitioned by UTC event date, so the files before X are not read at all.

A snapshot is a Parquet file `lake/snapshots/state-<date>-v<seq>-<catalog>.parquet`: its
instant, the lake version it was computed from, and a digest of the catalog (which decides
BASE or ADDON). It is valid while the catalog is the same and no later ingest brought an event
before its instant (`ingests.earliest_event`): a late event invalidates that snapshot and
every later one. Snapshots are written as a by-product of building a RECONCILIATION report
(the state at each month boundary of its period), atomically; invalid ones are removed when
the next build looks for one. "As known on" and point-in-time builds read the full history.

A snapshot made by the coded kernel keeps the ids as the lake's codes only (their text is in
the dictionaries and a code never changes); one made by the text kernel keeps text (a lake
without codes, or a period with no events yet, whose empty state serves either kernel). A
computation without codes cannot start from codes alone and reads the full history
instead (`for_text`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

import polars as pl

from recon.core.timezones import DayTable, from_micros, to_micros
from recon.engine.coded import CODED
from recon.engine.intervals import INTERVAL_SCHEMA
from recon.home.files import fsync_dir, fsync_file, write_with
from recon.home.layout import HomeLayout, event_files
from recon.ingest.codes import code_column
from recon.ingest.lake import event_schema, scan_event_files
from recon.reports.model import LakeMark, ReportRequest

_NAME = re.compile(r"^state-(\d{4}-\d{2}-\d{2})-v(\d+)-([0-9a-f]{16})\.parquet$")


def snapshot_folder(layout: HomeLayout) -> Path:
    """Where a home keeps its snapshots of assignment state."""
    return layout.root / "lake" / "snapshots"


@dataclass(frozen=True)
class Snapshot:
    """One stored snapshot: its file, instant (µs, a UTC month start), lake version, catalog."""

    path: Path
    instant: int
    seq: int
    catalog: str

    def valid_for(self, lake: LakeMark, catalog: str) -> bool:
        """Same catalog, and no ingest after it brought an event before its instant."""
        return (
            self.catalog == catalog
            and self.seq <= lake.seq
            and all(earliest >= self.instant for seq, earliest in lake.floors if seq > self.seq)
        )


def catalog_digest(catalog: pl.DataFrame) -> str:
    """A stable digest of the catalog's content (its row order does not matter)."""
    text = catalog.sort(catalog.columns).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stored_snapshots(layout: HomeLayout) -> list[Snapshot]:
    """The snapshots in the home, oldest instant first."""
    found = []
    for path in sorted(snapshot_folder(layout).glob("state-*.parquet")):
        named = _NAME.match(path.name)
        if named:
            day = datetime.fromisoformat(named.group(1)).replace(tzinfo=UTC)
            found.append(Snapshot(path, to_micros(day), int(named.group(2)), named.group(3)))
    return sorted(found, key=lambda s: (s.instant, s.seq))


def month_starts(low: int, high: int) -> list[int]:
    """The UTC month starts X (µs) with `low <= X <= high`."""
    first = from_micros(low)
    year, month = first.year, first.month
    if from_micros(low) != datetime(year, month, 1, tzinfo=UTC):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    found = []
    while (x := to_micros(datetime(year, month, 1, tzinfo=UTC))) <= high:
        found.append(x)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _month_floor(instant: int) -> int:
    day = from_micros(instant)
    return to_micros(datetime(day.year, day.month, 1, tzinfo=UTC))


def code_schema() -> dict[str, pl.DataType]:
    """The code columns a snapshot of the coded kernel keeps (lake names, `code_column`)."""
    return {code_column(c): pl.UInt32() for c in CODED}


def open_rows(intervals: pl.DataFrame, instant: int) -> pl.DataFrame:
    """The intervals open at `instant` (text or coded): the state after every event before it."""
    at = from_micros(instant)
    return intervals.filter(
        (pl.col("start") < at) & (pl.col("end").is_null() | (pl.col("end") >= at))
    )


# What a snapshot of coded intervals keeps besides the codes of their ids.
_CODED_STATE: Final = ["start", "end", "end_reason", "opened_by", "closed_by"]


def open_at(intervals: pl.DataFrame, instant: int) -> pl.DataFrame:
    """`open_rows` as a snapshot keeps them: text intervals as text, coded ones as codes.

    Coded intervals keep their ids' codes only (`code_schema`), not the text: the codes never
    change, the text is in the lake's dictionaries, and decoding a month's state (1M rows)
    cost a month's first report 0.3 s.
    """
    rows = open_rows(intervals, instant)
    if intervals.schema["customer_org_id"] == pl.String():
        return rows.select([pl.col(c).cast(t) for c, t in INTERVAL_SCHEMA.items()])
    return rows.select(
        *[pl.col(c).cast(INTERVAL_SCHEMA[c]) for c in _CODED_STATE],
        *[pl.col(c).cast(pl.UInt32).alias(code_column(c)) for c in CODED],
    )


def replayed_events(state: pl.LazyFrame) -> pl.LazyFrame:
    """A snapshot's open intervals as the ASSIGN events that opened them (lake columns)."""
    carried = {"event_id": "opened_by", "occurred_at": "start"}
    present = state.collect_schema()
    columns = []
    for name, dtype in event_schema().items():
        if name == "action":
            columns.append(pl.lit("ASSIGN", pl.String).alias(name))
        elif name in carried:
            columns.append(pl.col(carried[name]).cast(dtype).alias(name))
        elif name in present:
            columns.append(pl.col(name).cast(dtype))
        else:
            columns.append(pl.lit(None, dtype).alias(name))
    return state.select(columns)


def _files_from(layout: HomeLayout, instant: int) -> list[Path]:
    """The lake files that may hold events at or after `instant` (by UTC event date)."""
    first = from_micros(instant).date().isoformat()
    return [f for f in event_files(layout) if f.parent.name.split("=", 1)[1] >= first]


@dataclass
class SnapshotPlan:
    """Which snapshot a usage computation starts from, and which ones it leaves behind."""

    layout: HomeLayout
    lake: LakeMark | None = None
    catalog: str = ""
    base: Snapshot | None = None
    boundaries: list[int] = field(default_factory=list)
    # Each slice's open intervals, per boundary, wait in Parquet parts under the home's spill
    # folder (a state at 10M subjects is ~12M rows: memory would follow the lake, not the slice).
    _open: dict[int, list[Path]] = field(default_factory=dict)
    _spill: Path | None = None

    @property
    def has_codes(self) -> bool:
        """Whether `events` gives every event its codes (no base, or a base that kept them).

        An empty state replays no event, so it serves either kernel, whichever kept it (the
        text kernel keeps the state of a period with no events yet).
        """
        return self.base is None or set(code_schema()) <= self._kept() or self._is_empty()

    def for_text(self) -> None:
        """Prepare for a computation without codes: a base kept as codes only cannot start it.

        Such a base is dropped and the full history read instead. Only a lake whose ids no
        longer pack into the coded kernel's keys gets here, and the Spark engine, which reads
        the lake's files itself and never starts from a snapshot.
        """
        if self.base is None or set(INTERVAL_SCHEMA) <= self._kept() or self._is_empty():
            return
        self.base = None

    def _kept(self) -> set[str]:
        assert self.base is not None
        return set(pl.read_parquet_schema(self.base.path))

    def _is_empty(self) -> bool:
        assert self.base is not None
        rows: int = pl.scan_parquet(self.base.path).select(pl.len()).collect().item()
        return rows == 0

    def events(self, events: pl.LazyFrame, cutoff: int) -> pl.LazyFrame:
        """The events the period needs: all before `cutoff`, or the base's state and later."""
        before = pl.col("occurred_at").dt.epoch("us") < cutoff
        if self.base is None:
            return events.filter(before)
        later = scan_event_files(_files_from(self.layout, self.base.instant)).filter(
            (pl.col("occurred_at").dt.epoch("us") >= self.base.instant) & before
        )
        kept = self._kept()
        schema = {c: t for c, t in {**INTERVAL_SCHEMA, **code_schema()}.items() if c in kept}
        state = replayed_events(pl.scan_parquet(self.base.path, schema=schema))
        return pl.concat([state, later], how="vertical")

    @property
    def collect(self) -> Callable[[pl.DataFrame], None] | None:
        """What the kernel hands each slice's intervals to (None: nothing to keep)."""
        return self._keep if self.boundaries else None

    def _keep(self, intervals: pl.DataFrame) -> None:
        for instant in self.boundaries:
            parts = self._open.setdefault(instant, [])
            path = self._spill_folder() / f"{instant}-{len(parts):05d}.parquet"
            open_at(intervals, instant).write_parquet(path, **_FORMAT)  # a lone part: published
            parts.append(path)

    def _spill_folder(self) -> Path:
        """This plan's folder for parts (removed with the plan; by the next run if killed)."""
        if self._spill is None:
            self.layout.spill.mkdir(parents=True, exist_ok=True)
            prefix = f"usage-{os.getpid()}-snapshots-"  # `usage-<pid>-*`: swept when pid ends
            self._spill = Path(tempfile.mkdtemp(prefix=prefix, dir=self.layout.spill))
            weakref.finalize(self, shutil.rmtree, self._spill, True)
        return self._spill

    def save(self) -> None:
        """Write the state at each boundary (after the whole computation succeeded)."""
        if self.lake is None or not self._open:
            return
        folder = snapshot_folder(self.layout)
        folder.mkdir(parents=True, exist_ok=True)
        for instant, parts in sorted(self._open.items()):
            day = from_micros(instant).date().isoformat()
            path = folder / f"state-{day}-v{self.lake.seq}-{self.catalog}.parquet"
            if len(parts) == 1 and _moved(parts[0], path):  # one slice: no second write
                continue
            # Should a slice have taken the text kernel (the coded one refuses events before
            # 1970, which ingest never accepts) it kept text and the others codes: there is
            # no one state to write then, and the next build computes it again.
            if len({tuple(pl.read_parquet_schema(p).items()) for p in parts}) > 1:
                continue
            write_with(path, partial(_sink, pl.scan_parquet(parts)))
        self._open.clear()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)


# How a snapshot is written (its parts too, so the part of a lone slice is the snapshot).
_FORMAT: Final[dict[str, Any]] = {"compression": "zstd", "statistics": True}


def _sink(state: pl.LazyFrame, path: Path) -> None:
    state.sink_parquet(path, **_FORMAT)


def _moved(part: Path, path: Path) -> bool:
    """Rename a finished part to `path`, durably; False if it cannot be renamed there."""
    fsync_file(part)
    try:
        part.replace(path)  # the spill folder is in the home, on the same file system
    except OSError:
        return False  # on another file system after all: `save` writes it again
    fsync_dir(path.parent)
    return True


def plan_snapshots(
    layout: HomeLayout, request: ReportRequest, catalog: pl.DataFrame, tables: dict[str, DayTable]
) -> SnapshotPlan:
    """The newest valid snapshot at or before the period's start, and the boundaries to keep.

    Only for builds that read the whole lake (`request.lake` is set); invalid snapshots are
    removed here (the caller holds the writer lock).
    """
    if request.lake is None or request.category != "RECONCILIATION":
        return SnapshotPlan(layout)
    digest = catalog_digest(catalog)
    start = min(t.start for t in tables.values())
    cutoff = max(t.end for t in tables.values())
    valid = []
    for snapshot in stored_snapshots(layout):
        if snapshot.valid_for(request.lake, digest):
            valid.append(snapshot)
        elif snapshot.catalog == digest or snapshot.seq > request.lake.seq:
            snapshot.path.unlink(missing_ok=True)  # a late event invalidated it
    usable = [s for s in valid if s.instant <= start]
    base = max(usable, key=lambda s: (s.instant, s.seq)) if usable else None
    have = {s.instant for s in valid}
    low = max(_month_floor(start), base.instant + 1 if base else _month_floor(start))
    boundaries = [x for x in month_starts(low, cutoff) if x not in have]
    return SnapshotPlan(layout, request.lake, digest, base, boundaries)
