"""Polars' allocator options: set in a fresh process before Polars loads, and read by it."""

from __future__ import annotations

import os
import subprocess
import sys

from recon.core.allocator import KEPT_MS, OPTIONS_VARIABLE, POLARS_OPTIONS, REPORT_OPTIONS

SET_AND_SHOW = (
    "import os; from recon.core.allocator import keep_freed_memory; "
    f"print(keep_freed_memory(), os.environ.get({OPTIONS_VARIABLE!r}))"
)


def fresh_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a new interpreter, the allocator variable unset unless given in `env`."""
    inherited = {k: v for k, v in os.environ.items() if k != OPTIONS_VARIABLE}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_set_before_polars_loads():
    assert fresh_python(SET_AND_SHOW).stdout.split() == ["True", REPORT_OPTIONS]


def test_the_users_own_options_stand():
    shown = fresh_python(SET_AND_SHOW, **{OPTIONS_VARIABLE: "narenas:1"})
    assert shown.stdout.split() == ["False", "narenas:1"]


def test_options_inherited_from_a_parent_that_imported_polars_are_replaced():
    """A Python script that imported Polars hands Polars' options to the `recon` it starts."""
    inherited = fresh_python(f"import os, polars; print(os.environ[{OPTIONS_VARIABLE!r}])")
    options = inherited.stdout.strip()
    assert set(options.split(",")) <= POLARS_OPTIONS  # what Polars sets is what we recognise
    shown = fresh_python(SET_AND_SHOW, **{OPTIONS_VARIABLE: options})
    assert shown.stdout.split() == ["True", REPORT_OPTIONS]


def test_too_late_once_polars_is_loaded():
    done, options = fresh_python("import polars; " + SET_AND_SHOW).stdout.split()
    assert done == "False"
    assert REPORT_OPTIONS not in options.split(",")  # Polars' own, set on import


def test_polars_allocator_reads_the_options():
    """jemalloc prints its options at exit when asked: ours replace Polars' built-in ones."""
    code = (
        "import os; from recon.core.allocator import keep_freed_memory; keep_freed_memory(); "
        f"os.environ[{OPTIONS_VARIABLE!r}] += ',stats_print:true'; "
        "import polars as pl; print(pl.Series(range(1000)).sum())"
    )
    done = fresh_python(code)
    assert done.stdout.split()[0] == "499500"
    assert f"opt.dirty_decay_ms: {KEPT_MS} " in done.stderr
    assert "Invalid conf" not in done.stderr
