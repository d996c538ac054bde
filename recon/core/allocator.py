"""Polars' memory allocator, told to keep freed pages a while in processes that build reports.

Polars allocates with jemalloc, which, as Polars builds it, hands freed pages back to the
kernel soon after they are freed (`dirty_decay_ms:500,muzzy_decay_ms:1000`). The report engine
works slice after slice of customers, each allocating columns of the same sizes as the last, so
every slice faults the same memory in again: at 10M subjects a USER report took 6.7-7.0M page
faults and 17-22 s of system time out of 57-59 s. Keeping dirty pages for `KEPT_MS` (jemalloc's
`dirty_decay_ms`, at jemalloc's own default) lets the next slice reuse them: 2.4M faults, 7.5 s
of system time, 48.7-49.4 s; peak RSS 3.0 to 3.4 GiB. `recon run` (four reports) in London:
71.7 to 65.4 s, 3.0 to 3.6 GiB. Twice as long, muzzy pages kept as well, gains 1-2 s more but
takes `recon run` to 4.3 GiB.

Only for processes that build reports and ingest nothing: an ingest keeps the default, since
its peak at 10M subjects would rise from 3,738 MiB to 4,082 MiB, the very edge of the 4 GiB it
must stay under, for 11% less time (140.7 to 125.4 s). jemalloc reads its options once, when
Polars is loaded: on import Polars puts its own in `_RJEM_MALLOC_CONF` with what the variable
already holds after them (pola-rs/polars#18088), so this must run before anything imports
Polars. A value the user set is left alone; one that holds only Polars' own options was
inherited from a parent process that imported Polars (a Python script starting `recon`), and
is replaced.
"""

from __future__ import annotations

import os
import sys
from typing import Final

OPTIONS_VARIABLE: Final = "_RJEM_MALLOC_CONF"  # jemalloc's variable, as Polars' build names it
KEPT_MS: Final = 10_000
REPORT_OPTIONS: Final = f"dirty_decay_ms:{KEPT_MS}"
# What Polars puts in the variable on import (with POLARS_THP=1, the last two as well).
POLARS_OPTIONS: Final = frozenset(
    {"dirty_decay_ms:500", "muzzy_decay_ms:1000", "thp:always", "metadata_thp:always"}
)


def keep_freed_memory() -> bool:
    """Ask Polars' allocator to keep freed pages `KEPT_MS` for reuse (see the module).

    True when set; False when Polars is already loaded (too late: its allocator has read its
    options) or the variable holds an option Polars does not set (the user's choice stands).
    """
    if any(name.startswith(("polars", "_polars_runtime")) for name in sys.modules):
        return False
    held = os.environ.get(OPTIONS_VARIABLE, "").split(",")
    if any(option and option not in POLARS_OPTIONS for option in held):
        return False
    os.environ[OPTIONS_VARIABLE] = REPORT_OPTIONS
    return True
