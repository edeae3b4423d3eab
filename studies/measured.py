"""The [precincts] figures a night's published results measure: sizes, delegates, groups.

Pure functions of parsed results (:class:`~caucus.results.PrecinctResult`, as
:func:`caucus.results_csv.read_results_csv` reads them), each matching what its parameter means
in the model (:class:`sim.config.PrecinctsConfig`, :func:`sim.precincts.draw_precincts`).
Attendance (the sign-in headcount) is not in a published release: a unit's first-alignment
total stands in for it throughout. Percentiles are numpy's default (linear between ranks).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from caucus.results import PrecinctResult

Z90 = NormalDist().inv_cdf(0.9)
"""A standard normal's 90th percentile (1.2816): a lognormal's p90 / p10 is exp(2 x Z90 x sigma)."""
MIN_GROUP_SHARE = 0.005
"""A name is a group of its own with at least this share of the statewide first alignment."""
MIX_MIN_SIZE = 20
"""Precincts with fewer first-alignment supporters are left out of the mix's variance."""


@dataclass(frozen=True, slots=True)
class Measure:
    """One [precincts] key as the data measure it.

    ``value`` is None when the data cannot measure it (``how`` says why); ``decimals`` is the
    rounding it is printed and compared at (None: exact, a count or names).
    """

    key: str
    value: int | float | tuple[str, ...] | dict[str, float] | None
    """A count, a figure, names (``groups``) or shares by name (``group_shares``)."""
    decimals: int | None
    how: str

    def agrees(self, value: object) -> bool:
        """Whether a scenario's ``value`` is this figure at its rounding (``groups``: the same
        names in any order; ``group_shares``: a share by name for each measured group)."""
        if isinstance(self.value, tuple):
            return isinstance(value, tuple | list) and set(value) == set(self.value)
        if isinstance(self.value, dict):
            return isinstance(value, dict) and all(
                name in value and self._close(value[name], share)
                for name, share in self.value.items()
            )
        return isinstance(value, int | float) and self._close(value, self.value)

    def _close(self, value: float, measured: float | None) -> bool:
        if measured is None:
            return False
        if self.decimals is None:
            return value == measured
        return abs(value - measured) <= 0.5 * 10**-self.decimals + 1e-12


@dataclass(frozen=True, slots=True)
class Regression:
    """Least squares of log y on log x: ``y = exp(intercept) x^slope``, with the residuals'
    sd (natural-log units, n - 2 degrees of freedom) and the points fitted."""

    slope: float
    intercept: float
    residual_sd: float
    points: int


