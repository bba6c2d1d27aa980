
import numpy as np
import pandas as pd
import pytest

from syntwin.agents.co2 import CO2_PER_PERSON_M3_S, effective_volume, estimate_ach, fit_decay
from syntwin.sample_data import shared_data

UCI = shared_data("room_occupancy_uci.csv")


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


def test_co2_room_matches_the_mass_balance_and_is_the_models_sensor(canteen_config):
    import dataclasses

    from syntwin.agents import CO2Params, CrowdModel
    from syntwin.agents.co2 import CO2Room

    df = mass_balance(ach=1.2, volume=90.0, outdoor=400.0, hours=4)
    room = CO2Room(90.0, 1.2, 400.0)
    series = [room.ppm] + [room.advance(n, 30.0) for n in df["count"].to_numpy()[:-1]]
    assert np.allclose(series, df["co2"], rtol=1e-9)
    cfg = dataclasses.replace(canteen_config, duration_s=1200.0, sensors=("contacts", "co2"),
                              co2=CO2Params(ach=3.0, outdoor_ppm=420.0))
    model = CrowdModel(cfg, seed=0).run()
    sensor = model.sensors["co2"].room
    readings = model.datacollector.get_model_vars_dataframe()["co2_ppm"]
    assert readings.iloc[0] == 420.0 and readings.iloc[-1] == pytest.approx(sensor.ppm)
    # everyone present breathes: the reading is above the background, below the steady state for all
    present = model.inside_visitors + model.n_staff
    assert 420.0 < sensor.ppm < 420.0 + 1e6 * CO2_PER_PERSON_M3_S * max(present, 1) / (3.0 / 3600 *
                                                                                    model.config.plan.volume)


def test_generation_by_activity_follows_persily_and_de_jonge():
    from syntwin.agents.co2 import ACTIVITY_MET, co2_generation_m3_s

    rates = [co2_generation_m3_s(a) for a in sorted(ACTIVITY_MET, key=ACTIVITY_MET.get)]
    assert rates == sorted(rates)
    assert 3.0e-6 < co2_generation_m3_s("seated_office") < 5.0e-6  # 0.003-0.005 L/s, sedentary adult
    with pytest.raises(KeyError):
        co2_generation_m3_s("dancing")


def test_ventilation_fit_has_an_interval_around_the_truth():
    from syntwin.agents.co2 import fit_ventilation

    df = mass_balance(ach=1.2, volume=90.0, outdoor=400.0, hours=24)
    rng = np.random.default_rng(0)
    df["co2"] += rng.normal(0, 5.0, len(df))  # sensor noise
    fit = fit_ventilation(df, outdoor_ppm=400.0)
    assert fit.ach_lo <= 1.2 <= fit.ach_hi and fit.ach_hi - fit.ach_lo < 0.3
    assert fit.volume_lo <= 90.0 * 1.05 and fit.volume_hi >= 90.0 * 0.95


@pytest.mark.skipif(not UCI.exists(), reason="UCI room occupancy data not present")
def test_uci_fixed_background_is_physical_and_a_free_one_is_not():
    from syntwin.agents.co2 import fit_ventilation, window_sensitivity
    from syntwin.agents.live import read_occupancy_stream

    s = read_occupancy_stream(UCI)
    fixed = fit_ventilation(s, outdoor_ppm=345.0)
    assert 0.8 <= fixed.ach <= 1.0 and fixed.ach_lo <= fixed.ach <= fixed.ach_hi
    assert 60 < fixed.volume_m3 < 95 and (fixed.windows["r2"] > 0.85).all()
    free = fit_ventilation(s, outdoor_ppm=None)
    assert (free.windows["outdoor_ppm"] < 300).any()  # below any outdoor air: the free fit is not identified
    sens = window_sensitivity(s, outdoor_ppm=345.0).set_index("max_minutes")
    assert sens.loc[30, "ach"] < sens.loc[240, "ach"]  # short windows read slower ventilation
