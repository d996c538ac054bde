"""Pandera loaded for Polars frames without pandas and hypothesis, checking the same."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from recon.core.pandera_loading import HiddenFromThread

# Bad frames of every contract, typed and not, checked in a new process; prints what failed
# (every failure case, as CSV) and which of the hidden packages ended up loaded.
_CHECK_IN_A_NEW_PROCESS = """
import json, sys
{before}
import polars as pl
from recon.core.contracts import (
    ContractError, REPORT_TYPES, report_categories, report_contract, events_contract,
)
contracts = [events_contract()] + [
    report_contract(t, c) for t in REPORT_TYPES for c in report_categories(t)
]
failures = []
for contract in contracts:
    for typed in (False, True):
        row = {{name: "x" for name in contract.names}}
        try:
            contract.validate(pl.DataFrame([row, row]), typed=typed)
            failures.append(None)
        except ContractError as exc:
            failures.append(exc.failure_cases.write_csv())
import pandera
loaded = [m for m in ("pandas", "hypothesis") if m in sys.modules]
print(json.dumps([failures, loaded, hasattr(pandera, "DataFrameSchema")]))
"""


def _check_in_a_new_process(before: str) -> tuple[list[str | None], list[str], bool]:
    """Every failure case in a new process, the hidden packages it loaded, and whether
    Pandera has its pandas API."""
    code = _CHECK_IN_A_NEW_PROCESS.format(before=before)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    failures, loaded, pandas_api = json.loads(out.stdout)
    return failures, loaded, pandas_api


def test_checking_frames_loads_neither_pandas_nor_hypothesis():
    failures, loaded, pandas_api = _check_in_a_new_process(before="")
    assert failures and all(f is not None and "x" in f for f in failures)  # checks still bite
    assert loaded == []
    assert not pandas_api  # Pandera took its path for an install without pandas


def test_with_pandas_and_hypothesis_loaded_first_pandera_checks_the_same():
    pytest.importorskip("pandas")
    failures, loaded, pandas_api = _check_in_a_new_process(before="import pandas, hypothesis")
    assert (loaded, pandas_api) == (["pandas", "hypothesis"], True)
    assert failures == _check_in_a_new_process(before="")[0]  # every failure case the same


def test_a_package_is_hidden_only_from_its_thread_and_only_while_not_loaded():
    hidden = HiddenFromThread(("some_package",), threading.get_ident())
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'some_package\.sub'"):
        hidden.find_spec("some_package.sub", None)
    assert hidden.find_spec("some_package_other", None) is None
    found: list[object] = []
    other = threading.Thread(target=lambda: found.append(hidden.find_spec("some_package", None)))
    other.start()
    other.join()
    assert found == [None]
    loaded = HiddenFromThread(("json",), threading.get_ident())  # loaded: stays visible
    assert loaded.find_spec("json.decoder", None) is None
