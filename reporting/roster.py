"""The roster: precincts, the code each chair signs in with, the candidates, the operators.

:func:`generate` makes a roster; :func:`write_roster` writes it as files side by side:

- ``roster.csv``, the service's roster: precincts with their sign-in codes hashed (scrypt,
  salted per roster and bound to the precinct id);
- ``roster-pins.csv``, the chairs' code sheet (plain codes: what the party hands out);
- ``roster-candidates.txt``, the fixed candidate list, one name a line;
- ``roster-operators.csv``, hotline operators with their keys hashed, and
  ``roster-operator-keys.csv``, the plain keys to hand to each operator;
- ``roster-reviewers.csv``, HQ reviewers with their keys hashed, and
  ``roster-reviewer-keys.csv``, the plain keys to hand to each reviewer.

The service reads the first, third, fourth and sixth (the staff files through
:class:`reporting.staff.StaffRoster`, which reads them again when they change). Codes are ten
characters of Crockford's base 32 (no I, L, O or U; read out as two groups of five:
``7KQ2M-X9FHD``), 50 bits from :mod:`secrets`.
A seed makes every code reproducible, so a seeded roster is a *test roster*: it says so in each
row (``code_source`` = ``seed``) and the service warns loudly when it serves one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import math
import random
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reporting.names import CandidateList

ROSTER_FIELDS = (
    "precinct_id",
    "county",
    "precinct_name",
    "chair_name",
    "chair_phone",
    "delegates_to_elect",
    "pin_hash",
    "code_source",
)
PIN_SHEET_FIELDS = ("precinct_id", "county", "chair_name", "chair_phone", "pin")
SCRYPT_COST = (1024, 8, 1)
"""(n, r, p): about 1.5 ms a code. Codes have 50 bits, so the space, not the hash, stops online
guessing; the hash keeps codes out of files, backups and logs, and offline it costs 1.1e15
codes x 1.5 ms, tens of thousands of CPU-years, to search one precinct's code."""
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: digits and letters with I, L, O and U left out."""
CODE_LENGTH = 10
"""Characters in a chair's code: 32**10 = 1.1e15 codes (50 bits)."""
STAFF_KEY_LENGTH = 20
"""Characters in an operator's or reviewer's key (100 bits): too many to guess, so a fast
hash suffices."""
CANDIDATES_2020 = (
    "Bennet",
    "Biden",
    "Bloomberg",
    "Buttigieg",
    "Delaney",
    "Gabbard",
    "Klobuchar",
    "Patrick",
    "Sanders",
    "Steyer",
    "Warren",
    "Yang",
    "Uncommitted",
)
"""The 2020 Iowa Democratic field as the preference groups a roster lists by default."""
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class RosterError(ValueError):
    """The roster files are unreadable or inconsistent."""


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
    """Every precinct the service accepts reports for, and its candidates (operators and
    reviewers: :class:`reporting.staff.StaffRoster`)."""

    precincts: dict[str, RosterPrecinct]
    candidates: CandidateList
    test_roster: bool = False
    """Codes came from a seed: reproducible, for tests and rehearsals only."""

    def __len__(self) -> int:
        return len(self.precincts)

    def get(self, precinct_id: str) -> RosterPrecinct | None:
        return self.precincts.get(precinct_id)

    @property
    def county_delegates(self) -> int:
        return sum(p.delegates_to_elect for p in self.precincts.values())


def sibling(roster_path: Path, what: str, suffix: str = ".csv") -> Path:
    """A file written next to a roster: ``roster.csv`` → ``roster-pins.csv``."""
    return roster_path.with_name(f"{roster_path.stem}-{what}{suffix}")


def pin_sheet_path(roster_path: Path) -> Path:
    """Where the chairs' code sheet goes next to a roster."""
    return sibling(roster_path, "pins")


