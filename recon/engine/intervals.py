"""Events → assignment intervals and anomalies (billing rules §3), as pure LazyFrame transforms.

The state machine runs per *conflict group*: for a BASE package the group is the subject
(one BASE assignment at a time), for an ADDON it is the assignment key itself. In event order
a group's events fall into *segments*, each starting at an ASSIGN. Within a segment the first
UNASSIGN of the segment's key closes it; every other UNASSIGN is an orphan. A segment that
follows an open one with the same key is a duplicate ASSIGN and extends it; one with another
key closes the open one at its instant (an implicit package change). This is the same state
machine as the rules' event-by-event description, expressed without a loop over rows.
"""

from __future__ import annotations

from typing import Final

import polars as pl

DUPLICATE_ASSIGN: Final = "DUPLICATE_ASSIGN"
ORPHAN_UNASSIGN: Final = "ORPHAN_UNASSIGN"
IMPLICIT_PACKAGE_CHANGE: Final = "IMPLICIT_PACKAGE_CHANGE"

KEY: Final = [
    "customer_org_id",
    "subject_type",
    "subject_id",
    "package",
    "location_id",
    "license_id",
]
ATTRIBUTES: Final = [
    "partner_org_id",
    "partner_name",
    "subscription_id",
    "sub_partner_org_id",
    "customer_external_id",
    "subscriber_id",
    "user_id",
    "workspace_id",
]
_GROUP: Final = [
    "customer_org_id",
    "subject_type",
    "subject_id",
    "kind",
    "_g_package",
    "_g_location",
    "_g_license",
]
_SEP: Final = "\x1f"
# The event columns the key is made from (subject_type and subject_id come from these).
KEY_SOURCE: Final = [
    "customer_org_id",
    "user_id",
    "workspace_id",
    "package",
    "location_id",
    "license_id",
]
# Every event column the rules read.
RULE_COLUMNS: Final = list(
    dict.fromkeys(["event_id", "occurred_at", "action", *KEY_SOURCE, *ATTRIBUTES])
)

INTERVAL_SCHEMA: Final[dict[str, pl.DataType]] = {
    "customer_org_id": pl.String(),
    "subject_type": pl.String(),
    "subject_id": pl.String(),
    "package": pl.String(),
    "location_id": pl.String(),
    "license_id": pl.String(),
    "kind": pl.String(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "end_reason": pl.String(),
    **{name: pl.String() for name in ATTRIBUTES},
    "opened_by": pl.String(),
    "closed_by": pl.String(),
}
ANOMALY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "anomaly": pl.String(),
    "event_id": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "customer_org_id": pl.String(),
    "subject_type": pl.String(),
    "subject_id": pl.String(),
    "package": pl.String(),
    "location_id": pl.String(),
    "license_id": pl.String(),
    "detail": pl.String(),
}


def _key_text(package: str, location: str, license_id: str) -> pl.Expr:
    return pl.concat_str([pl.col(package), pl.col(location), pl.col(license_id)], separator=_SEP)


def _describe_key(key_text: pl.Expr) -> pl.Expr:
    parts = key_text.str.split(_SEP)
    return pl.format(
        "{} (location '{}', license '{}')",
        parts.list.get(0),
        parts.list.get(1),
        parts.list.get(2),
    )


def _prepared_events(events: pl.LazyFrame, catalog: pl.DataFrame) -> pl.LazyFrame:
    """Events with subject, kind, key and conflict group, before they are ordered."""
    # Membership in the (small) set of BASE packages, not a join: a join on the package text
    # cost more than half of this step (1.4 s of 2.4 s for 3M events).
    base = catalog.filter(pl.col("kind") == "BASE").get_column("package").unique()
    is_base = pl.col("kind") == "BASE"
    return (
        events.select(RULE_COLUMNS)
        .with_columns(
            kind=pl.when(pl.col("package").is_in(base.implode()))
            .then(pl.lit("BASE"))
            .otherwise(pl.lit("ADDON")),
            subject_type=pl.when(pl.col("user_id") != "")
            .then(pl.lit("USER"))
            .otherwise(pl.lit("WORKSPACE")),
            subject_id=pl.when(pl.col("user_id") != "").then("user_id").otherwise("workspace_id"),
            is_assign=pl.col("action") == "ASSIGN",
            _key=_key_text("package", "location_id", "license_id"),
        )
        .with_columns(
            _g_package=pl.when(is_base).then(pl.lit("")).otherwise("package"),
            _g_location=pl.when(is_base).then(pl.lit("")).otherwise("location_id"),
            _g_license=pl.when(is_base).then(pl.lit("")).otherwise("license_id"),
        )
    )


# Within a conflict group: time, UNASSIGN before ASSIGN at equal instants, then event_id.
_IN_GROUP_ORDER: Final = ["occurred_at", "is_assign", "event_id"]


