"""The package catalog and its contract."""

from __future__ import annotations

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
