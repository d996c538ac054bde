"""A sub-partner scope must name a sub-partner the lake knows.

A typo in `--sub-partner` is an error naming the known ones, not an empty COMPLETED report.
"""

from __future__ import annotations

import polars as pl

from recon.core.errors import BadInputError
from recon.home.layout import HomeLayout
from recon.ingest.lake import scan_events

SHOWN = 10
LIST_THEM = 'list them all with: recon sql "SELECT DISTINCT sub_partner_org_id FROM events"'


def known_sub_partners(layout: HomeLayout) -> list[str]:
    """Every sub-partner org id in the lake's events, sorted."""
    found = (
        scan_events(layout)
        .select(pl.col("sub_partner_org_id"))
        .filter(pl.col("sub_partner_org_id").is_not_null() & (pl.col("sub_partner_org_id") != ""))
        .unique()
        .collect()
    )
    return sorted(found["sub_partner_org_id"].to_list())


def check_sub_partner(layout: HomeLayout, sub_partner_org_id: str | None) -> None:
    """Raise `BadInputError` naming the known sub-partners if `sub_partner_org_id` is not one."""
    if sub_partner_org_id is None:
        return
    known = known_sub_partners(layout)
    if sub_partner_org_id in known:
        return
    if not known:
        raise BadInputError(
            f"unknown sub-partner {sub_partner_org_id!r}: the lake has no sub-partners yet",
            hint="ingest the logs that name it first, or leave out the sub-partner",
        )
    shown = ", ".join(known[:SHOWN])
    more = f" (first {SHOWN} of {len(known)})" if len(known) > SHOWN else ""
    raise BadInputError(
        f"unknown sub-partner {sub_partner_org_id!r}; the lake knows {shown}{more}",
        hint=LIST_THEM,
    )
