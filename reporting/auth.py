"""Credentials: signed bearer tokens naming a server-side session, and the keys that sign them.

A token is ``payload.signature`` (both base64url): HMAC-SHA256 over key id, session id, role,
subject and expiry. Any worker checks the signature and expiry in memory; the session row in
storage says whether it was revoked (checked inside every write, so a revoked token can never
store anything). Keys come from a key file, one hex key a line: the first signs, every line
verifies, so a new key goes on top and the old one is deleted once its tokens have expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["chair", "operator", "reviewer", "war-room"]
ROLES = ("chair", "operator", "reviewer", "war-room")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a precinct's chair (subject = precinct id), a hotline operator, an HQ
    reviewer, or a war-room screen (a browser's cookie; subject = who signed it in)."""

    role: Role
    subject: str
    session_id: str = ""

    @property
    def entered_by(self) -> str:
        """How the receipt and the audit trail name who entered a report."""
        return f"{self.role}:{self.subject}"

    def may_report(self, precinct_id: str) -> bool:
        return self.role == "operator" or (self.role == "chair" and self.subject == precinct_id)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kid:" + key).hexdigest()[:8]


def read_key_file(path: Path, create: bool = False) -> list[bytes]:
    """The keys in a key file (first = signing key); ``create`` makes one (mode 0600) if absent."""
    if create and not path.exists():
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
    lines = [line.strip() for line in path.read_text().splitlines()]
    keys = [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]
    if not keys or any(len(k) < 16 for k in keys):
        raise ValueError(f"{path}: needs one hex key (at least 16 bytes) a line")
    return keys


class TokenSigner:
    """Issues and checks bearer tokens."""

    def __init__(self, keys: list[bytes], ttl_s: int) -> None:
        self._signing = keys[0]
        self._keys = {key_id(k): k for k in keys}
        self.ttl_s = ttl_s

    @classmethod
    def from_secret(cls, secret: str, ttl_s: int) -> TokenSigner:
        return cls([hashlib.sha256(secret.encode()).digest()], ttl_s)

    @staticmethod
    def _sign(key: bytes, payload: str) -> str:
        return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())

    def issue(self, principal: Principal, now: float | None = None) -> tuple[str, float]:
        """A token for ``principal`` (its ``session_id`` included) and when it expires."""
        expires = int((now or time.time()) + self.ttl_s)
        kid = key_id(self._signing)
        fields = [kid, principal.session_id, principal.role, principal.subject, expires]
        payload = _b64(json.dumps(fields).encode())
        return f"{payload}.{self._sign(self._signing, payload)}", expires

    def verify(self, token: str, now: float | None = None) -> Principal | None:
        """The principal a well-signed, unexpired token names; None otherwise."""
        payload, _, signature = token.partition(".")
        try:
            kid, session_id, role, subject, expires = json.loads(
                base64.urlsafe_b64decode(payload + "==")
            )
            key = self._keys[kid]
        except (ValueError, TypeError, KeyError):
            key = self._signing  # compare anyway: the time taken does not tell why it failed
            kid = None
        if not hmac.compare_digest(self._sign(key, payload).encode(), signature.encode()):
            return None
        if kid is None or not isinstance(expires, int) or expires < (now or time.time()):
            return None
        if role not in ROLES or not isinstance(session_id, str):
            return None
        return Principal(role, str(subject), session_id)
