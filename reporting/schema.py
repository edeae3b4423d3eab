"""The tables, written once for SQLite and PostgreSQL.

``submissions`` is the append-only ledger (see :mod:`reporting.ledger`); the sign-in tables
keep the limits every worker and host shares (see :mod:`reporting.guard`); ``sessions`` lets
tokens be revoked; ``hq_log`` is what HQ sees: alerts to act on and what was done about them.
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
    UNIQUE (entered_by, idempotency_key)
);
CREATE INDEX IF NOT EXISTS submissions_by_precinct ON submissions (precinct_id, stage);
CREATE INDEX IF NOT EXISTS submissions_by_correction_of ON submissions (correction_of);
CREATE UNIQUE INDEX IF NOT EXISTS one_original_per_stage
    ON submissions (precinct_id, stage) WHERE correction_of IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS one_correction_per_version
    ON submissions (correction_of) WHERE correction_of IS NOT NULL AND review IS DISTINCT FROM
    'rejected';
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
    failures INTEGER NOT NULL,
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
CREATE TABLE IF NOT EXISTS fault_clock (
    name TEXT PRIMARY KEY,
    started {real} NOT NULL
);
"""

OLDER = "SELECT review FROM submissions WHERE 1 = 0"
"""Fails on a database made before corrections could be held for review."""


def schema(dialect: str) -> str:
    """The DDL for ``sqlite`` or ``postgresql``."""
    if dialect == "sqlite":
        return SCHEMA.format(serial="INTEGER", real="REAL").replace("IS DISTINCT FROM", "IS NOT")
    return SCHEMA.format(serial="BIGSERIAL", real="DOUBLE PRECISION")
