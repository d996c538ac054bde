"""API bearer tokens: created by `recon token create`, kept hashed in `<home>/tokens.json`.

A token is shown once, when it is made; the file holds only its SHA-256. Scope `read` may list
and get reports, `write` may also create and delete them. A token made for a sub-partner only
ever sees that sub-partner's reports and customers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from recon.core.errors import BadInputError
from recon.home.files import write_text_atomically

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

    def can_write(self) -> bool:
        """Write scope allows create and delete."""
        return self.scope == "write"


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
    home: Path, scope: str, sub_partner_org_id: str | None, created: datetime, note: str = ""
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
    )
    records = [*load_tokens(home), record]
    text = json.dumps({"tokens": [asdict(r) for r in records]}, indent=2) + "\n"
    write_text_atomically(_path(home), text, mode=0o600)
    return token, record


def find_token(records: list[TokenRecord], token: str) -> TokenRecord | None:
    """The record of a presented token, compared in constant time."""
    digest = _digest(token)
    found = None
    for record in records:
        if hmac.compare_digest(record.sha256, digest):
            found = record
    return found
