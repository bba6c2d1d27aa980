"""The ``syntwin`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

import syntwin
from syntwin.errors import SyntwinError

app = typer.Typer(
    name="syntwin",
    help="Graph-based synthetic patients and population simulation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cohort_app = typer.Typer(help="Cohorts: simulate SEER-like cohorts, read registry files.", no_args_is_help=True)
app.add_typer(cohort_app, name="cohort")
graph_app = typer.Typer(help="Patient-similarity graphs.", no_args_is_help=True)
app.add_typer(graph_app, name="graph")
cluster_app = typer.Typer(help="Dask clusters: a local one, SLURM/PBS through dask-jobqueue.", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")

#: How CSV/Parquet cohort files are read (``cohort read``, ``graph build``).
MappingOption = Annotated[str, typer.Option(help="Mapping of CSV/Parquet files: a preset name (see `cohort "
                                                 "mappings`) or a YAML mapping file.")]
DEFAULT_MAPPING = "seer_breast_csv"



def _flag_type(self, ctx):  # noqa: ANN001 - typer labels every flag "<bool>", but a flag takes no value
    return None if getattr(self, "is_flag", False) else _typer_type_label(self, ctx)


_typer_type_label = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type

err_console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        out_console.print(f"syntwin {syntwin.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    _state["debug"] = debug


def _resolve_scenario(name: str) -> Path:
    """A scenario path, or the name of a shipped scenario (``seer_breast_twins``)."""
    from syntwin.scenario.load import shipped_scenarios

    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    shipped = shipped_scenarios()
    return shipped.get(name, path)


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or the name of a shipped scenario.")] = (
        "seer_breast_twins"
    ),
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory (default runs/NAME).")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="LocalCluster worker processes.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Existing Dask scheduler address.")] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, help="Override the scenario seed.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
    resume: Annotated[bool, typer.Option(help="Finish an interrupted run, skipping its finished stages.")] = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a field: --set graph.k=30.")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="Live scenarios: tail the growing stream file and "
                                         "append a forecast per new minute to OUT/live/follow.jsonl.")] = False,
    idle_stop: Annotated[Optional[float], typer.Option("--idle-stop", min=0, help="With --follow: stop after "
                                                       "this many seconds without new readings.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary: print the run directory.")] = (
        False
    ),
    progress_mode: Annotated[str, typer.Option("--progress", help="rich (stage k/N and bars), json (one JSON "
                                               "object per line on stdout, for batch systems) or none.")] = "rich",
) -> None:
    """Run a scenario file end to end and write its run directory."""
    import time

    from syntwin.errors import ScenarioError
    from syntwin.pipeline.run import refused, run_scenario
    from syntwin.progress import make_reporter, planned_stages
    from syntwin.scenario.load import load_scenario

    if progress_mode not in ("rich", "json", "none"):
        raise ScenarioError(f"unknown --progress {progress_mode!r}", field="--progress", hint="use rich, json or none")
    mode = "none" if quiet else progress_mode
    path = _resolve_scenario(scenario)
    model = load_scenario(path, set_)
    out = out or Path("runs") / model.name
    if follow:
        from syntwin.pipeline.live import follow_scenario

        follow_scenario(model, out, source=str(path), seed=seed, overwrite=overwrite, idle_stop_s=idle_stop,
                        echo=None if quiet else (lambda line: err_console.print(line, highlight=False)))
        out_console.print(f"[green]stopped[/green] {model.name} -> {out}")
        return
    start = time.perf_counter()
    with make_reporter(mode, planned_stages(model), console=err_console, title=model.name) as progress:
        try:
            manifest = run_scenario(model, out, source=str(path), workers=workers, scheduler=scheduler, seed=seed,
                                    overwrite=overwrite, resume=resume, progress=progress)
        except BaseException:
            progress.finish("failed")
            raise
        reasons = refused(manifest)
        progress.finish("refused" if reasons else "done")
    _print_summary(manifest, out, mode, time.perf_counter() - start)
    if reasons:
        from syntwin.errors import PrivacyGateError

        raise PrivacyGateError(reasons, file=str(out / "report.html"),
                               hint="the run and its report are published without export/; "
                                    "see the gate table, change the generator or settings")


@app.command()
def batch(
    inputs: Annotated[list[Path], typer.Argument(help="Scenario files and/or directories of them.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder receiving one run directory per run.")] = Path(
        "runs/batch"
    ),
    seeds: Annotated[Optional[str], typer.Option(help="Comma-separated seeds: run each scenario once per seed.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="LocalCluster worker processes.")] = 2,
    scheduler: Annotated[Optional[str], typer.Option(help="Existing Dask scheduler address.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a field in every scenario.")] = None,
    parallel: Annotated[int, typer.Option(min=1, help="Runs at once on the same cluster.")] = 1,
) -> None:
    """Run many scenarios (or seeds) on one cluster; finished runs are skipped, interrupted ones resumed.

    Writes OUT/summary.csv: mean and SD across seeds of every numeric metric, per scenario.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from syntwin.errors import ScenarioError
    from syntwin.pipeline.batch import batch_summary, headline_summary, plan_batch, run_batch
    from syntwin.runtime import dask_client

    try:
        seed_list = [int(s) for s in seeds.split(",")] if seeds else None
    except ValueError:
        raise ScenarioError(f"bad --seeds {seeds!r}", field="--seeds", hint="write e.g. --seeds 1,2,3") from None
    items = plan_batch([_resolve_scenario(str(i)) for i in inputs], out, seeds=seed_list, overrides=set_)
    with dask_client(workers=workers, scheduler=scheduler) as client, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    ) as bar:
        task = bar.add_task("batch", total=None)
        run_batch(items, client, parallel=parallel, progress=lambda text: bar.update(task, description=text))
    table = Table("run", "seed", "status", "seconds", "headline / error", title=f"batch -> {out}")
    for item in items:
        table.add_row(item.out.name, str(item.seed), item.status, f"{item.seconds:g}", item.error or item.headline)
    out_console.print(table)
    _print_batch_summary(batch_summary(items), headline_summary, out)
    failed = [i for i in items if i.status == "failed"]
    if failed:
        err_console.print(f"[bold red]error:[/bold red] {len(failed)} of {len(items)} runs failed: "
                          + "; ".join(i.error for i in failed), markup=True)
        raise typer.Exit(2)


