"""Textbook queueing formulas for a call centre, independent of the SimPy model.

Rates are per minute, times in minutes. ``n`` operators serve calls arriving at rate ``lam``
with exponential service of mean ``1 / mu``.

- Erlang C (M/M/n): callers never hang up.
- Erlang A (M/M/n+M): callers hang up after an exponential patience of mean ``1 / theta``;
  computed exactly from the birth-death chain of the number of callers in the system,
  optionally with a finite number of lines (callers beyond them hear a busy signal).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Steady-state figures seen by an arriving caller (PASTA).

    ``p_busy``: all lines taken (call lost); ``p_wait``: on hold before an operator answers
    (among all arrivals); ``mean_wait_min``: mean minutes on hold, over all arrivals that get a
    line, counting those who hang up; ``p_abandon``: hangs up on hold (among all arrivals);
    ``mean_on_hold``: mean callers on hold.
    """

    p_busy: float
    p_wait: float
    mean_wait_min: float
    p_abandon: float
    mean_on_hold: float


def erlang_b(n: int, load: float) -> float:
    """Blocking probability of n servers with ``load = lam / mu`` Erlangs and no queue."""
    b = 1.0
    for k in range(1, n + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(n: int, lam: float, mu: float) -> QueueFigures:
    """M/M/n with an infinite queue and patient callers; needs ``lam < n * mu``."""
    load = lam / mu
    if load >= n:
        raise ValueError(f"unstable: load {load:g} Erlangs >= {n} operators")
    b = erlang_b(n, load)
    p_wait = n * b / (n - load * (1 - b))
    mean_wait = p_wait / (n * mu - lam)
    return QueueFigures(
        p_busy=0.0,
        p_wait=p_wait,
        mean_wait_min=mean_wait,
        p_abandon=0.0,
        mean_on_hold=lam * mean_wait,
    )


def erlang_a(
    n: int, lam: float, mu: float, theta: float, lines: int | None = None, tail: float = 1e-15
) -> QueueFigures:
    """M/M/n+M (Palm's model): patience exponential with rate ``theta`` (per minute).

    With ``lines`` the system holds at most that many callers (M/M/n/lines+M). Without it the
    chain is truncated where the stationary probabilities fall below ``tail``.
    """
    if theta <= 0:
        raise ValueError("theta must be positive; use erlang_c for patient callers")
    if lines is not None and lines < n:
        raise ValueError(f"{lines} lines cannot serve {n} operators")
    weights = [1.0]
    k = 0
    while lines is None or k < lines:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        weights.append(weights[-1] * lam / death)
        if lines is None and k > n and weights[-1] < tail * sum(weights):
            break
    total = sum(weights)
    p = [w / total for w in weights]
    p_busy = p[-1] if lines is not None else 0.0
    p_wait = sum(p[n:]) - p_busy
    mean_on_hold = sum((k - n) * pk for k, pk in enumerate(p) if k > n)
    admitted = lam * (1 - p_busy)
    return QueueFigures(
        p_busy=p_busy,
        p_wait=p_wait,
        mean_wait_min=mean_on_hold / admitted,
        p_abandon=theta * mean_on_hold / lam,
        mean_on_hold=mean_on_hold,
    )
