"""The tables, written once for SQLite and PostgreSQL.

``submissions`` is the append-only ledger (see :mod:`reporting.ledger`); ``decisions`` holds
HQ reviewers' decisions on held results, ``releases`` and ``publications`` what was made public
when, ``refusals`` the submissions refused for breaking the rules (all append-only too). The
sign-in tables keep the limits every worker and host shares (see :mod:`reporting.guard`);
``sessions`` lets tokens be revoked; ``hq_log`` is what HQ sees: alerts to act on and what was
done about them; ``clocks`` the start of the fault clock and of the night.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    seq {serial} PRIMARY KEY,
    receipt_id TEXT NOT NULL UNIQUE,
    precinct_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    correction_of TEXT REFERENCES submissions (receipt_id),
    flags TEXT NOT NULL,
    review TEXT,
    body TEXT NOT NULL,
    findings TEXT NOT NULL,
    UNIQUE (entered_by, idempotency_key)
);
CREATE INDEX IF NOT EXISTS submissions_by_precinct ON submissions (precinct_id, stage);
CREATE INDEX IF NOT EXISTS submissions_by_correction_of ON submissions (correction_of);
CREATE UNIQUE INDEX IF NOT EXISTS one_original_per_stage
    ON submissions (precinct_id, stage) WHERE correction_of IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS one_unheld_correction_per_version
    ON submissions (correction_of) WHERE correction_of IS NOT NULL AND review IS NULL;
CREATE INDEX IF NOT EXISTS submissions_held ON submissions (review) WHERE review IS NOT NULL;
CREATE TABLE IF NOT EXISTS decisions (
    seq {serial} PRIMARY KEY,
    receipt_id TEXT NOT NULL UNIQUE REFERENCES submissions (receipt_id),
    decision TEXT NOT NULL,
    correction_id TEXT REFERENCES submissions (receipt_id),
    decided_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    seq {serial} PRIMARY KEY,
    at TEXT NOT NULL,
    night_minute {real},
    released_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    scheduled_for {real} UNIQUE
);
CREATE TABLE IF NOT EXISTS publications (
    release_seq BIGINT NOT NULL REFERENCES releases (seq),
    precinct_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    receipt_id TEXT NOT NULL REFERENCES submissions (receipt_id),
    PRIMARY KEY (precinct_id, stage, release_seq)
);
CREATE INDEX IF NOT EXISTS publications_by_receipt ON publications (receipt_id);
CREATE TABLE IF NOT EXISTS refusals (
    seq {serial} PRIMARY KEY,
    at TEXT NOT NULL,
    precinct_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    rules TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_in_clients (
    client TEXT PRIMARY KEY,
    tokens {real} NOT NULL,
    updated {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    account TEXT NOT NULL,
    client TEXT NOT NULL,
    failures {real} NOT NULL,
    updated {real} NOT NULL,
    PRIMARY KEY (account, client)
);
CREATE TABLE IF NOT EXISTS sign_in_accounts (
    account TEXT PRIMARY KEY,
    failures {real} NOT NULL,
    updated {real} NOT NULL,
    held_since {real}
);
CREATE TABLE IF NOT EXISTS precinct_codes (
    precinct_id TEXT PRIMARY KEY,
    pin_hash TEXT NOT NULL,
    reset_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    client TEXT NOT NULL,
    issued_at {real} NOT NULL,
    expires_at {real} NOT NULL,
    revoked_at {real},
    revoked_by TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_subject ON sessions (role, subject);
CREATE TABLE IF NOT EXISTS hq_log (
    seq {serial} PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    precinct_id TEXT,
    receipt_id TEXT,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    open INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS clocks (
    name TEXT PRIMARY KEY,
    started {real} NOT NULL
);
"""

OLDER = "SELECT s.findings, a.updated FROM submissions s, sign_in_accounts a WHERE 1 = 0"
"""Fails on a database made before results could be held with their findings for review, or
before a precinct's wrong codes in a row decayed."""


def schema(dialect: str) -> str:
    """The DDL for ``sqlite`` or ``postgresql``."""
    if dialect == "sqlite":
        return SCHEMA.format(serial="INTEGER", real="REAL")
    return SCHEMA.format(serial="BIGSERIAL", real="DOUBLE PRECISION")
