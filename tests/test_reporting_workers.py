"""`caucus serve --workers 2` as a real process: each worker listens on its own socket, so
connections opened together are spread over the workers, a worker killed is replaced, and
the port stays held."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="counts connections in Linux's /proc"
)

CONNECTIONS = 32
AT_LEAST = 4
"""Connections each worker must hold of 32: the kernel spreads them by address, so a worker
holds fewer than 4 with chance about 2e-6 (binomial 32, 1/2); shared, one took all 32."""


def workers_of(parent: int) -> list[int]:
    """Process ids of the server's worker processes (children that are not helpers)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


ESTABLISHED, LISTENING = "01", "0A"
"""States of a TCP socket as /proc/net/tcp writes them."""


def sockets_held(pid: int, port: int, state: str = ESTABLISHED) -> int:
    """TCP sockets on local ``port`` in ``state`` that process ``pid`` holds open."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while we looked
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def wait_for(predicate, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)


def listening_message(log: Path) -> int:
    return log.read_text().count("workers listening on")


def open_together(port: int) -> list[socket.socket]:
    """``CONNECTIONS`` keep-alive connections, each asking /healthz once and answered 200."""
    sockets = [
        socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CONNECTIONS)
    ]
    for sock in sockets:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for sock in sockets:
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 "), "a connection was not answered"
    return sockets


def spread(parent: int, port: int) -> list[int]:
    """Connections held by each worker while ``CONNECTIONS`` are open together."""
    sockets = open_together(port)
    try:
        return sorted(sockets_held(pid, port) for pid in workers_of(parent))
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.slow
def test_connections_opened_together_are_spread_over_the_workers(reporting_serve, tmp_path):
    server = reporting_serve(f"sqlite:///{tmp_path / 'w.db'}", "--workers", "2")
    port = int(server.url.rsplit(":", 1)[1])
    wait_for(lambda: listening_message(server.log) == 1, "both workers listening")
    held = spread(server.process.pid, port)
    print(f"\n{CONNECTIONS} connections opened together, held by the workers: {held}")
    assert len(held) == 2 and sum(held) == CONNECTIONS and min(held) >= AT_LEAST, held


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_new_connections_are_served(reporting_serve, tmp_path):
    """Threat: one worker dies mid-night (a crash, the OOM killer). Bound: every connection
    opened after its death is answered by the one left, and its replacement takes its share
    of the connections again."""
    server = reporting_serve(f"sqlite:///{tmp_path / 'w.db'}", "--workers", "2")
    port = int(server.url.rsplit(":", 1)[1])
    wait_for(lambda: listening_message(server.log) == 1, "both workers listening")
    first, second = workers_of(server.process.pid)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{first}").exists(), "the killed worker gone")
    for sock in open_together(port):  # the dead worker's socket closed with it
        sock.close()
    wait_for(lambda: len(workers_of(server.process.pid)) == 2, "a replacement worker")
    replacement = next(pid for pid in workers_of(server.process.pid) if pid != second)
    wait_for(lambda: sockets_held(replacement, port, LISTENING) == 1, "the replacement listening")
    held = spread(server.process.pid, port)
    assert sum(held) == CONNECTIONS and min(held) >= AT_LEAST, held


@pytest.mark.slow
def test_the_workers_hold_their_port(reporting_serve, tmp_path, reporting_roster):
    """Threat: another program takes the service's port (a restart race, a squatter). Bound:
    while the workers run, a plain bind of the port fails; a second `caucus serve` on it
    exits 2, naming the port."""
    server = reporting_serve(f"sqlite:///{tmp_path / 'w.db'}", "--workers", "2")
    port = int(server.url.rsplit(":", 1)[1])
    with socket.socket() as squatter, pytest.raises(OSError):
        squatter.bind(("127.0.0.1", port))
    command = [
        sys.executable, "-m", "caucus.cli", "serve", "--roster", str(reporting_roster.path),
        "--db", f"sqlite:///{tmp_path / 'other.db'}", "--port", str(port), "--workers", "2",
        "--token-secret", "s" * 32,
    ]  # fmt: skip
    second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
