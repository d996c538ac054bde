"""`recon serve`: the Webex Wholesale Billing Reports API over recon's own store.

Tooling written against Webex's public billing-report API (create, get, list, delete) runs
unchanged against recon. The HTTP layer only parses, authorises and renders: every business
rule (validation, conflicts, scoping, lifecycle) is the library's (`recon.Recon`).

`handler` parses, routes and writes; `reports_api` holds the operations; `wire` the format.
"""

from __future__ import annotations

import signal
import threading
from http.server import ThreadingHTTPServer

from recon import Recon
from recon.serve.http.handler import make_handler
from recon.serve.http.reports_api import ReportsApi
from recon.serve.http.wire import BASE


def make_server(recon: Recon, host: str, port: int) -> tuple[ThreadingHTTPServer, ReportsApi]:
    """A ready-to-run server (call `serve_forever`, or `run`) and its API."""
    api = ReportsApi(recon)
    server = ThreadingHTTPServer((host, port), make_handler(api))
    server.daemon_threads = True
    return server, api


def run(server: ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C or SIGTERM, then close the socket."""
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = ["BASE", "ReportsApi", "make_server", "run"]
