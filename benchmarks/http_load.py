"""Load test of `recon serve` on loopback: 32 clients mix list, get, download, create, delete.

Half the clients keep their connection alive, half open one per request. Creates are capped
(a few reports in flight at once) so every report can finish before the end. Prints p50/p99
per operation and the status counts, and fails (exit 1) on any 5xx, or on a report that ends
neither COMPLETED nor FAILED with a reason.

    python -m benchmarks.http_load [--seconds 30] [--clients 32]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from recon import Recon

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
NOW = "2026-11-21T12:00:00Z"
BASE = "/v1/wholesale/billing/reports"
IN_FLIGHT = 4  # reports being created at once
TYPES = ("USER", "CUSTOMER", "PARTNER")


class Load:
    """Shared results of every client."""

    def __init__(self, host: str, port: int, tokens: dict[str, str]) -> None:
        self.host, self.port, self.tokens = host, port, tokens
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.errors: list[str] = []
        self.created: list[str] = []
        self.creating = threading.BoundedSemaphore(IN_FLIGHT)

    def record(self, op: str, status: int, seconds: float, body: bytes) -> None:
        with self.lock:
            self.latency[op].append(seconds)
            self.statuses[(op, status)] += 1
            if status >= 500:
                self.errors.append(f"{op} {status}: {body[:200]!r}")


class Client:
    """One simulated integration."""

    def __init__(self, load: Load, keep_alive: bool, seed: int) -> None:
        self.load, self.keep_alive = load, keep_alive
        self.random = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None
        self.mine: list[str] = []

    def call(
        self, op: str, method: str, path: str, token: str | None, body: object = None
    ) -> tuple[int, bytes]:
        if self.conn is None or not self.keep_alive:
            self.conn = http.client.HTTPConnection(self.load.host, self.load.port, timeout=120)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, data, headers)
            reply = self.conn.getresponse()
            content = reply.read()
            status = reply.status
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = None
            status, content = 599, repr(exc).encode()
        self.load.record(op, status, time.perf_counter() - started, content)
        if not self.keep_alive and self.conn is not None:
            self.conn.close()
            self.conn = None
        return status, content

    def step(self) -> None:
        read, write = self.load.tokens["read"], self.load.tokens["write"]
        roll = self.random.random()
        if roll < 0.55:
            self.call("list", "GET", f"{BASE}?max=20&sortBy=id", read)
        elif roll < 0.75 and self.load.created:
            self.call("get", "GET", f"{BASE}/{self.random.choice(self.load.created)}", read)
        elif roll < 0.85 and self.load.created:
            status, body = self.call(
                "get", "GET", f"{BASE}/{self.random.choice(self.load.created)}", read
            )
            link = json.loads(body).get("tempDownloadURL") if status == 200 else None
            if link:
                self.call("download", "GET", link.split(str(self.load.port), 1)[1], None)
        elif roll < 0.93:
            self.create(write)
        elif self.mine:
            status, _ = self.call("delete", "DELETE", f"{BASE}/{self.mine[0]}", write)
            if status in (204, 404):
                removed = self.mine.pop(0)
                with self.load.lock:
                    if removed in self.load.created:
                        self.load.created.remove(removed)

    def create(self, token: str) -> None:
        if not self.load.creating.acquire(blocking=False):
            return
        try:
            kind = self.random.choice(TYPES)
            body = (
                {"type": kind, "category": "POINT_IN_TIME"}
                if kind != "PARTNER"
                else {
                    "type": kind,
                    "billingStartDate": "2026-10-01",
                    "billingEndDate": "2026-10-31",
                }
            )
            status, content = self.call("create", "POST", BASE, token, body)
            if status == 200:
                report = json.loads(content)["id"]
                self.mine.append(report)
                with self.load.lock:
                    self.load.created.append(report)
                self.wait(report)
        finally:
            self.load.creating.release()

    def wait(self, report: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, body = self.call("get", "GET", f"{BASE}/{report}", self.load.tokens["read"])
            if status != 200 or json.loads(body)["status"] != "IN_PROGRESS":
                return
            time.sleep(0.1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load")
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    os.environ["RECON_NOW"] = NOW
    with tempfile.TemporaryDirectory(prefix="recon-http-load-") as folder:
        home = Path(folder) / "home"
        rc = Recon(home)
        rc.ingest([SAMPLE])
        tokens = {
            "read": rc.create_token("read", note="load")[0],
            "write": rc.create_token("write", note="load")[0],
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "recon.serve.cli.main",
                "--home",
                str(home),
                "serve",
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "RECON_HTTP_LOG": "0"},
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split(" at ", 1)[1].strip()
            port = int(url.split(":")[2].split("/")[0])
            load = Load("127.0.0.1", port, tokens)
            outcome = run(load, args.seconds, args.clients)
            final = settle(rc)
        finally:
            server.terminate()
            server.communicate(timeout=30)
    return report(load, outcome, final)


def run(load: Load, seconds: float, clients: int) -> float:
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        client = Client(load, keep_alive=index % 2 == 0, seed=index)
        while time.monotonic() < stop:
            client.step()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def settle(rc: Recon) -> list[str]:
    """Problems with the reports once every build has ended (waits up to two minutes)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        reports = rc.list_reports()
        if all(r.status != "IN_PROGRESS" for r in reports):
            break
        time.sleep(0.5)
    return [
        f"{r.id} {r.status} {r.errors}"
        for r in rc.list_reports()
        if r.status not in ("COMPLETED", "FAILED") or (r.status == "FAILED" and not r.errors)
    ]


def report(load: Load, seconds: float, problems: list[str]) -> int:
    total = sum(load.statuses.values())
    print(f"{total} requests in {seconds:.1f} s ({total / seconds:.0f}/s)")
    print(f"{'operation':<10} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    everything = [v for values in load.latency.values() for v in values]
    for op, values in [*sorted(load.latency.items()), ("all", everything)]:
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"{op:<10} {len(values):>7} {p50:>8.1f} {p99:>8.1f}")
    print("statuses:", dict(sorted(load.statuses.items())))
    failed = False
    if load.errors:
        failed = True
        print(f"FAIL: {len(load.errors)} answers 5xx, e.g. {load.errors[:3]}")
    if problems:
        failed = True
        print(f"FAIL: reports neither COMPLETED nor FAILED with a reason: {problems[:5]}")
    if not failed:
        print("ok: no 5xx; every report COMPLETED or FAILED with a reason")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
