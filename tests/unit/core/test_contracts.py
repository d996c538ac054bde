"""The YAML contracts: column order per report type, checks that bite."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon.core.contracts import KEY_ORDER, ContractError, report_categories, report_contract


def test_report_columns_follow_the_rules_order():
    assert report_contract("PARTNER", "RECONCILIATION").names == [
        "PARTNER_NAME",
        "PARTNER_ORG_ID",
        "SUBSCRIPTION_ID",
        "SERVICE_NAME",
        "SKU",
        "DESCRIPTION",
        "CONSUMPTION_START_DATE",
        "CONSUMPTION_END_DATE",
        "QUANTITY",
    ]
    assert report_contract("LOCATION", "RECONCILIATION").names[-3:] == [
        "CUSTOMER_ORG_ID",
        "CUSTOMER_EXTERNAL_ID",
        "LOCATION_ID",
    ]
    assert report_contract("USER", "POINT_IN_TIME").names[-1] == "REPORT_DATE"


def test_point_in_time_exists_for_customer_and_user_only():
    assert report_categories("PARTNER") == ("RECONCILIATION",)
    assert report_categories("LOCATION") == ("RECONCILIATION",)
    assert report_categories("CUSTOMER") == ("RECONCILIATION", "POINT_IN_TIME")
    assert report_categories("USER") == ("RECONCILIATION", "POINT_IN_TIME")


def _partner_row(**overrides: str) -> pl.DataFrame:
    row = {
        "PARTNER_NAME": "P",
        "PARTNER_ORG_ID": "P1",
        "SUBSCRIPTION_ID": "S1",
        "SERVICE_NAME": "WEBEX_CALLING",
        "SKU": "X",
        "DESCRIPTION": "D",
        "CONSUMPTION_START_DATE": "2026-10-01",
        "CONSUMPTION_END_DATE": "2026-10-31",
        "QUANTITY": "31.000000",
    }
    row.update(overrides)
    return pl.DataFrame([row])


def test_a_valid_row_passes():
    report_contract("PARTNER", "RECONCILIATION").validate(_partner_row())


@pytest.mark.parametrize(
    "overrides",
    [
        {"QUANTITY": "31.00"},
        {"QUANTITY": "-1.000000"},
        {"CONSUMPTION_START_DATE": "2026-02-30"},
        {"CONSUMPTION_END_DATE": "31/10/2026"},
        {"PARTNER_ORG_ID": ""},
        {"SERVICE_NAME": "webex calling"},
    ],
)
def test_bad_values_are_caught(overrides):
    with pytest.raises(ContractError):
        report_contract("PARTNER", "RECONCILIATION").validate(_partner_row(**overrides))


def test_columns_out_of_order_or_extra_are_caught():
    contract = report_contract("PARTNER", "RECONCILIATION")
    row = _partner_row()
    with pytest.raises(ContractError):
        contract.validate(row.select(reversed(row.columns)))
    with pytest.raises(ContractError):
        contract.validate(row.with_columns(EXTRA=pl.lit("x")))


def test_duplicate_keys_are_caught():
    with pytest.raises(ContractError):
        report_contract("PARTNER", "RECONCILIATION").validate(
            pl.concat([_partner_row(), _partner_row()])
        )


def test_user_rows_need_exactly_one_subject():
    contract = report_contract("USER", "POINT_IN_TIME")
    base = dict.fromkeys(contract.names, "x") | {
        "SERVICE_NAME": "WEBEX_CALLING",
        "QUANTITY": "1.000000",
        "REPORT_DATE": "2026-10-01T00:00:00.000000Z",
        "USER_ID": "u1",
        "WORKSPACE_ID": "",
    }
    contract.validate(pl.DataFrame([base]))
    with pytest.raises(ContractError):
        contract.validate(pl.DataFrame([base | {"WORKSPACE_ID": "w1"}]))
    with pytest.raises(ContractError):
        contract.validate(pl.DataFrame([base | {"USER_ID": ""}]))


@given(st.lists(st.tuples(*[st.text("aAb", min_size=1, max_size=2)] * 3), min_size=1, max_size=12))
def test_typed_rows_break_the_key_order_exactly_where_a_row_is_not_after_the_one_before(keys):
    """Rows out of order or repeated are named, and only those: Python's tuple order."""
    contract = report_contract("PARTNER", "RECONCILIATION")  # key: partner, sub., service, SKU
    day = date(2026, 10, 1)
    n = len(keys)
    frame = pl.DataFrame(
        {
            "PARTNER_NAME": ["P"] * n,
            "PARTNER_ORG_ID": [k[0] for k in keys],
            "SUBSCRIPTION_ID": [k[1] for k in keys],
            "SERVICE_NAME": ["WEBEX_CALLING"] * n,
            "SKU": [k[2] for k in keys],
            "DESCRIPTION": ["D"] * n,
            "CONSUMPTION_START_DATE": [day] * n,
            "CONSUMPTION_END_DATE": [day] * n,
            "QUANTITY": [1_000_000] * n,
        },
        schema_overrides={"QUANTITY": pl.Int64},
    )
    not_after = {i for i in range(1, n) if keys[i] <= keys[i - 1]}
    if not not_after:
        contract.validate(frame, typed=True)
        return
    with pytest.raises(ContractError) as caught:
        contract.validate(frame, typed=True)
    cases = caught.value.failure_cases
    assert set(cases.filter(pl.col("check").str.contains(KEY_ORDER))["index"]) == not_after