@dataclass(frozen=True, slots=True)
class Realignment:
    """Supporters of groups with a first-alignment count but no final count (people).

    ``vanished`` and ``left`` are over the units whose final total is not above their first:
    ``left`` is, unit by unit, the drop from first to final total, at most the unit's vanished
    supporters. ``vanished_all`` counts every unit, ``units_left_out`` those with a final total
    above the first (a chair's mistake: who left cannot be told there).
    """

    vanished_all: int
    units_left_out: int
    vanished: int
    left: int

    @property
    def join_share(self) -> float | None:
        """Share of the vanished groups' supporters who joined another group."""
        return 1 - self.left / self.vanished if self.vanished else None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between ranks."""
    return float(np.percentile(values, q))


def log_sd_from_deciles(p10: float, p90: float) -> float | None:
    """The log-sd of a lognormal with these 10th and 90th percentiles; None if p10 is 0."""
    return math.log(p90 / p10) / (2 * Z90) if p10 > 0 else None


def log_regression(points: Sequence[tuple[float, float]]) -> Regression | None:
    """Regress log y on log x over points with both above 0; None with fewer than three such
    points or one x only."""
    kept = [(x, y) for x, y in points if x > 0 and y > 0]
    x = np.log([p[0] for p in kept])
    y = np.log([p[1] for p in kept])
    if len(kept) < 3 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (intercept + slope * x)
    sd = math.sqrt(float(residuals @ residuals) / (len(kept) - 2))
    return Regression(float(slope), float(intercept), sd, len(kept))


def first_alignment_by_name(results: Sequence[PrecinctResult]) -> Counter[str]:
    """Statewide first-alignment supporters of each name, every unit counted."""
    totals: Counter[str] = Counter()
    for unit in results:
        for group in unit.groups:
            totals[group.name] += group.first
    return totals


def by_size(totals: Counter[str]) -> list[tuple[str, int]]:
    """(name, supporters), largest first; equal counts in name order."""
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def main_groups(totals: Counter[str]) -> list[str]:
    """Names with at least :data:`MIN_GROUP_SHARE` of the first alignment, largest first."""
    whole = sum(totals.values())
    return [name for name, n in by_size(totals) if whole and n / whole >= MIN_GROUP_SHARE]


def mix_concentrations(
    results: Sequence[PrecinctResult], groups: Sequence[str]
) -> dict[str, float]:
    """Each group's Dirichlet concentration from how its share varies between precincts.

    Over the regular precincts of :data:`MIX_MIN_SIZE` or more (N supporters each), a group's
    share x has mean p and variance V (over precincts). Drawn as the model draws it (a
    Dirichlet mix of concentration a, then N multinomial supporters), the share's variance is
    p(1 - p) [1/N + (1 - 1/N) / (1 + a)]; with 1/N and 1 - 1/N averaged over the precincts,
    1 + a = mean(1 - 1/N) / (V / (p(1 - p)) - mean(1/N)). ``inf``: no variation beyond the
    counting noise. Empty with fewer than two such precincts.
    """
    big = [u for u in results if not u.is_satellite and u.first_total >= MIX_MIN_SIZE]
    if len(big) < 2:
        return {}
    sizes = np.array([u.first_total for u in big], dtype=float)
    noise, signal = float(np.mean(1 / sizes)), float(np.mean(1 - 1 / sizes))
    out = {}
    for group in groups:
        shares = np.array([u.first_alignment().get(group, 0) for u in big]) / sizes
        p = float(shares.mean())
        excess = float(shares.var(ddof=1)) / (p * (1 - p)) - noise if 0 < p < 1 else 0.0
        out[group] = signal / excess - 1 if excess > 0 else math.inf
    return out


def realignment(results: Sequence[PrecinctResult]) -> Realignment:
    """Who joined and who left among the groups that vanished at realignment (every unit)."""
    vanished_all = units_left_out = vanished = left = 0
    for unit in results:
        gone = sum(g.first for g in unit.groups if g.first and not g.final)
        vanished_all += gone
        drop = unit.first_total - unit.final_total
        if drop < 0:
            units_left_out += 1
            continue
        vanished += gone
        left += min(gone, drop)
    return Realignment(vanished_all, units_left_out, vanished, left)


def measure_precincts(results: Sequence[PrecinctResult]) -> list[Measure]:
    """Every [precincts] key the results measure, in PrecinctsConfig's order."""
    regular = [u for u in results if not u.is_satellite]
    satellites = [u for u in results if u.is_satellite]
    counties = len({u.county for u in regular})
    return [
        Measure("regular", len(regular), None, "reporting units that are not satellites"),
        Measure("satellites", len(satellites), None, "satellite caucuses"),
        Measure("counties", counties, None, f"counties the {len(regular):,} precincts lie in"),
        *_sizes(regular, "", "precincts"),
        *_sizes(satellites, "satellite_", "satellite caucuses")[:2],  # no satellite maximum
        *_delegates(regular),
        *_groups(results),
        _join_share(realignment(results)),
    ]


def _sizes(units: list[PrecinctResult], prefix: str, what: str) -> list[Measure]:
    """Median, log-sd and largest first-alignment total of ``units``."""
    keys = [f"{prefix}attendance_{k}" for k in ("median", "sigma", "max")]
    if not units:
        return [Measure(k, None, None, f"no {what} in the file") for k in keys]
    totals = [u.first_total for u in units]
    p10, p50, p90 = (percentile(totals, q) for q in (10, 50, 90))
    zeros = sum(1 for n in totals if n == 0)
    log_sd = log_sd_from_deciles(p10, p90)
    spread = f"10th percentile {p10:g}, 90th {p90:g}"
    return [
        Measure(
            keys[0],
            p50,
            1,
            f"median first-alignment total of the {len(totals):,} {what}"
            + (f" ({zeros} had none)" if zeros else ""),
        ),
        Measure(
            keys[1],
            log_sd,
            2,
            f"log-sd from the same totals' {spread}: ln(p90 / p10) / (2 x {Z90:.4f})"
            if log_sd is not None
            else f"not measurable: the {what}' {spread}",
        ),
        Measure(keys[2], max(totals), None, f"the largest of the {what}' totals"),
    ]


