"""A throwaway PostgreSQL cluster on 127.0.0.1, for tests, benchmarks and rehearsals.

Uses the machine's ``initdb`` and ``pg_ctl`` (on PATH or Debian's /usr/lib/postgresql/*/bin).
The server refuses to run as root, so as root the cluster runs as user ``postgres``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresMissing(RuntimeError):
    """initdb or pg_ctl is not installed."""


def postgres_program(name: str) -> str | None:
    """Path of a PostgreSQL server program, or None when it is not installed."""
    found = shutil.which(name)
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found or (candidates[-1] if candidates else None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_postgres(max_connections: int = 200) -> Iterator[str]:
    """Start a new cluster; yield the URL of its ``postgres`` database; delete it on exit."""
    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresMissing("PostgreSQL is not installed (initdb/pg_ctl not found)")
    data = Path(tempfile.mkdtemp(prefix="caucus-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres", "postgres")
    cluster, port = data / "cluster", free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run([*as_user, initdb, "-D", str(cluster), "-A", "trust", "-U", "postgres"], **run)
    options = f"-h 127.0.0.1 -p {port} -k {data} -c fsync=on -c max_connections={max_connections}"
    start = [pg_ctl, "-D", str(cluster), "-o", options, "-l", str(data / "log"), "-w", "start"]
    subprocess.run([*as_user, *start], **run)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop = [pg_ctl, "-D", str(cluster), "-m", "immediate", "stop"]
        subprocess.run([*as_user, *stop], timeout=60, check=False, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
