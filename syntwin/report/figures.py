"""Figures of the run report: Kaplan–Meier curves, ROC curves, the community graph, crowd series.

Each ``*_figure`` function returns a :class:`matplotlib.figure.Figure` (no pyplot, no global state);
:func:`png_data_uri` turns it into an inline ``data:image/png;base64,...`` URI so the report needs
no file or network besides itself.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure

#: Communities smaller than this are left out of the community graph (SynTwin keeps >= 10).
MIN_COMMUNITY = 10


def png_data_uri(fig: Figure, *, dpi: int = 100) -> str:
    """Render ``fig`` as PNG and return it as a base64 data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_data_uri(data: bytes, mime: str = "image/png") -> str:
    """Base64 data URI of a file's bytes."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


# ----------------------------------------------------------------------------- survival
def kaplan_meier(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan–Meier estimate (lifelines, through :func:`syntwin.synthesis.survival.kaplan_meier_table`).

    Returns:
        DataFrame ``time, survival, at_risk, events``: a start row ``(0, 1)``, then every distinct event time.
    """
    from syntwin.synthesis.survival import kaplan_meier_table

    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(int)
    ok = np.isfinite(t)
    if not ok.any():
        raise ValueError("kaplan_meier needs at least one finite time")
    if (t[ok] < 0).any():
        raise ValueError("times must be non-negative")
    table = kaplan_meier_table(t[ok], e[ok])
    events = np.array([int(((t[ok] == v) & (e[ok] == 1)).sum()) for v in table["time"]])
    keep = events > 0
    out = table.loc[keep, ["time", "survival", "at_risk"]].assign(events=events[keep])
    head = pd.DataFrame({"time": [0.0], "survival": [1.0], "at_risk": [int(ok.sum())], "events": [0]})
    return pd.concat([head, out], ignore_index=True)


def km_figure(curves: Mapping[str, pd.DataFrame], *, title: str, time_label: str = "months") -> Figure:
    """Step plot of survival curves (each a DataFrame with ``time`` and ``survival``)."""
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for k, (name, c) in enumerate(curves.items()):
        ax.step(c["time"].to_numpy(), c["survival"].to_numpy(), where="post", lw=1.6,
                ls="-" if k < 10 else "--", label=str(name))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(time_label)
    ax.set_ylabel("survival probability")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


# ----------------------------------------------------------------------------- prediction
def roc_figure(scores: pd.DataFrame, methods: list[str], *, label: str = "label") -> Figure:
    """ROC curves of the score columns ``methods`` against the binary ``label`` column, AUROC in legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = scores[label].to_numpy()
    fig = Figure(figsize=(5.6, 5.0), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name in methods:
        s = scores[name].to_numpy(dtype=float)
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, lw=1.6, label=f"{name} (AUROC {roc_auc_score(y, s):.3f})")
    ax.set_aspect("equal")
    return _unit_square(fig, ax, "chance", "false positive rate", "true positive rate", "lower right")


def _unit_square(fig: Figure, ax, diagonal: str, xlabel: str, ylabel: str, legend: str) -> Figure:
    """Finish a [0, 1]² plot with its dotted diagonal, labels, grid and legend."""
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":", label=diagonal)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=legend)
    return fig


# ----------------------------------------------------------------------------- community graph
def community_graph(
    edges: pd.DataFrame,
    membership: np.ndarray,
    multiplicity: np.ndarray | None = None,
    *,
    min_size: int = MIN_COMMUNITY,
    max_nodes: int = 40,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate a patient graph into a community graph.

    Node ``c`` stands for community ``c``: ``size`` = patients in it (sum of multiplicities),
    ``internal`` = summed weight of its internal edges, ``cohesion`` = internal / (internal + half its
    external weight), i.e. the share of its edge weight that stays inside. Edge ``(a, b)`` has
    ``weight`` = summed weight of patient edges between ``a`` and ``b`` and ``count`` = their number.
    Only communities with ``size >= min_size`` are kept, the ``max_nodes`` largest of them.

    Returns:
        ``(nodes, links)``: nodes ``community, size, internal, cohesion`` (largest first) and links
        ``a, b, weight, count`` between kept communities (``a < b``).

    """
    m = np.asarray(membership, dtype=np.int64)
    w = np.ones(len(m), dtype=np.int64) if multiplicity is None else np.asarray(multiplicity, dtype=np.int64)
    sizes = np.bincount(m, weights=w).astype(np.int64)
    ca = m[edges["src"].to_numpy()]
    cb = m[edges["dst"].to_numpy()]
    ew = edges["weight"].to_numpy(dtype=float)
    internal = np.bincount(ca[ca == cb], weights=ew[ca == cb], minlength=len(sizes))
    cross = ca != cb
    external = (np.bincount(ca[cross], weights=ew[cross], minlength=len(sizes))
                + np.bincount(cb[cross], weights=ew[cross], minlength=len(sizes)))
    total = internal + 0.5 * external
    cohesion = np.divide(internal, total, out=np.zeros_like(total), where=total > 0)
    nodes = pd.DataFrame({"community": np.arange(len(sizes)), "size": sizes, "internal": internal,
                          "cohesion": cohesion})
    nodes = nodes[nodes["size"] >= min_size].sort_values(["size", "community"], ascending=[False, True])
    nodes = nodes.head(max_nodes).reset_index(drop=True)
    a, b = np.minimum(ca[cross], cb[cross]), np.maximum(ca[cross], cb[cross])
    links = (pd.DataFrame({"a": a, "b": b, "weight": ew[cross]})
             .groupby(["a", "b"], sort=True)["weight"].agg(["sum", "size"]).reset_index()
             .rename(columns={"sum": "weight", "size": "count"}))
    kept = set(nodes["community"].tolist())
    links = links[links["a"].isin(kept) & links["b"].isin(kept)].reset_index(drop=True)
    return nodes, links


