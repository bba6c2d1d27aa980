"""Per-group synthesis in parallel on Dask: one generator per community or stratum.

Each group's rows go to one Dask task that fits a fresh generator and samples from it, so fitted
models never travel between processes. Sample sizes are proportional to group sizes (largest
remainder, exact total). Seeds are split by the group's stable key, so the output is the same
bytes with no client, one worker or many.

Two entry points share the plan (:func:`plan_groups`, :func:`allocate`, the seeds) and the task
(:func:`_fit_sample`): :func:`synthesize` takes a pandas frame on the client; :func:`synthesize_parts`
reads the training rows from Parquet part files on the workers and writes the twins as part files,
so no row passes through the client (see its docstring for the two task layers).
"""

from __future__ import annotations

import copy
import os
import shutil
import uuid
import zlib
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .constraints import parse_constraints, sample_within
from .generators import TableGenerator, make_generator

__all__ = ["allocate", "plan_groups", "synthesize", "synthesize_parts"]


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


def _jobs(plan: list[tuple], n: int, seed: int) -> list[tuple]:
    """``(key, rows, n_g, fit_seed, sample_seed)`` of every group with a positive allocation, in plan order."""
    sizes = allocate([len(r) for _, r in plan], int(n))
    jobs = []
    for (key, rows), n_g in zip(plan, sizes):
        if n_g == 0:
            continue
        k = _stable_key("global" if key is None else key)
        jobs.append((key, rows, int(n_g), _child_seed(seed, k, 0), _child_seed(seed, k, 1)))
    return jobs


def _fit_sample(part: pd.DataFrame, generator, n: int, fit_kwargs: dict, fit_seed: int,
                sample_seed: int, constraints=(), *, owned: bool = False) -> pd.DataFrame:
    """Fit a fresh generator on ``part`` and draw ``n`` rows within ``constraints``.

    ``owned``: ``part``'s arrays were just allocated by this process (e.g. by ``pd.concat``), so no copy is made.
    """
    gen = make_generator(generator).use_constraints(constraints)  # kept by construction where it can
    # fresh, owned arrays: deserialised buffers can differ in memory alignment between processes,
    # and numpy's SIMD reductions (hence SDV's optimisers) may then differ in the last bits
    if not owned:
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
    jobs = [(key, df.iloc[rows].reset_index(drop=True), n_g, fs, ss)
            for key, rows, n_g, fs, ss in _jobs(plan, n, seed)]
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


# --- from part files to part files: the rows stay on the workers -------------------------------------------

PART = "part.{:05d}.parquet"
_FILE_MODE = 0o600  # rows derived from patients (unreleased twins, buckets): owner-only


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False)
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)


def _bucket_task(file: str, mask: np.ndarray, gidx: np.ndarray, columns: list[str] | None,
                 dtypes: dict | None, out: str) -> int:
    """Task: the selected rows of one part file, sorted by group index, as an Arrow IPC file of one batch per group.

    Batch ``b`` holds the rows (in file order) of the ``b``-th smallest group index present; the client knows
    that order from ``gidx`` alone. Returns the number of rows written.
    """
    df = pd.read_parquet(file, columns=columns)
    if len(mask) != len(df):
        raise ValueError(f"{file}: {len(df)} rows but the row mask has {len(mask)}")
    if dtypes:
        df = df.astype(dtypes)
    df = df.loc[np.asarray(mask, bool)].reset_index(drop=True)
    if len(df) != len(gidx):
        raise ValueError(f"{file}: {len(df)} selected rows but {len(gidx)} group labels")
    if not len(df):
        return 0
    order = np.argsort(gidx, kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    _, counts = np.unique(gidx, return_counts=True)
    schema = pa.Schema.from_pandas(df, preserve_index=False)
    tmp = f"{out}.tmp"
    with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        start = 0
        for c in counts:
            writer.write_batch(pa.RecordBatch.from_pandas(df.iloc[start:start + c], schema=schema,
                                                          preserve_index=False))
            start += int(c)
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, out)
    return len(df)


