"""The kNN methods' neighbours and votes, computed where the neighbours were searched.

A held-out patient's kNN score is :func:`~syntwin.synthesis.predict.twin_knn_proba` over its first ``k``
neighbours (labels and distances), for the ``k`` chosen on the validation patients. The search tasks
(:meth:`~syntwin.graphs.knn.PreparedSearch.blocks`) replace each neighbour's index by its 0/1 label (int8)
and keep only the columns a caller needs, so a block holds ``5 k`` bytes a query instead of ``12 kmax``.
For the held-out patients the votes themselves are computed on the workers. With similarity weights
``w = 1 - d / d_max``, ``d_max`` is the largest valid distance over *all* queries: each block first reports
its own maximum (:func:`~syntwin.synthesis.predict.valid_distance_max`), then scores its rows with the
maximum of those, which gives the same bytes as one call on all queries. The client receives one float64
per held-out patient and ``k``: bounded by the number of held-out patients, not by ``k``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from syntwin.graphs.knn import BLOCK_ROWS, prepared_search
from syntwin.synthesis.predict import twin_knn_proba, valid_distance_max


def _labelled(labels: np.ndarray, width: int, indices: np.ndarray, distances: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Search post-step: the first ``width`` neighbours as (label int8, -1 where none; distance float32)."""
    idx = indices[:, :width]
    return (np.where(idx >= 0, labels[np.maximum(idx, 0)], -1).astype(np.int8),
            np.ascontiguousarray(distances[:, :width]))


def _search(ref_x: np.ndarray, query: np.ndarray, k: int, seed: int, block_rows: int):
    """The search of :func:`neighbour_labels` (``min(k, len(ref_x))`` neighbours, default IVF settings)."""
    return prepared_search(ref_x, query, min(k, len(ref_x)), seed=seed, block_rows=block_rows)


def neighbour_labels(ref_x: np.ndarray, ref_y: np.ndarray, query: np.ndarray, k: int, client: Any,
                     seed: int, block_rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Labels (int8, -1 for none) and distances (float32) of the ``k`` nearest reference rows of each query
    (0/1 labels ``ref_y`` of the reference rows; ``block_rows`` query rows per search task)."""
    search = _search(ref_x, query, k, seed, block_rows)
    with search.blocks(client, post=partial(_labelled, np.asarray(ref_y, dtype=np.int8), search.k)) as blocks:
        parts = blocks.gather()
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _block_maxima(block: tuple[np.ndarray, np.ndarray], ks: list[int]) -> np.ndarray:
    labels, dist = block
    return np.array([valid_distance_max(labels[:, :k], dist[:, :k]) for k in ks])


def _block_votes(block: tuple[np.ndarray, np.ndarray], ks: list[int], weighting: str,
                 d_max: list[float]) -> np.ndarray:
    labels, dist = block
    return np.column_stack([twin_knn_proba(labels[:, :k], dist[:, :k], weighting=weighting, d_max=m)
                            for k, m in zip(ks, d_max, strict=True)])


def neighbour_votes(ref_x: np.ndarray, ref_y: np.ndarray, query: np.ndarray, k: int, ks: list[int], *,
                    weighting: str, client: Any, seed: int, block_rows: int = BLOCK_ROWS
                    ) -> dict[int, np.ndarray]:
    """``{j: twin_knn_proba(first j neighbours)}`` of every query for each ``j`` in ``ks``.

    The search is that of :func:`neighbour_labels` with ``k`` neighbours (so its ``nprobe`` and its lists are
    the same), each ``j`` taking the first ``j`` columns; equal, byte for byte, to ``twin_knn_proba`` of the
    gathered lists.
    """
    ks = sorted({int(j) for j in ks})
    if not ks:
        return {}
    search = _search(ref_x, query, k, seed, block_rows)
    post = partial(_labelled, np.asarray(ref_y, dtype=np.int8), min(max(ks), search.k))
    with search.blocks(client, post=post) as blocks:
        maxima = np.max(np.vstack(blocks.map(_block_maxima, ks)), axis=0)
        d_max = [float(m) if np.isfinite(m) else 1.0 for m in maxima]
        votes = blocks.map(_block_votes, ks, weighting, d_max)
    return {j: np.concatenate([v[:, i] for v in votes]) for i, j in enumerate(ks)}


def _attached_block(block: tuple[np.ndarray, np.ndarray], query: np.ndarray, scorer: Any) -> np.ndarray:
    return scorer.predict_proba(query, *block)


def attached_scores(scorer: Any, ref_x: np.ndarray, query: np.ndarray, k: int, *, client: Any, seed: int,
                    block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """GraphSAGE P(y = 1) of every query patient attached to the fitted graph of ``ref_x`` through its ``k``
    nearest nodes (:class:`~syntwin.synthesis.gnn_attach.AttachedScorer`), scored block by block where the
    block was searched; the scorer is one task's result (not scattered), fetched once per worker."""
    search = _search(ref_x, query, k, seed, block_rows)
    with search.blocks(client) as blocks:
        shared = scorer if client is None else client.submit(_identity, scorer, pure=False)
        scores = blocks.map(_attached_block, shared, with_query=True)
        del shared
    return np.concatenate(scores) if scores else np.zeros(0)


def _identity(value: Any) -> Any:
    return value


__all__ = ["neighbour_labels", "neighbour_votes", "attached_scores"]
