from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from syntwin.agents.co2 import CO2_PER_PERSON_M3_S, effective_volume, estimate_ach, fit_decay

UCI = Path(__file__).resolve().parents[2].parent / "shared/data/room_occupancy_uci.csv"


def mass_balance(ach=1.2, volume=90.0, outdoor=400.0, hours=12, dt=30.0):
    """Exact CO2 series for a room occupied by 3 people 2 h out of every 4 (closed-form per step)."""
    t = np.arange(0, hours * 3600, dt)
    n = np.where((t // 7200) % 2 == 0, 3, 0)
    lam = ach / 3600
    c = np.empty(len(t))
    c[0] = outdoor
    for k in range(1, len(t)):
        c_ss = outdoor + 1e6 * CO2_PER_PERSON_M3_S * n[k - 1] / (lam * volume)
        c[k] = c_ss + (c[k - 1] - c_ss) * np.exp(-lam * dt)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(t, "s")
    return pd.DataFrame({"timestamp": ts, "count": n, "co2": c})


def test_decay_fit_recovers_known_ach():
    t = np.arange(0, 3 * 3600, 30.0)
    c = 420 + 600 * np.exp(-0.8 / 3600 * t)
    assert fit_decay(t, c, 420).ach == pytest.approx(0.8, rel=1e-9)
    free = fit_decay(t, c)
    assert free.ach == pytest.approx(0.8, rel=1e-4) and free.outdoor_ppm == pytest.approx(420, abs=0.5)


def test_mass_balance_gives_back_ventilation_and_volume():
    df = mass_balance()
    fits = estimate_ach(df, outdoor_ppm=400.0)
    assert len(fits) == 3
    assert np.allclose(fits["ach"], 1.2, rtol=1e-6)
    assert effective_volume(df, 1.2, 400.0) == pytest.approx(90.0, rel=0.02)


@pytest.mark.skipif(not UCI.exists(), reason="UCI room occupancy data not present")
def test_uci_room_ventilation_is_physical():
    d = pd.read_csv(UCI)
    df = pd.DataFrame({"timestamp": pd.to_datetime(d["Date"] + " " + d["Time"]),
                       "count": d["Room_Occupancy_Count"], "co2": d["S5_CO2"]})
    background = float(df["co2"].quantile(0.02))
    fits = estimate_ach(df, outdoor_ppm=background)
    assert len(fits) >= 3
    assert (fits["r2"] > 0.8).all()
    ach = float(fits["ach"].median())
    assert 0.3 < ach < 3.0  # an ordinary closed lab room (measured here: ~0.9/h)
    assert fits["ach"].std() / ach < 0.3  # consistent from one evening to the next
    volume = effective_volume(df, ach, background)
    assert 20 < volume < 500
