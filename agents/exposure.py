"""Aerosol exposure: the Wells–Riley model, classic and in its well-mixed, time-stepped form.

Classic steady-state form (Riley, Murphy & Riley 1978, Am. J. Epidemiol. 107:421–432):

.. math::  P = 1 - \\exp(-I q p t / Q)

with ``I`` infectors, quanta emission rate ``q`` (quanta/h), breathing rate ``p`` (m³/h), exposure
time ``t`` (h) and clean-air supply ``Q`` (m³/h; ``Q = ACH · V``).

Time-stepped, well-mixed form (Gammaitoni & Nucci 1997, Emerg. Infect. Dis. 3:335–342): the quanta
concentration ``C`` (quanta/m³) in a room of volume ``V`` obeys

.. math::  dC/dt = E(t)/V - \\lambda C, \\qquad \\lambda = ACH + k_{loss}

solved exactly over a step of constant emission ``E``:
``C(t+Δ) = C_ss + (C(t) - C_ss) e^{-λΔ}``, ``C_ss = E/(λV)``. A susceptible inhales the dose
``D = p f_in ∫ C dt`` and is infected with probability ``1 - exp(-D)``. At steady state
``C_ss = I q / Q`` and the dose is ``I q p t / Q``: the classic formula.

Losses other than ventilation, ``k_loss = k_dep + k_inact`` (on by default, :func:`default_losses_per_h`):
gravitational deposition of the infectious aerosol, ``k_dep`` = 0.24 /h (Buonanno, Stabile & Morawska
2020, Environ. Int. 141:105794; CAiMIRA uses ``v_s 3600 / 1.5 m`` = 0.45 /h for its 2.5 µm default particle),
and viral inactivation in air from Dabisch et al. 2021 (Aerosol Sci. Technol. 55:142) as CAiMIRA applies
it (half-life capped at 6.43 h): ``k_inact = ln 2 / t_½(T, RH)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


#: Deposition of infectious aerosol (1/h), Buonanno, Stabile & Morawska 2020.
DEPOSITION_PER_H = 0.24


def inactivation_per_h(humidity: float = 0.5, temp_c: float = 20.0) -> float:
    """SARS-CoV-2 inactivation in air (1/h) by relative humidity (0–1) and temperature (°C).

    Dabisch et al. 2021 regression without sunlight, ``k`` (1/min) = 0.16030 + 0.04018 T' + 0.02176 RH'
    - 0.14369 - 0.02636 T' with ``T' = (T - 20.615)/10.585``, ``RH' = (RH% - 45.235)/28.665``; half-life
    ``ln2 / (60 k)`` hours, capped at 6.43 h (also when ``k <= 0``), as in CAiMIRA's ``SARSCoV2.halflife``.
    """
    if not 0.0 <= humidity <= 1.0:
        raise ValueError(f"relative humidity must be between 0 and 1, got {humidity}")
    t = (temp_c - 20.615) / 10.585
    k = 0.16030 + 0.04018 * t + 0.02176 * (humidity * 100 - 45.235) / 28.665 - 0.14369 - 0.02636 * t
    half_life = 6.43 if k <= 0 else min(6.43, np.log(2) / k / 60.0)
    return float(np.log(2) / half_life)


def default_losses_per_h(humidity: float = 0.5, temp_c: float = 20.0) -> float:
    """Deposition + inactivation (1/h): :data:`DEPOSITION_PER_H` + :func:`inactivation_per_h`."""
    return DEPOSITION_PER_H + inactivation_per_h(humidity, temp_c)


def wells_riley_probability(infectors: float, quanta_per_h: float, breathing_m3_per_h: float,
                            hours: float, clean_air_m3_per_h: float) -> float:
    """Classic Wells–Riley infection probability ``1 - exp(-I q p t / Q)``."""
    if clean_air_m3_per_h <= 0:
        raise ValueError("clean_air_m3_per_h (Q = ACH x volume) must be > 0")
    return float(1.0 - np.exp(-infectors * quanta_per_h * breathing_m3_per_h * hours / clean_air_m3_per_h))


@dataclass
class WellsRileyRoom:
    """Quanta concentration of one well-mixed room, advanced step by step.

    Args:
        volume_m3: Room volume.
        ach: Ventilation, outdoor-air changes per hour.
        loss_per_h: Extra first-order loss (deposition + inactivation), per hour.
        concentration: Initial quanta concentration (quanta/m³).
    """

    volume_m3: float
    ach: float
    loss_per_h: float = 0.0
    concentration: float = 0.0

    def __post_init__(self) -> None:
        if self.volume_m3 <= 0:
            raise ValueError(f"room volume must be > 0 m³, got {self.volume_m3}")
        if self.ach + self.loss_per_h <= 0:
            raise ValueError("ach + loss_per_h must be > 0 (no removal means unbounded concentration)")

    @property
    def removal_per_s(self) -> float:
        """First-order removal rate λ in 1/s."""
        return (self.ach + self.loss_per_h) / 3600.0

    def step(self, emission_quanta_per_h: float, dt_s: float) -> float:
        """Advance ``dt_s`` seconds at constant emission; return ``∫C dt`` over the step (quanta·s/m³)."""
        lam = self.removal_per_s
        c_ss = emission_quanta_per_h / 3600.0 / (lam * self.volume_m3)
        c0 = self.concentration
        decay = np.exp(-lam * dt_s)
        self.concentration = c_ss + (c0 - c_ss) * decay
        return float(c_ss * dt_s + (c0 - c_ss) * (1.0 - decay) / lam)

    def __repr__(self) -> str:
        return f"WellsRileyRoom(volume_m3={self.volume_m3:g}, ach={self.ach:g})"


def infection_probability(dose_quanta: np.ndarray) -> np.ndarray:
    """``1 - exp(-dose)`` per person (dose in quanta)."""
    return -np.expm1(-np.asarray(dose_quanta, dtype=float))


__all__ = ["DEPOSITION_PER_H", "inactivation_per_h", "default_losses_per_h", "wells_riley_probability", "WellsRileyRoom", "infection_probability"]
