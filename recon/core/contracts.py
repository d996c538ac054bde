"""Column contracts, declared as data in `schemas/*.yaml` and checked with Pandera.

The YAML files are the single source of truth: the ingest step derives its row checks from
`events.yaml`, report writers validate every CSV against `report_<type>.yaml` before it is
written, and finance or SQL users can read the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from recon.core.errors import BadInputError
from recon.core.pandera_loading import load_pandera
from recon.core.resources import schema_dir

if TYPE_CHECKING:
    import pandera.polars as pa
    import polars as pl

ReportType = Literal["PARTNER", "CUSTOMER", "LOCATION", "USER"]
Category = Literal["RECONCILIATION", "POINT_IN_TIME"]
REPORT_TYPES: tuple[ReportType, ...] = ("PARTNER", "CUSTOMER", "LOCATION", "USER")
CATEGORIES: tuple[Category, ...] = ("RECONCILIATION", "POINT_IN_TIME")

# A declared dtype → its Polars type (`dtype_of`); Polars loads only when a frame is checked.
_DTYPE_NAMES: Final = {
    "string": "String",
    "int64": "Int64",
    "uint32": "UInt32",
    "datetime_utc": "Datetime",
}

# How the key check of typed rows names what it holds (in its error, so in a failure's text).
KEY_ORDER: Final = "sorted, none repeated"


def dtype_of(name: str) -> pl.DataType:
    """The Polars type of a declared dtype (`string`, `int64`, `uint32`, `datetime_utc`)."""
    import polars as pl  # noqa: PLC0415 - reading a report's status must not load Polars

    if name == "datetime_utc":
        return pl.Datetime("us", "UTC")
    dtype: pl.DataType = getattr(pl, _DTYPE_NAMES[name])()
    return dtype


_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column: its type and the checks its values must pass."""

    name: str
    dtype: str = "string"
    required: bool = False
    input: bool = False
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    max_length: int | None = None
    is_date: bool = False
    reason: str | None = None
    typed: str | None = None  # "millionths" or "date": the column's type before it is text

    @classmethod
    def from_yaml(cls, name: str, raw: dict[str, Any]) -> ColumnSpec:
        """Build from one YAML entry."""
        allowed = raw.get("allowed")
        return cls(
            name=name,
            dtype=str(raw.get("dtype", "string")),
            required=bool(raw.get("required", False)),
            input=bool(raw.get("input", False)),
            pattern=raw.get("pattern"),
            allowed=tuple(str(a) for a in allowed) if allowed else None,
            max_length=raw.get("max_length"),
            is_date=bool(raw.get("date", False)),
            reason=raw.get("reason"),
            typed=raw.get("typed"),
        )


@dataclass(frozen=True)
class Contract:
    """A named set of columns, optionally ordered, with a unique key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    ordered: bool = True
    one_subject: bool = False

    @property
    def names(self) -> list[str]:
        """Column names in contract order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        """The spec of one column."""
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def pandera(self, *, typed: bool = False) -> pa.DataFrameSchema:
        """The Pandera schema that checks a frame against this contract.

        `typed` checks the columns as they are before they become text: a column declared
        `typed: millionths` as a non-negative Int64 count of millionths, one declared
        `typed: date` as a Date. Typed rows are the ones recon writes, sorted by the key, so
        the key is checked as strictly ascending from row to row: unique, in one pass that
        needs no hash of every key, and that a batch can continue from the last row of the
        one before (see `recon.reports.writer.check_rows`). Every other check is the same.
        """
        return _pandera_schema(self, typed)

    def validate(self, frame: pl.DataFrame, *, typed: bool = False) -> pl.DataFrame:
        """Check `frame` against the contract; raise `ContractError` if it fails."""
        schema = self.pandera(typed=typed)  # imports Pandera (`load_pandera`)
        import pandera.errors  # noqa: PLC0415 - slow to import; only checking needs it

        try:
            validated: pl.DataFrame = schema.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            raise ContractError(self.name, exc.failure_cases) from exc
        return validated


class ContractError(BadInputError):
    """A frame broke a contract; `failure_cases` lists column, check, value and row index."""

    code = "SCHEMA_VIOLATION"

    def __init__(self, contract: str, failure_cases: pl.DataFrame) -> None:
        super().__init__(f"rows break the {contract} contract")
        self.contract = contract
        self.failure_cases = failure_cases

    def summary(self, limit: int = 5, *, with_rows: bool = False) -> str:
        """The first few failures as text: `COLUMN: check ('value')`."""
        cases = (
            self.failure_cases.head(limit).select("column", "check", "failure_case", "index").rows()
        )
        if with_rows:
            return "; ".join(
                f"row {'?' if index is None else index + 1}: {col} {case!r} fails {check}"
                for col, check, case, index in cases
            )
        return "; ".join(f"{col}: {check} ({case!r})" for col, check, case, _ in cases)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # noqa: PLC0415 - 8 ms to import; commands that read no contract skip it

    # libyaml's loader where the wheel has it: the same documents, read 6x faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} must hold a YAML mapping")
    return loaded


