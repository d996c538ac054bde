"""A log file's columns: the partner's names mapped to recon's, and refused when one is missing.

The mapping (`[ingest.columns]` in recon.toml, or one call's `columns=`) says, for recon's
canonical name, what the partner calls that column, e.g. `event_id = "EventRef"`. Header
names are compared without case or surrounding spaces. A file that lacks a required column
(after the mapping) is refused as a whole, with one error naming the missing columns and the
mapping option, rather than quarantining each of its rows as MISSING_FIELD.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from recon.core.config import MAPPING_HINT
from recon.core.contracts import events_contract
from recon.core.errors import BadInputError

IDENTIFYING = ("event_id", "occurred_at", "action")
SUBJECTS = ("user_id", "workspace_id")


class UnreadableFileError(BadInputError):
    """A log file that cannot be read as its format at all, or lacks a required column."""


@cache
def required_columns() -> tuple[str, ...]:
    """The columns every log must have (one of the subject columns is checked apart)."""
    return tuple(c.name for c in events_contract().columns if c.input and c.required)


def clean_name(name: str) -> str:
    """How a header name is compared: trimmed, lower case, without a byte-order mark."""
    return name.strip().lstrip("\ufeff").strip().lower()


def renames(source: str, header: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """The file's column → recon's name, for the mapped columns this file has.

    A file that has both recon's name for a column and the column mapped to it is refused:
    which one to believe is not recon's guess to make.
    """
    present = set(header)
    out: dict[str, str] = {}
    for canonical, theirs in mapping.items():
        own = clean_name(theirs)
        if own in present and own != canonical:
            out[own] = canonical
    clashes = sorted(c for c in out.values() if c in present and c not in out)
    if clashes:
        shown = ", ".join(f"{c} and {mapping[c]}" for c in clashes)
        raise UnreadableFileError(
            f"{source}: has both {shown}, which the column mapping maps to the same column",
            hint="drop one of them from the file, or from [ingest.columns] in recon.toml",
        )
    return out


def check_columns(source: str, header: list[str], mapping: Mapping[str, str]) -> None:
    """Refuse a file (with its column names already mapped) that is not a complete event log."""
    present = set(header)
    if not present & set(IDENTIFYING):
        joined = ",".join(header)
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in joined:
                raise UnreadableFileError(
                    f"{source}: the header is separated by {name}, not commas",
                    hint="export the log as comma-separated CSV",
                )
        shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
        raise UnreadableFileError(
            f"{source}: not an event log (it has none of the columns "
            f"{', '.join(IDENTIFYING)}; it has {shown})",
            hint=f"move it out of the log folder, fix its header, or {MAPPING_HINT}",
        )
    missing = [c for c in required_columns() if c not in present]
    if not present & set(SUBJECTS):
        missing.append(" or ".join(SUBJECTS))
    if missing:
        mapped = [
            f"{c} (mapped to {mapping[c]!r}, which the file does not have)" if c in mapping else c
            for c in missing
        ]
        shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
        raise UnreadableFileError(
            f"{source}: missing required column(s) {', '.join(mapped)}; the whole file was "
            f"refused (its columns: {shown})",
            hint=f"rename the columns in the file, or {MAPPING_HINT}",
        )
