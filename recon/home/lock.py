"""The home's writer lock: one writing recon process at a time."""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from recon.core import config
from recon.core.errors import LockedError
from recon.home.layout import HomeLayout


@contextmanager
def home_lock(layout: HomeLayout, *, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the home's writer lock; wait up to `wait_seconds`, then fail with the holder's PID.

    The wait defaults to `RECON_LOCK_WAIT` seconds (30 when unset).
    """
    if wait_seconds is None:
        wait_seconds = config.lock_wait_seconds()
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise LockedError(
                        f"home {layout.root} is locked by PID {holder}",
                        hint="wait for that recon process to finish, then try again",
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def pid_alive(pid: int | None) -> bool:
    """True while process `pid` runs (a writer that ended can never finish its work)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_TOKEN: tuple[int, str] | None = None


def process_token() -> str:
    """This process, told apart from any other that had (or will have) the same PID.

    A PID alone is not enough: a server restarted in a container is PID 1 again, and a PID is
    reused once its process has ended.
    """
    global _TOKEN  # noqa: PLW0603 - one value per process, made on first use (and after a fork)
    if _TOKEN is None or _TOKEN[0] != os.getpid():
        _TOKEN = (os.getpid(), f"{os.getpid()}-{uuid.uuid4().hex}")
    return _TOKEN[1]
