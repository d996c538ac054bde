"""Loading Pandera for Polars frames without the pandas and hypothesis it would load too.

Pandera's top-level package imports pandas whenever pandas is installed (and with it its
pandas API and pyspark.pandas), and its data-synthesis strategies import hypothesis: 0.5 s of
every process that checks rows, single-threaded, against 0.12 s without. Here both are
installed only for the Spark engine and the test tools, and recon checks Polars frames only.

So the first load hides whichever of the two is not loaded yet, from the loading thread only,
and Pandera takes the path it documents for an install without them. One check then runs on
that thread: Pandera looks for pandas' check backends once per process, on its first check.
Other threads see both packages throughout, and so does every later import; Pandera itself
stays as loaded, though: a process that needs Pandera's pandas API (`pandera.pandas`) must
import pandas before recon checks its first frame, and Pandera then loads in full.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from importlib import import_module
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Final

_LOADING: Final = threading.Lock()
# Pandera imports these whenever they are installed, and needs neither to check Polars frames.
NOT_NEEDED_BY_PANDERA: Final = ("pandas", "hypothesis")


def load_pandera() -> None:
    """Import `pandera.polars`, the first time hiding pandas and hypothesis (module docstring)."""
    with _LOADING:
        if "pandera.polars" in sys.modules:
            return
        import_module("polars")  # loaded before anything is hidden: it looks for pandas too
        if "pandera" in sys.modules:
            import_module("pandera.polars")
            return
        hidden = HiddenFromThread(NOT_NEEDED_BY_PANDERA, threading.get_ident())
        sys.meta_path.insert(0, hidden)
        try:
            import_module("pandera.polars")
            _first_check()
        finally:
            sys.meta_path.remove(hidden)


class HiddenFromThread(MetaPathFinder):
    """Packages that one thread cannot import while they are not loaded, as if not installed."""

    def __init__(self, packages: tuple[str, ...], thread: int) -> None:
        self.packages = packages
        self.thread = thread

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Raise as a missing package would; a package another thread loaded stays visible."""
        package = fullname.partition(".")[0]
        if (
            package in self.packages
            and package not in sys.modules
            and threading.get_ident() == self.thread
        ):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def _first_check() -> None:
    import pandera.polars as pa  # noqa: PLC0415
    import polars as pl  # noqa: PLC0415

    schema = pa.DataFrameSchema({"x": pa.Column(pl.Int64, checks=pa.Check.ge(0))})
    schema.validate(pl.DataFrame({"x": [0]}))
