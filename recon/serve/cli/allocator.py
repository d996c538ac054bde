"""Polars' memory allocator, told to keep freed pages a while in processes that build reports.

Polars allocates with jemalloc, which, as Polars builds it, hands freed pages back to the
kernel soon after they are freed (`dirty_decay_ms:500,muzzy_decay_ms:1000`). The report engine
works slice after slice of customers, each allocating columns of the same sizes as the last, so
every slice faults the same memory in again: at 10M subjects a USER report took 6.7-7.0M page
faults and 17-22 s of system time out of 57-59 s. Keeping dirty pages for `KEPT_MS` (jemalloc's
`dirty_decay_ms`, at jemalloc's own default) lets the next slice reuse them: 2.4M faults, 7.5 s
of system time, 48.7-49.4 s; peak RSS 3.0 to 3.3 GiB. `recon run` (four reports) in London:
71.7 to 65.4 s, 3.0 to 3.6 GiB. Twice as long, muzzy pages kept as well, gains 1-2 s more but
takes `recon run` to 4.3 GiB.

Only for commands that build reports and ingest nothing (`recon report create`, `recon run`
without `--logs`): an ingest keeps Polars' options, since its peak at 10M subjects would rise
from 3,738 MiB to 4,082 MiB, the very edge of the 4 GiB it must stay under, for 11% less time
(140.7 to 125.4 s); so does `recon serve`, which ingests too.

jemalloc reads its options once, when Polars loads: on import Polars puts its own in
`_RJEM_MALLOC_CONF`, followed by what the variable already held (pola-rs/polars#18088). So this
sets the variable, loads Polars, and puts the variable back as it was: the process keeps the
options, and the processes it starts (Spark's workers, say) do not inherit them. A value the
user set is left alone (`_RJEM_MALLOC_CONF=dirty_decay_ms:500` keeps Polars' own); one that is
only Polars' options was inherited from a parent process that loaded Polars (a Python script
starting `recon`), and counts as unset.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import import_module
from typing import Final

OPTIONS_VARIABLE: Final = "_RJEM_MALLOC_CONF"  # jemalloc's variable, as Polars' build names it
KEPT_MS: Final = 10_000
REPORT_OPTIONS: Final = f"dirty_decay_ms:{KEPT_MS}"
# What Polars puts in the variable on import (`,thp:always,metadata_thp:always` after it with
# POLARS_THP=1), once per process that loaded Polars on the way here.
POLARS_OPTIONS: Final = "dirty_decay_ms:500,muzzy_decay_ms:1000"
_ONLY_POLARS: Final = re.compile(
    rf"({re.escape(POLARS_OPTIONS)}(,thp:always,metadata_thp:always)?)"
    rf"(,{re.escape(POLARS_OPTIONS)}(,thp:always,metadata_thp:always)?)*"
)


def keep_freed_memory() -> bool:
    """Load Polars with its allocator keeping freed pages `KEPT_MS` (see the module).

    True when done; False when Polars was already loaded (too late: its allocator has read
    its options) or the user set `_RJEM_MALLOC_CONF` (their choice stands).
    """
    if any(name.startswith(("polars", "_polars_runtime")) for name in sys.modules):
        return False
    held = os.environ.get(OPTIONS_VARIABLE)
    if held and not _ONLY_POLARS.fullmatch(held):
        return False
    os.environ[OPTIONS_VARIABLE] = REPORT_OPTIONS
    try:
        import_module("polars")
    finally:
        if held is None:
            del os.environ[OPTIONS_VARIABLE]
        else:
            os.environ[OPTIONS_VARIABLE] = held
    return True