def normalize_code(text: str) -> str | None:
    """The code a chair typed or read out, as stored; None when it cannot be one.

    Case, spaces and dashes do not matter, and O, I and L read as 0, 1 and 1.
    """
    code = unicodedata.normalize("NFKC", text).upper().replace("-", "").replace(" ", "")
    code = code.translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def format_code(code: str) -> str:
    """``7KQ2MX9FHD`` → ``7KQ2M-X9FHD``: two groups of five, for the phone."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def new_code(rng: random.Random | None = None, length: int = CODE_LENGTH) -> str:
    """A fresh code from :mod:`secrets` (or from ``rng``, for test rosters only)."""
    pick = rng.choice if rng is not None else secrets.choice
    return "".join(pick(CODE_ALPHABET) for _ in range(length))


def hash_pin(precinct_id: str, code: str, salt: bytes, cost: tuple[int, int, int]) -> str:
    """``scrypt$n$r$p$salt$hash``: the code bound to its precinct, under the roster's salt."""
    n, r, p = cost
    digest = hashlib.scrypt(f"{precinct_id}:{code}".encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def rehash(pin_hash: str, precinct_id: str, code: str) -> str:
    """A new code's hash under the same salt and cost as an existing one (for code resets)."""
    _, n, r, p, salt, _ = pin_hash.split("$")
    return hash_pin(precinct_id, code, bytes.fromhex(salt), (int(n), int(r), int(p)))


def verify_pin(precinct: RosterPrecinct, typed: str, pin_hash: str | None = None) -> bool:
    """True when ``typed`` is this precinct's code (constant-time comparison).

    ``pin_hash`` overrides the roster's hash after the code was reset.
    """
    stored = pin_hash or precinct.pin_hash
    code = normalize_code(typed) or ""
    return hmac.compare_digest(rehash(stored, precinct.precinct_id, code), stored)


def hash_staff_key(key: str) -> str:
    """``sha256$hex`` of a key read like a code (case, dashes and spaces do not matter)."""
    typed = key.upper().replace("-", "").replace(" ", "").translate(_READ_AS)
    return "sha256$" + hashlib.sha256(typed.encode()).hexdigest()


def verify_staff(hashes: dict[str, str], name: str, key: str) -> bool:
    """True when ``key`` is the key of ``name`` in ``hashes`` (operators' or reviewers')."""
    stored = hashes.get(name)
    typed = hash_staff_key(key)
    return stored is not None and hmac.compare_digest(typed, stored)


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    except OSError as error:
        raise RosterError(f"cannot read {path}: {error}") from error


def load_roster(path: Path) -> Roster:
    """Read the service's roster CSV and, next to it, its candidates."""
    precincts: dict[str, RosterPrecinct] = {}
    sources = set()
    for line, row in enumerate(read_csv(path), start=2):
        try:
            precinct = RosterPrecinct(
                **{f: row[f] for f in ROSTER_FIELDS[:-1] if f != "delegates_to_elect"},
                delegates_to_elect=int(row["delegates_to_elect"]),
            )
            sources.add(row["code_source"])
        except (KeyError, TypeError, ValueError) as error:
            raise RosterError(f"{path}:{line}: bad roster row ({error})") from error
        if precinct.pin_hash.count("$") != 5 or precinct.delegates_to_elect < 1:
            raise RosterError(f"{path}:{line}: bad pin_hash or delegates_to_elect")
        if precinct.precinct_id in precincts:
            raise RosterError(f"{path}:{line}: precinct {precinct.precinct_id} listed twice")
        precincts[precinct.precinct_id] = precinct
    if not precincts:
        raise RosterError(f"roster {path} lists no precincts")
    if not sources <= {"secrets", "seed"}:
        raise RosterError(f"{path}: code_source must be secrets or seed, not {sources}")
    candidates_path = sibling(path, "candidates", ".txt")
    try:
        candidates = CandidateList.from_lines(
            candidates_path.read_text(encoding="utf-8").splitlines()
        )
    except OSError as error:
        raise RosterError(f"cannot read the candidate list {candidates_path}: {error}") from error
    except ValueError as error:
        raise RosterError(f"{candidates_path}: {error}") from error
    return Roster(precincts, candidates, test_roster="seed" in sources)


def _write_staff(roster_path: Path, role: str, keys: dict[str, str]) -> None:
    """``roster-<role>s.csv`` (keys hashed, for the service) and ``roster-<role>-keys.csv``
    (plain keys, to hand out)."""
    with sibling(roster_path, f"{role}s").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow((role, "key_hash"))
        writer.writerows((name, hash_staff_key(key)) for name, key in keys.items())
    with sibling(roster_path, f"{role}-keys").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow((role, "key"))
        writer.writerows(keys.items())


def _staff_keys(names: list[str], rng: random.Random | None) -> dict[str, str]:
    """A key for each name, in groups of five for reading out."""
    return {
        name: "-".join(
            new_code(rng, STAFF_KEY_LENGTH)[i : i + 5] for i in range(0, STAFF_KEY_LENGTH, 5)
        )
        for name in names
    }


@dataclass(frozen=True, slots=True)
class Chair:
    """A generated precinct with its plain code (only ever written to the code sheet)."""

    precinct: RosterPrecinct
    pin: str


@dataclass(frozen=True, slots=True)
class GeneratedRoster:
    """A made-up roster with its secrets, before it is written to files."""

    chairs: list[Chair]
    candidates: tuple[str, ...]
    operators: dict[str, str]
    """Operator name → plain key."""
    reviewers: dict[str, str]
    """HQ reviewer name → plain key."""
    seeded: bool


def generate(
    precincts: int,
    seed: int | None = None,
    cost: tuple[int, int, int] = SCRYPT_COST,
    candidates: tuple[str, ...] = CANDIDATES_2020,
    operators: int = 4,
    reviewers: int = 2,
) -> GeneratedRoster:
    """A made-up roster: Faker names and phones, counties, delegates (median 6), codes.

    Without a seed, codes, keys and salt come from :mod:`secrets`. With one, the same seed
    gives the same roster, codes included: a test roster, marked as such.
    """
    from faker import Faker

    rng = random.Random(seed) if seed is not None else None
    draw = rng or random.SystemRandom()
    fake = Faker("en_US")
    fake.seed_instance(seed if seed is not None else secrets.randbits(32))
    salt = rng.randbytes(16) if rng is not None else secrets.token_bytes(16)
    counties = sorted({f"{fake.unique.last_name()}" for _ in range(max(1, precincts // 18))})
    drafts = []
    for i in range(1, precincts + 1):
        county = counties[(i - 1) * len(counties) // precincts]
        delegates = max(1, min(36, round(draw.lognormvariate(math.log(6), 0.7))))
        drafts.append(
            (
                f"P{i:04d}",
                county,
                f"{county} {fake.street_name()}",
                fake.name(),
                fake.numerify("###-###-####"),
                delegates,
                format_code(new_code(rng)),
            )
        )

    def chair(draft: tuple) -> Chair:
        precinct_id, county, name, chair_name, phone, delegates, code = draft
        pin_hash = hash_pin(precinct_id, normalize_code(code) or "", salt, cost)
        return Chair(
            RosterPrecinct(precinct_id, county, name, chair_name, phone, delegates, pin_hash),
            code,
        )

    with ThreadPoolExecutor() as pool:
        chairs = list(pool.map(chair, drafts))
    keys = _staff_keys([f"Hotline {i:02d}" for i in range(1, operators + 1)], rng)
    reviewer_keys = _staff_keys([f"HQ {i:02d}" for i in range(1, reviewers + 1)], rng)
    CandidateList.from_lines(list(candidates))  # refuses look-alikes before anything is written
    return GeneratedRoster(chairs, tuple(candidates), keys, reviewer_keys, seeded=seed is not None)


def write_roster(roster: GeneratedRoster, path: Path, pin_sheet: Path | None = None) -> None:
    """Write the service's files and the sheets to hand out (see the module docstring)."""
    source = "seed" if roster.seeded else "secrets"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(ROSTER_FIELDS)
        for c in roster.chairs:
            p = c.precinct
            writer.writerow(
                [
                    p.precinct_id,
                    p.county,
                    p.precinct_name,
                    p.chair_name,
                    p.chair_phone,
                    p.delegates_to_elect,
                    p.pin_hash,
                    source,
                ]
            )
    with (pin_sheet or pin_sheet_path(path)).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(PIN_SHEET_FIELDS)
        for c in roster.chairs:
            p = c.precinct
            writer.writerow([p.precinct_id, p.county, p.chair_name, p.chair_phone, c.pin])
    sibling(path, "candidates", ".txt").write_text(
        "".join(f"{name}\n" for name in roster.candidates), encoding="utf-8"
    )
    _write_staff(path, "operator", roster.operators)
    _write_staff(path, "reviewer", roster.reviewers)