def ordered_events(events: pl.LazyFrame, catalog: pl.DataFrame) -> pl.LazyFrame:
    """Events with subject, kind and conflict group, in the order the rules apply them.

    Order: conflict group, occurred_at, UNASSIGN before ASSIGN at equal instants, event_id.
    A package missing from the catalog is treated as an ADDON here (it never conflicts);
    report creation refuses such packages before it gets this far. Only the columns the rules
    need are carried through this, the one sort of the pipeline.
    """
    return _prepared_events(events, catalog).sort([*_GROUP, *_IN_GROUP_ORDER])


def _group_hash() -> pl.Expr:
    """A 64-bit hash of the conflict group (a seam for the collision test)."""
    return pl.struct(_GROUP).hash(seed=0x6E0)


def hash_ordered_events(events: pl.LazyFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """`ordered_events`, but with the groups in hash order instead of text order.

    The rules only need each group's events together and in order; which group comes first
    does not matter. Sorting by a 64-bit hash of the group instead of its seven text columns
    is several times cheaper. Exactness does not rest on the hash: if two groups ever shared
    a hash, some run of equal hashes would hold a group change, which is checked on every
    row; then the events are sorted by text as `ordered_events` does.
    """
    prepared = _prepared_events(events, catalog).with_columns(_h=_group_hash())
    by_hash = prepared.sort(["_h", *_IN_GROUP_ORDER]).collect(engine="in-memory")
    text_change = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in _GROUP])
    collided = by_hash.select(
        (text_change & (pl.col("_h") == pl.col("_h").shift(1))).fill_null(False).any()
    ).item()
    if collided:
        return by_hash.drop("_h").sort([*_GROUP, *_IN_GROUP_ORDER])
    return by_hash.drop("_h")


def _within_segment(values: pl.Expr) -> pl.Expr:
    """The segment's one non-null value of `values`, on every row at or before it.

    Rows are in segment order; a backward fill that stops at the segment's boundary.
    """
    owner = pl.when(values.is_not_null()).then(pl.col("_seg")).backward_fill()
    return pl.when(owner == pl.col("_seg")).then(values.backward_fill())


def segmented_events(
    ordered: pl.LazyFrame, *, group: list[str] = _GROUP, no_key: pl.Expr | None = None
) -> pl.LazyFrame:
    """Each event with its group, its segment and whether it closes the segment.

    Everything here is a shift, a cumulative sum or a fill over the sorted rows: no window
    per group, no second sort. `group` names the conflict group's columns and `no_key` is a
    value no real `_key` takes ("" by default); both are parameters so that the same rules
    can run on other encodings of the ids (`engine/coded.py` runs them on integer codes).
    """
    new_group = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in group]).fill_null(True)
    starts = pl.col("_seg_start")
    # The key a segment is about: its opening ASSIGN's; `no_key` for a group's leading
    # UNASSIGNs (no real key equals it, so nothing in such a segment closes anything).
    no_key = pl.lit("") if no_key is None else no_key
    segment_key = (
        pl.when(starts).then(pl.when(pl.col("is_assign")).then("_key").otherwise(no_key))
    ).forward_fill()
    matches = (~pl.col("is_assign") & (pl.col("_key") == segment_key)).fill_null(False)
    seen = pl.col("_matches").cast(pl.UInt32).cum_sum()
    seen_before = pl.when(starts).then(seen - pl.col("_matches").cast(pl.UInt32)).forward_fill()
    return (
        ordered.with_columns(_new_group=new_group)
        .with_columns(
            _group=pl.col("_new_group").cum_sum(),
            _seg_start=pl.col("is_assign") | pl.col("_new_group"),
        )
        .with_columns(_seg=pl.col("_seg_start").cum_sum())
        .with_columns(_matches=matches)
        .with_columns(closes=pl.col("_matches") & (seen - seen_before == 1))
    )


def _segments(segmented: pl.LazyFrame) -> pl.LazyFrame:
    """One row per segment that opens with an ASSIGN, in order, with its neighbours' facts.

    Whether it continues an open segment of the same key (a duplicate ASSIGN) or closes an
    open one of another key (an implicit change) comes from the segment before it.
    """
    closes = pl.col("closes")
    same_prev = (pl.col("_group") == pl.col("_group").shift(1)).fill_null(False)
    same_next = (pl.col("_group") == pl.col("_group").shift(-1)).fill_null(False)
    prev_open = same_prev & pl.col("close_time").shift(1).is_null()
    return (
        segmented.with_columns(
            close_time=_within_segment(pl.when(closes).then(pl.col("occurred_at"))),
            close_event=_within_segment(pl.when(closes).then(pl.col("event_id"))),
        )
        .filter(pl.col("_seg_start") & pl.col("is_assign"))
        .select(
            "_seg",
            "_group",
            "close_time",
            "close_event",
            "_key",
            "customer_org_id",
            "subject_type",
            "subject_id",
            "kind",
            "package",
            "location_id",
            "license_id",
            *ATTRIBUTES,
            has_assign=pl.col("is_assign"),
            assign_time=pl.col("occurred_at"),
            assign_event=pl.col("event_id"),
        )
        .with_columns(
            _prev_key=pl.when(same_prev).then(pl.col("_key").shift(1)),
            _prev_open=prev_open,
            _next_time=pl.when(same_next).then(pl.col("assign_time").shift(-1)),
            _next_event=pl.when(same_next).then(pl.col("assign_event").shift(-1)),
        )
        .with_columns(
            continuation=pl.col("_prev_open") & (pl.col("_prev_key") == pl.col("_key")),
            implicit=pl.col("_prev_open") & (pl.col("_prev_key") != pl.col("_key")),
        )
        .with_columns(_run=(~pl.col("continuation")).cum_sum())
    )


