"""Quantities and money as integer millionths: the one place they are parsed, formatted, rounded.

recon never computes with decimal text or floats: a quantity (or an amount of money) is an
integer count of millionths from the moment it is read until it is written, and text always has
exactly six decimals (`-1.250000`). Each operation exists in the forms its callers need — a
Polars expression, a plain `int`, a DuckDB SQL expression — and all of them live here.
"""

from __future__ import annotations

from typing import Final

import polars as pl

MICROS: Final = 1_000_000
"""Millionths in one unit."""

DECIMALS: Final = 6


# ---------------------------------------------------------------- text → millionths


def micros(text: pl.Expr) -> pl.Expr:
    """'12.345678' → 12345678 (text with exactly 6 decimals, as reports are written)."""
    return text.str.replace(".", "", literal=True).cast(pl.Int64)


def micros_of_decimal(text: pl.Expr) -> pl.Expr:
    """'12.5' → 12500000: a non-negative decimal with up to 6 decimals (or none)."""
    parts = text.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64)
    fraction = parts.struct.field("field_1").fill_null("").str.pad_end(DECIMALS, "0").cast(pl.Int64)
    return whole * MICROS + fraction


def micros_of(text: str) -> int:
    """'0.01' → 10000: a non-negative decimal with up to 6 decimals (already checked)."""
    whole, _, fraction = text.partition(".")
    return int(whole) * MICROS + int(fraction.ljust(DECIMALS, "0") or 0)


def six_decimals(text: pl.Expr) -> pl.Expr:
    """'5' → '5.000000', '007.5' → '7.500000': a non-negative decimal in the written form."""
    parts = text.str.split_exact(".", 1)
    whole = parts.struct.field("field_0")
    fraction = parts.struct.field("field_1").fill_null("")
    return pl.concat_str(
        [
            whole.str.strip_chars_start("0").replace("", "0"),
            pl.lit("."),
            fraction.str.pad_end(DECIMALS, "0"),
        ]
    )


# ---------------------------------------------------------------- millionths → text


def as_text(value: pl.Expr) -> pl.Expr:
    """Signed millionths → '-1.250000'."""
    magnitude = value.abs()
    sign = pl.when(value < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(
        [
            sign,
            (magnitude // MICROS).cast(pl.String),
            pl.lit("."),
            (magnitude % MICROS).cast(pl.String).str.zfill(DECIMALS),
        ]
    )


def text_of(value: int) -> str:
    """Signed millionths → '-1.250000'."""
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // MICROS}.{abs(value) % MICROS:06d}"


def sql_decimal(expression: str) -> str:
    """DuckDB SQL turning integer millionths `expression` into an exact DECIMAL(38, 6).

    Exact: multiplying by the DECIMAL 0.000001 only moves the point (a division would go
    through DOUBLE). DuckDB writes the result as '1.250000', the text `text_of` makes; a
    value past 10^32 millionths is a cast error, never a rounded number.
    """
    return f"(CAST(({expression}) AS DECIMAL(32, 0)) * CAST(0.000001 AS DECIMAL(7, 6)))"


def sql_text(expression: str) -> str:
    """DuckDB SQL turning a non-negative integer millionths `expression` into '1.250000'."""
    whole = f"CAST(({expression}) // {MICROS} AS VARCHAR)"
    fraction = f"lpad(CAST(({expression}) % {MICROS} AS VARCHAR), {DECIMALS}, '0')"
    return f"{whole} || '.' || {fraction}"


# ---------------------------------------------------------------- rounding


def _half_even_quotient(n: pl.Expr, d: pl.Expr) -> pl.Expr:
    """`n / d` (Int128, `d` > 0) rounded half to even: the floor, plus one past the half."""
    quotient = n // d
    twice_rest = (n - quotient * d) * 2
    round_up = (twice_rest > d) | ((twice_rest == d) & (quotient % 2 == 1))
    return quotient + round_up.cast(pl.Int128)


def rounded_micros(units: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """`units / unit` in millionths, rounded half to even (exact, in 128-bit integers)."""
    return _half_even_quotient(units.cast(pl.Int128) * MICROS, unit.cast(pl.Int128)).cast(pl.Int64)


def divided_half_even(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """`numerator / denominator` rounded half to even, exactly (128-bit), for any signs."""
    num = numerator.cast(pl.Int128)
    den = denominator.cast(pl.Int128)
    negative = (num < 0) != (den < 0)
    q = _half_even_quotient(num.abs(), den.abs())
    return pl.when(negative).then(pl.lit(0, pl.Int128) - q).otherwise(q).cast(pl.Int64)
