"""A file cohort into the run's dataset: the sequential reader (the whole cohort in the client) vs the blockwise one.

The CSV repeats the real SEER subset (``/work/shared/data/seer_breast_cancer.csv``) to ``--rows`` data rows and
is read through the ``seer_breast_csv`` mapping (created ids, recodes, stripping, validation), then written as
the cohort stage does (``syntwin.pipeline.dataset.write_dataset`` on a LocalCluster). ``old`` is the sequential
reader of ``syntwin.cohort.readers._read_streamed`` (read_cohort before the blocks: chunks cleaned in the
client, concatenated, ``dd.from_pandas``); ``new`` is ``read_cohort(..., client=, folder=)``. Each mode runs
in a fresh process, so the client's peak RSS (``ru_maxrss``; the workers are other processes) is its own.

    flock /work/wt/heavy.lock timeout 1200 env PYTHONPATH=$PWD /work/main/.venv/bin/python \\
        bench/scale/bench_readers.py --rows 2000000 --workers 2

2026-12-02, 2 cores shared, load 7.7 at queueing / 3.4 after (uptime), 2 workers, 250,000 rows per block,
CSV 196.8 MB: old read 7.9 s, read + write 10.1 s, client peak RSS 1,636 MiB; new read 9.2 s, read + write
14.9 s, client peak RSS 378 MiB (the client holds side results only; the new path writes the blocks once as
part files and the cohort stage rewrites them as its dataset).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEER = Path("/work/shared/data/seer_breast_cancer.csv")


def make_csv(path: Path, rows: int) -> None:
    """The SEER subset's data lines cycled to ``rows`` lines (CRLF as in the original, no final newline)."""
    text = SEER.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    header, body = text[0], text[1:]
    with path.open("wb") as fh:
        fh.write(header)
        for start in range(0, rows, len(body)):
            fh.write(b"\r\n" + b"\r\n".join(body[: min(len(body), rows - start)]))


def _warm() -> None:
    import syntwin.cohort.readers  # noqa: F401
    import syntwin.pipeline.dataset  # noqa: F401


def run(mode: str, csv: Path, workers: int, rpp: int) -> dict:
    from distributed import Client, LocalCluster

    from syntwin.cohort.presets import resolve_mapping
    from syntwin.cohort.readers import _read_streamed, read_cohort
    from syntwin.pipeline.dataset import write_dataset

    tmp = Path(tempfile.mkdtemp(prefix="bench-readers-"))
    try:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            client.run(_warm)  # imports on the workers are not the reader's time
            t0 = time.perf_counter()
            if mode == "old":
                m = resolve_mapping("seer_breast_csv")
                data, _, report, n, _ = _read_streamed(csv, str(csv), m, rpp, None)
                data = data()
            else:
                c = read_cohort(csv, "seer_breast_csv", rows_per_partition=rpp, client=client, folder=tmp / "read")
                data, n = c.data, c.report.rows_read
            t_read = time.perf_counter() - t0
            parts = write_dataset(data, tmp / "data", client=client)
            t_all = time.perf_counter() - t0
        assert sum(p["rows"] for p in parts) == n
        return {"mode": mode, "rows": n, "partitions": len(parts), "read_s": round(t_read, 1),
                "read_and_write_s": round(t_all, 1),
                "client_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rows-per-partition", type=int, default=250_000)
    ap.add_argument("--mode", choices=["old", "new", "both"], default="both")
    ap.add_argument("--csv", type=Path, help="an existing CSV from an earlier run (internal)")
    args = ap.parse_args()
    if args.mode != "both":
        print(json.dumps(run(args.mode, args.csv, args.workers, args.rows_per_partition)))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-readers-csv-"))
    try:
        csv = folder / "seer_repeated.csv"
        make_csv(csv, args.rows)
        print(json.dumps({"csv_bytes": csv.stat().st_size, "rows": args.rows}), flush=True)
        for mode in ("old", "new"):
            out = subprocess.run([sys.executable, __file__, "--mode", mode, "--csv", str(csv), "--workers",
                                  str(args.workers), "--rows-per-partition", str(args.rows_per_partition)],
                                 capture_output=True, text=True, check=True)
            print(out.stdout.strip().splitlines()[-1], flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
