"""The users' own log of receipts: what the service said it stored, kept for the audit.

Each Locust process appends JSON lines to its own file in the receipts folder, so master/worker
runs need no coordination; :func:`read_receipts` reads them all.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


def canonical_sha256(body: dict) -> str:
    """SHA-256 of a body as the API contract hashes it: nulls dropped, keys sorted, no spaces."""
    kept = {k: v for k, v in body.items() if v is not None}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """One accepted submission as the client saw it: what it sent and the receipt it got."""

    precinct_id: str
    stage: str
    idempotency_key: str
    sent_sha256: str
    """Hash of the body sent ('' for a reviewer's correction: the target composes that body)."""
    receipt_id: str
    receipt_sha256: str
    entered_by: str
    status: int
    """201 (stored now), 202 (stored and held for HQ review) or 200 (a replay of an earlier
    submission); for a reviewer's correction, the decision's status."""


class ReceiptLog:
    """Appends :class:`ReceiptRecord` lines to ``folder/receipts-<pid>.jsonl``."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"receipts-{os.getpid()}.jsonl"

    def append(self, record: ReceiptRecord) -> None:
        line = json.dumps(asdict(record), sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as file:  # file writes never yield to gevent
            file.write(line)


def read_receipts(folder: Path) -> list[ReceiptRecord]:
    """Every record in every process's receipt file under ``folder``."""
    records = []
    for path in sorted(folder.glob("receipts-*.jsonl")):
        with path.open(encoding="utf-8") as file:
            records += [ReceiptRecord(**json.loads(line)) for line in file if line.strip()]
    return records
