"""Adapters: how the caucus-night users speak one reporting API.

An adapter builds the requests a person makes (sign in, look up a precinct, report a stage,
read results) and reads the replies; the users send them, with retries and receipts, and
Locust counts them under each request's ``name``. Subclass :class:`ReportingAdapter` for your
own API and pass it as ``--adapter module:Class`` (``module`` may be a ``path/to/file.py``).

Required: :meth:`~ReportingAdapter.sign_in` and :meth:`~ReportingAdapter.session`,
:meth:`~ReportingAdapter.precinct` and what is read from it
(:meth:`~ReportingAdapter.delegates`, :meth:`~ReportingAdapter.stages_held`),
:meth:`~ReportingAdapter.report` and :meth:`~ReportingAdapter.receipt`,
:meth:`~ReportingAdapter.results`. Optional: :meth:`~ReportingAdapter.export`; without it the
audit is skipped and the verdict says so. New kinds of users add their operations as further
methods with a default, so existing adapters keep working: HQ reviewers need
:meth:`~ReportingAdapter.review_queue` and what is read from it
(:meth:`~ReportingAdapter.held_results`), :meth:`~ReportingAdapter.decide` and
:meth:`~ReportingAdapter.decided`, and for the verdict's review audit
:meth:`~ReportingAdapter.review_ledger`; without them a run has no reviewers and the verdict
says the review part was skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from loadtests.payloads import CaucusResult

STAGES = ("open", "first-alignment", "close")
"""The stages a chair reports, in order."""
OPERATIONS = ("sign-in", "operator-sign-in", "precinct", *STAGES, "wrong-result", "results")
"""What the users do; each adapter names the Locust request of each in ``NAMES``."""
REVIEW_OPERATIONS = ("reviewer-sign-in", "review-queue", "review-decision")
"""What HQ reviewers do; an adapter with the review methods names these in ``NAMES`` too."""
RETRYABLE = frozenset({0, 429, 500, 502, 503, 504})
"""Statuses worth another try (0: timeout or connection error)."""
PROBLEM_CHARS = 120
"""Characters of a reply kept to say why it was refused."""


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request: what to send, its name in Locust's stats, and the statuses that mean ok."""

    method: str
    path: str
    name: str
    body: dict | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ok: frozenset[int] = frozenset({200, 201})