def _print_batch_summary(summary, headline, out: Path) -> None:
    """Write the across-seeds summary to OUT/summary.csv and print its headline rows."""
    from rich.table import Table

    if summary.empty:
        return
    from syntwin.io import atomic_write

    atomic_write(out / "summary.csv", lambda p: summary.to_csv(p, index=False))
    table = Table("scenario", "metric", "runs", "mean", "SD", title=f"across seeds (all metrics: {out}/summary.csv)")
    for row in headline(summary).itertuples():
        sd = "" if row.sd != row.sd else f"{row.sd:.4g}"
        table.add_row(row.scenario, row.metric, str(row.runs), f"{row.mean:.4g}", sd)
    out_console.print(table)


def _print_summary(manifest: dict, out: Path, mode: str, seconds: float) -> None:
    """The end-of-run summary (at most ten lines; ``syntwin show`` has every figure)."""
    from syntwin.summary import run_summary

    lines = run_summary(manifest, out, wall_seconds=seconds)
    if mode == "json":
        sys.stdout.write(json.dumps({"event": "summary", "run_dir": str(out), "lines": lines}) + "\n")
    elif mode == "none":
        sys.stdout.write(f"{out}\n")
    else:
        out_console.print(f"[bold]{lines[0]}[/bold]", highlight=False)
        for line in lines[1:]:
            out_console.print(f"  {line}", highlight=False, markup=False)


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="A run directory (with manifest.json).")]) -> None:
    """Print every figure of a run: metrics per stage, the cleaning report, the privacy gate."""
    from rich.table import Table

    from syntwin.errors import StageError
    from syntwin.summary import fmt

    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise StageError(f"cannot read the run's manifest: {reason}", file=str(run_dir / "manifest.json"),
                         hint="pass the --out folder of a finished run") from None
    table = Table("stage", "figure", "value", title=f"metrics of {run_dir}")
    for stage, figures in manifest["metrics"].items():
        shown = {k: v for k, v in figures.items() if k not in ("cleaning", "gate", "release")}
        for key, value in _flatten(shown):
            table.add_row(stage, key, fmt(value))
    out_console.print(table)
    for warning in manifest["metrics"].get("fidelity", {}).get("warnings", []):
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    _print_cleaning(manifest["metrics"].get("cohort", {}).get("cleaning", {}))
    gate = manifest["metrics"].get("privacy", {}).get("gate", {})
    if gate:
        checks = Table("check", "value", "threshold", "passed", title="privacy gate")
        for name, c in gate.items():
            checks.add_row(name, fmt(c["value"]), f"{c['op']} {fmt(c['threshold'])}", "yes" if c["passed"] else "NO")
        out_console.print(checks)


