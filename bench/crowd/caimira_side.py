"""CAiMIRA's side of bench_caimira.py: run inside the CAiMIRA venv (never imports syntwin).

Reads a JSON list of settings on stdin, prints one JSON result per setting: the long-range concentration
(virions/m³) on the time grid, the exposed person's infection probability (%), and the removal rates
CAiMIRA used (deposition from its settling velocity, inactivation from its SARS-CoV-2 half-life).
"""

import json
import sys

import numpy as np
from caimira.calculator.models import models
from caimira.calculator.store.data_registry import DataRegistry


def run(s: dict) -> dict:
    reg = DataRegistry()
    room = models.Room(volume=s["volume_m3"], inside_temp=models.PiecewiseConstant((0, 24), (s["temp_c"] + 273.15,)),
                       humidity=s["humidity"])
    vent = models.AirChange(active=models.PeriodicInterval(period=120, duration=120), air_exch=s["ach"])
    virus = models.SARSCoV2(viral_load_in_sputum=1e9, infectious_dose=s["id50"], viable_to_RNA_ratio=0.5,
                            transmissibility_factor=s["transmissibility"])
    no_mask = models.Mask.types["No mask"]
    activity = models.Activity(s["inhalation_m3_h"], s["inhalation_m3_h"])
    infected = models.EmittingPopulation(
        number=s["infected"], presence=models.SpecificInterval(tuple(map(tuple, s["infected_presence_h"]))),
        activity=activity, mask=no_mask, host_immunity=0.0, data_registry=reg, virus=virus,
        known_individual_emission_rate=s["emission_virions_h"])
    conc = models.ConcentrationModel(data_registry=reg, room=room, ventilation=vent, infected=infected,
                                     evaporation_factor=0.3)
    exposed = models.Population(number=s["exposed"], presence=models.SpecificInterval(
        tuple(map(tuple, s["exposed_presence_h"]))), activity=activity, mask=no_mask, host_immunity=0.0)
    exposure = models.ExposureModel(data_registry=reg, concentration_model=conc, short_range=(),
                                    exposed=exposed, geographical_data=models.Cases())
    grid = np.asarray(s["grid_h"], float)
    vg = infected.particle.settling_velocity(0.3)
    return {"name": s["name"], "concentration": [float(conc.concentration(t)) for t in grid],
            "infection_probability_pct": float(np.mean(exposure.infection_probability())),
            "deposition_per_h": float(vg * 3600 / 1.5),
            "inactivation_per_h": float(virus.decay_constant(s["humidity"], s["temp_c"] + 273.15)),
            "fraction_deposited": float(exposure.long_range_fraction_deposited())}


if __name__ == "__main__":
    print(json.dumps([run(s) for s in json.load(sys.stdin)]))
