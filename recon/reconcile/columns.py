"""Learning a report type's column order from the vendor files a partner already has.

Each file's report type is detected by its header, as a reconciliation does; a file named on
its own must be a report of some type, while a folder's CSVs that are not reports are skipped
(and said so). Two files of one type with different orders are refused.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from recon.core import config
from recon.core.contracts import (
    CATEGORIES,
    REPORT_TYPES,
    Category,
    ReportType,
    report_categories,
    report_contract,
)
from recon.core.errors import BadInputError
from recon.home.columns import (
    ColumnOrder,
    checked_order,
    forget_orders,
    learned_orders,
    save_order,
)
from recon.home.store import Store, transaction
from recon.reconcile.vendor import detect_type


@dataclass
class LearnedColumns:
    """What `recon columns learn` found: an order per type and category, and skipped files."""

    orders: list[ColumnOrder] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """The result with the API's camelCase keys."""
        return {
            "learned": [o.as_json() for o in self.orders],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


def _closest(columns: list[str]) -> tuple[ReportType, Category]:
    """The type and category whose columns overlap `columns` most (to name what differs)."""
    wanted = {c.strip().upper() for c in columns}
    kinds = [
        (t, c, set(report_contract(t, c).names))
        for t in REPORT_TYPES
        for c in CATEGORIES
        if c in report_categories(t)
    ]
    best = max(kinds, key=lambda k: (len(wanted & k[2]) - len(wanted ^ k[2]), -len(k[2])))
    return best[0], best[1]


def _header(path: Path) -> list[str]:
    """The column names of a CSV's first line, as written (repeated names kept)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"vendor file {path} is not UTF-8 text", hint="export the report as UTF-8 CSV"
        ) from exc
    except OSError as exc:
        raise BadInputError(f"cannot read vendor file {path}: {exc.strerror}") from exc


def _files(paths: list[Path]) -> list[tuple[Path, bool]]:
    """(file, named on its own) for every path; a folder gives its CSVs."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found += [(p, False) for p in sorted(path.glob("*.csv")) if p.is_file()]
        elif path.is_file():
            found.append((path, True))
        else:
            raise BadInputError(f"{path} does not exist", hint="name a vendor CSV or a folder")
    return found


def learn_column_orders(paths: list[Path], learned_at: datetime) -> LearnedColumns:
    """The column order of each report type and category found in the vendor files."""
    if not paths:
        raise BadInputError("no vendor files to learn from", hint="name a vendor CSV or a folder")
    result = LearnedColumns()
    by_kind: dict[tuple[str, str], ColumnOrder] = {}
    for path, named in _files(paths):
        header = _header(path)
        kind = detect_type(header)
        if kind is None:
            if not named:
                result.skipped.append((str(path), "not a billing report (header matches no type)"))
                continue
            report_type, category = _closest(header)
            checked_order(report_type, category, header, f"vendor file {path}")
            continue  # unreachable: the header is not exactly that type's
        columns = checked_order(kind[0], kind[1], header, f"vendor file {path}")
        order = ColumnOrder(kind[0], kind[1], columns, str(path.resolve()), learned_at)
        earlier = by_kind.get(kind)
        if earlier is not None and earlier.columns != columns:
            raise BadInputError(
                f"{earlier.learned_from} and {path} are both {kind[0]} {kind[1]} reports "
                "with different column orders",
                hint="learn from one of them",
            )
        by_kind.setdefault(kind, order)
    if not by_kind:
        raise BadInputError(
            f"no billing report among {', '.join(str(p) for p in paths)}",
            hint="name the vendor's report CSVs (PARTNER, CUSTOMER, LOCATION or USER)",
        )
    result.orders = sorted(by_kind.values(), key=lambda o: (o.report_type, o.category))
    return result


class ColumnOrders:
    """A home's column orders (`Recon.columns`): learn them from vendor files, show, reset."""

    def __init__(
        self,
        store: Store,
        writing: Callable[[], AbstractContextManager[object]],
        reading: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self._store = store
        self._writing = writing
        self._reading = reading

    def learn(
        self, paths: Iterable[str | Path], learned_at: datetime | None = None
    ) -> LearnedColumns:
        """Learn and keep the column order of every report type found in vendor files.

        Report CSVs created afterwards (and their HTTP downloads) use it; reconciliation
        still matches columns by name.
        """
        learned = learn_column_orders([Path(p) for p in paths], learned_at or config.now())
        with self._writing():
            self._store.layout.ensure()
            with self._store.connect() as con, transaction(con):
                for order in learned.orders:
                    save_order(con, order)
        return learned

    def show(self) -> list[ColumnOrder]:
        """The order of every report type and category: learned, or the documented one."""
        with self._reading(), self._store.connect() as con:
            learned = {(o.report_type, o.category): o for o in learned_orders(con)}
        return [
            learned.get((t, c)) or ColumnOrder(t, c, report_contract(t, c).names)
            for t in REPORT_TYPES
            for c in report_categories(t)
        ]

    def reset(self, report_type: str | None = None) -> list[str]:
        """Forget the learned orders of one report type (or of all).

        The documented order applies again. Returns the 'TYPE CATEGORY' of each one forgotten.
        """
        chosen = report_type.upper() if report_type else None
        if chosen is not None and chosen not in REPORT_TYPES:
            raise BadInputError(
                f"type {report_type!r} is not a report type",
                hint=f"use one of {', '.join(REPORT_TYPES)}",
            )
        with self._writing(), self._store.connect() as con:
            return forget_orders(con, chosen)