def assignment_intervals(
    events: pl.LazyFrame, catalog: pl.DataFrame, *, ordered: bool = True
) -> pl.LazyFrame:
    """Half-open `[start, end)` assignment intervals; `end` is null while still assigned.

    Attributes (partner, subscription, subscriber, ...) come from the ASSIGN that opened the
    interval. Zero-length intervals (opened and closed at one instant) are left out: they
    hold nothing at any instant. With `ordered=False` the rows come in the engine's own
    order (by subject and time) instead of sorted by key, which saves a sort when only sums
    are wanted.
    """
    return intervals_of_ordered(ordered_events(events, catalog), ordered=ordered)


def unordered_intervals(events: pl.LazyFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """`assignment_intervals(..., ordered=False)`, collected, from hash-ordered events.

    The same rows (in another order): the batch's fast path.
    """
    return intervals_of_ordered(hash_ordered_events(events, catalog).lazy(), ordered=False).collect(
        engine="in-memory"
    )


def intervals_of_ordered(events: pl.LazyFrame, *, ordered: bool = True) -> pl.LazyFrame:
    """The intervals of events already in rule order (each group together, in time order)."""
    intervals = intervals_of_segmented(segmented_events(events))
    typed = intervals.select([pl.col(c).cast(t) for c, t in INTERVAL_SCHEMA.items()])
    return typed.sort([*KEY, "start"]) if ordered else typed


def intervals_of_segmented(segmented: pl.LazyFrame) -> pl.LazyFrame:
    """The rules' intervals from `segmented_events` (untyped, unordered).

    Public with `segmented_events` so the rules can run on other encodings of the ids.
    """
    return _intervals_of_segments(_segments(segmented))


def _intervals_of_segments(segments: pl.LazyFrame) -> pl.LazyFrame:
    """Runs of segments → intervals (columns as the events had them; untyped, unordered)."""
    # A run is a segment plus the duplicate ASSIGNs that continue it: it opens with its first
    # segment and ends with its last one. One row per run from each end, aligned by order.
    opening = segments.filter(~pl.col("continuation")).select(
        *[c for c in INTERVAL_SCHEMA if c in _FIRST_OF_RUN],
        start=pl.col("assign_time"),
        opened_by=pl.col("assign_event"),
    )
    closing = segments.filter(pl.col("_run") != pl.col("_run").shift(-1).fill_null(-1)).select(
        end=pl.coalesce("close_time", "_next_time"),
        closed_by=pl.coalesce("close_event", "_next_event"),
        end_reason=pl.when(pl.col("close_time").is_not_null())
        .then(pl.lit("UNASSIGN"))
        .when(pl.col("_next_time").is_not_null())
        .then(pl.lit(IMPLICIT_PACKAGE_CHANGE)),
    )
    return pl.concat([opening, closing], how="horizontal").filter(
        pl.col("end").is_null() | (pl.col("end") > pl.col("start"))
    )


_FIRST_OF_RUN: Final = {*KEY, "kind", *ATTRIBUTES}


def assignment_anomalies(events: pl.LazyFrame, catalog: pl.DataFrame) -> pl.LazyFrame:
    """DUPLICATE_ASSIGN, ORPHAN_UNASSIGN and IMPLICIT_PACKAGE_CHANGE, one row per event."""
    segmented = segmented_events(ordered_events(events, catalog))
    segments = _segments(segmented)
    common = ["event_id", "occurred_at", *KEY]
    orphans = segmented.filter(~pl.col("is_assign") & ~pl.col("closes")).select(
        pl.lit(ORPHAN_UNASSIGN).alias("anomaly"),
        *common,
        pl.lit("UNASSIGN with no open assignment for this key; nothing changes").alias("detail"),
    )
    flagged = segments.filter(pl.col("continuation") | pl.col("implicit")).select(
        *KEY,
        anomaly=pl.when(pl.col("continuation"))
        .then(pl.lit(DUPLICATE_ASSIGN))
        .otherwise(pl.lit(IMPLICIT_PACKAGE_CHANGE)),
        event_id=pl.col("assign_event"),
        occurred_at=pl.col("assign_time"),
        detail=pl.when(pl.col("continuation"))
        .then(pl.lit("ASSIGN for a key that is already assigned; nothing changes"))
        .otherwise(
            pl.format(
                "closes {} at this instant: a subject holds one BASE package at a time",
                _describe_key(pl.col("_prev_key")),
            )
        ),
    )
    typed = [pl.col(c).cast(t) for c, t in ANOMALY_SCHEMA.items()]
    return pl.concat([orphans.select(typed), flagged.select(typed)], how="vertical").sort(
        ["occurred_at", "event_id", "anomaly"]
    )
