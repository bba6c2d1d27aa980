"""Up-front checks of a cohort's outcome, before any stage is fitted.

A degenerate outcome (one class only, no event before the horizon, too few patients to evaluate on)
used to surface stages later as a NaN in a checkpoint or an internal error. :func:`check_outcome` runs
in the cohort stage on the labels and the splits the later stages will use, and either raises one
:class:`CohortError` naming the cohort, the count and the fix, or — where the run can go on without
them — lists the prediction methods to skip with their reasons (recorded in the manifest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from syntwin.errors import CohortError

MIN_PATIENTS = 50  # a cohort smaller than this cannot be split into training, validation and held-out rows
MIN_PER_CLASS = 5  # patients with and without the event needed in the training and in the held-out split
MIN_VALIDATION_PER_CLASS = 2  # the tuning split needs both classes for a validation AUROC
#: Methods that tune on the validation patients (k, the real/twin mix, blends, GNN early stopping).
TUNED_ON_VALIDATION = ("twin_knn", "twin_knn_mix", "twin_ensemble", "gnn")


@dataclass
class OutcomeCheck:
    """What the checks found: class counts per split, and methods to skip with their reasons."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"counts": self.counts, "skipped": dict(self.skipped)}


def _classes(label: np.ndarray, evaluable: np.ndarray, rows: np.ndarray) -> dict[str, int]:
    ev = evaluable & rows
    return {"events": int((label[ev] == 1).sum()), "no_events": int((label[ev] == 0).sum()),
            "not_evaluable": int((~evaluable & rows).sum())}


def _outcome_words(horizon: float | None) -> tuple[str, str]:
    if horizon is None:
        return "had the event", "had no event"
    return f"had the event within {horizon:g} months", f"was followed {horizon:g} months without it"


def _horizon_hint(time: np.ndarray, event: np.ndarray, horizon: float | None) -> str:
    """A horizon at which both classes exist, from the event times (a suggestion, in months)."""
    t_ev = time[event == 1]
    if horizon is None or len(t_ev) == 0:
        return "more patients with the event"
    good = np.quantile(t_ev, 0.5)
    return f"another horizon (e.g. prediction.horizon_months={good:.3g}, the median event time) or " \
           "prediction.horizon_months=null (the event as recorded)"


def _shorter_hint(time: np.ndarray, event: np.ndarray) -> str:
    """A horizon below the follow-up of the patients without the event (so some are followed that long)."""
    t = time[event == 0]
    if len(t) == 0:
        return "patients without the event"
    h = max(np.floor(np.median(t)), 1.0)
    return f"a shorter horizon (e.g. prediction.horizon_months={h:g}, below the median follow-up of the " \
           "patients without the event)"


def check_outcome(
    time: np.ndarray,
    event: np.ndarray,
    label: np.ndarray,
    evaluable: np.ndarray,
    holdout: np.ndarray,
    validation: np.ndarray,
    *,
    horizon: float | None,
    methods: Sequence[str],
    source: str | None,
    field_name: str = "prediction.horizon_months",
) -> OutcomeCheck:
    """Check that the outcome can be learnt and evaluated; return the methods to skip.

    Args:
        time, event: Follow-up (months) and event indicator of every patient.
        label, evaluable: :func:`outcome_labels` at ``horizon``.
        holdout: Held-out rows (mask over all patients).
        validation: Tuning rows (mask over all patients; a subset of the training rows).
        horizon: Prediction horizon in months (``None``: the event as recorded).
        methods: Prediction methods the scenario asks for.
        source: The cohort's file (or simulator) for messages.

    Raises:
        CohortError: Too few patients, one class only, or too few of a class in training or held-out rows.
    """
    n = len(time)
    with_ev, without = _outcome_words(horizon)
    if n < MIN_PATIENTS:
        raise CohortError(f"the cohort has {n} patients; at least {MIN_PATIENTS} are needed to train, tune and "
                          "evaluate", file=source, hint="use a larger cohort")
    hint = _horizon_hint(time, event, horizon)
    everyone = np.ones(n, dtype=bool)
    result = OutcomeCheck(counts={"all": _classes(label, evaluable, everyone),
                                  "train": _classes(label, evaluable, ~holdout),
                                  "holdout": _classes(label, evaluable, holdout),
                                  "validation": _classes(label, evaluable, validation)})
    total = result.counts["all"]
    for key, words in (("events", with_ev), ("no_events", without)):
        if total[key] == 0:
            raise CohortError(
                f"none of the {total['events'] + total['no_events']} evaluable patients {words}: the outcome has "
                f"one class only ({total['not_evaluable']} censored earlier are not evaluable)", file=source,
                field=field_name, hint=hint if key == "events" else _shorter_hint(time, event))
    for split, need in (("train", MIN_PER_CLASS), ("holdout", MIN_PER_CLASS)):
        c = result.counts[split]
        for key, words in (("events", with_ev), ("no_events", without)):
            if c[key] < need:
                raise CohortError(
                    f"in the {'held-out' if split == 'holdout' else 'training'} split {c[key]} patient(s) {words}; "
                    f"at least {need} are needed (the cohort has {total[key]} of {n})", file=source,
                    field=field_name if key == "events" else "cohort.holdout",
                    hint=f"{hint}; or more patients" + (", or a larger cohort.holdout share" if split == "holdout"
                                                        else ", or a smaller cohort.holdout share"))
    v = result.counts["validation"]
    if min(v["events"], v["no_events"]) < MIN_VALIDATION_PER_CLASS:
        reason = (f"in the validation split {v['events']} patient(s) {with_ev} and {v['no_events']} {without}; "
                  f"tuning needs at least {MIN_VALIDATION_PER_CLASS} of each (more patients, or a larger "
                  "prediction.validation share)")
        result.skipped.update({m: reason for m in methods if m in TUNED_ON_VALIDATION})
    if not [m for m in methods if m not in result.skipped]:
        raise CohortError(f"no prediction method can run: {next(iter(result.skipped.values()))}", file=source,
                          field="prediction.methods", hint="add logistic or gradient_boosting, or use more patients")
    return result


__all__ = ["check_outcome", "OutcomeCheck", "MIN_PATIENTS", "MIN_PER_CLASS", "TUNED_ON_VALIDATION"]
