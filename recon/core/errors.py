"""Errors that reach a user: each says what went wrong and what to do next."""

from __future__ import annotations


class ReconError(Exception):
    """A failure the user can act on; the CLI prints it as one line and exits non-zero."""

    exit_code = 2
    code = "RECON_ERROR"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInputError(ReconError):
    """The request or an input file cannot be used as given."""

    code = "BAD_INPUT"


class ConflictError(ReconError):
    """The request clashes with something already stored."""

    code = "CONFLICT"


class NotFoundError(ReconError):
    """The thing asked for does not exist."""

    code = "NOT_FOUND"


class LockedError(ReconError):
    """Another recon process holds the home."""

    code = "LOCKED"
