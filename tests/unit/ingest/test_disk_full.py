"""A full disk mid-ingest never leaves a half-ingested lake (issue 19, item 6).

For real: the home sits on a small tmpfs mounted in a private mount namespace
(`unshare -rm`), and `recon ingest` runs out of space while writing the lake. Where mounting
is impossible, the same ingest runs under an RLIMIT_FSIZE limit (EFBIG). Either way: exit 2,
"disk full" and what to do, the lake and the ledger exactly as before, and once there is
room the same ingest succeeds with counts that add up.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest

from recon.api import Recon
from recon.home.files import DiskFullError, is_disk_full
from recon.ingest import staging
from recon.ingest.lake import scan_events, scan_quarantine
from recon.ingest.staging import Staging
from tests.conftest import FROZEN_NOW, RECON, raw_row

ENV = {**os.environ, "RECON_NOW": FROZEN_NOW, "RECON_LOCK_WAIT": "5"}
BIG_ROWS = 80_000
FSIZE_LIMIT = 2 * 1024 * 1024


def _write_log(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _logs(base: Path) -> tuple[Path, Path]:
    """A small log (3 events, 1 bad row) and a big one whose lake part needs ~2.6 MB."""
    small = _write_log(
        base / "small" / "small.csv",
        [
            raw_row(event_id="s1", user_id="u1"),
            raw_row(event_id="s2", user_id="u2"),
            raw_row(event_id="s3", user_id="u3"),
            raw_row(event_id="s4", action="DELETE"),
        ],
    )
    rng = random.Random(19)
    big = _write_log(
        base / "big" / "big.csv",
        [
            raw_row(
                event_id=f"{rng.getrandbits(128):032x}",
                user_id=f"{rng.getrandbits(64):016x}",
                # One day: its lake part alone is far bigger than the file size limit below.
                occurred_at=f"2026-10-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
            )
            for n in range(BIG_ROWS)
        ],
    )
    return small, big


def _lake(home: Path) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[object, ...]]]:
    """Events, quarantine and ledger of a home (read from its files)."""
    rc = Recon(home)
    events = scan_events(rc.layout).collect().sort("event_id")
    quarantine = scan_quarantine(rc.layout).collect().sort("source_sha256", "source_row")
    ledger = rc.sql("SELECT ingest_id, rows_read, accepted FROM ingests ORDER BY 1").rows()
    return events, quarantine, ledger


def _leftovers(home: Path) -> list[Path]:
    """Temporary or staged files (none may stay behind, whatever happened)."""
    return [
        p
        for p in home.rglob("*")
        if p.is_file() and (p.name.endswith(".tmp") or ".staging" in p.relative_to(home).parts)
    ]


def _home_bytes(home: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in home.rglob("*") if p.is_file())


def _assert_failed_cleanly(
    outcome: dict[str, str], before: Path, after: Path, *, reason: str
) -> None:
    assert outcome["full.rc"] == "2", outcome["full.err"]
    message = " ".join(outcome["full.err"].split())
    assert "disk full: ingest could not write under" in message
    assert reason in message
    assert "nothing of this ingest was kept, the lake is as it was" in message
    assert "free space under" in message
    assert "ingesting the same files again is safe (idempotent)" in message
    assert "internal error" not in message
    events, quarantine, ledger = _lake(after)
    events_before, quarantine_before, ledger_before = _lake(before)
    assert events.height == 3
    assert events.equals(events_before)
    assert quarantine.height == 1
    assert quarantine.equals(quarantine_before)
    assert len(ledger) == 1
    assert ledger == ledger_before
    assert _leftovers(after) == []


def _assert_second_try_succeeds(outcome: dict[str, str], home: Path) -> None:
    assert outcome["again.rc"] == "0", outcome["again.err"]
    counts = json.loads(outcome["again.json"])
    assert (counts["rowsRead"], counts["accepted"], counts["duplicates"]) == (
        BIG_ROWS,
        BIG_ROWS,
        0,
    )
    assert counts["quarantined"] == 0
    events, quarantine, ledger = _lake(home)
    assert events.height == 3 + BIG_ROWS
    assert events["event_id"].n_unique() == 3 + BIG_ROWS
    assert quarantine.height == 1
    assert sorted(row[1:] for row in ledger) == [(4, 3), (BIG_ROWS, BIG_ROWS)]
    assert _leftovers(home) == []


def _read(out: Path) -> dict[str, str]:
    return {p.name: p.read_text().strip() for p in out.iterdir() if p.is_file()}


def _on_tmpfs(tmp_path: Path, small: Path, big: Path) -> dict[str, str] | None:
    """The three ingests on a tmpfs just too small for the big one; None if it can't mount."""
    if shutil.which("unshare") is None:
        return None
    probe = tmp_path / "probe"
    subprocess.run(
        [RECON, "--home", str(probe), "ingest", str(small)],
        env=ENV,
        check=True,
        capture_output=True,
    )
    # Room for the first ingest and a little more; the big one needs megabytes more.
    size_kib = _home_bytes(probe) // 1024 + 256
    mount, out = tmp_path / "mnt", tmp_path / "out"
    mount.mkdir()
    out.mkdir()
    home = f"{mount}/home"
    recon = shlex.quote(RECON)

    def ingest(log: Path, name: str) -> str:
        return (
            f"{recon} --home {home} ingest {shlex.quote(str(log))} --json "
            f"> {out}/{name}.json 2> {out}/{name}.err; echo $? > {out}/{name}.rc"
        )

    script = "\n".join(
        [
            f"mount -t tmpfs -o size={size_kib}k tmpfs {mount} || exit 97",
            ingest(small, "first"),
            f"cp -a {home} {tmp_path}/after_first",
            ingest(big, "full"),
            f"cp -a {home} {tmp_path}/after_full",
            f"mount -o remount,size=256m {mount} || exit 98",  # space freed
            ingest(big, "again"),
            f"cp -a {home} {tmp_path}/after_again",
        ]
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], env=ENV, capture_output=True, text=True, check=False
    )
    if done.returncode == 97 or (done.returncode != 0 and not (out / "first.rc").exists()):
        return None
    assert done.returncode == 0, done.stderr
    return _read(out)


