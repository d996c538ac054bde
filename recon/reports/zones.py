"""Which billing zone a customer's days are counted in (§4): customer, partner, default."""

from __future__ import annotations

import polars as pl

from recon.core.config import BillingZones


def customer_zones(customers: pl.DataFrame, zones: BillingZones) -> pl.DataFrame:
    """customer_org_id → billing zone: customer override, else partner override, else default."""
    return customers.select(
        "customer_org_id",
        zone=pl.col("customer_org_id")
        .replace_strict(zones.customers, default=None, return_dtype=pl.String)
        .fill_null(
            pl.col("partner_org_id").replace_strict(
                zones.partners, default=None, return_dtype=pl.String
            )
        )
        .fill_null(zones.default),
    ).unique("customer_org_id", keep="first", maintain_order=True)
