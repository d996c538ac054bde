"""Small things users trip on: cron logs, narrow terminals, typos in settings and options, one
JSON key style, the ledger's clock and the demo's question. Each ran wrong before."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CATALOG_PATH, FROZEN_NOW, RECON, REPO, SAMPLE

VENDOR = REPO / "data" / "vendor"


def recon(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RECON, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RECON_NOW": FROZEN_NOW, **(env or {})},
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def month(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    home = tmp_path_factory.mktemp("small") / "home"
    ran = recon(
        home,
        "run",
        "--month",
        "2026-10",
        "--logs",
        str(SAMPLE),
        "--vendor-dir",
        str(VENDOR),
        "--tolerance",
        "0.000001",
    )
    assert ran.returncode == 1, ran.stderr
    return home, ran


def test_progress_is_one_plain_line_per_step_without_a_terminal(month, tmp_path):
    _, ran = month
    steps = [line for line in ran.stderr.splitlines() if " recon: " in line]
    files = sorted(p.name for p in SAMPLE.iterdir() if p.suffix in {".csv", ".jsonl", ".parquet"})
    for name in files:
        assert sum(f"recon: reading {name} (" in line for line in steps) == 1, ran.stderr
    for report_type in ("PARTNER", "CUSTOMER", "LOCATION", "USER"):
        assert any(f"recon: {report_type} report for 2026-10" in line for line in steps)
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ recon: ", line) for line in steps)


def test_ids_and_quantities_are_never_cut_off_at_80_columns(month):
    home, _ = month
    narrow = {"COLUMNS": "80"}
    reports = json.loads(recon(home, "report", "list", "--json").stdout)["items"]
    assert len(reports) == 4
    listing = recon(home, "report", "list", env=narrow).stdout
    queried = recon(
        home, "sql", "SELECT id, total_quantity, csv_path FROM reports", env=narrow
    ).stdout
    ran = recon(home, "run", "--month", "2026-10", "--vendor-dir", str(VENDOR), env=narrow).stdout
    for shown in (listing, queried, ran):
        assert "…" not in shown
        assert all(len(line) <= 80 for line in shown.splitlines())
    for r in reports:
        for shown in (listing, queried, ran):
            assert r["id"] in shown
        assert r["totalQuantity"] in listing and r["totalQuantity"] in queried


def test_an_unknown_key_in_recon_toml_is_an_error_naming_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    settings = home / "recon.toml"
    for text, named in (
        ('[biling]\ntimezone = "UTC"\n', "biling"),
        ('[billing]\ntimezon = "UTC"\n', "timezon"),
        ('catalogue = "x.csv"\n', "catalogue"),
    ):
        settings.write_text(text)
        done = recon(home, "ingest", str(SAMPLE))
        assert done.returncode == 2, done.stderr
        assert f"unknown key(s) {named}" in done.stderr
    settings.write_text('[billing]\ntimezone = "UTC"\n\n[ingest]\ntimezone = "UTC"\n')
    assert recon(home, "ingest", str(SAMPLE)).returncode == 0


def test_typos_and_the_future_are_refused(month, tmp_path):
    home, _ = month
    future = recon(
        home,
        "report",
        "create",
        "--type",
        "USER",
        "--category",
        "POINT_IN_TIME",
        "--as-of",
        "2026-11-21T12:00:01Z",
    )
    assert future.returncode == 2
    assert "asOf 2026-11-21T12:00:01+00:00 is in the future" in future.stderr
    listed = recon(home, "report", "list", "--type", "FOO")
    assert listed.returncode == 2
    assert "type 'FOO' is not a report type" in listed.stderr
    unknown = recon(
        home,
        "explain",
        "--customer",
        "org-customer-000118",
        "--user",
        "user-nobody",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-31",
    )
    assert unknown.returncode == 2
    assert "no events for user 'user-nobody' of customer 'org-customer-000118'" in unknown.stderr
    lines = CATALOG_PATH.read_text().splitlines()
    sku = lines[1].split(",")[1]
    shared = [lines[0], lines[1], lines[2].split(",")[0] + f",{sku}," + lines[2].split(",", 2)[2]]
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("\n".join(shared + lines[3:]) + "\n")
    refused = recon(home, "--catalog", str(catalog), "ingest", str(SAMPLE))
    assert refused.returncode == 2, refused.stderr
    assert f"SKU {sku!r} is on 2 packages" in refused.stderr


def _keys(payload: Any, path: str = "") -> list[str]:
    """Every key of a JSON document, except those of maps keyed by values (class, reason)."""
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            found.append(f"{path}.{key}")
            if key not in {"counts", "quarantineReasons"}:
                found += _keys(value, f"{path}.{key}")
    elif isinstance(payload, list):
        for item in payload:
            found += _keys(item, f"{path}[]")
    return found


def test_every_json_output_uses_camel_case_keys(month, tmp_path):
    home, _ = month
    user = json.loads(recon(home, "report", "list", "--type", "USER", "--json").stdout)["items"][0]
    outputs = {
        "ingest": recon(home, "ingest", str(SAMPLE), "--json"),
        "run": recon(home, "run", "--month", "2026-10", "--vendor-dir", str(VENDOR), "--json"),
        "reconcile": recon(
            home,
            "reconcile",
            "--report",
            user["id"],
            "--vendor",
            str(VENDOR / "vendor-USER-2026-10.csv"),
            "--json",
        ),
        "explain": recon(
            home,
            "explain",
            "--customer",
            "org-customer-000118",
            "--start",
            "2026-10-01",
            "--end",
            "2026-10-02",
            "--json",
        ),
        "generate": subprocess.run(
            [
                RECON,
                "generate",
                str(tmp_path / "g"),
                "--subjects",
                "20",
                "--customers",
                "2",
                "--start",
                "2026-01-01",
                "--end",
                "2026-01-02",
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        ),
    }
    for name, done in outputs.items():
        assert done.returncode in (0, 1), (name, done.stderr)
        keys = _keys(json.loads(done.stdout))
        assert keys, name
        wrong = [k for k in keys if not re.fullmatch(r"[a-z][a-zA-Z0-9]*", k.rsplit(".", 1)[1])]
        assert wrong == [], name
    ingest = json.loads(outputs["ingest"].stdout)
    assert ingest["rowsRead"] == ingest["accepted"] + ingest["duplicates"] + ingest["quarantined"]


def test_the_ingest_ledger_follows_recon_now(tmp_path):
    home = tmp_path / "home"
    assert (
        recon(home, "ingest", str(SAMPLE), env={"RECON_NOW": "2030-01-02T03:04:05Z"}).returncode
        == 0
    )
    done = recon(
        home,
        "sql",
        "SELECT started_at, finished_at FROM ingests",
        "--format",
        "json",
        env={"RECON_NOW": "2030-01-02T03:04:05Z"},
    )
    [row] = json.loads(done.stdout)
    assert row["started_at"].startswith("2030-01-02 03:04:05")
    assert row["finished_at"] == row["started_at"]


def test_the_demo_asks_about_the_number_its_explain_shows(month):
    home, _ = month
    makefile = (REPO / "Makefile").read_text()
    ours, theirs = re.search(
        r"why do we say ([0-9.]+) .* the vendor says ([0-9.]+)\?", makefile
    ).groups()
    command = re.search(r"\) explain (.*?)\n\s*@echo", makefile.replace("\\\n", " "), re.S)
    assert command is not None
    args = shlex.split(command.group(1))
    shown = recon(home, "explain", *args, env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert f" {ours} " in shown.stdout.splitlines()[-2]  # the USER report row, rounded once
    customer = args[args.index("--customer") + 1]
    user = args[args.index("--user") + 1]
    vendor_rows = (VENDOR / "vendor-USER-2026-10.csv").read_text().splitlines()
    assert any(customer in r and user in r and f",{theirs}," in r for r in vendor_rows)