def _delegates(regular: list[PrecinctResult]) -> list[Measure]:
    """Median and largest delegates to elect; their regression on first-alignment totals."""
    keys = (
        "delegates_median",
        "delegates_sigma",
        "delegates_attendance_elasticity",
        "delegates_max",
    )
    electing = [(u.first_total, u.delegates_to_elect) for u in regular]
    delegates = [d for _, d in electing if d is not None]
    if not delegates:
        return [Measure(k, None, None, "no precinct_delegates in the file") for k in keys]
    fit = log_regression([(n, d) for n, d in electing if d is not None])
    fitted = (
        f"log delegates to elect regressed on log first-alignment total over the {fit.points:,} "
        "precincts with both above 0"
        if fit
        else "not measurable: fewer than three precincts with delegates and supporters, or all "
        "of one size"
    )
    return [
        Measure(
            keys[0],
            percentile(delegates, 50),
            1,
            f"median precinct_delegates (county delegates to elect) of the {len(delegates):,} "
            "precincts",
        ),
        Measure(keys[1], fit.residual_sd if fit else None, 2, f"{fitted}: residual sd"),
        Measure(keys[2], fit.slope if fit else None, 2, f"{fitted}: slope"),
        Measure(
            keys[3],
            max(delegates),
            None,
            f"the most precinct_delegates of a precinct (the fewest: {min(delegates)})",
        ),
    ]


def _groups(results: Sequence[PrecinctResult]) -> list[Measure]:
    """The groups, their statewide shares and the concentration of the precincts' mix."""
    totals = first_alignment_by_name(results)
    whole = sum(totals.values())
    groups = main_groups(totals)
    if not groups:
        return [
            Measure(k, None, None, "no first-alignment supporters in the file")
            for k in ("groups", "group_shares", "mix_concentration")
        ]
    shares = {name: totals[name] / whole for name in groups}
    rest = [(name, n) for name, n in by_size(totals) if name not in shares and n]
    others = ", ".join(f"{name} {100 * n / whole:.2f}%" for name, n in rest)
    named = (
        f"names with {100 * MIN_GROUP_SHARE:g}% of the first alignment or more, "
        f"{100 * sum(shares.values()):.2f}% of it"
    )
    return [
        Measure(
            "groups",
            tuple(groups),
            None,
            f"{named}; the rest ({100 * sum(n for _, n in rest) / whole:.2f}%): {others}"
            if rest
            else named,
        ),
        Measure(
            "group_shares",
            shares,
            3,
            f"each group's share of the {whole:,} first-alignment supporters of every unit",
        ),
        _mix(results, shares),
    ]


def _mix(results: Sequence[PrecinctResult], shares: dict[str, float]) -> Measure:
    """The share-weighted concentration (see :func:`mix_concentrations`)."""
    per_group = mix_concentrations(results, list(shares))
    where = f"over the precincts of {MIX_MIN_SIZE} or more"
    if not per_group:
        too_few = f"not measurable: fewer than two precincts of {MIX_MIN_SIZE} or more"
        return Measure("mix_concentration", None, None, too_few)
    flat = [g for g, a in per_group.items() if math.isinf(a)]
    if flat:
        return Measure(
            "mix_concentration",
            None,
            None,
            f"not measurable: {', '.join(flat)} vary {where} no more than counting noise",
        )
    weighted = sum(shares[g] * a for g, a in per_group.items()) / sum(shares.values())
    each = ", ".join(f"{g} {a:.0f}" for g, a in per_group.items())
    return Measure(
        "mix_concentration",
        weighted,
        0,
        f"each group's share varies {where} as a Dirichlet of concentration {each} would, "
        "counting (multinomial) noise taken out; weighted by the groups' shares",
    )


def _join_share(moved: Realignment) -> Measure:
    share = moved.join_share
    left_out = (
        f"; in the {moved.units_left_out} units whose final total is above the first, who left "
        "cannot be told: left out"
        if moved.units_left_out
        else ""
    )
    return Measure(
        "realign_join_share",
        share,
        2,
        f"the {moved.vanished_all:,} first-alignment supporters of groups with no final count"
        f"{left_out}; of the {moved.vanished:,} counted, {moved.left:,} left the count (a unit's "
        "drop from first to final total, at most its vanished supporters), the others joined "
        "another group"
        if share is not None
        else "not measurable: no group lost its whole count at realignment",
    )
