"""Raw log rows → canonical events, each row accepted, a duplicate, or quarantined with a reason.

Pure Polars transforms: the caller reads the files and passes every raw value as text, plus
lineage columns: `_seq` (a global row order), `_source_file`, `_source_row`, `_original`
(the row as it was read, as JSON), optionally `_malformed` (why a row could not be parsed)
and `_zone` (the IANA zone declared for the row's file, in which a naive `occurred_at` is a
local time; null: naive timestamps are rejected); any other column whose name starts with
`_` is carried through untouched. Nothing here reads a file, the clock or a setting.

A naive local time in a declared zone: a time the clocks skip (the hour lost when summer time
starts) does not exist and is quarantined as INVALID_TIMESTAMP; a time that happens twice (the
hour repeated when it ends) is read as the earlier of the two instants, the summer-time one.
A bare date is not an instant and is quarantined as INVALID_TIMESTAMP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from recon.core.contracts import ColumnSpec, events_contract
from recon.ingest.instants import (
    AWARE_TIMESTAMP,
    NAIVE_DATETIME_PATTERN,
    NAIVE_TIMESTAMP_PATTERN,
    read_instants,
)

ACCEPTED: Final = "ACCEPTED"
DUPLICATE: Final = "DUPLICATE"
QUARANTINED: Final = "QUARANTINED"

# Reason codes, machine-readable; the detail column says the specifics in words.
MISSING_FIELD: Final = "MISSING_FIELD"
FIELD_TOO_LONG: Final = "FIELD_TOO_LONG"
INVALID_TIMESTAMP: Final = "INVALID_TIMESTAMP"
NAIVE_TIMESTAMP: Final = "NAIVE_TIMESTAMP"
TIMESTAMP_OUT_OF_RANGE: Final = "TIMESTAMP_OUT_OF_RANGE"
INVALID_ACTION: Final = "INVALID_ACTION"
INVALID_SUBJECT: Final = "INVALID_SUBJECT"
UNKNOWN_PACKAGE: Final = "UNKNOWN_PACKAGE"
SKU_MISMATCH: Final = "SKU_MISMATCH"
CONFLICTING_DUPLICATE: Final = "CONFLICTING_DUPLICATE"
MALFORMED_ROW: Final = "MALFORMED_ROW"

REASONS: Final = (
    MALFORMED_ROW,
    MISSING_FIELD,
    FIELD_TOO_LONG,
    INVALID_TIMESTAMP,
    NAIVE_TIMESTAMP,
    TIMESTAMP_OUT_OF_RANGE,
    INVALID_ACTION,
    INVALID_SUBJECT,
    UNKNOWN_PACKAGE,
    SKU_MISMATCH,
    CONFLICTING_DUPLICATE,
)

# Instants recon accepts; anything outside is a typo or a clock fault, not a billing event.
EARLIEST_INSTANT: Final = "2000-01-01T00:00:00+00:00"
LATEST_INSTANT: Final = "2100-01-01T00:00:00+00:00"


def input_columns() -> list[ColumnSpec]:
    """The event fields a log file provides, from `schemas/events.yaml`."""
    return [c for c in events_contract().columns if c.input]


def content_columns() -> list[str]:
    """The fields that make an event what it is; two rows with the same values are identical."""
    return [c.name for c in input_columns()]


def normalized_raw(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Every input field present, as trimmed text, with a missing value as the empty string."""
    present = set(raw.collect_schema().names())
    if "_malformed" not in present:
        raw = raw.with_columns(_malformed=pl.lit(None, pl.String))
    if "_zone" not in present:
        raw = raw.with_columns(_zone=pl.lit(None, pl.String))
    fields = [
        (pl.col(c.name).cast(pl.String) if c.name in present else pl.lit(None, pl.String))
        .str.strip_chars()
        .fill_null("")
        .alias(c.name)
        for c in input_columns()
    ]
    lineage = [c for c in raw.collect_schema().names() if c.startswith("_")]
    return raw.select(*lineage, *fields)


def _problem(reason: str, detail: pl.Expr) -> pl.Expr:
    return pl.struct(reason=pl.lit(reason), detail=detail)


