"""Cohort scenarios: registry cohort -> twins -> similarity graph -> prediction -> privacy gate -> export."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from syntwin.cohort.mapping import SchemaMapping
from syntwin.scenario.base import ScenarioHeader, Section
from syntwin.scenario.counterfactual import CounterfactualSection


class SimulateSource(Section):
    """A simulated SEER-like cohort (no data-use agreement needed)."""

    site: Literal["breast", "lung", "colorectal", "prostate"] = "breast"
    """Cancer site to simulate."""
    n: int = Field(20_000, ge=100, le=50_000_000)
    """Number of patients."""
    rows_per_partition: int = Field(250_000, ge=1_000)
    """Rows per Dask partition (fixed, so results do not depend on the worker count)."""


class MissingSection(Section):
    """How missing feature values enter patient distances (the graph, twin kNN, privacy attacks).

    Missing values are kept as data everywhere: twins reproduce each column's missing share (indicators
    modelled jointly), baselines impute inside their own pipelines, and the cleaning report counts them.
    """

    numeric: Literal["median+indicator", "median"] = "median+indicator"
    """``median+indicator``: the training median plus a missing flag worth half the feature's weight;
    ``median``: impute the median only."""
    ordinal: Literal["median+indicator", "median"] = "median+indicator"
    """As ``numeric``, on the level's rank."""
    categorical: Literal["level", "mode"] = "level"
    """``level``: missing is a category of its own (Gower distance 1 to any observed one); ``mode``: the most
    frequent category."""


class CohortSection(Section):
    """Where the patients come from, and how many are held out for evaluation."""

    simulate: SimulateSource | None = None
    """Simulate a cohort (give either ``simulate`` or ``file``)."""
    file: str | None = None
    """CSV/Parquet cohort file, relative to the scenario file."""
    mapping: SchemaMapping | str = "seer_breast_csv"
    """Schema mapping of ``file``: a preset name (``seer_breast_csv``, ``seer_stat``) or an inline mapping."""
    holdout: float = Field(0.25, gt=0.0, lt=0.9)
    """Share of real patients held out (never seen by generators, graph or baselines) to evaluate on."""
    missing: MissingSection = MissingSection()
    """Missing feature values in distances (see ``MissingSection``)."""

    @model_validator(mode="after")
    def _one_source(self) -> CohortSection:
        if (self.simulate is None) == (self.file is None):
            raise ValueError("give exactly one of 'simulate' or 'file'")
        return self


class SynthesisSection(Section):
    """Synthetic twins: which generator, how many, fitted globally or per graph community."""

    generator: str = "latent_class"
    """Generator name: ``latent_class`` (built in, the default), ``independent``; with the sdv extra ``gaussian_copula``, ``ctgan``, ``tvae``; with the dp extra ``mst`` (differentially private; params ``epsilon``, ``delta``, ``n_bins``; needs the mapping's public ``domains`` and ``per_community: false``)."""
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    """Keyword arguments passed to the generator's constructor."""
    ratio: float = Field(1.0, gt=0.0, le=100.0)
    """Twins per training patient."""
    per_community: bool = True
    """Fit one generator per graph community, in parallel on Dask (else one global model)."""
    min_group_size: int = Field(200, ge=10)
    """Communities smaller than this are pooled into one group for fitting."""
    strata: str | None = None
    """Column stratifying the fidelity checks (Kaplan–Meier real vs twins); default: the first ordinal feature."""
    constraints: list[dict[str, str | float | int]] = Field(default_factory=list)
    """Rules every twin keeps, beside the cohort's own (simulator, presets): ``{kind: inequality, low, high}``,
    ``{kind: range, column, min, max}``, ``{kind: follow_up, time, diagnosis_year, cutoff: YYYY-MM-DD}``."""
    max_constraint_violations: float = Field(0.0, ge=0.0, le=1.0)
    """Largest share of twins allowed to break a constraint (checked on the twins released; 0 = none)."""
    max_km_sup: float = Field(0.05, gt=0.0, le=1.0)
    """Fidelity threshold: Kaplan–Meier sup distance real vs twins per stratum (a warning for each miss)."""
    km_min_stratum: int = Field(200, ge=10)
    """Strata with fewer real patients are not held to ``max_km_sup`` (their curve is too noisy)."""


