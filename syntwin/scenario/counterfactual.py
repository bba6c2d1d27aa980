"""The ``counterfactual:`` section of a cohort scenario: each patient's outcome under each treatment option."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from syntwin.scenario.base import Section

ESTIMATORS = ("twins", "cox", "causal_forest")


class ControlArmSection(Section):
    """A virtual control arm: matched untreated registry patients for a trial arm."""

    arm: str = Field(min_length=1)
    """Which treated patients form the trial arm: a pandas query on the cohort's columns,
    e.g. ``"stage in ['II', 'III'] and surgery == 'Yes'"`` (only patients given the treated option count)."""
    m: int = Field(10, ge=1, le=20)
    """Virtual controls per arm patient (nearest untreated, with replacement)."""


class CounterfactualSection(Section):
    """What if: survival by the horizon under each option of one treatment column."""

    treatment: str = Field(min_length=1)
    """Treatment column (a categorical feature of the cohort), e.g. ``chemotherapy``."""
    options: list[str] = Field(default_factory=lambda: ["No", "Yes"])
    """Exactly two values of the treatment column: the comparator first, the treated option second."""
    horizon_months: float = Field(60.0, gt=0)
    """Survival is estimated at this many months (cause-specific: the cohort's event)."""
    estimators: list[Literal["twins", "cox", "causal_forest"]] = Field(
        default_factory=lambda: ["twins", "cox"], min_length=1)
    """``twins`` (matched twins in the similarity graph's Gower space, bias-corrected), ``cox`` (lifelines
    Cox model with treatment interactions), ``causal_forest`` (EconML CausalForestDML; extra ``causal``)."""
    k: int = Field(100, ge=5, le=2000)
    """Twins per option for each patient."""
    subgroups: str | None = None
    """Column of the subgroup effects and of exact matching (default: the first ordinal feature, e.g. stage)."""
    modifiers: list[str] | None = None
    """Columns interacting with the treatment in the Cox model (default: the subgroup column)."""
    patients: list[int] | None = None
    """Held-out patient rows (0-based) to draw in the report; default: the first held-out patient."""
    control_arm: ControlArmSection | None = None
    """Optionally, a virtual control arm for a trial arm."""

    @field_validator("options", mode="before")
    @classmethod
    def _yaml_booleans(cls, v):
        """YAML 1.1 reads unquoted ``No``/``Yes`` as booleans; take them back as the registry's labels."""
        if isinstance(v, list):
            return [("Yes" if o else "No") if isinstance(o, bool) else o for o in v]
        return v

    @field_validator("options")
    @classmethod
    def _two_options(cls, v: list[str]) -> list[str]:
        if len(v) != 2 or v[0] == v[1]:
            raise ValueError(f"give exactly two different options (comparator, treated), got {v}")
        return v


__all__ = ["CounterfactualSection", "ControlArmSection", "ESTIMATORS"]
