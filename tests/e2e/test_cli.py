"""The real `recon` executable, run as a user would: output, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RECON, SAMPLE, raw_row, run


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    done = run(home, "ingest", str(SAMPLE), "--json")
    assert done.returncode == 0, done.stderr
    return home


def test_ingest_json_counts_add_up(sample_home):
    again = run(sample_home, "ingest", str(SAMPLE), "--json")
    assert again.returncode == 0
    counts = json.loads(again.stdout)
    assert counts["rowsRead"] == counts["accepted"] + counts["duplicates"] + counts["quarantined"]
    assert counts["accepted"] == 0
    assert counts["skipped"][0]["path"].endswith("manifest.json")


def test_report_create_get_list_delete(sample_home):
    created = run(
        sample_home,
        "report",
        "create",
        "--type",
        "PARTNER",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-15",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    report = json.loads(created.stdout)
    assert report["status"] == "COMPLETED"
    assert (
        Path(report["csvPath"])
        .read_text()
        .startswith("PARTNER_NAME,PARTNER_ORG_ID,SUBSCRIPTION_ID,")
    )

    got = json.loads(run(sample_home, "report", "get", report["id"], "--json").stdout)
    assert got == report

    listed = json.loads(run(sample_home, "report", "list", "--end", "2026-10-15", "--json").stdout)
    assert [r["id"] for r in listed["items"]] == [report["id"]]

    human = run(sample_home, "report", "get", report["id"])
    assert "COMPLETED" in human.stdout and report["csvPath"] in human.stdout

    conflict = run(
        sample_home,
        "report",
        "create",
        "--type",
        "PARTNER",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-15",
    )
    assert conflict.returncode == 2
    assert f"delete it first: recon report delete {report['id']}" in conflict.stderr

    deleted = run(sample_home, "report", "delete", report["id"])
    assert deleted.returncode == 0
    assert not Path(report["csvPath"]).exists()
    missing = run(sample_home, "report", "get", report["id"])
    assert missing.returncode == 2
    assert "no report with id" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report", "create", "--type", "USER", "--start", "2026-10-31", "--end", "2026-10-01"],
            "billingStartDate 2026-10-31 is after billingEndDate 2026-10-01",
        ),
        (
            ["report", "create", "--type", "USER", "--start", "2026-13-01", "--end", "2026-10-01"],
            "--start '2026-13-01' is not a date",
        ),
        (
            ["report", "create", "--type", "PARTNER", "--category", "POINT_IN_TIME"],
            "POINT_IN_TIME reports exist for CUSTOMER and USER only",
        ),
        (
            [
                "report",
                "create",
                "--type",
                "USER",
                "--category",
                "POINT_IN_TIME",
                "--as-of",
                "2026-10-01T00:00:00",
            ],
            "has no UTC offset",
        ),
        (["sql", "DROP TABLE reports"], "read-only: a DROP statement is refused"),
        (["sql", "COPY reports TO '/tmp/x.csv'"], "read-only: a COPY statement is refused"),
        (["sql", "SELECT 1; SELECT 2"], "exactly one SQL statement"),
        (["sql", "SELECT * FROM no_such_table"], "SQL failed"),
        (["sql", "SELECT * FROM read_csv('/etc/passwd')"], "SQL failed"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(sample_home, args, message):
    done = run(sample_home, *args)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_errors_exit_2(sample_home):
    done = run(sample_home, "report", "create")
    assert done.returncode == 2
    assert "--type" in done.stderr


def test_sql_formats(sample_home):
    as_csv = run(
        sample_home,
        "sql",
        "SELECT reason, count(*) AS n FROM quarantine GROUP BY 1 ORDER BY 1",
        "--format",
        "csv",
    )
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[0] == "reason,n"
    as_json = json.loads(
        run(sample_home, "sql", "SELECT count(*) AS n FROM events", "--format", "json").stdout
    )
    assert as_json[0]["n"] > 4000
    table = run(
        sample_home, "sql", "SELECT anomaly, count(*) AS n FROM anomalies GROUP BY 1 ORDER BY 1"
    )
    assert "ORPHAN_UNASSIGN" in table.stdout and "DUPLICATE_ASSIGN" in table.stdout


def test_point_in_time_json(sample_home):
    done = run(
        sample_home,
        "report",
        "create",
        "--type",
        "CUSTOMER",
        "--category",
        "POINT_IN_TIME",
        "--as-of",
        "2026-10-15T00:00:00Z",
        "--json",
    )
    report = json.loads(done.stdout)
    assert report["category"] == "POINT_IN_TIME"
    assert report["asOf"] == "2026-10-15T00:00:00.000000Z"


def test_ingest_of_nothing_readable_exits_2(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    done = run(tmp_path / "home", "ingest", str(tmp_path / "notes.txt"))
    assert done.returncode == 2
    assert "no log files found" in done.stderr


def test_generate_writes_the_formats_asked_for(tmp_path):
    done = subprocess.run(
        [
            RECON,
            "generate",
            str(tmp_path / "g"),
            "--subjects",
            "50",
            "--customers",
            "5",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-03",
            "--format",
            "jsonl",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert files and all(f.endswith(".jsonl") for f in files)


def test_ingest_prints_a_table_with_totals(tmp_path, write_csv):
    path = write_csv("d.csv", [raw_row(event_id="e1"), raw_row(event_id="e2", action="NOPE")])
    done = run(tmp_path / "home", "ingest", str(path))
    assert done.returncode == 0
    assert "total" in done.stdout and "INVALID_ACTION 1" in done.stdout


def test_reconcile_exit_codes(sample_home, tmp_path):
    created = json.loads(
        run(
            sample_home,
            "report",
            "create",
            "--type",
            "PARTNER",
            "--start",
            "2026-09-01",
            "--end",
            "2026-09-30",
            "--json",
        ).stdout
    )
    same = run(sample_home, "reconcile", "--report", created["id"], "--vendor", created["csvPath"])
    assert same.returncode == 0, same.stderr
    assert "MATCH 16" in same.stdout

    lines = Path(created["csvPath"]).read_text().splitlines()
    changed = tmp_path / "vendor.csv"
    changed.write_text(
        "\n".join([lines[0], lines[1].rsplit(",", 1)[0] + ",1.5", *lines[2:]]) + "\n"
    )
    differs = run(
        sample_home, "reconcile", "--report", created["id"], "--vendor", str(changed), "--json"
    )
    assert differs.returncode == 1
    assert json.loads(differs.stdout)["counts"]["UNDER_BILLED"] == 1

    broken = tmp_path / "broken.csv"
    broken.write_text("not,a,report\n1,2,3\n")
    refused = run(sample_home, "reconcile", "--report", created["id"], "--vendor", str(broken))
    assert refused.returncode == 2
    assert "does not have the PARTNER RECONCILIATION columns" in refused.stderr


def test_run_the_month_with_the_bundled_vendor_files(tmp_path):
    home = tmp_path / "home"
    args = [
        "run",
        "--month",
        "2026-10",
        "--logs",
        str(SAMPLE),
        "--vendor-dir",
        str(SAMPLE.parent / "vendor"),
        "--tolerance",
        "0.000001",
        "--prices",
        str(SAMPLE.parent / "prices.csv"),
    ]
    first = run(home, *args, "--json")
    assert first.returncode == 1, first.stderr
    summary = json.loads(first.stdout)
    assert [r["type"] for r in summary["reports"]] == ["PARTNER", "CUSTOMER", "LOCATION", "USER"]
    assert all(r["reconciliation"]["discrepancies"] > 0 for r in summary["reports"])
    again = run(home, *args)
    assert again.returncode == 1
    assert again.stdout.count("(reused)") == 4
    assert "EUR" in again.stdout


def test_explain_prints_the_trail(sample_home):
    done = run(
        sample_home,
        "explain",
        "--customer",
        "org-customer-000010",
        "--workspace",
        "workspace-00000255",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-31",
    )
    assert done.returncode == 0, done.stderr
    assert "NAIVE_TIMESTAMP" in done.stdout
    assert "intervals: none" in done.stdout
    as_json = json.loads(
        run(
            sample_home,
            "explain",
            "--customer",
            "org-customer-000010",
            "--start",
            "2026-10-01",
            "--end",
            "2026-10-02",
            "--json",
        ).stdout
    )
    assert as_json["timezone"] == "UTC" and as_json["daily"]


def test_reconcile_writes_an_html_summary(sample_home, tmp_path):
    created = json.loads(
        run(
            sample_home,
            "report",
            "create",
            "--type",
            "CUSTOMER",
            "--start",
            "2026-09-01",
            "--end",
            "2026-09-30",
            "--json",
        ).stdout
    )
    page = tmp_path / "summary.html"
    done = run(
        sample_home,
        "reconcile",
        "--report",
        created["id"],
        "--vendor",
        created["csvPath"],
        "--html",
        str(page),
    )
    assert done.returncode == 0, done.stderr
    assert page.read_text().count("data:image/png;base64,") == 3