class GraphSection(Section):
    """The patient-similarity graph over the training patients."""

    k: int = Field(15, ge=1, le=1000)
    """Neighbours per patient."""
    metric: Literal["gower"] = "gower"
    """Distance on mixed-type features (Gower, computed exactly as an L1 distance on an encoding)."""
    method: Literal["auto", "exact", "ivf"] = "auto"
    """kNN search: exact (faiss flat), ivf (approximate, coarse cells), auto (by size)."""
    resolution: float = Field(1.0, gt=0.0, le=100.0)
    """Leiden resolution (modularity objective)."""
    weights: dict[str, float] = Field(default_factory=dict)
    """Per-feature Gower weights (default 1)."""
    coarsen_above: int | None = Field(1_000_000, ge=1_000)
    """Above this many graph patients, communities come from Leiden on a coarsened graph (Leiden per spatial
    block of ``block_rows`` patients on the workers, then on the graph of those micro-communities), never
    one igraph of all edges; ``null``: always full Leiden (measured in bench/scale/README.md)."""
    block_rows: int = Field(125_000, ge=1_000)
    """Patients per spatial block of the coarsened communities (fixed: results do not depend on workers;
    125,000 agreed better with full Leiden than 250,000 at 200k and 1M patients, bench/scale/README.md)."""


PREDICTION_METHODS = ("logistic", "gradient_boosting", "real_knn", "twin_knn", "logistic_twins", "twin_knn_mix",
                      "twin_ensemble", "gnn", "syntwin_2024")
PredictionMethod = Literal["logistic", "gradient_boosting", "real_knn", "twin_knn", "logistic_twins",
                           "twin_knn_mix", "twin_ensemble", "gnn", "syntwin_2024"]


class PredictionSection(Section):
    """Outcome prediction for held-out real patients from their closest twins."""

    horizon_months: float | None = Field(60.0, gt=0)
    """Predict the event within this many months (patients censored earlier are not evaluable);
    ``null`` predicts the event indicator as recorded (SynTwin's dead/alive)."""
    k: int = Field(25, ge=1, le=1000)
    """Closest twins per patient."""
    weighting: Literal["similarity", "uniform"] = "similarity"
    """How the k twins' outcomes are averaged."""
    methods: list[PredictionMethod] = Field(default_factory=lambda: list(PREDICTION_METHODS), min_length=1)
    """Methods compared on the held-out patients: baselines on real rows (``logistic``,
    ``gradient_boosting``, ``real_knn``), twins only (``twin_knn``, ``logistic_twins``: train on
    synthetic, test on real), twins beside real patients (``twin_knn_mix``, ``twin_ensemble``, ``gnn``),
    and SynTwin's reference designs A–F (``syntwin_2024``, on a sample; covers community members only)."""
    max_train_rows: int | None = Field(200_000, ge=1_000)
    """Training patients the methods fit on: all up to this many, beyond it a seeded sample stratified by label
    (and the same share of the twins); every held-out patient is still scored. At 1M simulated patients 200,000
    of the 659,603 evaluable ones lose 0.0000 AUROC (logistic), 0.0009 (boosting) and 0.0015 (real kNN), small
    but detectable (bench/scale/README.md, bench_training_sample.py). ``null``: all of them."""
    validation: float = Field(0.2, gt=0.0, lt=0.5)
    """Share of the training patients held out to tune k, the real/twin mix, blends and GNN early
    stopping (the evaluation patients are never used for tuning)."""
    gnn_hidden: int = Field(64, ge=4, le=1024)
    """GraphSAGE hidden width."""
    gnn_epochs: int = Field(200, ge=1, le=5000)
    """GraphSAGE maximum epochs (early stopping on the validation patients)."""
    gnn_twin_weight: float = Field(0.5, ge=0.0, le=1.0)
    """Loss weight of a twin node relative to a real training patient."""
    gnn_max_nodes: int = Field(150_000, ge=1_000)
    """Most labelled nodes (real + twins) the GNN trains on, full batch (a seeded sample beyond it);
    the held-out patients are then scored in one inductive pass, whatever their number."""
    syntwin_sample: int = Field(2000, ge=50, le=30_000)
    """Held-out patients in SynTwin's all-pairs reference (O(n²) memory; the paper used 30,000)."""
    syntwin_twins: int = Field(20_000, ge=50, le=200_000)
    """Twins the SynTwin reference searches (a seeded sample when there are more)."""