def _group_task(sources: list[tuple[str, int]], template, n: int, fit_kwargs: dict, fit_seed: int,
                sample_seed: int, rules, columns: list[str] | None, outs: list[str], *_after) -> dict:
    """Task: one group's rows from the bucket files, a fresh generator fitted and sampled, twins written to
    ``outs`` in consecutive slices of near-equal size (the file count is the plan's, not the rows').

    ``_after``: the bucket tasks' results (only there so Dask runs this task after them).
    """
    frames = []
    for path, b in sources:
        with pa.OSFile(path, "rb") as src:
            frames.append(pa.Table.from_batches([pa.ipc.open_file(src).get_batch(b)]).to_pandas())
    # one frame of fresh arrays, the per-file frames dropped before fitting (concat allocates its own; a single
    # frame, possibly holding Arrow's buffers, is copied)
    part = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy(deep=True)
    del frames
    rows = _fit_sample(part, template, n, fit_kwargs, fit_seed, sample_seed, rules, owned=True)
    del part
    rejected = int(rows.attrs.get("rejected", 0))
    rows = rows[list(columns)] if columns is not None else rows
    bounds = [i * len(rows) // len(outs) for i in range(len(outs) + 1)]
    for out, a, b in zip(outs, bounds[:-1], bounds[1:], strict=True):
        _atomic_parquet(rows.iloc[a:b].reset_index(drop=True), Path(out))
    return {"rows": len(rows), "rejected": rejected, "dtypes": {c: str(t) for c, t in rows.dtypes.items()}}


def _cast_task(path: str, dtypes: dict) -> int:
    df = pd.read_parquet(path).astype(dtypes)
    _atomic_parquet(df, Path(path))
    return len(df)


def _common_dtypes(files: Sequence[Path | str], columns: list[str] | None) -> dict | None:
    """The dtypes ``pd.concat`` of the files would give, or ``None`` when every file already has them."""
    metas = [pq.read_schema(f).empty_table().to_pandas() for f in files]
    if columns is not None:
        metas = [m[list(columns)] for m in metas]
    if all(m.dtypes.equals(metas[0].dtypes) for m in metas):
        return None
    return {c: t for c, t in pd.concat(metas, ignore_index=True).dtypes.items()}


def synthesize_parts(
    files: Sequence[str | os.PathLike],
    masks: Sequence[np.ndarray],
    generator: str | TableGenerator,
    n: int,
    out: str | os.PathLike,
    *,
    groups: np.ndarray | None = None,
    columns: Sequence[str] | None = None,
    client=None,
    seed: int = 0,
    min_group_size: int = 50,
    rest_label: Hashable = -1,
    on_done: Callable[[int, int], None] | None = None,
    constraints=(),
    scratch: str | os.PathLike | None = None,
    part_rows: int = 250_000,
    **fit_kwargs,
) -> dict:
    """:func:`synthesize` over the rows of Parquet part files, writing the twins as ``out/part.<i>.parquet``.

    The training table is the concatenation, in file order, of ``files[j]``'s rows where ``masks[j]`` is true
    (``columns`` only); ``groups`` labels those rows in that order. The group plan, the allocation and the seeds
    are those of :func:`synthesize`, and each group's frame is the same rows in the same order, so the twins
    are the same rows (``synthesize(...)`` without its group column, concatenated) — only the place differs:

    1. one task per part file writes its selected rows to ``scratch/part.<j>.arrow``, an Arrow IPC file with
       one record batch per group present (rows sorted by group, stably);
    2. one task per group with a positive allocation reads its batches from those files (random access),
       fits a fresh generator, samples its share with the constraints (:func:`~.constraints.sample_within`) and
       writes them to ``ceil(n_g / part_rows)`` consecutive files ``out/part.<i>.parquet`` (numbered in plan
       order), so no twin part outgrows ``part_rows`` rows (a 7.5M-row global model gives 30 parts, which
       the later stages read in parallel, not one 7.5M-row file).

    With ``groups=None`` (one global model, e.g. a DP generator) step 2 is a single task reading the selected
    rows of every part. Only the plan (row masks and group indices, from ``groups``) goes to the workers and
    only counts come back. File names depend on the plan alone, never on the number of workers. When the group
    parts' dtypes differ (e.g. a column with missing values in some groups only), the parts are cast to the
    dtypes ``pd.concat`` would give, so every part has the same schema.

    Returns:
        ``{"rows", "rejected", "groups", "parts", "files"}`` — twins written, rows rejected by the constraints,
        groups planned, part files, their paths.
    """
    files = [str(f) for f in files]
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if len(masks) != len(files):
        raise ValueError(f"one row mask per file is needed: {len(files)} files, {len(masks)} masks")
    if "seed" in fit_kwargs:
        raise TypeError("pass seed= to synthesize_parts itself, not as a fit keyword")
    if isinstance(part_rows, bool) or int(part_rows) < 1:
        raise ValueError(f"part_rows must be an integer >= 1, got {part_rows!r}")
    columns = list(columns) if columns is not None else None
    template = make_generator(generator) if isinstance(generator, str) else copy.deepcopy(generator)
    rules = parse_constraints(constraints)
    counts = [int(m.sum()) for m in masks]
    total = sum(counts)
    if total == 0:
        raise ValueError("the row masks select no row to train on")
    if groups is None:
        plan = [(None, np.arange(total))]
    else:
        groups = np.asarray(groups)
        if groups.shape != (total,):
            raise ValueError(f"groups must have one label per selected row ({total}), got shape {groups.shape}")
        plan = plan_groups(groups, int(min_group_size), rest_label)
    jobs = _jobs(plan, n, seed)
    if not jobs:
        raise ValueError(f"n must be >= 1 to write a twins dataset, got {n}")
    gidx = np.full(total, -1, dtype=np.int64)  # each selected row's job index (-1: a group allotted no twin)
    for i, (_, rows, *_rest) in enumerate(jobs):
        gidx[rows] = i
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    scratch = Path(scratch) if scratch is not None else out.with_name(f".{out.name}.buckets")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    dtypes = _common_dtypes(files, columns)
    ends = np.cumsum(counts)[:-1]
    bucket_args, sources = [], [[] for _ in jobs]
    for j, (f, m, g) in enumerate(zip(files, masks, np.split(gidx, ends))):
        keep = g >= 0  # rows of groups allotted no twin need not travel
        mask = m.copy()
        mask[np.flatnonzero(m)[~keep]] = False
        path = str(scratch / f"part.{j:05d}.arrow")
        bucket_args.append((f, mask, g[keep], columns, dtypes, path))
        for b, i in enumerate(np.unique(g[keep])):
            sources[i].append((j, path, b))
    per_job = [max(1, -(-int(n_g) // int(part_rows))) for _, _, n_g, _, _ in jobs]
    first = np.concatenate([[0], np.cumsum(per_job)]).astype(int)
    outs = [[str(out / PART.format(f)) for f in range(first[i], first[i + 1])] for i in range(len(jobs))]
    try:
        if client is None:
            for args in bucket_args:
                _bucket_task(*args)
            results = []
            for i, (_, _, n_g, fs, ss) in enumerate(jobs):
                results.append(_group_task([(p, b) for _, p, b in sources[i]], template, n_g, fit_kwargs, fs, ss,
                                           rules, columns, outs[i]))
                if on_done:
                    on_done(len(results), len(jobs))
        else:
            # rows never travel: each task gets file names, masks and indices, and Dask can rerun any task
            # after a worker loss from those alone (the same seeds, hence the same bytes)
            token = uuid.uuid4().hex[:12]
            buckets = [client.submit(_bucket_task, *args, key=f"syntwin-buckets-{token}-{j}", pure=False)
                       for j, args in enumerate(bucket_args)]
            futures = [
                client.submit(_group_task, [(p, b) for _, p, b in sources[i]], template, n_g, fit_kwargs, fs, ss,
                              rules, columns, outs[i], *[buckets[j] for j, _, _ in sources[i]],
                              key=f"syntwin-synthesize-{token}-{i}", priority=len(jobs[i][1]), pure=False)
                for i, (_, _, n_g, fs, ss) in enumerate(jobs)
            ]
            if on_done:
                from distributed import as_completed

                for done, _ in enumerate(as_completed(futures), 1):
                    on_done(done, len(futures))
            results = client.gather(futures)
        written = [f for fs in outs for f in fs]
        common = _common_dtypes(written, None)
        if common is not None:
            fix = [o for fs, r in zip(outs, results) if r["dtypes"] != {c: str(t) for c, t in common.items()}
                   for o in fs]
            if client is None:
                for o in fix:
                    _cast_task(o, common)
            else:
                client.gather([client.submit(_cast_task, o, common, pure=False) for o in fix])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"rows": int(sum(r["rows"] for r in results)), "rejected": int(sum(r["rejected"] for r in results)),
            "groups": len(plan), "parts": len(written), "files": written}
