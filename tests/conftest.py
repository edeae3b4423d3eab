"""Shared fixtures. Reporting-service fixtures are prefixed ``reporting_``."""

from __future__ import annotations

import csv
import itertools
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from caucus.checks import check_precinct
from caucus.results import GroupResult, PrecinctResult
from caucus.rules import allocate_delegates, viable_groups
from reporting.roster import generate, pin_sheet_path, write_roster
from reporting.throwaway_postgres import PostgresMissing, free_port, throwaway_postgres

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from reporting.config import Settings

REPORTING_PRECINCTS = 60
REPORTING_ADMIN_KEY = "test-admin-key"
CANDIDATES = ("Biden", "Buttigieg", "Klobuchar", "Sanders", "Warren", "Uncommitted")


@dataclass(frozen=True)
class ReportingRoster:
    """A generated (test) roster file, the chairs' codes by precinct id, operators' and HQ
    reviewers' keys."""

    path: Path
    pins: dict[str, str]
    delegates: dict[str, int]
    operators: dict[str, str]
    reviewers: dict[str, str]

    def operator_login(self, index: int = 0) -> dict[str, str]:
        """The sign-in body of the roster's ``index``-th operator."""
        name = sorted(self.operators)[index]
        return {"operator": name, "key": self.operators[name]}


@pytest.fixture(scope="session")
def reporting_roster(tmp_path_factory: pytest.TempPathFactory) -> ReportingRoster:
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    generated = generate(REPORTING_PRECINCTS, seed=2020)
    write_roster(generated, path, pin_sheet_path(path))
    with pin_sheet_path(path).open(newline="") as file:
        pins = {row["precinct_id"]: row["pin"] for row in csv.DictReader(file)}
    with path.open(newline="") as file:
        delegates = {r["precinct_id"]: int(r["delegates_to_elect"]) for r in csv.DictReader(file)}
    return ReportingRoster(
        path, pins, delegates, dict(generated.operators), dict(generated.reviewers)
    )


def reporting_close_body(precinct_id: str, delegates: int, seed: int) -> dict:
    """A legal final report for a precinct electing ``delegates``, made with the caucus rules."""
    rng = random.Random(seed)
    for _ in range(200):  # bounded: draw until the caucus checks find nothing
        attendance = rng.randint(20, 300)
        names = rng.sample(CANDIDATES, rng.randint(2, 5))
        cuts = sorted(rng.sample(range(1, attendance), len(names) - 1))
        sizes = [b - a for a, b in itertools.pairwise([0, *cuts, attendance])]
        first = dict(zip(names, sizes, strict=True))
        viable = viable_groups(first, delegates, attendance) or {max(first, key=first.get)}
        final = {g: (n if g in viable else 0) for g, n in first.items()}
        final[max(viable, key=final.get)] += attendance - sum(final.values())
        try:
            awarded = allocate_delegates(final, delegates, attendance).toss(rng)
        except ValueError:
            continue
        result = PrecinctResult(
            "county",
            precinct_id,
            tuple(GroupResult(g, first[g], final[g], awarded.get(g, 0)) for g in names),
            delegates_to_elect=delegates,
            attendance=attendance,
        )
        if not check_precinct(result):
            groups = [
                {
                    "name": g.name,
                    "first": g.first,
                    "final": g.final,
                    "delegates": g.county_delegates,
                }
                for g in result.groups
            ]
            return {"attendance": attendance, "groups": groups}
    raise AssertionError(f"no legal result drawn for {delegates} delegates")


@pytest.fixture
def reporting_close() -> Callable[[str, int, int], dict]:
    """``make(precinct_id, delegates, seed)``: a legal final report body."""
    return reporting_close_body


@pytest.fixture(scope="session")
def reporting_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (URL of its ``postgres`` database)."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresMissing as missing:
        pytest.skip(f"{missing}: apt-get install postgresql")


_databases = itertools.count()


@pytest.fixture
def reporting_postgres_db(reporting_postgres: str) -> str:
    """URL of a new, empty database in the throwaway cluster."""
    import psycopg

    name = f"caucus_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(reporting_postgres, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return reporting_postgres.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def reporting_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("reporting_postgres_db")


@dataclass
class ReportingServer:
    """A `caucus serve` process on loopback."""

    url: str
    process: subprocess.Popen
    log: Path
    operator: dict[str, str]
    """An operator's sign-in body (name and own key)."""
    admin_key: str = REPORTING_ADMIN_KEY

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _start_server(
    roster: ReportingRoster, db_url: str, log: Path, extra: tuple[str, ...], port: int
) -> ReportingServer:
    """Start `caucus serve` and wait (at most 30 s) until /healthz answers."""
    command = [
        sys.executable, "-m", "caucus.cli", "serve", "--roster", str(roster.path), "--db", db_url,
        "--port", str(port), "--admin-key", REPORTING_ADMIN_KEY,
        "--token-key-file", str(log.with_suffix(".keys")),
        "--login-rate", "0", "--submit-rate", "0", *extra,
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = ReportingServer(f"http://127.0.0.1:{port}", process, log, roster.operator_login())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"caucus serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"caucus serve did not answer in 30 s: {log.read_text()}")


@pytest.fixture(scope="session")
def reporting_server_factory(
    tmp_path_factory: pytest.TempPathFactory, reporting_roster: ReportingRoster
) -> Iterator[Callable[..., ReportingServer]]:
    """``start(db_url, *flags, port=None)``: a real `caucus serve`; all stopped at the end."""
    servers: list[ReportingServer] = []
    logs = tmp_path_factory.mktemp("serve-logs")

    def start(db_url: str, *extra: str, port: int | None = None) -> ReportingServer:
        log = logs / f"serve-{len(servers)}.log"
        server = _start_server(reporting_roster, db_url, log, extra, port or free_port())
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def reporting_serve(
    reporting_server_factory: Callable[..., ReportingServer],
) -> Iterator[Callable[..., ReportingServer]]:
    """Like ``reporting_server_factory``, but the test's servers are stopped when it ends."""
    started: list[ReportingServer] = []

    def start(db_url: str, *extra: str, port: int | None = None) -> ReportingServer:
        server = reporting_server_factory(db_url, *extra, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def reporting_settings(tmp_path: Path, reporting_roster: ReportingRoster) -> Settings:
    """Service settings for an in-process app on a fresh SQLite file, limits off."""
    from reporting.config import Settings

    return Settings(
        db_url=f"sqlite:///{tmp_path / 'results.db'}",
        roster=reporting_roster.path,
        secret="test-secret",
        admin_key=REPORTING_ADMIN_KEY,
        login_rate=0,
        submit_rate=0,
    )


@pytest.fixture
def reporting_client(reporting_settings: Settings) -> Iterator[TestClient]:
    """The app in-process (lifespan run), on a fresh SQLite file."""
    from fastapi.testclient import TestClient

    from reporting.app import create_app

    with TestClient(create_app(reporting_settings)) as client:
        yield client