class PrivacySection(Section):
    """Release thresholds checked before anything is exported (defaults: the safe ones)."""

    max_exact_copies: int | None = Field(None, ge=0)
    """Twins identical to a training patient, counted as generated (unset: not gated by count; the share and
    the memorisation check judge copies against chance). The release drops them afterwards."""
    max_exact_copy_share: float = Field(0.01, ge=0.0, le=1.0)
    """Share of twins that are exact copies of training patients, counted as generated (then dropped)."""
    max_memorisation_ratio: float = Field(1.1, ge=1.0)
    """Near copies (QIs equal, <= 1 other column different) of training patients relative to those of as many
    held-out patients; refused when significantly above, inconclusive when the test cannot rule out 1 %."""
    max_mia_auroc: float = Field(0.60, ge=0.5, le=1.0)
    """AUROC of the membership-inference attacks (distance-based and density-ratio)."""
    max_singling_out_risk: float = Field(0.10, ge=0.0, le=1.0)
    """Singling-out risk (Giomi et al., PETS 2023)."""
    max_linkability_risk: float = Field(0.10, ge=0.0, le=1.0)
    """Linkability risk."""
    max_inference_risk: float = Field(0.10, ge=0.0, le=1.0)
    """Attribute-inference risk on the secrets."""
    min_k_anonymity: int = Field(5, ge=1)
    """k-anonymity of the release on the banded quasi-identifiers."""
    max_k_suppressed_share: float = Field(0.10, ge=0.0, le=1.0)
    """Share of twins suppressed to reach k-anonymity."""
    max_dcr_train_share: float = Field(0.60, gt=0.0, le=1.0)
    """Share of twins closer to a training patient than to an equally sized holdout set (0.5 is ideal)."""
    n_attacks: int = Field(2000, ge=100, le=100_000)
    """Attacks per risk in the first round (more, up to the patients available, when the upper bound needs them)."""
    max_attacker_twins: int = Field(1_000_000, ge=1_000)
    """Twins the attacker holds in the membership, singling-out, linkability and inference attacks: all of them up
    to this many, beyond it a seeded uniform sample (``metrics.privacy.sizes`` records ``attacker_twins`` of
    ``twins``, so the attacks' power is stated). Copies, memorisation, DCR and k-anonymity always use every twin."""
    secrets: list[str] | None = None
    """Columns the inference attack targets, each one attacked (default: the outcome columns)."""
    accept_dp: bool = False
    """With a differentially private generator (``mst``), let the release pass the attack-based checks on its
    ε alone (they are still measured and shown); k-anonymity still applies."""


class ExportSection(Section):
    """What leaves the run (only after the privacy gate passed)."""

    formats: list[Literal["parquet", "csv", "fhir", "aggregates"]] = Field(
        default_factory=lambda: ["parquet", "csv"], min_length=1)
    """Formats: twin tables (parquet, csv), FHIR R4 bulk NDJSON, aggregate counts (cells < 11 suppressed)."""


class CohortScenario(ScenarioHeader):
    """A cohort scenario file (``kind: cohort``)."""

    kind: Literal["cohort"]
    """Scenario kind."""
    cohort: CohortSection
    """Cohort source."""
    synthesis: SynthesisSection = SynthesisSection()
    """Synthetic twins."""
    graph: GraphSection = GraphSection()
    """Patient-similarity graph."""
    prediction: PredictionSection = PredictionSection()
    """Outcome prediction."""
    privacy: PrivacySection = PrivacySection()
    """Release gate."""
    export: ExportSection = ExportSection()
    """Exports."""
    counterfactual: CounterfactualSection | None = None
    """What if: each held-out patient's outcome under each treatment option (optional)."""

    @model_validator(mode="after")
    def _accept_dp_needs_dp(self) -> CohortScenario:
        from syntwin.synthesis import GENERATORS

        gen = GENERATORS.get(self.synthesis.generator)
        if self.privacy.accept_dp and gen is not None and not getattr(gen, "differentially_private", False):
            raise ValueError(f"privacy.accept_dp: true waives attack checks on ε alone, but synthesis.generator "
                             f"{self.synthesis.generator!r} is not differentially private: use generator: mst "
                             "or drop accept_dp")
        return self


__all__ = ["CohortScenario"]
