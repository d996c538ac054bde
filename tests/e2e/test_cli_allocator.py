"""Polars' allocator options for report-building commands (`recon.serve.cli.allocator`).

Each case runs in a fresh interpreter: jemalloc reads its options once, when Polars loads.
jemalloc prints its options at exit when `stats_print:true` is among them, so the options in
force are read from there, added to ours for the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recon.serve.cli.allocator import KEPT_MS, OPTIONS_VARIABLE, POLARS_OPTIONS
from tests.conftest import CLI_IN_PROCESS, FROZEN_NOW, SAMPLE

# Ours, with jemalloc asked to print the options in force at exit.
PRINTING = (
    "import recon.serve.cli.allocator as allocator\n"
    "allocator.REPORT_OPTIONS += ',stats_print:true'\n"
)
SET_AND_SHOW = (
    PRINTING + "import os\n"
    "print(allocator.keep_freed_memory(), os.environ.get(allocator.OPTIONS_VARIABLE))\n"
)
OURS_IN_FORCE = f"opt.dirty_decay_ms: {KEPT_MS} "


def fresh_python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a new interpreter, the allocator variable unset unless given in `env`."""
    inherited = {k: v for k, v in os.environ.items() if k != OPTIONS_VARIABLE}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**inherited, "RECON_NOW": FROZEN_NOW, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )


def test_polars_loads_with_ours_and_child_processes_do_not_inherit_them():
    done = fresh_python(SET_AND_SHOW)
    assert done.stdout.split() == ["True", "None"]  # the variable is put back as it was
    assert OURS_IN_FORCE in done.stderr
    assert "Invalid conf" not in done.stderr


@pytest.mark.parametrize("users", ["narenas:1", "dirty_decay_ms:500"])  # the second: opting out
def test_the_users_own_options_stand(users):
    done = fresh_python(SET_AND_SHOW, **{OPTIONS_VARIABLE: users})
    assert done.stdout.split() == ["False", users]
    assert OURS_IN_FORCE not in done.stderr


def test_options_inherited_from_a_parent_that_loaded_polars_are_not_the_users():
    """A Python script that imported Polars hands Polars' options to the `recon` it starts."""
    parent = fresh_python(f"import os, polars; print(os.environ[{OPTIONS_VARIABLE!r}])")
    inherited = parent.stdout.strip()
    assert inherited == POLARS_OPTIONS  # what Polars sets is what we recognise
    for held in (inherited, f"{inherited},{inherited}"):  # a parent's parent loaded it too
        done = fresh_python(SET_AND_SHOW, **{OPTIONS_VARIABLE: held})
        assert done.stdout.split() == ["True", held]
        assert OURS_IN_FORCE in done.stderr


def test_too_late_once_polars_is_loaded():
    done = fresh_python("import polars\n" + SET_AND_SHOW)
    assert done.stdout.split()[0] == "False"
    assert OURS_IN_FORCE not in done.stderr


COMMAND = PRINTING + CLI_IN_PROCESS


def tuned(home: Path, exit_code: int, *args: str) -> bool:
    """Run a command through the CLI's entry point: whether ours were the options in force."""
    done = fresh_python(COMMAND, "--home", str(home), *args)
    assert done.stdout.strip().splitlines()[-1] == f"EXIT {exit_code}", done.stderr[-2000:]
    return OURS_IN_FORCE in done.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("allocator") / "home"
    assert not tuned(home, 0, "ingest", str(SAMPLE), "--json")  # an ingest: Polars' own
    return home


def test_a_report_keeps_freed_memory(home):
    period = ["--start", "2026-10-01", "--end", "2026-10-31", "--json"]
    assert tuned(home, 0, "report", "create", "--type", "USER", *period)


def test_the_monthly_run_keeps_it_unless_it_ingests(home):
    # 4: the reports are built, no vendor files to compare them with
    assert tuned(home, 4, "run", "--month", "2026-10", "--json")
    assert not tuned(home, 4, "run", "--month", "2026-10", "--logs", str(SAMPLE), "--json")