class Reply:
    """What a request got: the status (0: no answer), headers, and the JSON body on demand."""

    __slots__ = ("_data", "content", "error", "headers", "status")

    def __init__(
        self, status: int, headers: Mapping[str, str], content: bytes | None, error: str = ""
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content or b""
        self.error = error
        self._data: dict | bool | None = False

    @property
    def data(self) -> dict | None:
        """The body as a JSON object (None when it is not one)."""
        if self._data is False:
            try:
                parsed = json.loads(self.content)
            except ValueError:
                parsed = None
            self._data = parsed if isinstance(parsed, dict) else None
        return self._data  # type: ignore[return-value]

    @property
    def problem(self) -> str:
        """Why it was refused: the problem's type and title, the body's message, or the error."""
        if self.error or not self.status:
            return self.error or "no answer"
        data = self.data or {}
        parts = [str(data[k]) for k in ("type", "title") if data.get(k)]
        parts = parts or [str(data[k]) for k in ("error", "message", "detail") if data.get(k)]
        text = ": ".join(parts) or self.content.decode(errors="replace").strip()
        return text[:PROBLEM_CHARS] or "empty reply"


class ReplyError(ValueError):
    """A reply with the right status whose body does not say what the adapter expects."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the service says it stored: its id, and whichever of ``precinct_id``, ``stage``,
    ``idempotency_key``, ``body_sha256``, ``entered_by`` it states (checked against what was
    sent)."""

    receipt_id: str
    stated: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HeldResult:
    """A result in the review queue as a reviewer reads it: which it is, why it was held, the
    held stage's numbers as reported and the precinct's stages in force."""

    receipt_id: str
    precinct_id: str
    stage: str
    kind: str
    """``correction-after-close``, ``breaks-rules`` or ``incomplete``."""
    findings: tuple[str, ...]
    """Ids of the rules it breaks (as in ``caucus.checks``), as the target found them."""
    reported: CaucusResult
    """The held stage as reported: what the stage does not give is 0 (attendance, finals), and
    delegates not given are None."""
    attendance: int | None
    """Attendance in force (the ``open`` stage), None when there is none."""
    first: Mapping[str, int] | None
    """First alignment in force, groups with supporters only, None when there is none."""


@dataclass(frozen=True, slots=True)
class ReviewCall:
    """A reviewer's decision on a held result, with the reason: ``approve``, ``correct`` (with
    ``result``, the precinct's numbers, of which the held stage is entered) or ``reject``."""

    decision: str
    reason: str
    result: CaucusResult | None = None


@dataclass(frozen=True, slots=True)
class FlaggedResult:
    """One result the target held for review, from its export: when it arrived, when and how it
    was decided, when the public first saw it (Unix seconds; None: not yet, or never)."""

    receipt_id: str
    precinct_id: str
    stage: str
    accepted_s: float
    decided_s: float | None
    decision: str | None
    published_s: float | None


class ReportingAdapter:
    """How the users speak one reporting API. Subclass it; set ``NAMES``; fill the methods."""

    NAMES: ClassVar[Mapping[str, str]]
    """Locust request name of each of :data:`OPERATIONS`."""
    RULES_REFUSED: ClassVar[frozenset[int]] = frozenset({422})
    """Statuses refusing a result that breaks the caucus rules (a chair's 2020-style mistake)."""
    HELD: ClassVar[frozenset[int]] = frozenset({202})
    """Statuses of a report stored and held for HQ review (accepted, not yet in force)."""

    def sign_in(self, login: Mapping[str, str]) -> Request:
        """Sign in a chair (``precinct_id``, ``pin``), an operator (``operator``, ``key``) or,
        with the review methods, an HQ reviewer (``reviewer``, ``key``)."""
        raise NotImplementedError

    def session(self, reply: Reply) -> dict[str, str]:
        """Headers that authenticate the signed-in person's later requests."""
        raise NotImplementedError

    def precinct(self, precinct_id: str) -> Request:
        """Read one precinct's record."""
        raise NotImplementedError

    def delegates(self, reply: Reply) -> int:
        """County delegates the precinct elects, from its record."""
        raise NotImplementedError

    def stages_held(self, reply: Reply) -> frozenset[str]:
        """Stages the target already holds for the precinct, from its record."""
        raise NotImplementedError

    def report(self, precinct_id: str, stage: str, result: CaucusResult, key: str) -> Request:
        """Report one stage of the precinct's result; ``key`` is unique to this submission."""
        raise NotImplementedError

    def receipt(self, reply: Reply) -> Receipt:
        """The receipt in an accepted report's reply."""
        raise NotImplementedError

    def results(self) -> Request:
        """Read the statewide results (what watchers poll)."""
        raise NotImplementedError

    def export(self, host: str, admin_key: str) -> list[dict] | None:
        """Every stored submission, for the audit (``receipt_id``, ``precinct_id``, ``stage``,
        ``idempotency_key``, ``body_sha256``, ``body``, ``correction_of``); None: no export."""
        return None

    @property
    def exports(self) -> bool:
        """Whether this adapter can export for the audit."""
        return type(self).export is not ReportingAdapter.export

    def review_pending(self, reply: Reply) -> bool:
        """Whether a refused report was refused because a version of its stage waits for HQ
        review (the result is with HQ: not lost, nothing to phone in)."""
        return False

    def review_queue(self, limit: int) -> Request:
        """Read the oldest ``limit`` results waiting for review (a reviewer's session)."""
        raise NotImplementedError

    def held_results(self, reply: Reply) -> list[HeldResult]:
        """The held results in a review queue's reply, oldest first."""
        raise NotImplementedError

    def decide(self, held: HeldResult, call: ReviewCall) -> Request:
        """Record a reviewer's decision on a held result."""
        raise NotImplementedError

    def decided(self, reply: Reply) -> tuple[str, Receipt | None]:
        """How a decision ended: ``decided`` (recorded, or the same one recorded before),
        ``taken`` (another reviewer decided first) or ``refused`` (it cannot stand: try
        another); and the receipt of the version a correction entered (None: none stated)."""
        raise NotImplementedError

    def review_ledger(self, host: str, admin_key: str) -> list[FlaggedResult] | None:
        """Every result the target held for review, for the verdict; None: no such export."""
        return None

    @property
    def reviews(self) -> bool:
        """Whether this adapter speaks for HQ reviewers (without it a run has none)."""
        return type(self).review_queue is not ReportingAdapter.review_queue

    def login_name(self, login: Mapping[str, str]) -> str:
        role = next((r for r in ("operator", "reviewer") if r in login), "")
        return self.NAMES[f"{role}-sign-in" if role else "sign-in"]

    def data(self, reply: Reply, *keys: str) -> dict:
        """The reply's JSON object, which must hold ``keys`` (else :class:`ReplyError`)."""
        data = reply.data
        missing = [k for k in keys if data is None or k not in data]
        if missing:
            raise ReplyError(f"{reply.status} reply without {', '.join(missing)}")
        assert data is not None
        return data


def load_adapter(spec: str) -> ReportingAdapter:
    """The adapter named ``module:Class`` (or ``path/to/file.py:Class``), made."""
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise ValueError(f"--adapter {spec!r}: expected module:Class")
    if module_name.endswith(".py"):
        path = Path(module_name)
        loaded = importlib.util.spec_from_file_location(path.stem, path)
        if loaded is None or loaded.loader is None or not path.is_file():
            raise ValueError(f"--adapter {spec!r}: no file {path}")
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"--adapter {spec!r}: {error}") from error
    adapter = getattr(module, class_name, None)
    if not (isinstance(adapter, type) and issubclass(adapter, ReportingAdapter)):
        raise ValueError(f"--adapter {spec!r}: {class_name} is not a ReportingAdapter subclass")
    made = adapter()
    operations = set(OPERATIONS) | (set(REVIEW_OPERATIONS) if made.reviews else set())
    missing = sorted(operations - set(getattr(adapter, "NAMES", {})))
    if missing:
        raise ValueError(f"--adapter {spec!r}: NAMES lacks {', '.join(missing)}")
    return made
