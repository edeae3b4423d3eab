"""The precinct roster: who reports for which precinct, and the PIN each chair signs in with.

Two CSV files come out of :func:`generate`: the service's roster (PINs hashed with scrypt,
salted per roster and bound to the precinct id) and the chairs' PIN sheet (plain PINs, what the
party hands out; load tests read it). The service only ever reads the first.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import math
import random
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROSTER_FIELDS = (
    "precinct_id",
    "county",
    "precinct_name",
    "chair_name",
    "chair_phone",
    "delegates_to_elect",
    "pin_hash",
)
PIN_SHEET_FIELDS = ("precinct_id", "county", "chair_name", "chair_phone", "pin")
SCRYPT_COST = (4096, 8, 1)
"""(n, r, p): about 6 ms a PIN; a six-digit PIN cannot resist offline guessing anyway, the hash
keeps PINs out of files, backups and logs."""


class RosterError(ValueError):
    """The roster file is unreadable or inconsistent."""


@dataclass(frozen=True, slots=True)
class RosterPrecinct:
    """One precinct on the roster."""

    precinct_id: str
    county: str
    precinct_name: str
    chair_name: str
    chair_phone: str
    delegates_to_elect: int
    pin_hash: str


@dataclass(frozen=True, slots=True)
class Roster:
    """Every precinct the service accepts reports for, by id."""

    precincts: dict[str, RosterPrecinct]

    def __len__(self) -> int:
        return len(self.precincts)

    def get(self, precinct_id: str) -> RosterPrecinct | None:
        return self.precincts.get(precinct_id)

    @property
    def county_delegates(self) -> int:
        return sum(p.delegates_to_elect for p in self.precincts.values())


def hash_pin(precinct_id: str, pin: str, salt: bytes, cost: tuple[int, int, int]) -> str:
    """``scrypt$n$r$p$salt$hash``: the PIN bound to its precinct, under the roster's salt."""
    n, r, p = cost
    digest = hashlib.scrypt(f"{precinct_id}:{pin}".encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_pin(precinct: RosterPrecinct, pin: str) -> bool:
    """True when ``pin`` is this precinct's PIN (constant-time comparison)."""
    _, n, r, p, salt, _ = precinct.pin_hash.split("$")
    expected = hash_pin(precinct.precinct_id, pin, bytes.fromhex(salt), (int(n), int(r), int(p)))
    return hmac.compare_digest(expected, precinct.pin_hash)


def load_roster(path: Path) -> Roster:
    """Read the service's roster CSV."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except OSError as error:
        raise RosterError(f"cannot read roster {path}: {error}") from error
    precincts: dict[str, RosterPrecinct] = {}
    for line, row in enumerate(rows, start=2):
        try:
            precinct = RosterPrecinct(
                **{f: row[f] for f in ROSTER_FIELDS if f != "delegates_to_elect"},
                delegates_to_elect=int(row["delegates_to_elect"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise RosterError(f"{path}:{line}: bad roster row ({error})") from error
        if precinct.pin_hash.count("$") != 5 or precinct.delegates_to_elect < 1:
            raise RosterError(f"{path}:{line}: bad pin_hash or delegates_to_elect")
        if precinct.precinct_id in precincts:
            raise RosterError(f"{path}:{line}: precinct {precinct.precinct_id} listed twice")
        precincts[precinct.precinct_id] = precinct
    if not precincts:
        raise RosterError(f"roster {path} lists no precincts")
    return Roster(precincts)


@dataclass(frozen=True, slots=True)
class Chair:
    """A generated precinct with its plain PIN (only ever written to the PIN sheet)."""

    precinct: RosterPrecinct
    pin: str


def generate(
    precincts: int, seed: int | None = None, cost: tuple[int, int, int] = SCRYPT_COST
) -> list[Chair]:
    """A made-up roster: Faker names and phones, counties, delegates (median 6), random PINs.

    The same seed gives the same roster, PINs and salt included; without one, PINs and salt
    come from the operating system's secure generator.
    """
    from faker import Faker

    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    fake = Faker("en_US")
    fake.seed_instance(seed if seed is not None else secrets.randbits(32))
    salt = rng.randbytes(16) if seed is not None else secrets.token_bytes(16)
    counties = sorted({f"{fake.unique.last_name()}" for _ in range(max(1, precincts // 18))})
    drafts = []
    for i in range(1, precincts + 1):
        county = counties[(i - 1) * len(counties) // precincts]
        delegates = max(1, min(36, round(rng.lognormvariate(math.log(6), 0.7))))
        drafts.append(
            (
                f"P{i:04d}",
                county,
                f"{county} {fake.street_name()}",
                fake.name(),
                fake.numerify("###-###-####"),
                delegates,
                f"{rng.randrange(10**6):06d}",
            )
        )

    def chair(draft: tuple) -> Chair:
        precinct_id, county, name, chair_name, phone, delegates, pin = draft
        pin_hash = hash_pin(precinct_id, pin, salt, cost)
        return Chair(
            RosterPrecinct(precinct_id, county, name, chair_name, phone, delegates, pin_hash),
            pin,
        )

    with ThreadPoolExecutor() as pool:
        return list(pool.map(chair, drafts))


def write_roster(chairs: list[Chair], roster_path: Path, pin_sheet_path: Path) -> None:
    """Write the service's roster (hashed PINs) and the chairs' PIN sheet."""
    with roster_path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(ROSTER_FIELDS)
        writer.writerows(_roster_rows(chairs))
    with pin_sheet_path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(PIN_SHEET_FIELDS)
        for c in chairs:
            p = c.precinct
            writer.writerow([p.precinct_id, p.county, p.chair_name, p.chair_phone, c.pin])


def _roster_rows(chairs: list[Chair]) -> Iterator[list]:
    for c in chairs:
        p = c.precinct
        yield [
            p.precinct_id,
            p.county,
            p.precinct_name,
            p.chair_name,
            p.chair_phone,
            p.delegates_to_elect,
            p.pin_hash,
        ]


def pin_sheet_path(roster_path: Path) -> Path:
    """Where the PIN sheet goes next to a roster: ``roster.csv`` → ``roster-pins.csv``."""
    return roster_path.with_name(f"{roster_path.stem}-pins{roster_path.suffix or '.csv'}")