def _checks(spec: ColumnSpec) -> list[pa.Check]:
    import pandera.polars as pa  # noqa: PLC0415 - loaded by `_pandera_schema`, their caller
    import polars as pl  # noqa: PLC0415

    checks: list[pa.Check] = []
    if spec.dtype != "string":
        return checks
    if spec.required:
        checks.append(pa.Check.str_length(min_value=1, error="must not be empty"))
    if spec.max_length is not None:
        checks.append(pa.Check.str_length(max_value=spec.max_length))
    if spec.allowed is not None:
        allowed = [*spec.allowed, *([] if spec.required else [""])]
        checks.append(pa.Check.isin(allowed))
    if spec.pattern is not None:
        checks.append(pa.Check.str_matches(spec.pattern))
    if spec.is_date:
        checks.append(pa.Check.str_matches(_DATE_PATTERN))
        checks.append(
            pa.Check(
                lambda data: data.lazyframe.select(
                    pl.col(data.key).str.to_date("%Y-%m-%d", strict=False).is_not_null()
                ),
                error="must be a real calendar date YYYY-MM-DD",
            )
        )
    return checks


def _exactly_one_subject(data: Any) -> pl.LazyFrame:
    import polars as pl  # noqa: PLC0415

    has_user = pl.col("USER_ID").str.len_chars() > 0
    has_workspace = pl.col("WORKSPACE_ID").str.len_chars() > 0
    result: pl.LazyFrame = data.lazyframe.select(has_user ^ has_workspace)
    return result


def _typed_column(spec: ColumnSpec) -> pa.Column:
    import pandera.polars as pa  # noqa: PLC0415 - loaded by `_pandera_schema`, their caller
    import polars as pl  # noqa: PLC0415

    if spec.typed == "millionths":
        return pa.Column(pl.Int64, checks=[pa.Check.ge(0)], nullable=False)
    if spec.typed == "date":
        return pa.Column(pl.Date, nullable=False)
    return pa.Column(dtype_of(spec.dtype), checks=_checks(spec), nullable=False)


@cache
def _pandera_schema(contract: Contract, typed: bool = False) -> pa.DataFrameSchema:
    load_pandera()  # every use of Pandera starts here (`recon.core.pandera_loading`)
    import pandera.polars as pa  # noqa: PLC0415 - slow to import; only checking needs it

    columns = {
        spec.name: _typed_column(spec)
        if typed
        else pa.Column(dtype_of(spec.dtype), checks=_checks(spec), nullable=False)
        for spec in contract.columns
    }
    checks = []
    if contract.one_subject:
        checks.append(pa.Check(_exactly_one_subject, error="exactly one of USER_ID, WORKSPACE_ID"))
    if typed and contract.key:
        key = ", ".join(contract.key)
        checks.append(
            pa.Check(
                partial(_ascending_key, contract.key),
                error=f"each row's key ({key}) after the row before: {KEY_ORDER}",
            )
        )
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        strict=True,
        ordered=contract.ordered,
        unique=None if typed else list(contract.key) or None,
        name=contract.name,
    )


def _ascending_key(key: tuple[str, ...], data: Any) -> pl.LazyFrame:
    """Per row: its `key` is greater than the previous row's (compared column by column).

    At the first column that differs from the row before, the row must be the greater one; a
    row equal in every column is not. (One nested choice: half the time of a greater and an
    equal chain over every column, 0.07 s against 0.15 s for 1.26M USER rows.)
    """
    import polars as pl  # noqa: PLC0415

    greater: pl.Expr = pl.lit(False)  # equal in every column
    for name in reversed(key):
        value, before = pl.col(name), pl.col(name).shift(1)
        greater = pl.when(value == before).then(greater).otherwise(value > before)
    first = pl.int_range(pl.len()) == 0
    result: pl.LazyFrame = data.lazyframe.select(first | greater.fill_null(False))
    return result


def _flat_contract(file_name: str, *, ordered_default: bool) -> Contract:
    raw = _read_yaml(schema_dir() / file_name)
    columns = tuple(ColumnSpec.from_yaml(c["name"], c) for c in raw["columns"])
    return Contract(
        name=str(raw["name"]),
        columns=columns,
        key=tuple(raw.get("unique", [])),
        ordered=bool(raw.get("ordered", ordered_default)),
    )


@cache
def events_contract() -> Contract:
    """The canonical event contract (`schemas/events.yaml`)."""
    return _flat_contract("events.yaml", ordered_default=True)


@cache
def catalog_contract() -> Contract:
    """The package catalog contract (`schemas/catalog.yaml`)."""
    return _flat_contract("catalog.yaml", ordered_default=False)


@cache
def prices_contract() -> Contract:
    """The price list contract (`schemas/prices.yaml`)."""
    return _flat_contract("prices.yaml", ordered_default=False)


@cache
def report_contract(report_type: ReportType, category: Category) -> Contract:
    """The contract of one report type and category (`schemas/report_<type>.yaml`)."""
    shared = _read_yaml(schema_dir() / "report_columns.yaml")["columns"]
    raw = _read_yaml(schema_dir() / f"report_{report_type.lower()}.yaml")
    variants = raw["categories"]
    if category not in variants:
        raise KeyError(f"{report_type} reports have no {category} category")
    variant = variants[category]
    columns = tuple(ColumnSpec.from_yaml(name, shared[name]) for name in variant["columns"])
    return Contract(
        name=f"{report_type} {category}",
        columns=columns,
        key=tuple(variant["key"]),
        ordered=True,
        one_subject=bool(raw.get("one_subject", False)),
    )


def report_categories(report_type: ReportType) -> tuple[Category, ...]:
    """The categories a report type supports (PARTNER has no point-in-time variant)."""
    raw = _read_yaml(schema_dir() / f"report_{report_type.lower()}.yaml")
    return tuple(c for c in CATEGORIES if c in raw["categories"])