def row_problems(
    rows: pl.DataFrame, catalog: pl.DataFrame, zones: Sequence[str] = ()
) -> pl.DataFrame:
    """Add `reason` and `detail`: the first check a row fails, or nulls when it passes them all.

    The checks come from `schemas/events.yaml` (required, max_length, allowed) plus the rules
    that span fields: the timestamp must carry an offset (or be a local time in the row's
    declared `_zone`; `zones` lists every zone the rows declare), exactly one subject, a known
    package, and a SKU that agrees with the catalog.
    """
    specs = input_columns()
    at = pl.col("occurred_at")
    zone = pl.col("_zone")
    naive = at.str.contains(NAIVE_TIMESTAMP_PATTERN)
    parsed = pl.col("_instant")  # read once, below; canonical_events reuses it
    has_user = pl.col("user_id") != ""
    has_workspace = pl.col("workspace_id") != ""
    catalog_sku = pl.col("_catalog_sku")

    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (
            pl.col("_malformed").is_not_null(),
            _problem(MALFORMED_ROW, pl.format("row cannot be parsed: {}", pl.col("_malformed"))),
        )
    ]
    for spec in specs:
        if spec.required:
            checks.append(
                (
                    pl.col(spec.name) == "",
                    _problem(
                        MISSING_FIELD, pl.lit(f"required field {spec.name} is empty or absent")
                    ),
                )
            )
    for spec in specs:
        if spec.max_length is not None:
            checks.append(
                (
                    pl.col(spec.name).str.len_chars() > spec.max_length,
                    _problem(
                        FIELD_TOO_LONG,
                        pl.format(
                            f"{spec.name} is {{}} characters long, the limit is {spec.max_length}",
                            pl.col(spec.name).str.len_chars(),
                        ),
                    ),
                )
            )
    checks += [
        (
            naive & zone.is_null(),
            _problem(
                NAIVE_TIMESTAMP,
                pl.format("occurred_at '{}' has no UTC offset; add Z or an offset like +01:00", at),
            ),
        ),
        (
            naive & ~at.str.contains(NAIVE_DATETIME_PATTERN),
            _problem(
                INVALID_TIMESTAMP,
                pl.format("occurred_at '{}' is a date without a time of day", at),
            ),
        ),
        (
            naive & pl.col("_local").is_not_null() & parsed.is_null(),
            _problem(
                INVALID_TIMESTAMP,
                pl.format(
                    "occurred_at '{}' does not exist in {}: the clocks skip that time "
                    "(summer time starts)",
                    at,
                    zone,
                ),
            ),
        ),
        (
            (~at.str.contains(AWARE_TIMESTAMP) & ~naive) | parsed.is_null(),
            _problem(
                INVALID_TIMESTAMP,
                pl.format("occurred_at '{}' is not an ISO 8601 instant", at.str.slice(0, 80)),
            ),
        ),
        (
            (parsed < pl.lit(EARLIEST_INSTANT).str.to_datetime(time_zone="UTC", time_unit="us"))
            | (parsed >= pl.lit(LATEST_INSTANT).str.to_datetime(time_zone="UTC", time_unit="us")),
            _problem(
                TIMESTAMP_OUT_OF_RANGE,
                pl.format("occurred_at '{}' is outside the years 2000-2099", at),
            ),
        ),
    ]
    for spec in specs:
        if spec.allowed is not None:
            checks.append(
                (
                    ~pl.col(spec.name).is_in(list(spec.allowed)),
                    _problem(
                        spec.reason or f"INVALID_{spec.name.upper()}",
                        pl.format(
                            f"{spec.name} '{{}}' is not one of {', '.join(spec.allowed)}",
                            pl.col(spec.name).str.slice(0, 80),
                        ),
                    ),
                )
            )
    checks += [
        (
            has_user & has_workspace,
            _problem(INVALID_SUBJECT, pl.lit("both user_id and workspace_id are set; give one")),
        ),
        (
            ~has_user & ~has_workspace,
            _problem(INVALID_SUBJECT, pl.lit("neither user_id nor workspace_id is set; give one")),
        ),
        (
            has_workspace & (pl.col("subscriber_id") != ""),
            _problem(
                INVALID_SUBJECT, pl.lit("subscriber_id goes with a user_id, not a workspace_id")
            ),
        ),
        (
            catalog_sku.is_null(),
            _problem(
                UNKNOWN_PACKAGE,
                pl.format(
                    "package '{}' is not in the catalog; add it to catalog.csv or fix the log",
                    pl.col("package").str.slice(0, 80),
                ),
            ),
        ),
        (
            (pl.col("sku") != "") & (pl.col("sku") != catalog_sku),
            _problem(
                SKU_MISMATCH,
                pl.format(
                    "sku '{}' does not match the catalog's '{}' for package {}",
                    pl.col("sku").str.slice(0, 80),
                    catalog_sku,
                    pl.col("package"),
                ),
            ),
        ),
    ]

    # Most rows pass every check, so only the failing ones have a reason and a detail
    # formatted; formatting them for every row was a third of a batch's classification.
    frame = read_instants(
        rows.with_columns(
            _catalog_sku=pl.col("package").replace_strict(
                catalog["package"], catalog["sku"], default=None, return_dtype=pl.String
            )
        ),
        zones,
    )
    problem: pl.Expr = pl.lit(None, pl.Struct({"reason": pl.String, "detail": pl.String}))
    for condition, outcome in reversed(checks):
        problem = pl.when(condition).then(outcome).otherwise(problem)
    failing = frame.select(pl.arg_where(pl.any_horizontal([c for c, _ in checks]))).to_series()
    found = frame[failing].select(
        reason=problem.struct.field("reason"), detail=problem.struct.field("detail")
    )
    nothing = pl.Series(dtype=pl.String).extend_constant(None, frame.height)
    return frame.with_columns(
        _placed(nothing.alias("reason"), failing, found["reason"]),
        _placed(nothing.alias("detail"), failing, found["detail"]),
    ).drop("_local")


