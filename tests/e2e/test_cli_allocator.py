"""Which commands tune Polars' allocator (`recon.core.allocator`): report builders only.

Each command runs through the CLI's own entry point in a fresh interpreter, which then prints
the allocator variable as the command left it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recon.core.allocator import OPTIONS_VARIABLE, REPORT_OPTIONS
from tests.conftest import FROZEN_NOW, SAMPLE

COMMAND_THEN_SHOW = f"""
import os, sys
from recon.serve.cli.main import main
sys.argv = ["recon", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("allocator:", os.environ.get({OPTIONS_VARIABLE!r}), file=sys.stderr)
"""


def allocator_after(home: Path, *args: str) -> str:
    inherited = {k: v for k, v in os.environ.items() if k != OPTIONS_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-c", COMMAND_THEN_SHOW, "--home", str(home), *args],
        env={**inherited, "RECON_NOW": FROZEN_NOW},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stderr.strip().splitlines()[-1].removeprefix("allocator: ")


def tuned(options: str) -> bool:
    """Our options last (Polars puts its own first on import), so they are the ones in force."""
    return options.endswith("," + REPORT_OPTIONS)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("allocator") / "home"
    assert not tuned(allocator_after(home, "ingest", str(SAMPLE), "--json"))  # an ingest: not
    return home


def test_a_report_keeps_freed_memory(home):
    period = ["--start", "2026-10-01", "--end", "2026-10-31"]
    assert tuned(allocator_after(home, "report", "create", "--type", "USER", *period))


def test_the_monthly_run_keeps_it_unless_it_ingests(home):
    assert tuned(allocator_after(home, "run", "--month", "2026-10"))
    assert not tuned(allocator_after(home, "run", "--month", "2026-10", "--logs", str(SAMPLE)))
