"""The presets against the public record: a calibration is scenario parameters plus these
measurements of the fit (DESIGN.md section 4, "Calibration targets")."""

from pathlib import Path

import numpy as np
import pytest

from sim.hotline import REPORT
from sim.scenario import load_scenario
from studies.public_record import IOWA_2020_HOLDS, IOWA_2020_RELEASES
from studies.run_folder import record_fit
from studies.runner import grid, run_replications

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NIGHTS = 20
TOLERANCE_PP = 5.0
HOLD_WINDOW_MIN = 15.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def iowa_2020():
    scenario = load_scenario(SCENARIOS / "iowa-2020.toml")
    return scenario, run_replications(scenario.night, scenario.seed, NIGHTS, workers=2)


def test_2020_share_published_matches_the_record(iowa_2020):
    scenario, nights = iowa_2020
    fit = record_fit(nights, grid(scenario.night), IOWA_2020_RELEASES)
    assert len(fit) == len(IOWA_2020_RELEASES) == 6
    for point, simulated in fit:
        assert abs(simulated.mean - point.percent_published) <= TOLERANCE_PP, (
            f"{simulated.mean:.1f}% published at {point.hours} h, record {point.percent_published}%"
        )


@pytest.mark.parametrize("report", IOWA_2020_HOLDS, ids=lambda h: f"{h.hours}h-{h.hold_minutes}min")
def test_2020_hold_times_are_consistent_with_chairs_reports(iowa_2020, report):
    """Holds of chairs' calls that ended near the report's time (answered or hung up): an
    'at least' report is below the 90th percentile; an exact or approximate one lies between
    the 10th percentile and the longest hold."""
    _, nights = iowa_2020
    holds = [
        wait
        for night in nights
        for _, kind, _, placed, wait, _, _ in night.calls
        if kind == REPORT
        and wait is not None
        and abs(placed + wait - report.hours * 60) <= HOLD_WINDOW_MIN
    ]
    assert len(holds) >= 20, "too few chairs' holds end near this time to judge"
    p10, p90 = np.percentile(holds, [10, 90])
    if report.bound == "at_least":
        assert p90 >= report.hold_minutes, f"p90 hold {p90:.0f} min < {report.hold_minutes}"
    else:
        assert p10 <= report.hold_minutes <= max(holds), (
            f"{report.hold_minutes} min outside [{p10:.0f}, {max(holds):.0f}]"
        )


def test_2016_publishes_95_percent_in_about_four_hours():
    scenario = load_scenario(SCENARIOS / "iowa-2016.toml")
    nights = run_replications(scenario.night, scenario.seed, NIGHTS, workers=2)
    hours = np.mean([n.summary["published_95pct_min"] for n in nights]) / 60
    assert 3.5 <= hours <= 4.5, f"95% published at {hours:.2f} h"
