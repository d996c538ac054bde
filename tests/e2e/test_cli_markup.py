"""Text from data and arguments is printed as it is: never read as Rich markup or emoji codes.

Values such as `loc[/x]` used to crash `explain` and `sql` with a traceback, `[b]` vanished,
`[link=...]` became a terminal link and `:x:` an emoji. The real `recon` executable is fed such
values through every command that prints, and each must appear literally.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import FROZEN_NOW, RECON, raw_row

CLOSE = "loc[/x]"
BOLD = "[b]bold[/b]"
LINK = "[link=http://e.x]l[/link]"
EMOJI = "ws:x:"
CUSTOMER = "org[red]C"


def recon(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RECON, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RECON_NOW": FROZEN_NOW, "COLUMNS": "250"},
        check=False,
        timeout=300,
    )


def literal(done: subprocess.CompletedProcess[str], *texts: str, codes: tuple[int, ...]) -> None:
    """Each text appears as given; no traceback; the exit code is a documented one."""
    shown = done.stdout + done.stderr
    assert done.returncode in codes, shown
    assert "Traceback" not in shown and "internal error" not in shown, shown
    for text in texts:
        assert text in shown, f"{text!r} not shown literally in:\n{shown}"
    assert "❌" not in shown and "\x1b]8;" not in shown  # no emoji, no terminal hyperlink


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("markup")
    rows = [
        raw_row(
            event_id="e1",
            occurred_at="2026-03-01T10:00:00Z",
            customer_org_id=CUSTOMER,
            location_id=CLOSE,
            user_id=BOLD,
        ),
        raw_row(
            event_id="e2",
            occurred_at="2026-03-02T10:00:00Z",
            customer_org_id=CUSTOMER,
            location_id=CLOSE,
            user_id=LINK,
        ),
        raw_row(
            event_id="e3",
            occurred_at="2026-03-03T10:00:00Z",
            customer_org_id=CUSTOMER,
            location_id=CLOSE,
            user_id="",
            workspace_id=EMOJI,
            package="COMMON_AREA_CALLING",
        ),
        raw_row(event_id="e4", package="[b]NOPE[/b]"),
    ]
    log = root / "logs" / "[b]day:x:.csv"
    log.parent.mkdir()
    pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)).write_csv(log)
    done = recon(root / "home", "ingest", str(log.parent))
    literal(done, "[b]day:x:.csv", codes=(0,))
    return root / "home"


def test_markup_and_emoji_codes_are_printed_literally_everywhere(home, tmp_path):
    created = recon(
        home,
        "report",
        "create",
        "--type",
        "USER",
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-31",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    report = json.loads(created.stdout)
    literal(recon(home, "report", "get", report["id"]), report["id"], codes=(0,))
    literal(recon(home, "report", "list"), report["id"], codes=(0,))

    # explain and sql show the ids as they are in the log
    explained = recon(
        home, "explain", "--customer", CUSTOMER, "--start", "2026-03-01", "--end", "2026-03-05"
    )
    literal(explained, CUSTOMER, CLOSE, BOLD, LINK, EMOJI, codes=(0,))
    one = recon(
        home,
        "explain",
        "--customer",
        CUSTOMER,
        "--user",
        BOLD,
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-05",
    )
    literal(one, CUSTOMER, CLOSE, BOLD, codes=(0,))
    queried = recon(
        home,
        "sql",
        "SELECT customer_org_id, location_id, user_id, workspace_id FROM events ORDER BY event_id",
    )
    literal(queried, CUSTOMER, CLOSE, BOLD, LINK, EMOJI, codes=(0,))
    quarantined = recon(home, "sql", "SELECT detail, source_file FROM quarantine")
    literal(quarantined, "[b]NOPE[/b]", "[b]day:x:.csv", codes=(0,))

    # reconcile: a vendor file named with markup, one quantity changed
    lines = (home / report["csvPath"]).read_text().splitlines()  # relative to the home, or not
    vendor_dir = tmp_path / "vendor"
    vendor_dir.mkdir()
    vendor = vendor_dir / "[bold]USER:x:-2026-03.csv"
    vendor.write_text("\n".join([lines[0], lines[1].rsplit(",", 1)[0] + ",0.5", *lines[2:]]))
    compared = recon(home, "reconcile", "--report", report["id"], "--vendor", str(vendor))
    literal(compared, "[bold]USER:x:-2026-03.csv", CUSTOMER, codes=(1,))
    ran = recon(home, "run", "--month", "2026-03", "--vendor-dir", str(vendor_dir))
    literal(ran, "[bold]USER:x:-2026-03.csv", codes=(1, 2, 4))

    # arguments echoed in errors
    token = recon(home, "token", "create", "--note", f"{LINK} {BOLD} :x:")
    literal(token, f"{LINK} {BOLD} :x:", codes=(0,))
    literal(recon(home, "report", "get", CLOSE), CLOSE, codes=(2,))
    literal(recon(home, "report", "list", "--type", "[red]PARTNER"), "[red]PARTNER", codes=(2,))
    bad_zone = recon(
        home,
        "report",
        "create",
        "--type",
        "USER",
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-31",
        "--tz",
        CLOSE,
    )
    literal(bad_zone, f"unknown time zone {CLOSE!r}", codes=(2,))
    bad_date = recon(home, "report", "create", "--type", "USER", "--start", BOLD, "--end", "x")
    literal(bad_date, f"--start {BOLD!r} is not a date", codes=(2,))
    literal(recon(home, "sql", f"SELECT * FROM {LINK}"), LINK, codes=(2,))
    unknown_user = recon(
        home,
        "explain",
        "--customer",
        CUSTOMER,
        "--user",
        f"{LINK}x",
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-02",
    )
    literal(unknown_user, f"{LINK}x", codes=(2,))