def _print_cleaning(cleaning: dict) -> None:
    """The cleaning report: every rule with the rows it touched, and the missing values per column."""
    from rich.table import Table

    from syntwin.summary import fmt

    if cleaning.get("rules"):
        rules = Table("rule", "rows", title=f"cleaning of {cleaning.get('source')}")
        for rule, count in cleaning["rules"].items():
            rules.add_row(rule, fmt(count))
        out_console.print(rules)


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows.extend(_flatten(v, key + "."))
        elif not isinstance(v, list):
            rows.append((key, v))
    return rows


@app.command()
def validate(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files (or shipped names).")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a field: --set graph.k=30.")] = None,
) -> None:
    """Validate scenario files without running them (and a cohort file's header against its mapping)."""
    from syntwin.cohort.header import check_scenario

    for name in scenarios:
        path = _resolve_scenario(name)
        model, notes = check_scenario(path, set_)
        out_console.print(f"[green]ok[/green] {path} ({model.kind}: {model.name})")
        for note in notes:
            out_console.print(f"  note: {note}", highlight=False)


@app.command()
def scenarios() -> None:
    """List the scenario files shipped with syntwin."""
    from syntwin.scenario.load import shipped_scenarios

    for name, path in shipped_scenarios().items():
        out_console.print(f"{name}\t{path}", highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from syntwin.scenario.load import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@cohort_app.command("simulate")
def cohort_simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet directory.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of patients.")] = 100_000,
    site: Annotated[str, typer.Option(help="breast, lung, colorectal or prostate.")] = "breast",
    seed: Annotated[int, typer.Option(min=0, help="Seed.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="LocalCluster worker processes.")] = 2,
    scheduler: Annotated[Optional[str], typer.Option(help="Existing Dask scheduler address.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
) -> None:
    """Simulate a calibrated SEER-like cohort as a Parquet dataset (OUT.schema.json, OUT.report.json beside it)."""
    from syntwin.cohort.files import sidecar, write_dataset
    from syntwin.cohort.simulate import SITES, simulate_cohort
    from syntwin.errors import OutputError, ScenarioError
    from syntwin.runtime import dask_client

    if site not in SITES:
        raise ScenarioError(f"unknown site {site!r}", field="--site", hint=f"use one of: {', '.join(SITES)}")
    if out.exists() and not overwrite:
        raise OutputError("output exists", file=str(out), hint="choose another --out or pass --overwrite")
    with dask_client(workers=workers, scheduler=scheduler):
        cohort = simulate_cohort(n, site=site, seed=seed)
        write_dataset(cohort, out, overwrite=overwrite)
    out_console.print(f"[green]wrote[/green] {n:,} simulated {site} patients -> {out} "
                      f"(schema: {sidecar(out, 'schema').name})")


@cohort_app.command("read")
def cohort_read(
    file: Annotated[Path, typer.Argument(help="Cohort file: CSV/TSV/TXT or Parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet dataset directory.")],
    mapping: MappingOption = DEFAULT_MAPPING,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
) -> None:
    """Read, clean and validate a cohort file; write it as Parquet with its schema and cleaning report beside it."""
    from syntwin.cohort.files import load_mapping, sidecar, write_dataset
    from syntwin.cohort.readers import read_cohort

    cohort = read_cohort(file, load_mapping(mapping))
    write_dataset(cohort, out, overwrite=overwrite)
    rep = cohort.report
    out_console.print(f"[green]wrote[/green] {rep.rows_read:,} patients ({rep.rows_dropped:,} left out) -> {out} "
                      f"(schema: {sidecar(out, 'schema').name}, report: {sidecar(out, 'report').name})")
    out_console.print(f"  features: {', '.join(cohort.schema.features)}; time: {cohort.schema.time}, "
                      f"event: {cohort.schema.event}", highlight=False)
    if rep.missing:
        out_console.print("  missing values: " + ", ".join(f"{c} {k}" for c, k in rep.missing.items()), highlight=False)
    _print_cleaning(rep.to_dict())


@cohort_app.command("mappings")
def cohort_mappings(
    name: Annotated[Optional[str], typer.Argument(help="A preset to print as YAML (omit to list them).")] = None,
) -> None:
    """List the built-in schema mappings, or print one as YAML to start your own from."""
    from syntwin.cohort.files import mapping_yaml
    from syntwin.cohort.presets import PRESETS

    if name is None:
        for key, m in sorted(PRESETS.items()):
            out_console.print(f"{key}\t{len(m.columns)} columns; time={m.time}, event={m.event.column if m.event else None}",
                              highlight=False)
        return
    sys.stdout.write(mapping_yaml(name))


@graph_app.command("build")
def graph_build(
    cohort: Annotated[Path, typer.Argument(help="Cohort: a `cohort simulate` folder, or a CSV/Parquet file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Graph directory to write.")],
    mapping: MappingOption = DEFAULT_MAPPING,
    k: Annotated[int, typer.Option(min=1, help="Neighbours per patient.")] = 15,
    method: Annotated[str, typer.Option(help="auto, exact or ivf.")] = "auto",
    resolution: Annotated[float, typer.Option(min=0.0, help="Leiden resolution.")] = 1.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="LocalCluster worker processes.")] = 2,
    scheduler: Annotated[Optional[str], typer.Option(help="Existing Dask scheduler address.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing graph directory.")] = False,
) -> None:
    """Build the Gower kNN graph + Leiden communities of a cohort and save it (Parquet + JSON)."""
    from syntwin.errors import OutputError, ScenarioError
    from syntwin.pipeline.cohort import cohort_encoder, similarity_graph
    from syntwin.runtime import dask_client

    if method not in ("auto", "exact", "ivf"):
        raise ScenarioError(f"unknown method {method!r}", field="--method", hint="use auto, exact or ivf")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError("output exists", file=str(out), hint="choose another --out or pass --overwrite")
    from syntwin.cohort.files import is_dataset, load_mapping, read_dataset

    if is_dataset(cohort):
        loaded = read_dataset(cohort)
    elif (cohort / "schema.json").is_file():
        from syntwin.cohort.simulate import read_simulated

        loaded = read_simulated(cohort)
    else:
        from syntwin.cohort.readers import read_cohort

        loaded = read_cohort(cohort, load_mapping(mapping))
    with dask_client(workers=workers, scheduler=scheduler) as client:
        df = loaded.data.compute().reset_index(drop=True)
        if len(df) < 2:
            raise ScenarioError("a graph needs at least 2 patients", file=str(cohort))
        encoder = cohort_encoder(loaded.schema, {}).fit(df)  # missing values: the default strategies
        graph, metrics = similarity_graph(encoder.transform(df), k=k, method=method, resolution=resolution,
                                          scale=encoder.scale_, client=client, seed=seed)
    graph.save(out)
    out_console.print(f"[green]wrote[/green] graph of {metrics['nodes']:,} patients -> {out}")
    for key in ("edges", "communities", "coverage", "recall_at_k", "modularity", "seconds_knn"):
        out_console.print(f"  {key}: {metrics[key]}")


@cluster_app.command("local")
def cluster_local(
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    threads_per_worker: Annotated[int, typer.Option(min=1, help="Threads per worker.")] = 1,
    memory_limit: Annotated[str, typer.Option(help="Memory limit per worker.")] = "auto",
    host: Annotated[str, typer.Option(help="Interface the scheduler listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, help="Scheduler port.")] = 8786,
    dashboard: Annotated[str, typer.Option(help="Dashboard address.")] = ":8787",
    scheduler_file: Annotated[Optional[Path], typer.Option(help="Write the address here (JSON).")] = None,
) -> None:
    """Start a scheduler and N workers on this machine until Ctrl-C; runs connect with --scheduler."""
    from syntwin.cluster import serve_local

    serve_local(workers, scheduler_file=scheduler_file, threads_per_worker=threads_per_worker,
                memory_limit=memory_limit, host=host, port=port, dashboard=dashboard)


@cluster_app.command("script")
def cluster_script(
    system: Annotated[str, typer.Argument(help="slurm or pbs.")] = "slurm",
    config: Annotated[Optional[Path], typer.Option(help="jobqueue YAML on top of Dask's config.")] = None,
) -> None:
    """Print the worker job script dask-jobqueue would submit with the current Dask configuration."""
    from syntwin.cluster import job_script

    sys.stdout.write(job_script(system, config_file=config) + "\n")


@cluster_app.command("jobqueue")
def cluster_jobqueue(
    system: Annotated[str, typer.Argument(help="slurm or pbs.")] = "slurm",
    jobs: Annotated[int, typer.Option(min=1, help="Worker jobs kept at least (retired ones are replaced).")] = 1,
    maximum_jobs: Annotated[Optional[int], typer.Option(min=1, help="Worker jobs at most (default --jobs).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="jobqueue YAML on top of Dask's config.")] = None,
    scheduler_file: Annotated[Optional[Path], typer.Option(help="Write the address here (JSON).")] = None,
) -> None:
    """Start an adaptive dask-jobqueue cluster (jobs..maximum-jobs worker jobs), serve until Ctrl-C."""
    from syntwin.cluster import serve_jobqueue

    serve_jobqueue(system, jobs=jobs, maximum_jobs=maximum_jobs, config_file=config, scheduler_file=scheduler_file)


@app.command()
def privacy(run_dir: Annotated[Path, typer.Argument(help="A run directory (with manifest.json).")]) -> None:
    """Print a run's privacy figures with their thresholds."""
    from rich.table import Table

    from syntwin.errors import StageError
    from syntwin.privacy import privacy_table
    from syntwin.summary import fmt

    try:
        table = privacy_table(run_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise StageError(str(exc), file=str(run_dir), hint="pass the --out folder of a finished cohort run") from None
    out = Table("metric", "value", "threshold", "passed", title=f"privacy of {run_dir}")
    for row in table.itertuples():
        threshold = "" if row.op is None else f"{row.op} {fmt(row.threshold)}"
        passed = "" if row.passed is None else ("yes" if row.passed else "NO")
        out.add_row(str(row.metric), fmt(row.value), threshold, passed)
    out_console.print(out)


@app.command("export")
def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A finished cohort run directory.")],
    fmt: Annotated[list[str], typer.Option("--format", "-f", help="parquet, csv, fhir, aggregates (repeatable).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Release folder (default RUN_DIR/release).")] = (
        None
    ),
    overwrite: Annotated[bool, typer.Option(help="Replace an existing release folder.")] = False,
) -> None:
    """Export a run's twins through its recorded privacy gate (refused if the gate did not pass)."""
    from syntwin.errors import ScenarioError
    from syntwin.export import FORMATS, export_run

    bad = [f for f in fmt if f not in FORMATS]
    if bad:
        raise ScenarioError(f"unknown format(s) {bad}", field="--format", hint=f"use: {', '.join(FORMATS)}")
    manifest = export_run(run_dir, fmt, out=out, overwrite=overwrite)
    out_console.print(f"[green]exported[/green] {manifest['rows']:,} twins as {', '.join(manifest['formats'])} "
                      f"-> {out or run_dir / 'release'}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (with manifest.json).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file (default RUN_DIR/report.html).")] = None,
) -> None:
    """Render a run directory's self-contained HTML report."""
    from syntwin.report import render_report

    path = render_report(run_dir, out)
    out_console.print(f"[green]wrote[/green] {path}")


@app.command()
def whatif(
    run_dir: Annotated[Path, typer.Argument(help="A finished cohort run with a counterfactual section.")],
    patient: Annotated[int, typer.Option("--patient", "-p", help="Held-out patient row (0-based).")] = 0,
) -> None:
    """Print one held-out patient's survival under each treatment option, per estimator."""
    from rich.table import Table

    from syntwin.pipeline.counterfactual import whatif as whatif_rows

    settings, rows = whatif_rows(run_dir, patient)
    pat = ", ".join(f"{k}: {v}" for k, v in settings["patient"].items())
    out = Table("estimator", *[f"S({o}) at {settings['horizon_months']:g} mo [95% CI]" for o in settings["options"]],
                f"effect {settings['effect']}", title=f"what if {settings['treatment']}? patient {pat}")
    cell = lambda v: "" if v is None else f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"  # noqa: E731
    for r in rows:
        out.add_row(r["estimator"], *[cell(r.get(o)) for o in settings["options"]], cell(r["effect"]))
    out_console.print(out)
    out_console.print(f"[dim]{settings['assumption']}[/dim]")


@app.command()
def dashboard(
    scenario: Annotated[str, typer.Argument(help="A crowd scenario file, or the name of a shipped one.")],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to serve on.")] = 8521,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    warmup_min: Annotated[int, typer.Option(min=0, help="Minutes simulated before the page opens.")] = 30,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a field: --set live.stream=x.csv")] = (
        None
    ),
) -> None:
    """Serve a live view of a crowd twin (Mesa SolaraViz): floor plan, counts, exposure, interventions."""
    import os

    from syntwin.dashboard import OVERRIDES_ENV, SCENARIO_ENV, WARMUP_ENV
    from syntwin.errors import ScenarioError
    from syntwin.scenario.load import load_scenario

    path = _resolve_scenario(scenario)
    model = load_scenario(path, set_)
    if model.kind != "crowd":
        raise ScenarioError(f"the dashboard shows crowd scenarios; {path} is a {model.kind} scenario",
                            file=str(path), field="kind", hint="pass a crowd scenario, e.g. canteen_lunch")
    try:
        import solara  # noqa: F401
        import mesa.visualization  # noqa: F401
    except ImportError as exc:
        raise ScenarioError(f"the dashboard needs the dashboard extra ({exc.name} is missing)",
                            hint="pip install 'syntwin[dashboard]'") from None
    env = {**os.environ, SCENARIO_ENV: str(Path(path).absolute()), WARMUP_ENV: str(warmup_min),
           OVERRIDES_ENV: json.dumps(list(set_ or []))}
    err_console.print(f"serving {model.name} on http://{host}:{port}/ (Ctrl-C stops)")
    code = _serve_until_stopped([sys.executable, "-m", "solara", "run", "syntwin._dashboard_app", "--production",
                                 "--no-open", "--host", host, "--port", str(port)], env)
    if code not in (0, -2, -15, 130, 143):
        raise typer.Exit(code)


def _serve_until_stopped(command: list[str], env: dict[str, str]) -> int:
    """Run the server ``command`` as a child and return its exit code; SIGTERM, SIGHUP or Ctrl-C sent to this
    process stop the child too (a service manager or ``kill`` signals this process only)."""
    import signal
    import subprocess

    child = subprocess.Popen(command, env=env)

    def stop(signum, frame) -> None:
        child.terminate()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # Ctrl-C reaches the child too; wait for it to finish
                child.terminate()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if child.poll() is None:
            child.kill()
            child.wait()


def main() -> None:
    """Entry point: run the app, turning syntwin errors into one line and exit code 2."""
    try:
        code = app(standalone_mode=False)  # click returns the code of typer.Exit in this mode
        if isinstance(code, int) and code:
            sys.exit(code)
    except SyntwinError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, markup=True)
        sys.exit(exc.exit_code)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors and unexpected failures
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click (or typer's vendored click) usage error
            exc.show()
            sys.exit(2)
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]internal error:[/bold red] {type(exc).__name__}: {exc} "
                          "(rerun with --debug for the traceback, and please report it)", markup=True)
        sys.exit(1)


__all__ = ["app", "main"]
