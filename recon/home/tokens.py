"""API bearer tokens: created by `recon token create`, kept hashed in `<home>/tokens.json`.

A token is shown once, when it is made; the file holds only its SHA-256. Scope `read` may list
and get reports, `write` may also create and delete them. A token made for a sub-partner only
ever sees that sub-partner's reports and customers. A token may expire (`--expires`) and can be
revoked; the record stays, so `recon token list` shows what was issued and when it stopped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from recon.core.config import parse_instant
from recon.core.errors import BadInputError, NotFoundError
from recon.home.files import write_bytes_atomically, write_text_atomically

Scope = Literal["read", "write"]
TOKEN_FILE = "tokens.json"
PREFIX = "rcn_"


@dataclass(frozen=True)
class TokenRecord:
    """What the server knows about a token (never the token itself)."""

    id: str
    sha256: str
    scope: Scope
    sub_partner_org_id: str | None
    created: str
    note: str = ""
    expires: str | None = None
    revoked: str | None = None

    def can_write(self) -> bool:
        """Write scope allows create and delete."""
        return self.scope == "write"

    def refusal(self, now: datetime) -> str | None:
        """Why the token may no longer be used at `now` (revoked, expired), or None."""
        if self.revoked is not None:
            return f"this token was revoked at {self.revoked}"
        if self.expires is not None and datetime.fromisoformat(self.expires) <= now:
            return f"this token expired at {self.expires}"
        return None


_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def expiry(value: str, now: datetime) -> datetime:
    """When a token made at `now` with `--expires value` expires; it must lie in the future.

    `value` is a duration from now (90m, 12h, 30d, 2w) or an ISO 8601 instant.
    """
    match = _DURATION.match(value.strip())
    if match:
        when = now + timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        try:
            when = parse_instant(value, what="--expires")
        except BadInputError:
            raise BadInputError(
                f"--expires {value!r} is neither a duration nor an instant",
                hint="write a duration such as 90m, 12h, 30d or 2w, or an instant such as "
                "2027-01-01T00:00:00Z",
            ) from None
    if when <= now:
        raise BadInputError(f"--expires {value!r} is not in the future", hint="pick a later time")
    return when


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _path(home: Path) -> Path:
    return home / TOKEN_FILE


def load_tokens(home: Path) -> list[TokenRecord]:
    """All token records of a home (none when the file does not exist)."""
    path = _path(home)
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [TokenRecord(**entry) for entry in raw["tokens"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(
            f"{path} is damaged: {exc}", hint="restore it or create new tokens"
        ) from exc


def create_token(
    home: Path,
    scope: str,
    sub_partner_org_id: str | None,
    created: datetime,
    note: str = "",
    expires: datetime | None = None,
) -> tuple[str, TokenRecord]:
    """Make a token, store its hash, and return the token (shown once) and its record."""
    if scope not in ("read", "write"):
        raise BadInputError(
            f"scope {scope!r} is not read or write", hint="use --scope read or --scope write"
        )
    token = PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(
        id="tok-" + secrets.token_hex(6),
        sha256=_digest(token),
        scope=scope,  # type: ignore[arg-type]
        sub_partner_org_id=sub_partner_org_id,
        created=created.isoformat(),
        note=note,
        expires=expires.isoformat() if expires is not None else None,
    )
    _save(home, [*load_tokens(home), record])
    return token, record


def revoke_token(home: Path, token_id: str, now: datetime) -> TokenRecord:
    """Revoke a token by id (it is refused from then on); revoking twice keeps the first time."""
    records = load_tokens(home)
    for index, record in enumerate(records):
        if record.id == token_id:
            if record.revoked is not None:
                return record
            records[index] = replace(record, revoked=now.isoformat())
            _save(home, records)
            return records[index]
    raise NotFoundError(f"no token with id {token_id!r}", hint="`recon token list` shows the ids")


def server_secret(home: Path) -> bytes:
    """The key `recon serve` signs download links with, created (mode 0600) on first use."""
    path = home / ".server-secret"
    if not path.exists():
        write_bytes_atomically(path, secrets.token_hex(32).encode(), mode=0o600)
    return path.read_text().strip().encode()


def _save(home: Path, records: list[TokenRecord]) -> None:
    text = json.dumps({"tokens": [asdict(r) for r in records]}, indent=2) + "\n"
    write_text_atomically(_path(home), text, mode=0o600)


def find_token(records: list[TokenRecord], token: str) -> TokenRecord | None:
    """The record of a presented token, compared in constant time."""
    digest = _digest(token)
    found = None
    for record in records:
        if hmac.compare_digest(record.sha256, digest):
            found = record
    return found
