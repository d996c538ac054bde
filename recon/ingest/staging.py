"""An ingest's lake files become visible together with its ledger entry, or not at all.

An ingest writes its event and quarantine parts under the home's hidden staging folder
(`.staging/<ingest_id>/`), where no reader looks. To publish, it writes a journal (which
files go where, and the ledger rows), marks the derived files stale, moves every staged file
into the lake (renames within the home: atomic each) and then commits its `ingests` and
`ingested_files` rows in one transaction. If anything fails before that commit (a full disk,
an interrupt), the moved files are removed again and the staging folder deleted: the lake is
exactly as it was. A process killed mid-way leaves its staging folder behind; the next ingest
(which holds the same lock) finishes a journalled publish (moves the rest, writes the ledger
rows if they are missing) or, without a journal, deletes the staging folder unseen.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from recon.core import config
from recon.home.files import fsync_dir, write_text_atomically
from recon.home.layout import HomeLayout
from recon.home.lineage import next_ingest_seq, record_late_events
from recon.home.store import Store, transaction

JOURNAL = "publish.json"
DERIVED = ("intervals", "anomalies")

Ledger = dict[str, Any]


def derived_stale(layout: HomeLayout) -> bool:
    """True when the lake changed since intervals and anomalies were last computed."""
    return any(not (layout.derived / f"{name}.parquet").exists() for name in DERIVED)


def mark_derived_stale(layout: HomeLayout) -> None:
    """Forget the derived files; they are rebuilt when someone asks for them.

    Rebuilding walks the whole lake, so it is left out of ingest: ingest memory stays bounded
    by its batch size whatever the size of the lake.
    """
    for name in DERIVED:
        (layout.derived / f"{name}.parquet").unlink(missing_ok=True)


def ledger_rows(
    ingest_id: str, started_at: datetime, totals: list[int], files: list[list[object]]
) -> Ledger:
    """The ledger entry of one ingest, as JSON-ready data (journalled before it is written).

    `totals` is files, rows read, accepted, duplicates, quarantined; each of `files` is
    path, sha256, format, rows read, accepted, duplicates, quarantined, error.
    """
    return {
        "ingest_id": ingest_id,
        "started_at": started_at.isoformat(),
        "totals": totals,
        "files": files,
    }


def _write_ledger(layout: HomeLayout, ledger: Ledger, events: list[Path]) -> None:
    """Insert the ledger rows in one transaction, unless they are there already.

    The same transaction numbers the ingest (the lake version it makes) and counts, per
    built report, the events among `events` (this ingest's lake files) that could change it.
    """
    with Store(layout).connect() as con:
        ingest_id = ledger["ingest_id"]
        if con.execute("SELECT 1 FROM ingests WHERE ingest_id = ?", [ingest_id]).fetchone():
            return
        with transaction(con):
            seq = next_ingest_seq(con)
            con.execute(
                "INSERT INTO ingests (ingest_id, started_at, finished_at, files, rows_read, "
                "accepted, duplicates, quarantined, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ingest_id,
                    datetime.fromisoformat(ledger["started_at"]),
                    config.now(),  # finished_at follows RECON_NOW like started_at
                    *ledger["totals"],
                    seq,
                ],
            )
            record_late_events(con, ingest_id, seq, events)
            for row in ledger["files"]:
                con.execute(
                    "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [ingest_id, *row],
                )


@dataclass
class Staging:
    """One ingest's staging folder: where its lake files wait for their ledger entry."""

    layout: HomeLayout
    ingest_id: str
    published: bool = False

    @property
    def root(self) -> Path:
        """`<home>/.staging/<ingest_id>`."""
        return self.layout.staging / self.ingest_id

    @property
    def events(self) -> Path:
        """Staged event parts, laid out as in the lake (`event_date=*/part-*.parquet`)."""
        return self.root / "events"

    @property
    def quarantine(self) -> Path:
        """Staged quarantine parts."""
        return self.root / "quarantine"

    def quarantine_files(self) -> list[Path]:
        """The quarantine parts staged so far."""
        return sorted(self.quarantine.glob("*.parquet"))

    def begin(self) -> Staging:
        """Create the (empty) staging folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def _moves(self) -> list[tuple[str, str]]:
        """(staged, lake) paths of every staged file, relative to the home."""
        root = self.layout.root
        pairs = [
            (p, self.layout.events / p.relative_to(self.events))
            for p in sorted(self.events.glob("event_date=*/*.parquet"))
        ] + [(p, self.layout.quarantine / p.name) for p in self.quarantine_files()]
        return [(str(s.relative_to(root)), str(t.relative_to(root))) for s, t in pairs]

    def publish(self, ledger: Ledger) -> None:
        """Move the staged files into the lake and write the ledger rows; all or nothing."""
        journal = {"moves": self._moves(), "ledger": ledger}
        write_text_atomically(self.root / JOURNAL, json.dumps(journal))
        try:
            _roll_forward(self.layout, journal)
        except BaseException:
            _roll_back(self.layout, journal)
            raise
        self.published = True
        self._remove()

    def abandon(self) -> None:
        """Forget this ingest: remove whatever it moved into the lake and its staging folder."""
        if not self.published:
            journal_path = self.root / JOURNAL
            if journal_path.exists():
                _roll_back(self.layout, json.loads(journal_path.read_text(encoding="utf-8")))
        self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(OSError):  # only when no other staging folder is left
            self.layout.staging.rmdir()


def _roll_forward(layout: HomeLayout, journal: dict[str, Any]) -> None:
    root = layout.root
    if journal["moves"]:
        mark_derived_stale(layout)
    folders: set[Path] = set()
    for staged_name, target_name in journal["moves"]:
        staged, target = root / staged_name, root / target_name
        if staged.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.replace(target)
            folders.add(target.parent)
    for folder in sorted(folders):
        fsync_dir(folder)
    events = [
        root / target
        for _, target in journal["moves"]
        if (root / target).parent != layout.quarantine and (root / target).exists()
    ]
    _write_ledger(layout, journal["ledger"], events)


def _roll_back(layout: HomeLayout, journal: dict[str, Any]) -> None:
    root = layout.root
    for staged_name, target_name in journal["moves"]:
        target = root / target_name
        if not (root / staged_name).exists():
            target.unlink(missing_ok=True)
            if target.parent != layout.quarantine:
                with contextlib.suppress(OSError):  # a partition folder this ingest created
                    target.parent.rmdir()


def recover_staged(layout: HomeLayout) -> int:
    """Settle the staging folders of ingests that were killed; the caller holds the lock.

    A journalled publish is finished (it had passed every check; only its moves or ledger
    rows were cut short); anything else is deleted unseen. Returns how many were settled.
    """
    if not layout.staging.exists():
        return 0
    settled = 0
    for folder in sorted(p for p in layout.staging.iterdir() if p.is_dir()):
        journal_path = folder / JOURNAL
        if journal_path.exists():
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
            try:
                _roll_forward(layout, journal)
            except BaseException:
                _roll_back(layout, journal)
                shutil.rmtree(folder, ignore_errors=True)
                raise
        shutil.rmtree(folder, ignore_errors=True)
        settled += 1
    with contextlib.suppress(OSError):  # only when empty: nothing else is staged
        layout.staging.rmdir()
    return settled
