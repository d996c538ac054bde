"""Ctrl-C and odd paths: exit 130 with nothing published, and clear errors instead of bugs.

Each case used to be an `internal error` (exit 3), Typer's silent exit, or a home created where
none was asked for. The real `recon` executable is run as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FROZEN_NOW, RECON, SAMPLE

ENV = {**os.environ, "RECON_NOW": FROZEN_NOW}


def recon(
    home: Path | str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RECON, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
        timeout=300,
        cwd=cwd,
    )


def test_ctrl_c_during_a_report_publishes_nothing_and_exits_130(tmp_path):
    logs, home = tmp_path / "logs", tmp_path / "home"
    generated = subprocess.run(
        [
            RECON,
            "generate",
            str(logs),
            "--subjects",
            "6000",
            "--customers",
            "200",
            "--reassignments-per-month",
            "4",
            "--format",
            "parquet",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
        timeout=300,
    )
    assert generated.returncode == 0, generated.stderr
    assert recon(home, "ingest", str(logs), "--json").returncode == 0
    # stderr is a pipe, so progress comes as plain lines: interrupt once the work has started
    build = subprocess.Popen(
        [
            RECON,
            "--home",
            str(home),
            "report",
            "create",
            "--type",
            "USER",
            "--start",
            "2026-09-01",
            "--end",
            "2026-10-31",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert build.stderr is not None
    seen = []
    for line in build.stderr:
        seen.append(line)
        if "computing intervals and quantities" in line:
            build.send_signal(signal.SIGINT)
            break
    out, rest = build.communicate(timeout=120)
    said = "".join(seen) + rest
    assert build.returncode == 130, said + out
    assert "interrupted, nothing was published" in said
    assert "internal error" not in said and "Traceback" not in said
    listed = json.loads(recon(home, "report", "list", "--json").stdout)["items"]
    assert [r["status"] for r in listed] == ["FAILED"]
    assert listed[0]["errors"][0]["code"] == "INTERRUPTED"
    assert list((home / "reports").glob("*.csv")) == []


def test_a_file_as_home_and_an_empty_home_are_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (["report", "list"], ["ingest", str(SAMPLE)]):
        done = recon(afile, *args)
        assert done.returncode == 2, done.stderr
        assert f"home {afile} is a file, not a folder" in done.stderr
    empty = recon("", "report", "list", cwd=tmp_path)
    assert empty.returncode == 2
    assert "the home folder name is empty" in empty.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "list"],
        ["report", "get", "rpt-x"],
        ["sql", "SELECT 1"],
        ["explain", "--customer", "c", "--start", "2026-10-01", "--end", "2026-10-02"],
    ],
)
def test_a_reader_never_creates_a_home(tmp_path, args):
    absent = tmp_path / "a" / "b" / "c"
    done = recon(absent, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{absent} is not a recon home" in done.stderr
    assert "recon ingest" in done.stderr  # says how to create one
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("odd") / "home"
    assert recon(home, "ingest", str(SAMPLE)).returncode == 0
    created = recon(
        home,
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
    assert created.returncode == 0, created.stderr
    return home, json.loads(created.stdout)


def test_reconcile_out_a_file_and_html_a_folder_are_clear_errors(report, tmp_path):
    home, created = report
    vendor = home / created["csvPath"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = recon(
        home, "reconcile", "--report", created["id"], "--vendor", str(vendor), "--out", str(afile)
    )
    assert out.returncode == 2, out.stderr
    assert f"--out {afile} is a file, not a folder" in out.stderr
    folder = tmp_path / "bad"
    folder.mkdir()
    html = recon(
        home, "reconcile", "--report", created["id"], "--vendor", str(vendor), "--html", str(folder)
    )
    assert html.returncode == 2, html.stderr
    assert f"--html {folder} is a folder" in html.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "bad"]  # no .bad.tmp
    assert list(folder.iterdir()) == []
    assert not (home / "reconciliations").exists()  # refused before anything was stored


@pytest.mark.parametrize("quantity", ["1" + "0" * 46, "99999999999999999999.5"])
def test_a_huge_vendor_quantity_is_bad_input(report, tmp_path, quantity):
    home, created = report
    lines = (home / created["csvPath"]).read_text().splitlines()
    vendor = tmp_path / "vendor.csv"
    vendor.write_text(
        "\n".join([lines[0], lines[1].rsplit(",", 1)[0] + f",{quantity}", *lines[2:]])
    )
    done = recon(home, "reconcile", "--report", created["id"], "--vendor", str(vendor))
    assert done.returncode == 2, done.stderr
    assert f"QUANTITY {quantity!r} is not a non-negative number" in done.stderr
    assert "at most 10 digits before the point" in done.stderr
