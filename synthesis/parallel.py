"""Per-group synthesis in parallel on Dask: one generator per community or stratum.

Each group's rows go to one Dask task that fits a fresh generator and samples from it, so fitted
models never travel between processes. Sample sizes are proportional to group sizes (largest
remainder, exact total). Seeds are split by the group's stable key, so the output is the same
bytes with no client, one worker or many.
"""

from __future__ import annotations

import copy
import uuid
import zlib
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import pandas as pd

from .constraints import parse_constraints, sample_within
from .generators import TableGenerator, make_generator

__all__ = ["allocate", "plan_groups", "synthesize"]


def _stable_key(key: Hashable) -> int:
    """A non-negative int for a group key, the same in every process (no Python ``hash``)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and int(key) >= 0:
        return int(key)
    return zlib.crc32(repr(key).encode("utf-8"))


def _child_seed(seed: int, *keys: int) -> int:
    ss = np.random.SeedSequence(int(seed), spawn_key=tuple(keys))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def allocate(sizes: Sequence[int], n: int) -> np.ndarray:
    """Split ``n`` proportionally to ``sizes`` by largest remainder (Hamilton), summing exactly to ``n``.

    Ties in the remainder go to the earlier group.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    if n < 0 or (sizes < 0).any() or sizes.sum() <= 0:
        raise ValueError(f"need n >= 0 and non-negative sizes with a positive sum, got n={n}, sizes={sizes}")
    quota = sizes * n / sizes.sum()
    base = np.floor(quota).astype(np.int64)
    short = int(n - base.sum())
    order = np.lexsort((np.arange(len(sizes)), -(quota - base)))
    base[order[:short]] += 1
    return base


def plan_groups(groups: np.ndarray, min_group_size: int, rest_label: Hashable = -1) -> list[tuple]:
    """Group keys and row indices after pooling the small groups.

    Groups smaller than ``min_group_size`` are pooled into one ``rest_label`` group (last). If that
    pool is itself smaller than ``min_group_size``, it joins the smallest kept group instead; if no
    group is kept, everything is one ``rest_label`` group.

    Returns:
        ``[(key, row_indices), ...]`` in sorted key order, the pooled group last.
    """
    groups = np.asarray(groups)
    keys, inverse = np.unique(groups, return_inverse=True)
    rows = [np.flatnonzero(inverse == i) for i in range(len(keys))]
    kept = [(k.item() if hasattr(k, "item") else k, r)
            for k, r in zip(keys, rows) if len(r) >= min_group_size]
    small = [r for r in rows if len(r) < min_group_size]
    pool = np.sort(np.concatenate(small)) if small else np.zeros(0, dtype=np.int64)
    if not kept:
        return [(rest_label, np.arange(len(groups)))]
    if 0 < len(pool) < min_group_size:
        i = min(range(len(kept)), key=lambda j: (len(kept[j][1]), j))
        kept[i] = (kept[i][0], np.sort(np.concatenate([kept[i][1], pool])))
    elif len(pool):
        kept.append((rest_label, pool))
    return kept


def _fit_sample(part: pd.DataFrame, generator, n: int, fit_kwargs: dict, fit_seed: int,
                sample_seed: int, constraints=()) -> pd.DataFrame:
    gen = make_generator(generator).use_constraints(constraints)  # kept by construction where it can
    # fresh, owned arrays: deserialised buffers can differ in memory alignment between processes,
    # and numpy's SIMD reductions (hence SDV's optimisers) may then differ in the last bits
    part = part.copy(deep=True)
    gen.fit(part, seed=fit_seed, **fit_kwargs)
    rows, rejected = sample_within(lambda m, s: gen.sample(m, seed=s), n, constraints, sample_seed,
                                   child_seed=_child_seed)
    rows.attrs["rejected"] = int(rejected)
    return rows


