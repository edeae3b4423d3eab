"""A caucus night's parameters: a plain tree of frozen dataclasses of numbers, strings, tuples.

Times are minutes after 7:00 pm caucus night; durations are minutes; rates are per minute.
Lognormal durations are given by their median (``*_median_min``) and the standard deviation of
their logarithm (``*_sigma``). Every field maps one to one onto a scenario key, e.g.
``hotline.lines`` or ``prank.leak_min``. Defaults are plausible Iowa 2020 figures (DESIGN.md
section 4); the scenario presets calibrate them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

CHANNELS = ("app", "hotline", "photo", "mail")
"""Ways a chair can get a result to HQ."""

MISTAKE_KINDS = (
    "final-above-first",
    "viable-group-shrank",
    "wrong-rounding",
    "wrong-delegate-total",
    "swapped-numbers",
    "missing-number",
)
"""Chair mistakes seen in 2020 (see :data:`sim.precincts.MISTAKES`)."""

ONE_DELEGATE_RULES = ("plurality", "majority")
"""Readings of the one-delegate rule (:class:`caucus.OneDelegateRule` values)."""

RELEASE_MODES = ("continuous", "batches")
"""How HQ publishes verified results."""


def _require(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(problem)


@dataclass(frozen=True, slots=True)
class PrecinctsConfig:
    """Reporting units, their attendance, delegates and caucus length."""

    regular: int = 1678
    """Regular precincts (Iowa 2020: 1,678)."""
    satellites: int = 87
    """Satellite caucuses (Iowa 2020: 87); they elect delegates by attendance."""
    counties: int = 99
    """Counties the regular precincts are spread over."""
    attendance_median: float = 61.0
    """Median attendees of a regular precinct (2020: 61; p10 14, p90 248)."""
    attendance_sigma: float = 1.09
    """Log-sd of regular attendance; 1.09 puts p10 near 15 and p90 near 248."""
    attendance_max: int = 860
    """Largest regular precinct (attendees)."""
    satellite_attendance_median: float = 20.0
    """Median attendees of a satellite caucus (2020: 20)."""
    satellite_attendance_sigma: float = 0.9
    """Log-sd of satellite attendance."""
    delegates_median: float = 6.0
    """Median county delegates a regular precinct elects (2020: 6, range 1 to 36)."""
    delegates_sigma: float = 0.4
    """Log-sd of the delegates drawn for a precinct of median attendance."""
    delegates_attendance_elasticity: float = 0.35
    """Delegates grow as attendance to this power (apportionment follows past turnout)."""
    delegates_max: int = 36
    """Most county delegates a precinct elects."""
    groups: tuple[str, ...] = (
        "Buttigieg",
        "Sanders",
        "Warren",
        "Biden",
        "Klobuchar",
        "Yang",
        "Steyer",
        "Uncommitted",
    )
    """Preference groups attendees can stand in."""
    group_shares: tuple[float, ...] = (0.25, 0.245, 0.18, 0.15, 0.12, 0.03, 0.015, 0.01)
    """Statewide first-alignment share of each group (same order as ``groups``)."""
    mix_concentration: float = 20.0
    """Dirichlet concentration of a precinct's mix around the statewide shares (higher: less
    local variation)."""
    realign_join_share: float = 0.75
    """Share of a non-viable group's members who join a viable group at realignment (the rest
    go home or stay and count for nothing)."""
    caucus_base_min: float = 75.0
    """Caucus length (minutes) of a tiny precinct: doors close at 7 pm, then speeches, first
    alignment, 15-minute realignment, paperwork."""
    caucus_per_attendee_min: float = 0.12
    """Extra caucus minutes per attendee."""
    caucus_sigma: float = 0.2
    """Log-sd of caucus length around base + per-attendee x attendance."""
    satellite_start_min: float = -60.0
    """Satellite caucuses start earlier on average (minutes after 7 pm; negative is before)."""

    def __post_init__(self) -> None:
        _require(
            len(self.groups) == len(self.group_shares),
            f"precincts.groups has {len(self.groups)} names but group_shares "
            f"{len(self.group_shares)} shares",
        )


@dataclass(frozen=True, slots=True)
class MistakesConfig:
    """Chair mistakes on the reported result, of the kinds seen in 2020."""

    rate: float = 0.1
    """Probability a chair's worksheet has a mistake (2020: over 100 of 1,765 published results
    were inconsistent; a few mistakes are caught and corrected, a few pass the checks)."""
    kinds: tuple[str, ...] = MISTAKE_KINDS
    """Mistake kinds, from :data:`MISTAKE_KINDS`."""
    weights: tuple[float, ...] = (0.35, 0.15, 0.15, 0.1, 0.15, 0.1)
    """Relative frequency of each kind (same order as ``kinds``)."""

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(MISTAKE_KINDS)
        _require(not unknown, f"mistakes.kinds: unknown {sorted(unknown)}; use {MISTAKE_KINDS}")
        _require(
            len(self.kinds) == len(self.weights),
            f"mistakes.kinds has {len(self.kinds)} kinds but weights {len(self.weights)}",
        )


@dataclass(frozen=True, slots=True)
class ChairsConfig:
    """Precinct chairs: the order they try channels, and how long they keep at it."""

    channels: tuple[str, ...] = ("app", "hotline", "photo", "mail")
    """Channels in the order a chair tries them; mail always gets through in the end."""
    paperwork_median_min: float = 10.0
    """Minutes from the end of the caucus to the first reporting attempt (median)."""
    paperwork_sigma: float = 0.5
    """Log-sd of the paperwork time."""
    hold_patience_median_min: float = 45.0
    """How long a chair stays on hold before hanging up (median minutes)."""
    hold_patience_sigma: float = 0.8
    """Log-sd of a chair's hold patience."""
    hotline_give_up_median_min: float = 150.0
    """How long a chair keeps calling the hotline before moving to the next channel (median
    minutes from the first call)."""
    hotline_give_up_sigma: float = 0.7
    """Log-sd of that persistence."""
    redial_busy_mean_min: float = 5.0
    """Mean minutes before redialling after a busy signal (exponential)."""
    redial_after_hold_mean_min: float = 10.0
    """Mean minutes before redialling after hanging up on hold or a dropped call."""
    photo_share: float = 0.6
    """Share of chairs who can send a photo or drive to HQ when the hotline fails; the others go
    home and the worksheet goes back by mail."""

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        _require(not unknown, f"chairs.channels: unknown {sorted(unknown)}; use {CHANNELS}")


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The reporting app: adoption, login, back-end capacity, outages, the partial-data bug."""

    installed_share: float = 0.25
    """Share of chairs with the app installed and working before the night (2020: ~400 of
    1,700)."""
    login_failure_prob: float = 0.3
    """Probability one login attempt fails (three 6-digit codes to type)."""
    attempts: int = 3
    """Log-in-and-submit attempts before a chair gives up on the app."""
    attempt_min: float = 5.0
    """Minutes one attempt takes (typing the codes and the numbers)."""
    backend_capacity: int = 50
    """Submissions the back end processes at once; a submission finding it full times out."""
    backend_submit_min: float = 1.0
    """Minutes the back end takes per submission."""
    outages: tuple[tuple[float, float], ...] = ()
    """Windows (start, end minutes after 7 pm) when every submission fails."""
    partial_data_prob: float = 1.0
    """Probability an accepted submission reaches HQ incomplete (2020's coding error: all)."""


def _in_time_order(shifts: tuple, where: str) -> None:
    _require(
        all(a.from_min < b.from_min for a, b in itertools.pairwise(shifts)),
        f"{where}: shifts must start in time order, each after the one before",
    )


@dataclass(frozen=True, slots=True)
class HotlineShift:
    """From ``from_min`` (minutes after 7 pm) on, the hotline has ``operators`` on duty and
    ``lines``; a key left out keeps what the shift before had."""

    from_min: float
    """When the shift starts (minutes after 7 pm; clock times such as "21:00" too)."""
    operators: int | None = None
    """Operators on duty from then on (left out: as before)."""
    lines: int | None = None
    """Phone lines from then on (left out: as before)."""


@dataclass(frozen=True, slots=True)
class HotlineConfig:
    """The phone hotline: lines, operators, dropped calls, counter-measures."""

    lines: int = 200
    """Phone lines; a caller who finds all busy hears a busy signal."""
    operators: int = 24
    """Operators answering calls in queue order."""
    report_call_median_min: float = 18.0
    """Median minutes an operator needs to take a phoned report (2020: about 20)."""
    report_call_sigma: float = 0.35
    """Log-sd of a report call's length."""
    drop_prob: float = 0.05
    """Probability an answered call is dropped (cut off, or hung up on as a prank) before its
    end."""
    block_after_prank_calls: int = 0
    """Block a number once operators have answered this many prank calls from it (0: never)."""
    pin_screening: bool = False
    """Callers must type a precinct PIN before an operator answers; callers without one are
    turned away."""
    pin_screen_min: float = 0.5
    """Minutes a caller spends on the PIN screen."""
    shifts: tuple[HotlineShift, ...] = ()
    """Staffing changes through the night, in time order (``[[hotline.shifts]]``,
    ``from_min = "21:00"``, ``operators = 60``): operators going off duty finish the call in
    hand; a line in use is not cut off."""

    def __post_init__(self) -> None:
        _in_time_order(self.shifts, "hotline")


@dataclass(frozen=True, slots=True)
class PrankConfig:
    """The prank flood after the hotline number leaks."""

    leak_min: float | None = 180.0
    """When the number leaks (minutes after 7 pm; 2020: ~10 pm CT on 4chan); None: never."""
    peak_per_min: float = 30.0
    """Prank call rate right after the leak (calls per minute)."""
    half_life_min: float = 120.0
    """Minutes for the prank rate to halve; total calls = peak x half-life / ln 2."""
    callers: int = 600
    """Distinct numbers the pranks come from (matters for blocking repeat callers)."""
    call_mean_min: float = 2.0
    """Mean minutes an operator loses on a prank call (exponential)."""
    patience_mean_min: float = 20.0
    """Mean minutes a prankster holds before hanging up (exponential)."""


@dataclass(frozen=True, slots=True)
class PublicConfig:
    """Journalists and the public calling for results."""

    rate_per_min: float = 0.5
    """Calls per minute from journalists and the public while the night is on."""
    until_min: float = 1440.0
    """Minutes after 7 pm when these calls stop."""
    call_mean_min: float = 3.0
    """Mean minutes an operator spends on such a call (exponential)."""
    patience_mean_min: float = 10.0
    """Mean minutes they hold before hanging up (exponential)."""


@dataclass(frozen=True, slots=True)
class PhotoConfig:
    """Sending a photo of the worksheet, or driving it to county/HQ."""

    delay_median_min: float = 90.0
    """Median minutes from the decision to photograph/drive until HQ has it."""
    delay_sigma: float = 0.8
    """Log-sd of that delay."""


@dataclass(frozen=True, slots=True)
class MailConfig:
    """The worksheet returned in the precinct kit by mail or courier."""

    delay_median_min: float = 1800.0
    """Median minutes until a mailed or couriered worksheet reaches HQ (30 hours)."""
    delay_sigma: float = 0.3
    """Log-sd of the mail delay."""


@dataclass(frozen=True, slots=True)
class HQShift:
    """From ``from_min`` (minutes after 7 pm) on, HQ has ``verifiers`` and
    ``data_entry_staff`` on duty; a key left out keeps what the shift before had."""

    from_min: float
    """When the shift starts (minutes after 7 pm; clock times such as "+6h" too)."""
    verifiers: int | None = None
    """Verifiers on duty from then on (left out: as before)."""
    data_entry_staff: int | None = None
    """Data-entry staff on duty from then on (left out: as before)."""


@dataclass(frozen=True, slots=True)
class HQConfig:
    """Headquarters: data entry, verification, follow-up of flagged results."""

    data_entry_staff: int = 8
    """Staff typing in photographed and mailed worksheets."""
    entry_median_min: float = 8.0
    """Median minutes to type in one worksheet."""
    verifiers: int = 12
    """Staff verifying received results with the caucus checks and following them up."""
    verify_median_min: float = 3.0
    """Median minutes to verify one result (run the checks, compare with the record)."""
    callback_min: float = 15.0
    """Minutes a verifier spends calling a chair back about a flagged or incomplete result."""
    callback_success_prob: float = 0.5
    """Probability the callback settles it; otherwise HQ waits for the paper worksheet."""
    correction_prob: float = 0.3
    """Probability that following up a flagged mistake corrects it; otherwise the worksheet, the
    legal record, is published as the chair wrote it (2020: many inconsistent results were)."""
    worksheet_median_min: float = 720.0
    """Median minutes from a failed callback until the paper worksheet reaches HQ."""
    worksheet_sigma: float = 0.5
    """Log-sd of that wait."""
    duration_sigma: float = 0.5
    """Log-sd of data-entry and verification times."""
    one_delegate_rule: str = "plurality"
    """How HQ's checks read one-delegate precincts: "plurality" (as campaigns did, and as
    chairs award) or "majority" (the app guide's "over 50%": plurality wins without a majority
    get flagged)."""
    shifts: tuple[HQShift, ...] = ()
    """Staffing changes through the night, in time order (``[[hq.shifts]]``, ``from_min =
    "+6h"``, ``verifiers = 4``): staff going off duty finish the result in hand."""

    def __post_init__(self) -> None:
        _require(
            self.one_delegate_rule in ONE_DELEGATE_RULES,
            f"hq.one_delegate_rule {self.one_delegate_rule!r} is not one of {ONE_DELEGATE_RULES}",
        )
        _in_time_order(self.shifts, "hq")


@dataclass(frozen=True, slots=True)
class ReleaseConfig:
    """When verified results are published."""

    mode: str = "batches"
    """continuous: each verified result is published at once; batches: at set times."""
    batch_times_min: tuple[float, ...] = (1260.0, 1680.0, 2280.0, 2736.0, 3000.0, 3204.0, 4365.0)
    """Batch release times (minutes after 7 pm; 2020: first release 21 h after the start)."""
    then_every_min: float = 240.0
    """After the last set time, a batch every this many minutes."""

    def __post_init__(self) -> None:
        _require(
            self.mode in RELEASE_MODES,
            f"release.mode {self.mode!r} is not one of {RELEASE_MODES}",
        )
        _require(self.then_every_min > 0, "release.then_every_min must be positive")


@dataclass(frozen=True, slots=True)
class NightConfig:
    """One caucus night. A replication runs it with its own seed."""

    precincts: PrecinctsConfig = field(default_factory=PrecinctsConfig)
    mistakes: MistakesConfig = field(default_factory=MistakesConfig)
    chairs: ChairsConfig = field(default_factory=ChairsConfig)
    app: AppConfig = field(default_factory=AppConfig)
    hotline: HotlineConfig = field(default_factory=HotlineConfig)
    prank: PrankConfig = field(default_factory=PrankConfig)
    public: PublicConfig = field(default_factory=PublicConfig)
    photo: PhotoConfig = field(default_factory=PhotoConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    hq: HQConfig = field(default_factory=HQConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    horizon_min: float = 10080.0
    """The night ends here (minutes after 7 pm; a week): results not published by then never
    arrived."""
    sample_every_min: float = 5.0
    """Spacing of the time series of lines busy and callers on hold (minutes)."""
