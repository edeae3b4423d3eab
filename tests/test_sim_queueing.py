"""The Erlang formulas in sim.queueing against textbook values and closed forms."""

import math

import pytest

from sim.queueing import erlang_a, erlang_b, erlang_c


def closed_form_erlang_c(n: int, load: float) -> float:
    """P(wait) of M/M/n written out with factorials (the textbook form)."""
    top = load**n / math.factorial(n) * n / (n - load)
    return top / (sum(load**k / math.factorial(k) for k in range(n)) + top)


def poisson_tail(mean: float, n: int) -> float:
    """P(X >= n) for X ~ Poisson(mean)."""
    return 1 - sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(n))


@pytest.mark.parametrize(
    ("n", "load", "expected"),
    [(5, 5.0, 0.2849), (10, 5.0, 0.01838), (1, 1.0, 0.5), (2, 1.0, 0.2)],
)
def test_erlang_b_matches_tables(n, load, expected):
    assert erlang_b(n, load) == pytest.approx(expected, abs=5e-5)


def test_mm1_waits_with_probability_rho():
    figures = erlang_c(1, lam=0.5, mu=1.0)
    assert figures.p_wait == pytest.approx(0.5)
    assert figures.mean_wait_min == pytest.approx(0.5 / (1.0 - 0.5))


def test_mm2_waits_with_probability_two_rho_squared_over_one_plus_rho():
    rho = 0.8
    figures = erlang_c(2, lam=2 * rho, mu=1.0)
    assert figures.p_wait == pytest.approx(2 * rho**2 / (1 + rho))
    assert figures.mean_wait_min == pytest.approx(figures.p_wait / (2 - 2 * rho))


def test_erlang_c_three_agents_two_erlangs_is_four_ninths():
    assert erlang_c(3, lam=2.0, mu=1.0).p_wait == pytest.approx(4 / 9)


@pytest.mark.parametrize(("n", "load"), [(5, 3.5), (10, 9.5), (24, 20.0), (50, 49.0)])
def test_erlang_c_agrees_with_the_closed_form(n, load):
    figures = erlang_c(n, lam=load / 9, mu=1 / 9)
    assert figures.p_wait == pytest.approx(closed_form_erlang_c(n, load), rel=1e-9)
    assert figures.mean_wait_min == pytest.approx(figures.p_wait * 9 / (n - load), rel=1e-9)


def test_erlang_c_refuses_an_unstable_queue():
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(3, lam=3.0, mu=1.0)


@pytest.mark.parametrize(("n", "load"), [(3, 2.0), (10, 9.0), (24, 30.0)])
def test_erlang_a_with_patience_equal_to_service_is_m_m_infinity(n, load):
    """theta = mu: waiting and talking drain alike, so the count is Poisson(load)."""
    figures = erlang_a(n, lam=load / 9, mu=1 / 9, theta=1 / 9)
    assert figures.p_wait == pytest.approx(poisson_tail(load, n), rel=1e-9)
    assert figures.mean_on_hold == pytest.approx(
        sum((k - n) * math.exp(-load) * load**k / math.factorial(k) for k in range(n, 150)),
        rel=1e-9,
    )


def test_erlang_a_approaches_erlang_c_as_patience_grows():
    c = erlang_c(10, lam=1.0, mu=1 / 9)
    a = erlang_a(10, lam=1.0, mu=1 / 9, theta=1e-7)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-4)
    assert a.mean_wait_min == pytest.approx(c.mean_wait_min, rel=1e-3)
    assert a.p_abandon < 1e-5


def test_erlang_a_with_no_spare_lines_is_erlang_b():
    figures = erlang_a(5, lam=5.0, mu=1.0, theta=1.0, lines=5)
    assert figures.p_busy == pytest.approx(erlang_b(5, 5.0))
    assert figures.p_wait == 0.0
    assert figures.p_abandon == 0.0


def test_erlang_a_stays_finite_when_overloaded_and_abandonment_balances_the_excess():
    lam, mu, n = 3.0, 1.0, 2
    figures = erlang_a(n, lam=lam, mu=mu, theta=0.5)
    served_rate = lam * (1 - figures.p_abandon)
    busy_operators = served_rate / mu
    assert 0 < figures.p_abandon < 1
    assert busy_operators < n
    assert figures.p_abandon >= (lam - n * mu) / lam
