"""The face's API tokens and the server's signing key."""

from __future__ import annotations

from recon.api._home import HomeFace
from recon.core import config
from recon.home.tokens import (
    TokenRecord,
    create_token,
    find_token,
    load_tokens,
    revoke_token,
    server_secret,
)
from recon.home.tokens import expiry as token_expiry


class TokensFace(HomeFace):
    """What `recon serve` needs beyond reports: API tokens and its signing key."""

    def create_token(
        self,
        scope: str,
        sub_partner_org_id: str | None = None,
        note: str = "",
        expires: str | None = None,
    ) -> tuple[str, TokenRecord]:
        """Make an API token for `recon serve`; the token is returned once, stored hashed.

        A sub-partner scope must name a sub-partner of the lake (`BadInputError` otherwise).
        `expires` is a duration from now (90m, 12h, 30d, 2w) or an ISO 8601 instant.
        """
        from recon.reports.scope import check_sub_partner  # noqa: PLC0415 - it reads the lake

        check_sub_partner(self.layout, sub_partner_org_id)
        now = config.now()
        until = token_expiry(expires, now) if expires is not None else None
        with self._writing():
            return create_token(self.home, scope, sub_partner_org_id, now, note, until)

    def find_token(self, presented: str) -> TokenRecord | None:
        """A presented bearer token's record, or None; `refusal(now)` says if it still works."""
        return find_token(load_tokens(self.home), presented)

    def list_tokens(self) -> list[TokenRecord]:
        """Every token record of the home, revoked and expired ones too (never a token)."""
        return load_tokens(self.home)

    def revoke_token(self, token_id: str) -> TokenRecord:
        """Revoke a token by id: the server refuses it (401) from then on."""
        with self._writing():
            return revoke_token(self.home, token_id, config.now())

    def server_secret(self) -> bytes:
        """The key `recon serve` signs download links with, created (mode 0600) on first use."""
        return server_secret(self.home)