def _under_fsize_limit(tmp_path: Path, small: Path, big: Path) -> dict[str, str]:
    """The big ingest with files limited to 2 MiB (EFBIG), then without a limit.

    The limit leaves room for the store (about 1 MB), not for the big ingest's lake part.
    """
    out, home = tmp_path / "out-rlimit", tmp_path / "rlimit-home"
    out.mkdir()

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def ingest(log: Path, name: str, *, limit: bool) -> None:
        done = subprocess.run(
            [RECON, "--home", str(home), "ingest", str(log), "--json"],
            env=ENV,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=limited if limit else None,
        )
        (out / f"{name}.rc").write_text(str(done.returncode))
        (out / f"{name}.json").write_text(done.stdout)
        (out / f"{name}.err").write_text(done.stderr)

    ingest(small, "first", limit=False)
    shutil.copytree(home, tmp_path / "after_first")
    ingest(big, "full", limit=True)
    shutil.copytree(home, tmp_path / "after_full")
    ingest(big, "again", limit=False)
    shutil.copytree(home, tmp_path / "after_again")
    return _read(out)


def test_disk_full_on_a_small_tmpfs_leaves_the_lake_as_it_was(tmp_path):
    small, big = _logs(tmp_path / "logs")
    outcome = _on_tmpfs(tmp_path, small, big)
    reason = "No space left on device"
    if outcome is None:  # no mount namespace here: a file size limit tells the same story
        if not hasattr(resource, "RLIMIT_FSIZE") or not hasattr(signal, "SIGXFSZ"):
            pytest.fail("cannot fill a disk here: neither `unshare -rm` + tmpfs nor RLIMIT_FSIZE")
        outcome = _under_fsize_limit(tmp_path, small, big)
        reason = "File too large"
    assert outcome["first.rc"] == "0", outcome["first.err"]
    _assert_failed_cleanly(
        outcome, tmp_path / "after_first", tmp_path / "after_full", reason=reason
    )
    _assert_second_try_succeeds(outcome, tmp_path / "after_again")


def test_a_file_size_limit_efbig_is_disk_full_too(tmp_path):
    small, big = _logs(tmp_path / "logs")
    outcome = _under_fsize_limit(tmp_path, small, big)
    assert outcome["first.rc"] == "0", outcome["first.err"]
    _assert_failed_cleanly(
        outcome, tmp_path / "after_first", tmp_path / "after_full", reason="File too large"
    )
    _assert_second_try_succeeds(outcome, tmp_path / "after_again")


