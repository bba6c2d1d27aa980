"""Arrival times: a non-homogeneous Poisson process, and booked time slots."""

from __future__ import annotations

import numpy as np

from syntwin.agents.config import ArrivalProfile, TimeSlots


def sample_arrivals(profile: ArrivalProfile, duration_s: float, rng: np.random.Generator,
                    scale: float = 1.0) -> np.ndarray:
    """Arrival times (s, sorted) on ``[0, duration_s)`` with intensity ``scale · λ(t)``.

    Thinning (Lewis & Shedler 1979): candidates from a homogeneous process at ``λ_max`` are kept with
    probability ``λ(t)/λ_max``. Candidates are drawn in one block, so the stream of uniforms (and hence the
    arrivals) is shared between arms with different ``scale`` as far as possible (common random numbers).
    """
    lam_max = max(profile.rates_per_min) / 60.0 * max(scale, 1.0)
    if lam_max <= 0 or duration_s <= 0:
        return np.empty(0)
    n = rng.poisson(lam_max * duration_s)
    t = np.sort(rng.uniform(0.0, duration_s, n))
    u = rng.uniform(0.0, 1.0, n)
    keep = u * lam_max < scale * profile.rate_per_s(t)
    return t[keep]


def apply_time_slots(arrivals_s: np.ndarray, slots: TimeSlots, rng: np.random.Generator) -> np.ndarray:
    """Move arrivals into booked slots: slot ``k`` holds at most ``max_per_slot`` visitors.

    Visitors are served in arrival order; one whose slot is full books the next slot with room and
    arrives uniformly within it. Returns the new arrival times in the original order.
    """
    if slots.slot_min <= 0 or slots.max_per_slot < 1:
        raise ValueError("time slots need slot_min > 0 and max_per_slot >= 1")
    length = slots.slot_min * 60.0
    out = np.asarray(arrivals_s, float).copy()
    jitter = rng.uniform(0.0, length, len(out))
    filled: dict[int, int] = {}
    for i in np.argsort(out, kind="stable"):
        k = int(out[i] // length)
        wanted = k
        while filled.get(k, 0) >= slots.max_per_slot:
            k += 1
        filled[k] = filled.get(k, 0) + 1
        if k != wanted:
            out[i] = k * length + jitter[i]
    return out


__all__ = ["sample_arrivals", "apply_time_slots"]