def _placed(column: pl.Series, positions: pl.Series, values: pl.Series) -> pl.Series:
    """`column` with `values` at `positions` (a copy; the frame it came from is unchanged)."""
    return column.clone().scatter(positions, values) if positions.len() else column


def canonical_events(valid: pl.DataFrame) -> pl.DataFrame:
    """Typed canonical events from rows that passed `row_problems` (SKU filled from the catalog).

    `row_problems` leaves the parsed instant in `_instant`; it becomes `occurred_at` here.
    """
    return valid.with_columns(occurred_at=pl.col("_instant"), sku=pl.col("_catalog_sku")).drop(
        "_instant"
    )


def classified_rows(
    batch: pl.DataFrame, stored: pl.DataFrame, catalog: pl.DataFrame, zones: Sequence[str] = ()
) -> pl.DataFrame:
    """Every raw row with `status` (ACCEPTED, DUPLICATE, QUARANTINED), `reason` and `detail`.

    `stored` holds the events already in the lake (content columns only); a row whose event_id
    is there with identical content is a DUPLICATE, with other content a CONFLICTING_DUPLICATE.
    Inside the batch the first row of an event_id (by `_seq`) wins on the same terms.
    `zones` lists the zones the rows' `_zone` declares (see `row_problems`). The rows keep
    the batch's order.
    """
    checked = row_problems(normalized_raw(batch.lazy()).collect(), catalog, zones)
    typed = canonical_events(checked).with_columns(
        occurred_at=pl.when(pl.col("reason").is_null()).then(pl.col("occurred_at"))
    )
    # A valid row whose event_id is neither stored nor repeated in the batch is accepted, and
    # that is almost every row; only the others go through the comparisons below.
    contender = pl.col("reason").is_null() & ~pl.col("event_id").is_in(stored["event_id"].implode())
    repeated = typed.select(pl.col("event_id").filter(contender)).filter(
        pl.col("event_id").is_duplicated()
    )
    others = typed.select(
        pl.arg_where(~contender | pl.col("event_id").is_in(repeated["event_id"].implode()))
    ).to_series()
    status = pl.repeat(ACCEPTED, typed.height, dtype=pl.String, eager=True).alias("status")
    if others.len():
        settled = _contested(typed[others], stored)
        typed = typed.with_columns(
            _placed(typed["reason"], others, settled["reason"]),
            _placed(typed["detail"], others, settled["detail"]),
        )
        status = _placed(status, others, settled["status"])
    return typed.drop("_catalog_sku").with_columns(status)


def _contested(rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """`status`, `reason` and `detail` of rows that are invalid, stored, or repeated, in order.

    Every copy of an event_id repeated among the batch's new valid rows is here, so the first
    one (by `_seq`) is found among them.
    """
    content = content_columns()
    seen = stored.select(content).rename({c: f"_stored_{c}" for c in content if c != "event_id"})
    joined = rows.join(seen, on="event_id", how="left", maintain_order="left")
    in_store = pl.col("_stored_occurred_at").is_not_null()
    same_as_store = pl.all_horizontal(
        [pl.col(c).eq_missing(pl.col(f"_stored_{c}")) for c in content if c != "event_id"]
    )
    valid = pl.col("reason").is_null()
    # Group-bys and joins, not windows: a window per event_id costs far more than a hash
    # aggregation over the few that repeat.
    contenders = joined.filter(valid & ~in_store)
    firsts = contenders.group_by("event_id").agg(_first_seq=pl.col("_seq").min())
    winners = contenders.join(firsts, on="event_id", how="inner").filter(
        pl.col("_seq") == pl.col("_first_seq")
    )
    joined = joined.join(
        winners.select(
            "event_id",
            "_first_seq",
            *[pl.col(c).alias(f"_winner_{c}") for c in content if c != "event_id"],
        ),
        on="event_id",
        how="left",
        maintain_order="left",
    )
    same_as_winner = pl.all_horizontal(
        [pl.col(c).eq_missing(pl.col(f"_winner_{c}")) for c in content if c != "event_id"]
    )
    status = (
        pl.when(~valid)
        .then(pl.lit(QUARANTINED))
        .when(in_store & same_as_store)
        .then(pl.lit(DUPLICATE))
        .when(in_store)
        .then(pl.lit(QUARANTINED))
        .when(pl.col("_seq") == pl.col("_first_seq"))
        .then(pl.lit(ACCEPTED))
        .when(same_as_winner)
        .then(pl.lit(DUPLICATE))
        .otherwise(pl.lit(QUARANTINED))
    )
    conflict_detail = (
        pl.when(in_store)
        .then(
            pl.format("event_id '{}' is already stored with different content", pl.col("event_id"))
        )
        .otherwise(
            pl.format(
                "event_id '{}' appears earlier in this ingest with different content",
                pl.col("event_id"),
            )
        )
    )
    conflict = valid & (pl.col("status") == QUARANTINED)
    return joined.with_columns(status=status).select(
        "status",
        reason=pl.when(conflict).then(pl.lit(CONFLICTING_DUPLICATE)).otherwise(pl.col("reason")),
        detail=pl.when(conflict).then(conflict_detail).otherwise(pl.col("detail")),
    )
