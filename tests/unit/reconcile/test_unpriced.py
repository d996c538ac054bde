"""A partial price list never gives a money total that leaves rows out silently (issue 19, item 5).

The bundled month with a price list holding only Webex Calling's SKU used to show 55.17 EUR, as
if that were the whole difference (90.94 EUR with every SKU priced).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from recon.reconcile.compare import compared_rows, summary_by, unpriced_skus, with_money
from tests.conftest import FROZEN_NOW, RECON, REPO, SAMPLE

VENDOR = REPO / "data" / "vendor"
UNPRICED = [
    {"sku": "PLACEHOLDER-SKU-ATC-0101", "rows": 3, "quantityDelta": "-12.486608"},
    {"sku": "PLACEHOLDER-SKU-CAC-0001", "rows": 10, "quantityDelta": "131.350161"},
    {"sku": "PLACEHOLDER-SKU-CXE-0006", "rows": 2, "quantityDelta": "12.837764"},
    {"sku": "PLACEHOLDER-SKU-MTG-0005", "rows": 2, "quantityDelta": "-62.000000"},
    {"sku": "PLACEHOLDER-SKU-STE-0004", "rows": 2, "quantityDelta": "23.503311"},
    {"sku": "PLACEHOLDER-SKU-VOI-0002", "rows": 4, "quantityDelta": "45.962060"},
]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RECON, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RECON_NOW": FROZEN_NOW},
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("prices")
    one_sku = base / "one-sku.csv"
    one_sku.write_text("SKU,UNIT_PRICE,UNIT,CURRENCY\nPLACEHOLDER-SKU-CAL-0003,9.00,MONTH,EUR\n")
    home = base / "home"
    assert run(home, "ingest", str(SAMPLE), "--json").returncode == 0
    return home, one_sku


def month_run(home: Path, prices: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(
        home,
        "run",
        "--month",
        "2026-10",
        "--vendor-dir",
        str(VENDOR),
        "--prices",
        str(prices),
        "--tolerance",
        "0.000001",
        *extra,
    )


def test_the_run_names_the_unpriced_skus_and_their_deltas(month):
    home, one_sku = month
    done = month_run(home, one_sku, "--json")
    assert done.returncode == 1, done.stderr
    user = next(r for r in json.loads(done.stdout)["reports"] if r["type"] == "USER")
    rec = user["reconciliation"]
    assert (rec["moneyDelta"], rec["currency"], rec["moneyComplete"]) == ("55.169389", "EUR", False)
    assert rec["unpricedSkus"] == UNPRICED
    by_service = {r["serviceName"]: r for r in rec["byService"]}
    assert by_service["COMMON_AREA_CALLING"]["unpricedSkus"] == "PLACEHOLDER-SKU-CAC-0001"
    assert by_service["WEBEX_CALLING"]["unpricedSkus"] == ""
    assert by_service["WEBEX_CALLING"]["moneyDelta"] == "55.169389"

    # The files say it too: summary.json and the summary CSVs.
    out = Path(rec["outDir"])
    assert json.loads((out / "summary.json").read_text())["unpricedSkus"] == UNPRICED
    service_csv = pl.read_csv(out / "summary_by_service.csv", infer_schema=False)
    assert service_csv.filter(pl.col("SERVICE_NAME") == "WEBEX_MEETINGS")[
        "UNPRICED_SKUS"
    ].to_list() == ["PLACEHOLDER-SKU-MTG-0005"]
    customer_csv = pl.read_csv(out / "summary_by_customer.csv", infer_schema=False)
    assert "UNPRICED_SKUS" in customer_csv.columns

    printed = month_run(home, one_sku)
    assert printed.returncode == 1
    assert printed.stdout.count("55.17 EUR + 6 SKUs unpriced") == 4  # every type's money column


def test_reconcile_prints_what_the_money_leaves_out(month):
    home, one_sku = month
    listed = json.loads(run(home, "report", "list", "--type", "USER", "--json").stdout)
    report_id = listed["items"][0]["id"]
    done = run(
        home,
        "reconcile",
        "--report",
        report_id,
        "--vendor",
        str(VENDOR / "vendor-USER-2026-10.csv"),
        "--prices",
        str(one_sku),
        "--tolerance",
        "0.000001",
    )
    assert done.returncode == 1, done.stderr
    flat = " ".join(done.stdout.split())
    assert (
        "money: 55.17 EUR + 6 SKUs unpriced: the total leaves out the SKUs the price list lacks"
    ) in flat
    assert "PLACEHOLDER-SKU-CAC-0001: quantity delta 131.350161 (10 rows), no price" in flat


def test_a_full_price_list_leaves_nothing_out(month):
    home, _ = month
    done = month_run(home, REPO / "data" / "prices.csv", "--json")
    user = next(r for r in json.loads(done.stdout)["reports"] if r["type"] == "USER")
    rec = user["reconciliation"]
    assert (rec["moneyDelta"], rec["moneyComplete"], rec["unpricedSkus"]) == (
        "90.943712",
        True,
        [],
    )
    printed = month_run(home, REPO / "data" / "prices.csv")
    assert "90.94 EUR" in printed.stdout and " unpriced" not in printed.stdout


def _side(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "CUSTOMER_ORG_ID": ["C1"] * len(rows),
            "SKU": [s for s, _ in rows],
            "QUANTITY": [q for _, q in rows],
        }
    )


def test_unpriced_skus_are_those_whose_rows_differ():
    prices = pl.DataFrame(
        {"SKU": ["a"], "UNIT_PRICE": ["2"], "UNIT": ["PACKAGE_DAY"], "CURRENCY": ["EUR"]}
    )
    ours = _side([("a", "1.000000"), ("b", "1.000000"), ("c", "4.000000")])
    vendor = _side([("a", "2.000000"), ("b", "3.500000"), ("c", "4.000000")])
    priced = with_money(compared_rows(ours, vendor, ["CUSTOMER_ORG_ID", "SKU"], 0), prices, 31)
    # c has no price either, but its rows agree exactly: its money delta is 0 at any price.
    assert unpriced_skus(priced).rows() == [("b", 1, "2.500000")]
    assert summary_by(priced, "CUSTOMER_ORG_ID", priced=True).select(
        "MONEY_DELTA", "UNPRICED_SKUS"
    ).rows() == [("2.000000", "b")]