# ------------------------------------------------------------------ the publish step, in-process


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even the clean-up."""


def _two_day_log(base: Path, name: str, prefix: str) -> Path:
    return _write_log(
        base / name,
        [
            raw_row(event_id=f"{prefix}1", occurred_at="2026-10-01T10:00:00Z"),
            raw_row(event_id=f"{prefix}2", occurred_at="2026-10-02T10:00:00Z", user_id="u2"),
            raw_row(event_id=f"{prefix}3", action="NOPE"),
        ],
    )


def test_a_full_disk_while_writing_the_ledger_takes_the_moved_files_back(tmp_path, monkeypatch):
    rc = Recon(tmp_path / "home")
    rc.ingest([_two_day_log(tmp_path / "logs", "first.csv", "a")])
    before = _lake(tmp_path / "home")

    def full(layout: object, ledger: object, events: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(staging, "_write_ledger", full)
    with pytest.raises(DiskFullError) as caught:
        rc.ingest([_two_day_log(tmp_path / "logs", "second.csv", "b")])
    monkeypatch.undo()
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(
        f"disk full: ingest could not write under {tmp_path / 'home'} (No space left on device); "
        "nothing of this ingest was kept, the lake is as it was (free space under "
    )
    after = _lake(tmp_path / "home")
    assert after[0].equals(before[0])
    assert after[1].equals(before[1])
    assert after[2] == before[2]
    assert sorted(p.name for p in rc.layout.events.iterdir()) == [
        "event_date=2026-10-01",
        "event_date=2026-10-02",
    ]
    assert _leftovers(tmp_path / "home") == []


def _seeded(tmp_path: Path) -> Recon:
    """A home holding one ingest (events s1, s2; s3 quarantined)."""
    rc = Recon(tmp_path / "home")
    rc.ingest([_two_day_log(tmp_path / "logs", "seed.csv", "s")])
    return rc


def _killed_mid_publish(self: Staging, ledger: dict[str, object]) -> None:
    """A publish killed after its journal and its first move, before its ledger rows."""
    moves = self._moves()
    (self.root / staging.JOURNAL).write_text(json.dumps({"moves": moves, "ledger": ledger}))
    staged, target = (self.layout.root / name for name in moves[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(target)
    raise _Killed


def test_a_publish_killed_after_some_moves_is_finished_by_the_next_ingest(tmp_path, monkeypatch):
    rc = _seeded(tmp_path)

    monkeypatch.setattr(Staging, "publish", _killed_mid_publish)
    monkeypatch.setattr(Staging, "abandon", lambda self: None)
    with pytest.raises(_Killed):
        rc.ingest([_two_day_log(tmp_path / "logs", "first.csv", "a")])
    monkeypatch.undo()
    assert len(list((tmp_path / "home" / ".staging").iterdir())) == 1
    # The crash window: one moved file is visible, its ledger row is not written yet (until
    # the next writer of any kind, here the ingest below, settles the publish first).
    assert scan_events(rc.layout).collect()["event_id"].sort().to_list() == ["a1", "s1", "s2"]

    second = rc.ingest([_two_day_log(tmp_path / "logs", "second.csv", "b")])
    assert (second.accepted, second.quarantined) == (2, 1)
    events, quarantine, ledger = _lake(tmp_path / "home")
    assert events["event_id"].to_list() == ["a1", "a2", "b1", "b2", "s1", "s2"]
    assert quarantine["event_id"].sort().to_list() == ["a3", "b3", "s3"]
    assert sorted(row[1:] for row in ledger) == [(3, 2), (3, 2), (3, 2)]
    assert not (tmp_path / "home" / ".staging").exists()


def test_a_publish_killed_after_some_moves_is_finished_by_any_next_writer(tmp_path, monkeypatch):
    """Not only the next ingest: the next write of any kind settles a killed publish first."""
    rc = _seeded(tmp_path)

    monkeypatch.setattr(Staging, "publish", _killed_mid_publish)
    monkeypatch.setattr(Staging, "abandon", lambda self: None)
    with pytest.raises(_Killed):
        rc.ingest([_two_day_log(tmp_path / "logs", "first.csv", "a")])
    monkeypatch.undo()
    Recon(tmp_path / "home").recover_interrupted()  # a writer that is not an ingest
    events, quarantine, ledger = _lake(tmp_path / "home")
    assert events["event_id"].to_list() == ["a1", "a2", "s1", "s2"]
    assert quarantine["event_id"].sort().to_list() == ["a3", "s3"]
    assert sorted(row[1:] for row in ledger) == [(3, 2), (3, 2)]
    assert not (tmp_path / "home" / ".staging").exists()


def test_an_ingest_killed_before_publishing_is_never_seen(tmp_path, monkeypatch):
    rc = _seeded(tmp_path)

    def killed_before_publishing(self: Staging, ledger: dict[str, object]) -> None:
        raise _Killed

    monkeypatch.setattr(Staging, "publish", killed_before_publishing)
    monkeypatch.setattr(Staging, "abandon", lambda self: None)
    with pytest.raises(_Killed):
        rc.ingest([_two_day_log(tmp_path / "logs", "first.csv", "a")])
    monkeypatch.undo()
    staged = list((tmp_path / "home" / ".staging").rglob("*.parquet"))
    assert len(staged) == 3  # two event days and the quarantine, all unseen
    assert scan_events(rc.layout).collect()["event_id"].sort().to_list() == ["s1", "s2"]
    rc.ingest([_two_day_log(tmp_path / "logs", "second.csv", "b")])
    events, quarantine, ledger = _lake(tmp_path / "home")
    assert events["event_id"].to_list() == ["b1", "b2", "s1", "s2"]
    assert quarantine["event_id"].sort().to_list() == ["b3", "s3"]
    assert sorted(row[1:] for row in ledger) == [(3, 2), (3, 2)]
    assert not (tmp_path / "home" / ".staging").exists()


@pytest.mark.parametrize(
    ("error", "full"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EFBIG, "File too large"), True),
        (
            pl.exceptions.ComputeError(
                "parquet: File out of specification: underlying IO error: "
                "No space left on device (os error 28)"
            ),
            True,
        ),
        (duckdb.IOException('IO Error: Could not write file "x.parquet": No space left'), True),
        (OSError(errno.ENOENT, "No such file or directory"), False),
        (ValueError("not a number"), False),
    ],
)
def test_what_counts_as_a_full_disk(error, full):
    assert is_disk_full(error) is full
    try:
        raise RuntimeError("wrapped") from error
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped) is full
