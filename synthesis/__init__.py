"""syntwin.synthesis: synthetic twins, twin-based prediction and its evaluation.

A stage library: plain pandas/NumPy in, plain results out; it never imports syntwin's spine.

* ``generators`` — ``Generator`` interface and registry (``latent_class``, ``independent``; SDV
  ``gaussian_copula``, ``ctgan``, ``tvae`` when SDV is installed): ``make_generator(name).fit(df,
  numeric=..., ordinal=..., categorical=..., time=..., event=..., seed=...).sample(n, seed=...)``.
* ``parallel.synthesize`` — one model per group (community/stratum) on Dask, or one global model.
* ``predict`` — horizon labels, similarity-weighted twin-kNN probabilities.
* ``evaluate`` — AUROC (sklearn; bootstrap CI, paired differences), balanced accuracy, Brier; baselines.
* ``survival`` — C-index (lifelines), time-dependent AUC (scikit-survival), Kaplan–Meier, KM sup distances.
* ``constraints`` — the data's rules (inequality, range, follow-up to a cutoff), enforced by ``synthesize``.
* ``fidelity`` — SDMetrics-style quality score (numpy), and SDMetrics' own when installed.
* ``syntwin2024`` — SynTwin's reference method (percolation graph, Louvain, designs A–F).
"""

from .evaluate import auroc, auroc_ci, baseline_gradient_boosting, baseline_logistic, binary_metrics
from .fidelity import quality_score
from .generators import GENERATORS, Generator, make_generator, register_generator
from .gnn import GraphSAGEClassifier, knn_adjacency, knn_graph_union
from .parallel import synthesize
from .predict import outcome_labels, twin_knn_proba
from .survival import (
    concordance_index,
    cumulative_dynamic_auc,
    kaplan_meier,
    km_sup_by_stratum,
    km_sup_distance,
)
from .syntwin2024 import syntwin_designs

__all__ = [
    "GENERATORS",
    "Generator",
    "GraphSAGEClassifier",
    "auroc",
    "auroc_ci",
    "baseline_gradient_boosting",
    "baseline_logistic",
    "binary_metrics",
    "concordance_index",
    "cumulative_dynamic_auc",
    "kaplan_meier",
    "km_sup_by_stratum",
    "km_sup_distance",
    "knn_adjacency",
    "knn_graph_union",
    "make_generator",
    "outcome_labels",
    "quality_score",
    "register_generator",
    "synthesize",
    "syntwin_designs",
    "twin_knn_proba",
]
