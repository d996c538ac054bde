"""What an ingest reports: per file, and in total (the counts always add up)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from recon.core.camel import camel_keys


@dataclass
class FileResult:
    """What happened to one file.

    `format` is as read: `csv`, `csv+gzip`, `jsonl (UTF-16)`, ...; `notes` say what was
    found by content (gzip under a plain name, UTF-16) or where it came from (a zip member).
    """

    path: str
    format: str
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None
    sha256: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    """Counts for one ingest; `rows_read == accepted + duplicates + quarantined` always."""

    ingest_id: str
    files: list[FileResult] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        """Rows read from all files."""
        return sum(f.rows_read for f in self.files)

    @property
    def accepted(self) -> int:
        """Rows appended to the lake."""
        return sum(f.accepted for f in self.files)

    @property
    def duplicates(self) -> int:
        """Rows whose event was already stored with identical content."""
        return sum(f.duplicates for f in self.files)

    @property
    def quarantined(self) -> int:
        """Rows rejected with a reason."""
        return sum(f.quarantined for f in self.files)

    @property
    def failed_files(self) -> list[FileResult]:
        """Files that could not be read at all, or were refused (a required column missing)."""
        return [f for f in self.files if f.error]

    def as_json(self) -> dict[str, object]:
        """A JSON-ready summary, keys in camelCase (quarantine reasons keep their names)."""
        return {
            "ingestId": self.ingest_id,
            "rowsRead": self.rows_read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "quarantineReasons": dict(sorted(self.reasons.items())),
            "files": [camel_keys(asdict(f)) for f in self.files],
            "skipped": [camel_keys(s) for s in self.skipped],
        }

    as_dict = as_json  # the earlier name


Progress = Callable[[str, int, int], None]
