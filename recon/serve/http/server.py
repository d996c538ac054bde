"""`recon serve`: the Webex Wholesale Billing Reports API over recon's own store.

Tooling written against Webex's public billing-report API (create, get, list, delete) runs
unchanged against recon. The HTTP layer only parses, authorises and renders: every business
rule (validation, conflicts, scoping, lifecycle) is the library's (`recon.Recon`).

`handler` parses, routes and writes; `reports_api` holds the operations; `wire` the format.
The server holds the home's writer lock only while it writes, so every reader (and other
writers, in turn) can use the home while it runs.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from http.server import ThreadingHTTPServer
from types import FrameType
from typing import Any

from recon import Recon
from recon.serve.http.handler import make_handler
from recon.serve.http.reports_api import ReportsApi
from recon.serve.http.wire import BASE

log = logging.getLogger("recon.serve.http")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a kept-alive connection never holds up a stop
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is not an error; anything else is logged once."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        log.exception("unexpected error serving %s", client_address[0])


class _StopServingError(Exception):
    """SIGTERM: leave the serving loop now."""


def make_server(rc: Recon, host: str, port: int) -> tuple[ThreadingHTTPServer, ReportsApi]:
    """A ready-to-run server (call `serve_forever`, or `run`) and its API."""
    api = ReportsApi(rc)
    server = _Server((host, port), make_handler(api))
    return server, api


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("recon.serve.http")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run(server: ThreadingHTTPServer, api: ReportsApi | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM, then stop at once.

    Open connections are dropped; a report still being built is left IN_PROGRESS and is
    FAILED (INTERRUPTED) as soon as anyone looks, since its process has gone.
    """
    _log_to_stderr()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _StopServingError

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, _StopServingError):
        pass
    finally:
        server.server_close()
    if api is not None and api.busy():
        # Waiting for the build (minutes, maybe) is not what a stop means.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


__all__ = ["BASE", "ReportsApi", "make_server", "run"]
