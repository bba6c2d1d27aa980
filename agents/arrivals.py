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


def apply_time_slots(arrivals_s: np.ndarray, slots: TimeSlots, rng: np.random.Generator,
                     duration_s: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Move arrivals into booked slots: slot ``k`` holds at most ``max_per_slot`` visitors.

    Visitors book in arrival order; one whose slot is full books the next slot with room and arrives
    uniformly within it (within the part of it before ``duration_s``). Slots start before ``duration_s``;
    a visitor for whom none is left gets no booking: with ``slots.overflow == "turn_away"`` they are
    reported in the returned mask (the model counts them as ``no_slot``), with ``"error"`` the plan is
    refused.

    Returns:
        ``(times, booked)``: new arrival times in the original order (``nan`` where not booked) and the
        boolean mask of visitors holding a slot.

    Raises:
        ValueError: ``overflow == "error"`` and some visitors found no slot before the end of the run.
    """
    length = slots.slot_min * 60.0
    out = np.asarray(arrivals_s, float).copy()
    jitter = rng.uniform(0.0, 1.0, len(out))
    n_slots = int(np.ceil(duration_s / length - 1e-9)) if np.isfinite(duration_s) else None
    booked = np.ones(len(out), bool)
    filled: dict[int, int] = {}
    for i in np.argsort(out, kind="stable"):
        k = wanted = int(out[i] // length)
        while filled.get(k, 0) >= slots.max_per_slot:
            k += 1
        if n_slots is not None and k >= n_slots:
            booked[i] = False
            out[i] = np.nan
            continue
        filled[k] = filled.get(k, 0) + 1
        if k != wanted:
            span = min(length, duration_s - k * length)
            out[i] = k * length + jitter[i] * span
    if not booked.all() and slots.overflow == "error":
        capacity = (n_slots or 0) * slots.max_per_slot
        raise ValueError(
            f"time slots overflow the run: {int((~booked).sum())} of {len(out)} visitors find no slot "
            f"before its end ({n_slots} slots x {slots.max_per_slot} = {capacity} bookings); raise "
            "max_per_slot or slot_min, lengthen the run, or set overflow: turn_away to count them")
    return out, booked


__all__ = ["sample_arrivals", "apply_time_slots"]
