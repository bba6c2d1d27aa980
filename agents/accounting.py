"""Visitor accounting: every arrival ends the run in exactly one outcome, and the books balance.

An intervention that "lowers infections" by losing visitors is not an intervention, so each run's
outcomes are derived from the per-visitor state arrays and checked against the event counters the
agents keep as they act (entered, left, gave up, balked, no slot). A mismatch raises
:class:`AccountingError`: a visitor was lost or counted twice.

Outcomes (per arrival, i.e. per visitor who wanted to come):

========================  =======================================================================
``served_left``           was seated (ate / attended) and has left or is walking out
``served_inside``         seated at the end of the run
``in_progress``           inside at the end, not yet seated (queueing, walking, waiting for a seat)
``gave_up``               entered, found no free seat within ``max_seat_wait_s`` and left
``waiting_outside``       kept outside by a capacity limit until the end (not admitted by the end)
``balked``                went away after ``max_outside_wait_s`` outside (turned away at the door)
``no_slot``               time slots full until the end of the run (not admitted)
``not_arrived``           arrival time not reached by the end of the run
========================  =======================================================================

``served = served_left + served_inside``; ``turned_away = gave_up + balked + no_slot``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from syntwin.agents.people import BALKED, GONE, LEAVING, NO_SLOT, PENDING, SEATED, STAFF, WAIT_OUT

if TYPE_CHECKING:
    from syntwin.agents.model import CrowdModel

OUTCOMES = ("served_left", "served_inside", "in_progress", "gave_up", "waiting_outside", "balked", "no_slot",
            "not_arrived")


class AccountingError(RuntimeError):
    """The visitor outcomes of a run do not balance (a visitor was lost or counted twice)."""


def visitor_outcomes(model: CrowdModel) -> np.ndarray:
    """Outcome name per arrival (index = visitor id, staff excluded), derived from the state arrays."""
    n = model.n_arrivals
    st = model.state[:n]
    seated = ~np.isnan(model.t_seated[:n])
    gave_up = model.gave_up_flag[:n]
    out = np.full(n, "", dtype=object)
    out[st == NO_SLOT] = "no_slot"
    out[st == BALKED] = "balked"
    out[st == WAIT_OUT] = "waiting_outside"
    out[st == PENDING] = "not_arrived"
    gone = (st == GONE) | (st == LEAVING)
    out[gone & gave_up & ~seated] = "gave_up"
    out[gone & seated & ~gave_up] = "served_left"
    out[(st == SEATED) & seated] = "served_inside"
    inside = ~gone & ~np.isin(st, (NO_SLOT, BALKED, WAIT_OUT, PENDING, SEATED, STAFF))
    out[inside & ~seated & ~gave_up] = "in_progress"
    return out


def account(model: CrowdModel) -> dict[str, int]:
    """Outcome counts of a run (keys :data:`OUTCOMES`, plus ``served``, ``turned_away``, ``arrivals``).

    Raises:
        AccountingError: a visitor has no outcome, the outcomes do not add up to the arrivals, or they
            disagree with the model's event counters.
    """
    outcome = visitor_outcomes(model)
    lost = np.flatnonzero(outcome == "")
    if len(lost):
        i = int(lost[0])
        raise AccountingError(f"{len(lost)} visitor(s) have no outcome (first: visitor {i} in state "
                              f"{int(model.state[i])}, seated={not np.isnan(model.t_seated[i])}, "
                              f"gave_up={bool(model.gave_up_flag[i])})")
    counts = {k: int((outcome == k).sum()) for k in OUTCOMES}
    n = model.n_arrivals
    if sum(counts.values()) != n:
        raise AccountingError(f"outcomes add up to {sum(counts.values())}, not to the {n} arrivals")
    entered = n - counts["waiting_outside"] - counts["balked"] - counts["no_slot"] - counts["not_arrived"]
    events = {
        "entered": (model.entered, entered),
        "left": (model.left, int((model.state[:n] == GONE).sum())),
        "gave_up": (model.gave_up, counts["gave_up"]),
        "balked": (model.balked, counts["balked"]),
        "no_slot": (model.no_slot, counts["no_slot"]),
        "waiting_outside": (len(model.outside), counts["waiting_outside"]),
        "inside": (model.inside_visitors, entered - int((model.state[:n] == GONE).sum())),
    }
    bad = {k: v for k, v in events.items() if v[0] != v[1]}
    if bad:
        detail = ", ".join(f"{k}: counted {a}, outcomes say {b}" for k, (a, b) in bad.items())
        raise AccountingError(f"visitor accounting does not balance ({detail})")
    counts["served"] = counts["served_left"] + counts["served_inside"]
    counts["turned_away"] = counts["gave_up"] + counts["balked"] + counts["no_slot"]
    counts["arrivals"] = n
    return counts


__all__ = ["OUTCOMES", "AccountingError", "visitor_outcomes", "account"]
