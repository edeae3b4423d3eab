"""The confidence-interval method of choosing nights, on hand-made figures whose answer is
known."""

import math

import numpy as np
import pytest

from studies.precision import half_width, nights_to_precision, precision_reached


def test_half_width_is_the_student_t_interval():
    # Mean 10, sample sd 2 over 4 nights: t(0.975, 3) = 3.182446 -> 3.182446 * 2 / 2.
    assert half_width([8.0, 10.0, 10.0, 12.0]) == pytest.approx(3.182446 * math.sqrt(8 / 3) / 2)
    assert half_width([5.0]) == math.inf


def test_identical_nights_reach_precision_at_the_minimum():
    reached = precision_reached([7.0] * 20, 0.05, min_nights=5)
    assert (reached.nights, reached.mean, reached.half_width, reached.reached) == (5, 7.0, 0, True)


def test_the_answer_is_the_first_n_that_meets_the_precision():
    # Alternating 9, 11: mean 10, sd about 1, so the half-width t * sd / sqrt(n) falls to 0.5
    # (5% of 10) near n = 18; the function must stop at the first such n and not before.
    values = [9.0, 11.0] * 30
    expected = next(n for n in range(5, 61) if half_width(values[:n]) <= 0.05 * np.mean(values[:n]))
    reached = precision_reached(values, 0.05)
    assert reached.reached and reached.nights == expected
    assert half_width(values[: expected - 1]) > 0.05 * np.mean(values[: expected - 1])


def test_known_variance_needs_the_textbook_number_of_nights():
    # Nights drawn with sd 10 around a mean of 100: 5% precision needs about
    # (1.96 * 10 / 5)^2 = 15.4 nights; with t and sampling noise, between 8 and 30.
    rng = np.random.default_rng(5)
    reached = precision_reached(list(rng.normal(100, 10, 400)), 0.05)
    assert reached.reached and 8 <= reached.nights <= 30
    assert reached.relative <= 0.05


def test_a_cap_reached_says_so():
    reached = precision_reached([1.0, 100.0] * 5, 0.01)
    assert not reached.reached and reached.nights == 10
    assert reached.relative > 0.01


def test_a_figure_that_never_happened_never_reaches_precision():
    reached = precision_reached([math.nan] * 10, 0.05)
    assert not reached.reached
    with pytest.raises(ValueError):
        precision_reached([], 0.05)


@pytest.mark.parametrize("batch", [1, 7, 50])
def test_the_nights_chosen_do_not_depend_on_the_rounds(batch):
    values = list(np.random.default_rng(9).normal(100, 10, 400))
    played = []

    def play(first: int, count: int) -> list[float]:
        played.append((first, count))
        return values[first : first + count]

    nights, reached = nights_to_precision(play, float, 0.05, 400, batch)
    assert reached == precision_reached(values, 0.05)
    assert nights == values[: reached.nights]
    assert played[0] == (0, batch) and all(count <= batch for _, count in played)


def test_the_cap_stops_the_rounds():
    def play(first: int, count: int) -> list[float]:
        return [1.0 if i % 2 else 100.0 for i in range(first, first + count)]

    nights, reached = nights_to_precision(play, float, 0.001, 9, 4)
    assert nights == play(0, 9) and not reached.reached and reached.nights == 9