def community_layout(nodes: pd.DataFrame, links: pd.DataFrame) -> np.ndarray:
    """2-D positions: Kamada–Kawai from a circle (deterministic), stronger links drawn shorter.

    Edge length ``min(w_max / w, 5)``: the most similar community pairs sit closest.
    """
    import igraph as ig

    n = len(nodes)
    if n == 0:
        return np.zeros((0, 2))
    index = {c: i for i, c in enumerate(nodes["community"].tolist())}
    pairs = [(index[a], index[b]) for a, b in zip(links["a"], links["b"], strict=True)]
    g = ig.Graph(n=n, edges=pairs, directed=False)
    angle = 2 * np.pi * np.arange(n) / n
    start = np.column_stack([np.cos(angle), np.sin(angle)]).tolist()
    if g.ecount() == 0:
        return np.asarray(start)
    w = links["weight"].to_numpy(dtype=float)
    layout = g.layout_kamada_kawai(seed=start, weights=np.minimum(w.max() / w, 5.0).tolist())
    return np.asarray(layout.coords)


def community_figure(nodes: pd.DataFrame, links: pd.DataFrame, *, max_links_per_node: int = 4) -> Figure:
    """Draw the community graph: disc area ~ members, colour = cohesion, line width ~ shared weight.

    Each community keeps only its ``max_links_per_node`` strongest links, so the picture shows the
    backbone of the graph rather than every (weak) connection.
    """
    pos = community_layout(nodes, links)
    index = {c: i for i, c in enumerate(nodes["community"].tolist())}
    keep = np.zeros(len(links), dtype=bool)
    if len(links):
        order = np.argsort(-links["weight"].to_numpy(), kind="stable")
        count = np.zeros(len(nodes), dtype=int)
        for j in order:
            ia, ib = index[links["a"].iat[j]], index[links["b"].iat[j]]
            if count[ia] < max_links_per_node or count[ib] < max_links_per_node:
                keep[j] = True
                count[ia] += 1
                count[ib] += 1
    fig = Figure(figsize=(7.5, 6.5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    shown = links[keep]
    if len(shown):
        wmax = float(shown["weight"].max())
        for a, b, wt in zip(shown["a"], shown["b"], shown["weight"], strict=True):
            p, q = pos[index[a]], pos[index[b]]
            ax.plot([p[0], q[0]], [p[1], q[1]], color="0.45", lw=0.4 + 5.0 * wt / wmax, alpha=0.55, zorder=1)
    sizes = nodes["size"].to_numpy(dtype=float)
    area = 2500.0 * sizes / sizes.max() if len(sizes) else sizes
    sc = ax.scatter(pos[:, 0], pos[:, 1], s=np.maximum(area, 40), c=nodes["cohesion"].to_numpy(),
                    cmap="viridis", vmin=0, vmax=1, edgecolors="k", linewidths=0.6, zorder=2)
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    for (x, y), c, s in zip(pos, nodes["community"], nodes["size"], strict=True):
        ax.annotate(f"{c}\n{s:,}", (x, y), ha="center", va="center", fontsize=7, zorder=3, path_effects=halo)
    fig.colorbar(sc, ax=ax, shrink=0.7, label="cohesion (share of edge weight inside)")
    ax.set_title(f"{len(nodes)} communities (label: id, members); "
                 f"{len(shown)} strongest links of {len(links)}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.margins(0.12)
    return fig


# ----------------------------------------------------------------------------- crowd
def series_figure(minutes: pd.DataFrame, metrics: list[str], *, max_arms: int = 8) -> Figure:
    """Mean over replicates of per-minute metrics, one panel per metric and one line per arm."""
    fig = Figure(figsize=(10, 2.2 * len(metrics)), layout="constrained")
    arms = list(dict.fromkeys(minutes["arm"]))[:max_arms]
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, k + 1)
        for arm in arms:
            mean = minutes[minutes["arm"] == arm].groupby("minute")[metric].mean()
            ax.plot(mean.index, mean.to_numpy(), lw=1.2, label=str(arm)[:40])
        ax.set_ylabel(metric.replace("_", " "), fontsize=8)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=7, ncol=4, loc="upper left")
    fig.axes[-1].set_xlabel("minute")
    return fig


__all__ = ["png_data_uri", "file_data_uri", "kaplan_meier", "km_figure", "roc_figure", "community_graph",
           "community_layout", "community_figure", "series_figure", "MIN_COMMUNITY"]


# ----------------------------------------------------------------------------- clinician's figures
PAIR_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def km_pairs_figure(km: pd.DataFrame, *, time_label: str = "months", ticks: int = 6) -> Figure:
    """Real (solid) vs twin (dashed) Kaplan–Meier per stratum in one colour per stratum, 95 % bands, at risk.

    ``km`` holds ``stratum, side ("real" | "synthetic twins"), time, survival, ci_low, ci_high, at_risk``
    (``cohort/km.parquet``). One panel per stratum; numbers at risk printed under each panel.
    """
    strata = list(dict.fromkeys(km["stratum"]))
    cols = min(3, len(strata))
    rows = int(np.ceil(len(strata) / cols))
    fig = Figure(figsize=(4.1 * cols, 3.6 * rows), layout="constrained")
    tmax = float(km["time"].max()) if len(km) else 1.0
    grid = np.linspace(0, tmax, ticks).round()
    for i, stratum in enumerate(strata):
        ax = fig.add_subplot(rows, cols, i + 1)
        colour = PAIR_COLOURS[i % len(PAIR_COLOURS)]
        lines = []
        for side, style in (("real", "-"), ("synthetic twins", "--")):
            c = km[(km["stratum"] == stratum) & (km["side"] == side)].sort_values("time")
            if c.empty:
                continue
            t = c["time"].to_numpy(float)
            ax.step(t, c["survival"], where="post", color=colour, ls=style, lw=1.6, label=side)
            ax.fill_between(t, c["ci_low"], c["ci_high"], step="post", color=colour,
                            alpha=0.18 if side == "real" else 0.08, lw=0)
            idx = np.searchsorted(t, grid, side="right") - 1
            n = np.where(idx >= 0, c["at_risk"].to_numpy()[np.clip(idx, 0, None)], c["at_risk"].iloc[0])
            lines.append(f"{'real ' if side == 'real' else 'twins'} " + " ".join(f"{int(v):>5d}" for v in n))
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, tmax)
        ax.set_xticks(grid)
        ax.set_title("all patients" if stratum == "all" else str(stratum), fontsize=9)
        ax.set_xlabel(time_label + "\nat risk:\n" + "\n".join(lines), fontsize=7, family="monospace")
        ax.set_ylabel("survival")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    return fig


