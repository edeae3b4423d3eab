"""`caucus serve --workers N`: each worker accepts on a listening socket of its own.

uvicorn's workers share the one socket its parent binds, and whichever worker's event loop
wakes first accepts every connection then waiting: 32 connections opened together went 32 to 0
(counted with ``ss``), and one worker did all the work while the other idled. Here each worker
binds the port with ``SO_REUSEPORT`` and listens on its own socket, and the kernel spreads new
connections over the listening sockets by their addresses. A worker listens only once its
start-up is done, so a worker that is starting or restarting is given no connection; what
waits in a worker's queue when it dies is reset, and its clients retry as after any
dropped connection. uvicorn's supervisor is kept as it is: it restarts a worker that dies or
hangs and shuts the workers down gracefully.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

logger = logging.getLogger("reporting")

READY_TIMEOUT_S = 60
"""Seconds the parent waits for each worker's start-up; past them it does not say that every
worker listens (uvicorn's supervisor goes on watching them all the same)."""


class PortHold(socket.socket):
    """The parent's hold on the port: bound with ``SO_REUSEPORT``, never listening, so no
    connection ever waits on it, and no other program can take the port between restarts.

    Handed to a worker process (pickled by ``multiprocessing``), it arrives there as that
    worker's own socket bound to the same address, which the worker's server then listens on.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (reuse_port_socket, (self.family, self.getsockname()))


def reuse_port_socket(
    family: int, address: tuple[Any, ...], kind: type[socket.socket] = socket.socket
) -> socket.socket:
    """A TCP socket bound to ``address`` that others with ``SO_REUSEPORT`` may bind too."""
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def hold_port(host: str, port: int) -> socket.socket:
    """A :class:`PortHold` on ``host:port`` (``port`` 0: a free one); ``OSError`` if taken.

    ``SO_REUSEPORT`` would let any process of the same user join the port and take a share
    of its connections, a second `caucus serve` included; a plain bind first makes sure that
    nothing holds the port yet."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        address = probe.getsockname()
    return reuse_port_socket(family, address, PortHold)


class SpreadWorkers(Multiprocess):
    """uvicorn's supervisor, which says when every worker listens."""

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            if not process.wait_until_ready(READY_TIMEOUT_S, self.should_exit):
                return
        host, port = self.sockets[0].getsockname()[:2]
        logger.info(
            "caucus serve: %d workers listening on %s port %d, each on its own socket",
            len(self.processes),
            host,
            port,
        )


def run_workers(config: uvicorn.Config, hold: socket.socket) -> None:
    """Serve ``config.app`` (an import string) from ``config.workers`` processes on the port
    of ``hold`` (from :func:`hold_port`) until a signal stops them; then let the port go."""
    try:
        SpreadWorkers(config, sockets=[hold]).run()
    finally:
        hold.close()