def synthesize(
    df: pd.DataFrame,
    generator: str | TableGenerator,
    n: int,
    *,
    groups: np.ndarray | None = None,
    client=None,
    seed: int = 0,
    min_group_size: int = 50,
    group_column: str | None = "_group",
    rest_label: Hashable = -1,
    on_done: Callable[[int, int], None] | None = None,
    constraints=(),
    **fit_kwargs,
) -> pd.DataFrame:
    """Fit one generator per group (or one global model) and draw ``n`` synthetic rows.

    Args:
        df: Training table (only modelled columns; see ``Generator.fit``).
        generator: Registry name or ``TableGenerator`` instance (used as a template, never fitted).
        n: Total synthetic rows; group ``g`` gets ``n · |g| / |df|`` by largest remainder.
        groups: Group label per row of ``df`` (e.g. graph community); ``None`` = one global model.
        client: A ``distributed.Client``; ``None`` runs the tasks in this process.
        seed: Root seed; group ``g`` fits with child ``(key(g), 0)`` and samples with ``(key(g), 1)``.
        min_group_size: Smaller groups are pooled (see ``plan_groups``).
        group_column: Name of the output column holding each row's group (``rest_label`` for the pool);
            ``None`` to leave it out. Absent when ``groups`` is ``None``.
        rest_label: Label of the pooled small groups.
        on_done: Called as ``on_done(done, total)`` each time a group's task finishes (progress).
        constraints: Rules every row must keep (:mod:`synthesis.constraints`), enforced by rejection sampling
            per group; the number of rejected rows is ``result.attrs["rejected"]``.
        **fit_kwargs: Column roles for ``Generator.fit`` (numeric=, ordinal=, categorical=, time=, event=).

    Returns:
        The synthetic rows, ordered by group (sorted keys, pool last) then sample index, with a fresh
        ``RangeIndex``.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if "seed" in fit_kwargs:
        raise TypeError("pass seed= to synthesize itself, not as a fit keyword")
    template = make_generator(generator) if isinstance(generator, str) else copy.deepcopy(generator)
    rules = parse_constraints(constraints)
    df = df.reset_index(drop=True)
    if groups is None:
        plan = [(None, np.arange(len(df)))]
    else:
        groups = np.asarray(groups)
        if groups.shape != (len(df),):
            raise ValueError(f"groups must have one label per row ({len(df)}), got shape {groups.shape}")
        if group_column is not None and group_column in df.columns:
            raise ValueError(f"group_column {group_column!r} is already a column of df")
        plan = plan_groups(groups, int(min_group_size), rest_label)
    sizes = allocate([len(r) for _, r in plan], int(n))
    jobs = []
    for (key, rows), n_g in zip(plan, sizes):
        if n_g == 0:
            continue
        k = _stable_key("global" if key is None else key)
        jobs.append((key, df.iloc[rows].reset_index(drop=True), int(n_g),
                     _child_seed(seed, k, 0), _child_seed(seed, k, 1)))
    if client is None:
        parts = []
        for _, p, n_g, fs, ss in jobs:
            parts.append(_fit_sample(p, template, n_g, fit_kwargs, fs, ss, rules))
            if on_done:
                on_done(len(parts), len(jobs))
    else:
        # Each group's rows travel inside its task (not scattered): a lost worker's tasks are then
        # recomputed elsewhere from the graph alone, with the same seeds, hence the same rows.
        token = uuid.uuid4().hex[:12]
        futures = [
            client.submit(_fit_sample, p, template, n_g, fit_kwargs, fs, ss, rules,
                          key=f"syntwin-synthesize-{token}-{i}", priority=len(p))
            for i, (_, p, n_g, fs, ss) in enumerate(jobs)
        ]
        if on_done:
            from distributed import as_completed

            for done, _ in enumerate(as_completed(futures), 1):
                on_done(done, len(futures))
        parts = client.gather(futures)
    rejected = sum(int(p.attrs.get("rejected", 0)) for p in parts)
    if group_column is not None and groups is not None:
        parts = [p.assign(**{group_column: [key] * len(p)}) for (key, *_), p in zip(jobs, parts)]
    if not parts:
        return _fit_sample(df, template, 0, fit_kwargs, 0, 0)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["rejected"] = rejected
    return out
