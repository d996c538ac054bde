"""Which files are logs, and how to open one: plain, gzip-compressed, in a zip, or UTF-16.

A log is CSV, JSON Lines or Parquet, named by its suffix (`.csv`, `.jsonl`, `.ndjson`,
`.parquet`), optionally compressed: `name.csv.gz` and `name.jsonl.gz` are gzip files, and each
member of a `.zip` that is a log is a source of its own, named `archive.zip!member.csv` in the
lineage. Compression and encoding are detected by content, not trusted from the name: a
`.csv` holding gzip is read as gzip, a `.gz` holding plain text is read as plain text, and a
UTF-16 file (with its byte-order mark) is decoded to UTF-8. Each detection is said in the
file's `format` (`csv+gzip`, `csv (UTF-16)`) and its `notes`.

A plain or gzip file's digest is of its bytes on disk; a zip member's is of its own
(uncompressed) bytes.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from recon.home.files import file_sha256

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    """One input: where it is (a file, or `archive.zip!member`), its format and digest.

    `gzip` and `utf16` are what its content turned out to be; `problem` says why it cannot be
    read at all (a damaged zip member, gzip-compressed Parquet), else None.
    """

    path: Path
    kind: str
    sha256: str
    size: int
    gzip: bool = False
    utf16: bool = False
    archive: Path | None = None
    member: str | None = None
    notes: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def label(self) -> str:
        """The format as read: `csv`, `csv+gzip`, `jsonl (UTF-16)`, ..."""
        return self.kind + ("+gzip" if self.gzip else "") + (" (UTF-16)" if self.utf16 else "")


@dataclass(frozen=True)
class SkippedPath:
    """A path that was named or found but is not a log file recon reads."""

    path: Path
    reason: str


def log_kind(name: str) -> tuple[str | None, bool]:
    """(format, named .gz) from a file name; format None when it is not a log's name."""
    lower = name.lower()
    gz = lower.endswith(".gz")
    base = lower[:-3] if gz else lower
    dot = base.rfind(".")
    return (SUFFIXES.get(base[dot:]) if dot >= 0 else None), gz


def _not_a_log() -> str:
    return f"not a log file (expected {', '.join(sorted(SUFFIXES))})"


def discover(paths: Iterable[Path]) -> tuple[list[SourceFile], list[SkippedPath]]:
    """Expand files, folders (recursively) and zips into log sources, sorted within a folder."""
    found: list[SourceFile] = []
    skipped: list[SkippedPath] = []

    def consider(path: Path, *, named: bool) -> None:
        if path.suffix.lower() == ".zip":
            _zip_members(path, found, skipped)
            return
        kind, named_gz = log_kind(path.name)
        if kind is None:
            if named or not path.name.startswith("."):
                skipped.append(SkippedPath(path, _not_a_log()))
            return
        with path.open("rb") as handle:
            head = handle.read(4)
        found.append(
            _described(
                path,
                kind,
                file_sha256(path),
                path.stat().st_size,
                head,
                named_gz,
                lambda: path.open("rb"),
            )
        )

    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                consider(child, named=False)
        elif path.is_file():
            consider(path, named=True)
        else:
            skipped.append(SkippedPath(path, "no such file or folder"))
    return found, skipped


def _described(
    path: Path,
    kind: str,
    sha256: str,
    size: int,
    head: bytes,
    named_gz: bool,
    reopen: Callable[[], IO[bytes]],
    *,
    archive: Path | None = None,
    member: str | None = None,
) -> SourceFile:
    """A source with its compression and encoding found from its first bytes."""
    compressed = head.startswith(GZIP_MAGIC)
    notes: list[str] = []
    if compressed and not named_gz:
        notes.append("gzip-compressed (found by content; its name does not end in .gz)")
    if named_gz and not compressed:
        notes.append("named .gz but not gzip-compressed; read as plain")
    problem = None
    if compressed and kind == "parquet":
        problem = f"{path}: gzip-compressed Parquet is not read (Parquet compresses itself)"
    text_head = head
    if compressed and problem is None:
        text_head = _gunzipped_head(reopen)
    utf16 = kind != "parquet" and text_head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    if utf16:
        notes.append("UTF-16 (byte-order mark); decoded to UTF-8")
    return SourceFile(
        path,
        kind,
        sha256,
        size,
        gzip=compressed,
        utf16=utf16,
        archive=archive,
        member=member,
        notes=tuple(notes),
        problem=problem,
    )


