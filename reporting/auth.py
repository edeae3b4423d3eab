"""Credentials: signed short-lived tokens for chairs and operators.

Tokens are stateless (HMAC-SHA256 over role, subject and expiry with the service's secret), so
any worker can check a token another worker issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Literal

Role = Literal["chair", "operator"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a precinct's chair (subject = precinct id) or a hotline operator."""

    role: Role
    subject: str

    @property
    def entered_by(self) -> str:
        """How the receipt and the audit trail name who entered a report."""
        return f"{self.role}:{self.subject}"

    def may_report(self, precinct_id: str) -> bool:
        return self.role == "operator" or self.subject == precinct_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenSigner:
    """Issues and checks bearer tokens ``payload.signature`` (both base64url)."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = hashlib.sha256(secret.encode()).digest()
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, principal: Principal, now: float | None = None) -> tuple[str, float]:
        """A token for ``principal`` and the epoch time it expires."""
        expires = int((now or time.time()) + self.ttl_s)
        payload = _b64(json.dumps([principal.role, principal.subject, expires]).encode())
        return f"{payload}.{self._sign(payload)}", expires

    def verify(self, token: str, now: float | None = None) -> Principal | None:
        """The principal a valid, unexpired token names; None otherwise."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(self._sign(payload).encode(), signature.encode()):
            return None
        try:
            role, subject, expires = json.loads(base64.urlsafe_b64decode(payload + "=="))
        except (ValueError, TypeError):
            return None
        if expires < (now or time.time()) or role not in ("chair", "operator"):
            return None
        return Principal(role, subject)