def calibration_figure(scores: pd.DataFrame, methods: list[str], *, label: str = "label", bins: int = 10) -> Figure:
    """Observed event share against mean predicted probability per decile of each method's score."""
    y = scores[label].to_numpy(float)
    fig = Figure(figsize=(5.6, 5.0), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name in methods:
        s = scores[name].to_numpy(float)
        ok = np.isfinite(s)
        if ok.sum() < bins * 5:
            continue
        edges = np.unique(np.quantile(s[ok], np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, s[ok], side="right") - 1, 0, len(edges) - 2)
        pred = np.bincount(which, weights=s[ok]) / np.maximum(np.bincount(which), 1)
        obs = np.bincount(which, weights=y[ok]) / np.maximum(np.bincount(which), 1)
        ax.plot(pred, obs, marker="o", ms=3, lw=1.2, label=name)
    return _unit_square(fig, ax, "perfect calibration", "mean predicted probability (decile)",
                        "observed event share", "upper left")


def distributions_figure(dist: pd.DataFrame, *, per_row: int = 4) -> Figure:
    """Real vs twin share per level / decile bin, one small panel per column (``cohort/distributions.parquet``)."""
    columns = list(dict.fromkeys(dist["column"]))
    rows = int(np.ceil(len(columns) / per_row))
    fig = Figure(figsize=(3.2 * per_row, 2.5 * rows), layout="constrained")
    for i, c in enumerate(columns):
        d = dist[dist["column"] == c]
        ax = fig.add_subplot(rows, per_row, i + 1)
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["real_share"].fillna(0), 0.4, color=PAIR_COLOURS[0], label="real")
        ax.bar(x + 0.2, d["twin_share"], 0.4, color=PAIR_COLOURS[1], alpha=0.8, label="twins")
        ax.set_title(c.replace("_", " "), fontsize=8)
        ax.set_xticks(x)
        ax.set_xticklabels([str(v)[:10] for v in d["level"]], rotation=60, fontsize=6, ha="right")
        ax.tick_params(axis="y", labelsize=6)
        if i == 0:
            ax.legend(fontsize=6)
    return fig
