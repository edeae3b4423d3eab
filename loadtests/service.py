"""The reference service for a run: a fresh roster and database, `caucus serve` on loopback.

Started as subprocesses through the `caucus` CLI, exactly as an engineer would start them.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
ROSTER_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class ReferenceService:
    """A running `caucus serve`: where it listens and the credentials the run needs."""

    url: str
    pin_sheet: Path
    admin_key: str
    operator_sheet: Path
    """The operators' own keys (``roster-operator-keys.csv``)."""
    reviewer_sheet: Path
    """The HQ reviewers' own keys (``roster-reviewer-keys.csv``)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caucus_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "caucus.cli", *args]


@contextmanager
def reference_service(
    folder: Path,
    precincts: int,
    seed: int,
    serve_flags: list[str],
    db: str = "sqlite",
    workers: int = 1,
) -> Iterator[ReferenceService]:
    """Generate a roster, start `caucus serve` on 127.0.0.1, stop it when the block ends.

    ``db``: ``sqlite`` (a fresh file in ``folder``), ``throwaway`` (a new PostgreSQL cluster,
    deleted afterwards) or a ``postgresql://`` URL (give an empty database); ``workers``:
    the service's worker processes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    roster = folder / "roster.csv"
    subprocess.run(
        caucus_command(
            "roster", "generate", "--precincts", str(precincts), "--seed", str(seed),
            "--test-roster", "--operators", "32", "--reviewers", "8", "--out", str(roster),
        ),
        check=True, capture_output=True, timeout=ROSTER_TIMEOUT_S,
    )  # fmt: skip
    with ExitStack() as stack:
        url = _database(folder, db, stack)
        admin_key = secrets.token_urlsafe(24)
        port = free_port()
        command = caucus_command(
            "serve", "--roster", str(roster), "--db", url,
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--token-key-file", str(folder / "token.keys"),
            # Locust plays the reverse proxy: each user's X-Forwarded-For is its own device.
            "--trusted-proxies", "127.0.0.1/32",
            *serve_flags,
        )  # fmt: skip
        service_url = f"http://127.0.0.1:{port}"
        with (folder / "serve.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "CAUCUS_ADMIN_KEY": admin_key},
            )
        stack.callback(stop, process)
        _wait_healthy(service_url, process)
        yield ReferenceService(
            service_url,
            folder / "roster-pins.csv",
            admin_key,
            folder / "roster-operator-keys.csv",
            folder / "roster-reviewer-keys.csv",
        )


def _database(folder: Path, db: str, stack: ExitStack) -> str:
    """The database URL for `caucus serve --db`, starting a throwaway cluster if asked."""
    if db == "sqlite":
        for stale in folder.glob("results.db*"):
            stale.unlink()
        return f"sqlite:///{folder / 'results.db'}"
    if db == "throwaway":
        from reporting.throwaway_postgres import throwaway_postgres

        return stack.enter_context(throwaway_postgres())
    return db


def stop(process: subprocess.Popen) -> None:
    """Terminate a process we started; kill it if it has not exited within the timeout."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"caucus serve exited with {process.returncode} (see serve.log)")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"caucus serve did not answer within {START_TIMEOUT_S:.0f} s")