def _gunzipped_head(reopen: Callable[[], IO[bytes]]) -> bytes:
    try:
        with reopen() as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            return unzipped.read(4)
    except (OSError, EOFError):  # a damaged stream is reported when the file is read
        return b""


def _zip_members(archive: Path, found: list[SourceFile], skipped: list[SkippedPath]) -> None:
    """Each member of a zip that is a log becomes a source `archive.zip!member`."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = sorted(
                (i for i in bundle.infolist() if not i.is_dir()), key=lambda i: i.filename
            )
            for info in members:
                name = info.filename
                shown = Path(f"{archive}!{name}")
                base = name.rsplit("/", 1)[-1]
                if base.startswith(".") or name.startswith("__MACOSX/"):
                    continue
                kind, named_gz = log_kind(base)
                if kind is None:
                    reason = (
                        "a zip inside a zip is not read; unpack the outer one"
                        if base.lower().endswith(".zip")
                        else _not_a_log()
                    )
                    skipped.append(SkippedPath(shown, reason))
                    continue
                try:
                    digest, head = _member_digest(bundle, info)
                except (OSError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
                    found.append(
                        SourceFile(
                            shown,
                            kind,
                            "",
                            info.file_size,
                            archive=archive,
                            member=name,
                            problem=f"{shown}: cannot be read from the zip: {exc}",
                        )
                    )
                    continue

                def reopen(info: zipfile.ZipInfo = info) -> IO[bytes]:
                    return bundle.open(info)

                found.append(
                    _described(
                        shown,
                        kind,
                        digest,
                        info.file_size,
                        head,
                        named_gz,
                        reopen,
                        archive=archive,
                        member=name,
                    )
                )
    except (OSError, zipfile.BadZipFile) as exc:
        found.append(
            SourceFile(
                archive,
                "zip",
                file_sha256(archive),
                archive.stat().st_size,
                problem=f"{archive}: cannot be read as a zip archive: {exc}",
            )
        )


def _member_digest(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    head = b""
    with bundle.open(info) as member:
        for block in iter(lambda: member.read(_BLOCK), b""):
            if not head:
                head = block[:4]
            digest.update(block)
    return digest.hexdigest(), head


# ------------------------------------------------------------------------------ opening


class _Utf8FromUtf16(io.RawIOBase):
    """A UTF-16 byte stream (with its BOM) read as UTF-8 bytes; broken pairs become U+FFFD."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._text = io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline="")
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            text = self._text.read(1 << 16)
            if not text:
                return 0
            self._pending = text.encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


@contextmanager
def open_raw(source: SourceFile) -> Iterator[IO[bytes]]:
    """The source's bytes as stored (a file, or a zip member), seekable."""
    with ExitStack() as stack:
        if source.archive is not None and source.member is not None:
            bundle = stack.enter_context(zipfile.ZipFile(source.archive))
            yield stack.enter_context(bundle.open(source.member))
        else:
            yield stack.enter_context(source.path.open("rb"))


@contextmanager
def open_text_bytes(source: SourceFile) -> Iterator[IO[bytes]]:
    """The source's content as bytes to parse: gunzipped, and UTF-16 decoded to UTF-8."""
    with ExitStack() as stack:
        stream: IO[bytes] = stack.enter_context(open_raw(source))
        if source.gzip:
            unzipped = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
            stream = cast("IO[bytes]", unzipped)
        if source.utf16:
            stream = stack.enter_context(io.BufferedReader(_Utf8FromUtf16(stream), _BLOCK))
        yield stream
