"""Wells–Riley room: validation, losses and the probability, each checked by hand."""

import numpy as np
import pytest

from syntwin.agents import WellsRileyRoom, infection_probability, wells_riley_probability


def test_bad_rooms_are_refused():
    with pytest.raises(ValueError, match=r"^clean_air_m3_per_h \(Q = ACH x volume\) must be > 0$"):
        wells_riley_probability(1, 25, 0.54, 1, 0.0)
    with pytest.raises(ValueError, match=r"^room volume must be > 0 m³, got 0.0$"):
        WellsRileyRoom(volume_m3=0.0, ach=3)
    with pytest.raises(ValueError, match=r"^ach \+ loss_per_h must be > 0 \(no removal means unbounded"):
        WellsRileyRoom(volume_m3=100, ach=0.0, loss_per_h=0.0)
    WellsRileyRoom(volume_m3=100, ach=0.0, loss_per_h=0.5)  # losses alone remove quanta
    # small but positive rooms and air supplies are valid
    WellsRileyRoom(volume_m3=0.5, ach=3)
    assert wells_riley_probability(1, 1, 0.5, 1, 0.5) == pytest.approx(1 - np.exp(-1.0))


def test_losses_add_to_ventilation():
    room = WellsRileyRoom(volume_m3=200, ach=2.0, loss_per_h=1.0)
    assert room.removal_per_s == pytest.approx(3.0 / 3600)
    for _ in range(2000):
        room.step(30.0, 30.0)
    # steady state E / (lambda V) with lambda = ach + loss
    assert room.concentration == pytest.approx(30.0 / (3.0 * 200), rel=1e-9)


def test_one_step_from_a_given_concentration():
    room = WellsRileyRoom(volume_m3=100, ach=3.6, concentration=0.2)  # lambda = 0.001 / s
    lam, dt = 0.001, 60.0
    c_ss = 36.0 / 3600 / (lam * 100)  # 0.1
    integral = room.step(36.0, dt)
    assert room.concentration == pytest.approx(c_ss + (0.2 - c_ss) * np.exp(-lam * dt), rel=1e-12)
    assert integral == pytest.approx(c_ss * dt + (0.2 - c_ss) * (1 - np.exp(-lam * dt)) / lam, rel=1e-12)
    assert repr(room) == "WellsRileyRoom(volume_m3=100, ach=3.6)"


def test_no_emission_decays_exponentially():
    room = WellsRileyRoom(volume_m3=50, ach=1.8, concentration=1.0)
    room.step(0.0, 3600.0)
    assert room.concentration == pytest.approx(np.exp(-1.8), rel=1e-12)


def test_infection_probability_is_one_minus_exp():
    d = np.array([0.0, 0.5, 3.0])
    np.testing.assert_allclose(infection_probability(d), 1 - np.exp(-d), rtol=1e-12)
    # small doses (the usual case) stay accurate: 1 - exp(-x) = x - x²/2 + ...
    assert infection_probability([1e-9])[0] == pytest.approx(1e-9 - 0.5e-18, rel=1e-14)
    assert infection_probability([2.0])[0] == pytest.approx(1 - np.exp(-2.0))
    assert wells_riley_probability(2, 10, 0.5, 3, 600) == pytest.approx(1 - np.exp(-2 * 10 * 0.5 * 3 / 600))
