"""Two recon processes against one home: both succeed correctly, or one waits or fails fast
with "home is locked by PID ...", and the store is never corrupt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from recon.api import Recon
from recon.ingest.lake import scan_events
from tests.conftest import FROZEN_NOW, RECON, SAMPLE, raw_row

ENV = {**os.environ, "RECON_NOW": FROZEN_NOW, "RECON_LOCK_WAIT": "120"}


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [RECON, *args], env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def test_two_ingests_at_once_both_land_each_event_once(tmp_path):
    home = tmp_path / "home"
    other = tmp_path / "other.csv"
    pl.DataFrame([raw_row(event_id=f"x{i}", user_id=f"ux{i}") for i in range(50)]).write_csv(other)
    first = start("--home", str(home), "ingest", str(SAMPLE), "--json")
    second = start("--home", str(home), "ingest", str(other), str(SAMPLE), "--json")
    code_a, out_a, err_a = finish(first)
    code_b, out_b, err_b = finish(second)
    assert (code_a, code_b) == (0, 0), err_a + err_b
    a, b = json.loads(out_a), json.loads(out_b)
    lake = scan_events(Recon(home).layout).collect()
    assert lake["event_id"].n_unique() == lake.height == a["accepted"] + b["accepted"]
    assert {f"x{i}" for i in range(50)} <= set(lake["event_id"].to_list())


def test_ingest_and_report_at_once(tmp_path):
    home = tmp_path / "home"
    subprocess.run(
        [RECON, "--home", str(home), "ingest", str(SAMPLE)],
        env=ENV,
        check=True,
        capture_output=True,
    )
    extra = tmp_path / "extra.csv"
    pl.DataFrame(
        [raw_row(event_id="late-1", occurred_at="2026-10-15T00:00:00Z", user_id="late")]
    ).write_csv(extra)
    ingest = start("--home", str(home), "ingest", str(extra))
    report = start(
        "--home",
        str(home),
        "report",
        "create",
        "--type",
        "PARTNER",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-31",
        "--json",
    )
    assert finish(ingest)[0] == 0
    code, out, err = finish(report)
    assert code == 0, err
    assert json.loads(out)["status"] == "COMPLETED"


def test_two_creates_of_one_report_give_one_report_and_one_conflict(tmp_path):
    home = tmp_path / "home"
    subprocess.run(
        [RECON, "--home", str(home), "ingest", str(SAMPLE)],
        env=ENV,
        check=True,
        capture_output=True,
    )
    args = [
        "--home",
        str(home),
        "report",
        "create",
        "--type",
        "USER",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-31",
    ]
    results = [finish(p) for p in [start(*args), start(*args)]]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2]
    assert any("already exists" in err for _, _, err in results)
    reports = Recon(home).list_reports()
    assert [r.status for r in reports] == ["COMPLETED"]


def test_a_writer_that_cannot_wait_fails_fast_naming_the_holder(tmp_path):
    home = tmp_path / "home"
    # A writer mid-write (the server no longer holds the lock for its life, only per write).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from recon.home.layout import HomeLayout; "
            "from recon.home.lock import home_lock\n"
            "with home_lock(HomeLayout(pathlib.Path(sys.argv[1]))):\n"
            "    print('serving', flush=True); sys.stdin.read()",
            str(home),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and "serving" in holder.stdout.readline()
        done = subprocess.run(
            [RECON, "--home", str(home), "ingest", str(SAMPLE)],
            env={**ENV, "RECON_LOCK_WAIT": "0.3"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert f"is locked by PID {holder.pid}" in done.stderr
        assert "wait for that recon process to finish" in done.stderr
    finally:
        holder.terminate()
        holder.communicate(timeout=30)
    assert (
        subprocess.run(
            [RECON, "--home", str(home), "ingest", str(SAMPLE)],
            env=ENV,
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    assert Path(home / "recon.duckdb").exists()
