"""The package catalog and its contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from recon.core.errors import BadInputError
from recon.ingest.catalog import load_catalog
from tests.conftest import CATALOG_PATH


def test_the_shipped_catalog_covers_the_rules_packages_with_placeholder_skus():
    catalog = load_catalog(CATALOG_PATH)
    kinds = dict(zip(catalog["package"], catalog["kind"], strict=True))
    assert kinds == {
        "COMMON_AREA_CALLING": "BASE",
        "WEBEX_VOICE": "BASE",
        "WEBEX_CALLING": "BASE",
        "WEBEX_SUITE": "BASE",
        "WEBEX_MEETINGS": "BASE",
        "CX_ESSENTIALS": "BASE",
        "ATTENDANT_CONSOLE": "ADDON",
        "CALL_RECORDING": "ADDON",
    }
    assert all(sku.startswith("PLACEHOLDER-") for sku in catalog["sku"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("SERVICE_NAME,SKU,DESCRIPTION\nA,B,C\n", r"lacks column\(s\) KIND"),
        ("SERVICE_NAME,SKU,DESCRIPTION,KIND\nPKG,S1,D,MAYBE\n", "KIND: isin"),
        ("SERVICE_NAME,SKU,DESCRIPTION,KIND\nPKG,S1,D,BASE\nPKG,S2,D,ADDON\n", "SERVICE_NAME"),
        ("SERVICE_NAME,SKU,DESCRIPTION,KIND\nPKG,,D,BASE\n", "SKU: must not be empty"),
    ],
)
def test_a_bad_catalog_is_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "catalog.csv"
    path.write_text(content)
    with pytest.raises(BadInputError, match=message):
        load_catalog(path)


def test_header_case_and_spaces_are_forgiven(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(" service_name , sku,description,KIND\n NEW_PKG , S-1 ,New,ADDON\n")
    assert load_catalog(path).rows() == [("NEW_PKG", "S-1", "New", "ADDON")]


def _fresh_process_load(path, verdicts) -> tuple[bool, list[tuple[str, ...]]]:
    """Load the catalog in a new process: whether it imported Pandera, and the rows."""
    code = (
        "import json, sys; from pathlib import Path; from recon.ingest.catalog import load_catalog;"
        f"rows = load_catalog(Path({str(path)!r}), Path({str(verdicts)!r})).rows();"
        "print(json.dumps(['pandera' in sys.modules, rows]))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    imported, rows = json.loads(out.stdout)
    return imported, [tuple(r) for r in rows]


def test_a_catalog_that_passed_once_is_not_handed_to_pandera_again(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(CATALOG_PATH.read_bytes())
    verdicts = tmp_path / "home" / ".checked"
    assert _fresh_process_load(path, verdicts)[0]  # no verdict yet: Pandera checks it
    assert not verdicts.exists()  # a reader records nothing
    rows = load_catalog(path, verdicts, remember=True).rows()
    assert len(list(verdicts.iterdir())) == 1
    assert _fresh_process_load(path, verdicts) == (False, rows)
    path.write_bytes(CATALOG_PATH.read_bytes() + b"NEW_PKG,S-NEW,New,ADDON\n")  # other bytes
    imported, changed = _fresh_process_load(path, verdicts)
    assert imported
    assert len(changed) == len(rows) + 1


def test_a_verdict_never_covers_other_bytes_and_a_bad_catalog_earns_none(tmp_path):
    path = tmp_path / "catalog.csv"
    verdicts = tmp_path / ".checked"
    path.write_text("SERVICE_NAME,SKU,DESCRIPTION,KIND\nPKG,S1,D,BASE\n")
    load_catalog(path, verdicts, remember=True)
    path.write_text("SERVICE_NAME,SKU,DESCRIPTION,KIND\nPKG,S1,D,MAYBE\n")
    for _ in range(2):
        with pytest.raises(BadInputError, match="KIND: isin"):
            load_catalog(path, verdicts, remember=True)
    assert len(list(verdicts.iterdir())) == 1  # the good catalog's only


def test_only_a_writer_of_the_home_records_a_verdict(tmp_path):
    from recon.api import Recon

    rc = Recon(tmp_path / "home")
    rc.ensure_home()
    rc.catalog()
    assert not rc.layout.verdicts.exists()
    with rc._writing():
        rc.catalog()
    assert len(list(rc.layout.verdicts.iterdir())) == 1
