"""The service's settings: one object, passed to worker processes as JSON in the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, Field

from caucus.rules import OneDelegateRule
from reporting.faults import FaultSettings

ENV_VAR = "CAUCUS_SERVE_SETTINGS"


class Settings(BaseModel):
    """Everything `caucus serve` can set. Rates are per second; 0 turns a limit off."""

    db_url: str = "sqlite:///caucus-results.db"
    roster: Path
    secret: str = Field(default_factory=lambda: secrets.token_hex(32))
    admin_key: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    operator_key: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    token_ttl_s: int = 3600
    reject_impossible: bool = True
    one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY
    max_bad_pins: int = 5
    lockout_s: float = 300.0
    login_rate: float = 5.0
    login_burst: int = 20
    submit_rate: float = 5.0
    submit_burst: int = 20
    max_body_bytes: int = 16_384
    results_ttl_s: float = 1.0
    faults: FaultSettings = Field(default_factory=FaultSettings)

    def to_env(self) -> None:
        """Put these settings where :meth:`from_env` finds them (for worker processes)."""
        os.environ[ENV_VAR] = self.model_dump_json()

    @classmethod
    def from_env(cls) -> Settings:
        return cls.model_validate_json(os.environ[ENV_VAR])
