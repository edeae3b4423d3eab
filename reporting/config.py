"""The service's settings: one object, passed to worker processes as JSON in the environment."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from caucus.rules import OneDelegateRule
from reporting.faults import FaultSettings
from reporting.guard import SignInPolicy
from reporting.night import NightClock, Schedule, check_start

ENV_VAR = "CAUCUS_SERVE_SETTINGS"
NIGHT_S = 12 * 3600


class Settings(BaseModel):
    """Everything `caucus serve` can set. Rates are per second; 0 turns a limit off.

    Tokens are signed with the keys in ``token_key_file`` when it is set, else with ``secret``.
    Times of night are minutes after 7 pm (see :mod:`reporting.night`).
    """

    db_url: str = "sqlite:///caucus-results.db"
    roster: Path
    secret: str = Field(default_factory=lambda: secrets.token_hex(32))
    token_key_file: Path | None = None
    admin_key: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    token_ttl_s: int = NIGHT_S
    hold_impossible: bool = False
    """Hold results that break the rules or arrive incomplete for HQ review (202), instead
    of refusing them (422)."""
    release_mode: Literal["continuous", "batches"] = "continuous"
    release_at_min: list[float] = Field(default_factory=list)
    release_every_min: float | None = Field(default=None, gt=0)
    night_start: str = "serve"
    night_compress: float = Field(default=1.0, gt=0)
    started_at: float = Field(default_factory=time.time)
    """When `caucus serve` started (epoch seconds; the ``serve`` night clock counts from it)."""
    plan: Path | None = None
    """A `caucus simulate` run folder: the war room shows its expected band."""
    one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY
    login_rate: float = 5.0
    login_burst: int = 20
    failures_free: int = 3
    failure_half_life_s: float = 3600.0
    max_delay_s: float = 3600.0
    precinct_failure_cap: int = Field(default=100, ge=1, le=100)
    submit_rate: float = 5.0
    submit_burst: int = 20
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_bytes: int = 16_384
    body_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a request body once its headers are in (else 408)."""
    max_in_flight: int = 256
    """Requests one worker handles at once; more are answered 503 at once."""
    results_ttl_s: float = 1.0
    faults: FaultSettings = Field(default_factory=FaultSettings)

    @field_validator("night_start")
    @classmethod
    def _night_start(cls, start: str) -> str:
        return check_start(start)

    @model_validator(mode="after")
    def _schedule_needs_batches(self) -> Settings:
        if (self.release_at_min or self.release_every_min) and self.release_mode != "batches":
            raise ValueError("release times need the batches release policy (--release batches)")
        self.release_at_min = sorted(self.release_at_min)
        return self

    @property
    def schedule(self) -> Schedule:
        return Schedule(tuple(self.release_at_min), self.release_every_min)

    def night_clock(self) -> NightClock:
        return NightClock.of(self.night_start, self.started_at, self.night_compress)

    @property
    def batches(self) -> bool:
        """Results become public only when released (else as soon as they are in force)."""
        return self.release_mode == "batches"

    @property
    def sign_in_policy(self) -> SignInPolicy:
        return SignInPolicy(
            rate=self.login_rate,
            burst=self.login_burst,
            free=self.failures_free,
            max_delay_s=self.max_delay_s,
            half_life_s=self.failure_half_life_s,
            cap=self.precinct_failure_cap,
        )

    def to_env(self) -> None:
        """Put these settings where :meth:`from_env` finds them (for worker processes)."""
        os.environ[ENV_VAR] = self.model_dump_json()

    @classmethod
    def from_env(cls) -> Settings:
        return cls.model_validate_json(os.environ[ENV_VAR])
