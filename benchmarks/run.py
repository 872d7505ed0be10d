#!/usr/bin/env python3
"""Benchmark pathverdict against R DESeq2 and the whole workflow; prints ONE table.

Usage (from the repository, after ``source tools/bootstrap.sh``)::

    python benchmarks/run.py                      # everything (about 10 min on 2 quiet cores)
    python benchmarks/run.py --no-workflow        # the DE stage only
    python benchmarks/run.py --cases li2008_lncap synthetic_60000x12 --runs 5
    python benchmarks/run.py --quick --no-r       # tiny synthetic matrix, 1 run, no workflow (the test)
    python benchmarks/run.py --cases synthetic_60000x2000 --no-r --no-workflow --runs 1   # the memory bound

Rows of the table:

* **DE stage** on each real count set of the shared data and on seeded synthetic
  negative-binomial matrices (60,000 genes x 12 samples, 20,000 x 100; written once to
  ``benchmarks/.cache``): ours is ``benchmarks/de_stage.py`` (read the raw matrix, the
  workflow's pre-filter, ``run_deseq2``, write the results), R is ``tools/deseq2_reference.R``
  (read the same pre-filtered matrix, ``DESeq()`` + ``results(alpha = 0.05)``, write the
  results), each a process under ``/usr/bin/time -v`` (wall clock and maximum resident set
  size). Ours and R run alternately, ``--runs`` times each (median shown). "DE s" is the time
  of the fit alone inside the process (``run_deseq2`` / ``DESeq()`` + ``results()``), without
  interpreter start-up, package loading and file I/O; "CPU s" is user + system time of the
  process (all threads). **Whole DE step** (columns "step ..."; on every case of >= 20 M cells,
  on any case with ``--step``): ``de_stage.py --step``, the deseq2 rule's step function
  ``steps.run_de`` (read the matrix as int32, fit, results, write ``de.tsv``, the normalised
  counts and the VST, gzipped), once; the 2 GB bound is asserted on it as well. BLAS/OpenMP threads are set to
  ``--threads`` (default 1: R's DESeq() is single-threaded) for both.
  The fidelity targets of ``tools/fidelity_vs_r.py`` (LFC Pearson >= 0.999, padj < 0.05 call
  agreement >= 99% over the genes R tested) are checked on the last run's two result tables
  with that script's own comparison.
* **Workflow** end to end on the offline demo study (``config/demo.yaml`` with the shared data
  path made absolute, in a fresh temporary working directory): cold (no results) and warm
  (nothing to redo, median of ``--warm-runs``) at each of ``--cores-list``. Peak RSS is the
  largest single process of the run (``/usr/bin/time -v`` reports the largest descendant);
  the largest job is read from the Snakemake benchmark files of the heavy rules deseq2,
  null_permutations and gsea (``logs/<study>/benchmarks/<rule>/<dataset>.tsv`` under the working
  directory, column ``max_rss``);
  "at once" is the largest number of jobs running at the same time, from the Snakemake log.

Targets (column "targets"): DE stage <= 1.5x R (stretch: <= 1.0x) on both the process wall
time and the fit time, fidelity, peak RSS <= 2 GB; workflow cold <= 180 s, warm <= 10 s,
jobs of different datasets running in parallel when --cores > 1.

Exit status: 0 ran (whatever the targets), 1 a measured command failed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without `pip install -e`
    sys.path.insert(0, str(REPO / "src"))

DE_STAGE = REPO / "benchmarks" / "de_stage.py"
DEFAULT_CACHE = REPO / "benchmarks" / ".cache"
TIME_BIN = "/usr/bin/time"

TARGET_RATIO = 1.5
STRETCH_RATIO = 1.0
TARGET_RSS_MB = 2048.0
TARGET_GGP_RATIO = 0.3  # issue 14: <= 0.3x the time of DESeq(fitType = "glmGamPoi") on every case
TARGET_COLD_S = 180.0
TARGET_WARM_S = 10.0
BUSY_CORES = 0.2  # mean CPU of other processes above which the header says the machine was loaded


def _load_fidelity():
    """tools/fidelity_vs_r.py as a module (its dataset list, R check and comparison)."""
    if "fidelity_vs_r" in sys.modules:  # e.g. imported by the tests from tools/
        return sys.modules["fidelity_vs_r"]
    spec = importlib.util.spec_from_file_location("fidelity_vs_r", REPO / "tools" / "fidelity_vs_r.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fidelity_vs_r"] = mod  # before exec: its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


fid = _load_fidelity()


# --------------------------------------------------------------------------- measuring one process


@dataclass
class Measured:
    wall: float  # seconds
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    how: str  # "/usr/bin/time -v" or "wait4"
    cpu: float = float("nan")  # user + system seconds of the process and its children


def parse_time_v(text: str) -> tuple[float, float]:
    """(wall seconds, maximum resident set size in MB) from ``/usr/bin/time -v`` output."""
    wall, rss, _ = parse_time_v_cpu(text)
    return wall, rss


def parse_time_v_cpu(text: str) -> tuple[float, float, float]:
    """(wall seconds, maximum resident set size in MB, user + system CPU seconds) from
    ``/usr/bin/time -v`` output (CPU NaN when the output lacks the two lines)."""
    wall = rss = None
    cpu = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("User time (seconds)", "System time (seconds)")):
            cpu[line.split()[0]] = float(line.rsplit(": ", 1)[1])
        elif line.startswith("Elapsed (wall clock) time"):
            value = line.rsplit(": ", 1)[1].strip()
            parts = [float(p) for p in value.split(":")]
            wall = 0.0
            for p in parts:
                wall = wall * 60 + p
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(": ", 1)[1]) / 1024.0
    if wall is None or rss is None:
        raise ValueError(f"no wall clock / maximum resident set size in /usr/bin/time output:\n{text}")
    return wall, rss, (cpu["User"] + cpu["System"]) if len(cpu) == 2 else float("nan")


def measure(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> Measured:
    """Run ``cmd`` as a subprocess under ``/usr/bin/time -v``; without that binary, time it here
    and take ``ru_maxrss`` from ``os.wait4`` (the same number: the largest process of the tree)."""
    if os.access(TIME_BIN, os.X_OK):
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
            tfile = tf.name
        try:
            proc = subprocess.run([TIME_BIN, "-v", "-o", tfile, *cmd], capture_output=True, text=True, env=env, cwd=cwd)
            with open(tfile) as fh:
                wall, rss, cpu = parse_time_v_cpu(fh.read())
        finally:
            os.unlink(tfile)
        return Measured(wall, rss, proc.returncode, proc.stdout, proc.stderr, "/usr/bin/time -v", cpu)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            wall,
            usage.ru_maxrss / 1024.0,
            proc.returncode,
            out.read(),
            err.read(),
            "wait4",
            usage.ru_utime + usage.ru_stime,
        )


class OtherLoad:
    """CPU used by processes outside this benchmark (in cores), sampled every ``interval`` s from
    /proc: the sum of utime + stime increments of every process that is not this one or one of
    its descendants. The load average cannot tell the benchmark's own work from other people's;
    this can (processes that start and end between two samples are missed)."""

    def __init__(self, interval: float = 1.0):
        import threading

        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (monotonic time, cores used by others)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def _snapshot() -> dict[int, tuple[int, int]]:
        out = {}
        for d in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
            out[int(d.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
        return out

    def _run(self) -> None:
        me = os.getpid()
        prev, t_prev = self._snapshot(), time.monotonic()
        while not self._stop.wait(self.interval):
            cur, t = self._snapshot(), time.monotonic()
            ours: dict[int, bool] = {me: True}

            def is_ours(pid: int) -> bool:
                chain = []
                while pid not in ours and pid > 1 and pid in cur:
                    chain.append(pid)
                    pid = cur[pid][0]
                verdict = ours.get(pid, False)
                for c in chain:
                    ours[c] = verdict
                return verdict

            ticks = sum(c[1] - prev[pid][1] for pid, c in cur.items() if pid in prev and not is_ours(pid))
            self.samples.append((t, max(ticks, 0) / self._tick / (t - t_prev)))
            prev, t_prev = cur, t

    def start(self) -> "OtherLoad":
        if Path("/proc/self/stat").exists():
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def stats(self, t0: float, t1: float) -> tuple[float, float] | None:
        """(mean, max) cores used by other processes between t0 and t1, None without samples."""
        vals = [v for t, v in self.samples if t0 <= t <= t1 + self.interval]
        return (statistics.fmean(vals), max(vals)) if vals else None


OTHER = OtherLoad()


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "GOTO_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        env[var] = str(threads)
    return env


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    design: str
    contrast: tuple[str, str, str]
    source: str  # "real" or "synthetic"
    n_genes: int = 0  # synthetic only
    n_per_group: int = 0
    generator: str = ""  # synthetic: "fit_nb:<real set>" or "simple"


SYNTH_DESIGN = ("~condition", ("condition", "treated", "control"))
SYNTH_SEED = 20251121
SYNTH_PLANTED_FRACTION = 0.1  # of the genes, |log2FC| 1, half up half down

CASES = {
    c.name: c
    for c in [
        *(Case(d.name, d.design, tuple(d.contrast), "real") for d in fid.DATASETS.values()),
        Case("synthetic_60000x12", *SYNTH_DESIGN, "synthetic", 60000, 6, "fit_nb:geuvadis_lcl_sex"),
        Case("synthetic_20000x100", *SYNTH_DESIGN, "synthetic", 20000, 50, "fit_nb:geuvadis_lcl_sex"),
        Case("synthetic_quick_2000x6", *SYNTH_DESIGN, "synthetic", 2000, 3, "simple"),
        # cohort-sized matrices (issue 14), run with --large (R DESeq2 takes minutes to tens of minutes on them)
        Case("synthetic_30000x200", *SYNTH_DESIGN, "synthetic", 30000, 100, "fit_nb:geuvadis_lcl_sex"),
        Case("synthetic_60000x600", *SYNTH_DESIGN, "synthetic", 60000, 300, "fit_nb:geuvadis_lcl_sex"),
        Case("synthetic_60000x2000", *SYNTH_DESIGN, "synthetic", 60000, 1000, "fit_nb:geuvadis_lcl_sex"),
    ]
}
LARGE_CASES = ["synthetic_30000x200", "synthetic_60000x600", "synthetic_60000x2000"]
DEFAULT_CASES = [n for n in CASES if "quick" not in n and n not in LARGE_CASES]
# the memory bound is asserted (exit status 1 when missed) on every case of at least this many cells
MEMORY_BOUND_CELLS = 20_000_000
QUICK_CASES = ["synthetic_quick_2000x6"]


def is_large(case: Case, cache: Path, shared: Path) -> bool:
    """A case of at least MEMORY_BOUND_CELLS cells (synthetic: from its spec; real: from its file)."""
    if case.source == "synthetic":
        return case.n_genes * 2 * case.n_per_group >= MEMORY_BOUND_CELLS
    try:
        from pathverdict.tables import estimate_cells

        counts, _ = case_files(case, cache, shared)
        return (estimate_cells(counts) or 0) >= MEMORY_BOUND_CELLS
    except fid.Unavailable:
        return False


def _spec_key(case: Case) -> str:
    spec = json.dumps([case.n_genes, case.n_per_group, case.generator, SYNTH_SEED, SYNTH_PLANTED_FRACTION, 1])
    return hashlib.sha256(spec.encode()).hexdigest()[:10]


def _simple_params(n_genes: int, rng):
    """A seeded NB parameter table without real data: log-normal means, trend 0.05 + 1/mean
    times a log-normal spread."""
    import numpy as np
    import pandas as pd

    mean = np.exp(rng.normal(4.0, 1.8, n_genes))
    disp = np.clip((0.05 + 1.0 / mean) * np.exp(rng.normal(0.0, 0.5, n_genes)), 1e-4, 10.0)
    return pd.DataFrame({"mean": mean, "dispersion": disp})


def synthetic_files(case: Case, cache: Path, shared: Path) -> tuple[Path, Path]:
    """Counts and samples of a synthetic case, generated once (fixed seed) into ``cache``."""
    import numpy as np

    from pathverdict.simulation import simulate

    folder = cache / "synthetic" / f"{case.name}_{_spec_key(case)}"
    counts_path, samples_path = folder / "counts.tsv", folder / "samples.tsv"
    if counts_path.is_file() and samples_path.is_file():
        return counts_path, samples_path
    rng = np.random.default_rng(SYNTH_SEED)
    if case.generator.startswith("fit_nb:"):
        real = fid.DATASETS[case.generator.split(":", 1)[1]]
        counts, samples = fid.load_dataset(shared, real)
        fitted = simulate.fit_nb(counts, samples, group=real.contrast[0])
        rows = rng.choice(len(fitted), size=case.n_genes, replace=True)
        params = fitted.iloc[rows][["mean", "dispersion"]].reset_index(drop=True)
    else:
        params = _simple_params(case.n_genes, rng)
    params.index = [f"G{i + 1:06d}" for i in range(len(params))]
    planted = simulate.plant_effect(list(params.index), SYNTH_SEED, fraction=SYNTH_PLANTED_FRACTION, log2fc=1.0)
    counts, sheet = simulate.simulate(params, n_per_group=case.n_per_group, planted=planted, seed=SYNTH_SEED)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "counts.tsv.part"
    counts.to_csv(tmp, sep="\t", lineterminator="\n")
    sheet.to_csv(samples_path, sep="\t", index=False, lineterminator="\n")
    (folder / "spec.json").write_text(
        json.dumps(
            {
                "case": case.name,
                "genes": case.n_genes,
                "samples": 2 * case.n_per_group,
                "generator": case.generator,
                "seed": SYNTH_SEED,
                "planted_fraction": SYNTH_PLANTED_FRACTION,
                "planted_log2fc": 1.0,
                "model": "pathverdict.simulation.simulate.simulate (NB, log-normal size factors sd 0.15)",
            },
            indent=1,
        )
    )
    tmp.rename(counts_path)
    return counts_path, samples_path


def case_files(case: Case, cache: Path, shared: Path) -> tuple[Path, Path]:
    if case.source == "real":
        folder = shared / "counts" / case.name
        for p in (folder / "counts.tsv.gz", folder / "samples.tsv"):
            if not p.is_file():
                raise fid.Unavailable(f"{p} not found (--shared or $PATHVERDICT_SHARED)")
        return folder / "counts.tsv.gz", folder / "samples.tsv"
    return synthetic_files(case, cache, shared)


def prefiltered_for_r(case: Case, counts_path: Path, samples_path: Path, cache: Path) -> tuple[Path, Path]:
    """The matrix R gets for the workflow's default DE settings (``fid.r_input``: the raw matrix, as no
    pre-filter is the default; our pre-filter when ``fid.MIN_COUNT`` > 0), in sample order, cached."""
    import numpy as np
    import pandas as pd

    key = hashlib.sha256(f"{counts_path.resolve()}:{counts_path.stat().st_mtime_ns}:{fid.MIN_COUNT}".encode())
    folder = cache / "prefiltered" / f"{case.name}_{key.hexdigest()[:10]}"
    out_counts, out_samples = folder / "counts.tsv", folder / "samples.tsv"
    if out_counts.is_file() and out_samples.is_file():
        return out_counts, out_samples
    counts = pd.read_csv(counts_path, sep="\t", index_col=0)
    counts.index = counts.index.astype(str)
    samples = pd.read_csv(samples_path, sep="\t", dtype=str, keep_default_na=False).set_index("sample")
    counts = counts[list(samples.index)].astype(np.int64)
    filtered = fid.r_input(counts, samples, case.contrast, fid.MIN_COUNT)
    folder.mkdir(parents=True, exist_ok=True)
    filtered.rename_axis("gene_id").to_csv(folder / "counts.tsv.part", sep="\t", lineterminator="\n")
    samples.rename_axis("sample").to_csv(out_samples, sep="\t", lineterminator="\n")
    (folder / "counts.tsv.part").rename(out_counts)
    return out_counts, out_samples


# --------------------------------------------------------------------------- DE stage: ours vs R


@dataclass
class DERow:
    case: str
    genes_in: int = 0
    genes_tested: int = 0
    samples: int = 0
    runs: int = 0
    ours_wall: list = field(default_factory=list)
    ours_fit: list = field(default_factory=list)
    ours_rss: list = field(default_factory=list)
    ours_cpu: list = field(default_factory=list)  # user + system seconds of the process
    # the workflow's whole DE step (steps.run_de via de_stage.py --step): read, fit, write every table
    step_wall: list = field(default_factory=list)
    step_cpu: list = field(default_factory=list)
    step_rss: list = field(default_factory=list)
    r_wall: list = field(default_factory=list)
    r_fit: list = field(default_factory=list)
    r_rss: list = field(default_factory=list)
    r_cpu: list = field(default_factory=list)  # user + system seconds of the R process
    g_wall: list = field(default_factory=list)  # R DESeq2 with fitType = "glmGamPoi"
    g_fit: list = field(default_factory=list)
    g_rss: list = field(default_factory=list)
    fidelity: dict | None = None
    span: tuple = ()  # monotonic (start, end) of the row's runs
    error: str = ""
    engine: str = "r_exact"  # de.engine of "ours" (--engines)
    tree_rss: list = field(default_factory=list)  # largest sum over the process and its children (de_stage.py)
    target: str = ""  # the target pathway's rank and status (ORA of all DE genes) from our table
    target_r: str = ""  # ... and from R's


def _median(values):
    return statistics.median(values) if values else float("nan")


def glmgampoi_available() -> bool:
    """R has DESeq2 and glmGamPoi (Debian: r-bioc-glmgampoi)."""
    try:
        proc = subprocess.run(
            [
                "Rscript",
                "-e",
                (
                    'quit(status = if (requireNamespace("DESeq2", quietly = TRUE) && '
                    'requireNamespace("glmGamPoi", quietly = TRUE)) 0 else 3)'
                ),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return False
    return proc.returncode == 0


def run_de_case(
    case: Case,
    cache: Path,
    shared: Path,
    runs: int,
    with_r: bool,
    threads: int,
    workdir: Path,
    log,
    with_ggp: bool = False,
    de_threads: int = 1,
    step: bool = False,
    engine: str = "r_exact",
    r_reference: Path | None = None,
) -> DERow:
    """Our DE stage (``engine``) and, ``with_r``, R on one case, ``runs`` times each, alternately; the
    agreement with R's results (of this run, or ``r_reference``: R's table of an earlier call) and, on
    the real sets, the target's verdict from both tables."""
    import pandas as pd

    counts_path, samples_path = case_files(case, cache, shared)
    r_counts, r_samples = prefiltered_for_r(case, counts_path, samples_path, cache) if with_r else (None, None)
    var, tested, reference = case.contrast
    ours_out = workdir / f"{case.name}.{engine}.tsv"
    r_out = workdir / f"{case.name}.R.tsv"
    ours_cmd = [
        sys.executable,
        str(DE_STAGE),
        "--engine",
        engine,
        str(counts_path),
        str(samples_path),
        case.design,
        var,
        tested,
        reference,
        str(ours_out),
    ]
    r_cmd = [
        "Rscript",
        str(fid.R_SCRIPT),
        str(r_counts),
        str(r_samples),
        case.design,
        var,
        tested,
        reference,
        str(r_out),
    ]
    g_out = workdir / f"{case.name}.glmGamPoi.tsv"
    g_cmd = [
        "Rscript",
        str(fid.R_SCRIPT),
        str(r_counts),
        str(r_samples),
        case.design,
        var,
        tested,
        reference,
        str(g_out),
        "glmGamPoi",
    ]
    env = thread_env(threads)
    ours_env = dict(env, PATHVERDICT_DE_THREADS=str(de_threads))
    row = DERow(case.name, runs=runs, engine=engine)
    t_start = time.monotonic()
    for k in range(runs):
        row.span = (t_start, time.monotonic())
        m = measure(ours_cmd, env=ours_env)
        if m.returncode != 0:
            row.error = f"ours failed (exit {m.returncode}): {m.stderr[-2000:]}"
            return row
        info = json.loads(m.stdout.strip().splitlines()[-1])
        row.ours_wall.append(m.wall)
        row.ours_fit.append(info["seconds"])
        row.ours_rss.append(m.max_rss_mb)
        row.ours_cpu.append(max(m.cpu, info.get("cpu_tree_s", 0.0)))  # pydeseq2's workers: de_stage.TreeRSS
        row.tree_rss.append(max(m.max_rss_mb, info.get("peak_tree_rss_mb", 0.0)))
        row.genes_in, row.genes_tested, row.samples = info["genes_in"], info["genes_tested"], info["samples"]
        log(
            f"  run {k + 1}/{runs} ours: {m.wall:.2f} s wall, {m.cpu:.2f} s CPU, {info['seconds']:.2f} s fit, "
            f"{m.max_rss_mb:.0f} MB"
        )
        r_runs = [("R", r_cmd, r_out, (row.r_wall, row.r_fit, row.r_rss, row.r_cpu))] if with_r else []
        if with_r and with_ggp:
            r_runs.append(("R + glmGamPoi", g_cmd, g_out, (row.g_wall, row.g_fit, row.g_rss, [])))
        for label, cmd, out, (walls, fits, rss, cpus) in r_runs:
            m = measure(cmd, env=env)
            if m.returncode != 0:
                row.error = f"{label} failed (exit {m.returncode}): {m.stderr[-2000:]}"
                return row
            meta = pd.read_csv(str(out) + ".meta.tsv", sep="\t", dtype=str, keep_default_na=False)
            seconds = float(dict(zip(meta["key"], meta["value"]))["seconds"])
            walls.append(m.wall)
            fits.append(seconds)
            rss.append(m.max_rss_mb)
            cpus.append(m.cpu)
            log(f"  run {k + 1}/{runs} {label}: {m.wall:.2f} s wall, {seconds:.2f} s fit, {m.max_rss_mb:.0f} MB")
    if step:  # the whole DE step as the deseq2 rule runs it, once (its tables are large: a temporary folder)
        with tempfile.TemporaryDirectory(prefix="step_", dir=workdir) as out_dir:
            m = measure(
                [sys.executable, str(DE_STAGE), "--engine", engine, "--step", *ours_cmd[4:-1], out_dir],
                env=ours_env,
            )
        if m.returncode != 0:
            row.error = f"ours (whole step) failed (exit {m.returncode}): {m.stderr[-2000:]}"
            return row
        row.step_wall.append(m.wall)
        row.step_cpu.append(m.cpu)
        row.step_rss.append(m.max_rss_mb)
        log(f"  whole DE step (steps.run_de): {m.wall:.2f} s wall, {m.cpu:.2f} s CPU, {m.max_rss_mb:.0f} MB")
    row.span = (t_start, time.monotonic())
    reference_table = r_out if with_r else r_reference
    if reference_table is not None and Path(reference_table).is_file():
        ours = pd.read_csv(ours_out, sep="\t", index_col=0, na_values=["NA"], keep_default_na=False)
        ref = pd.read_csv(reference_table, sep="\t", index_col=0, na_values=["NA"], keep_default_na=False)
        ours.index, ref.index = ours.index.astype(str), ref.index.astype(str)
        row.fidelity = fid.compare_results(ours, ref)
        row.fidelity["pass"] = bool(
            row.fidelity["lfc_pearson"] >= fid.LFC_PEARSON_TARGET
            and row.fidelity["call_agreement_pct"] >= fid.CALL_AGREEMENT_TARGET
        )
        if case.source == "real":
            row.target = fid.format_target(fid.target_verdict(ours, shared))
            row.target_r = fid.format_target(fid.target_verdict(ref, shared))
    return row


# --------------------------------------------------------------------------- the workflow on the demo


@dataclass
class WorkflowRow:
    label: str
    cores: int
    kind: str  # "cold" or "warm"
    wall: list = field(default_factory=list)
    max_rss_mb: float = float("nan")  # largest process of the run
    jobs: int = 0
    largest_job: tuple | None = None  # (rule, dataset, max_rss MB, seconds)
    slowest_job: tuple | None = None
    max_at_once: int = 0
    datasets_at_once: int = 0  # most jobs of different datasets running at the same time
    span: tuple = ()
    error: str = ""


def read_benchmark_files(workdir: Path) -> list[tuple[str, str, float, float]]:
    """(rule, dataset, max_rss MB, seconds) from ``logs/<study>/benchmarks/<rule>/<dataset>.tsv`` under the
    working directory (the ``benchmark:`` files of the heavy rules; the last line is the last repeat)."""
    import pandas as pd

    out = []
    root = workdir / "logs"
    for path in sorted(root.glob("*/benchmarks/*/*.tsv")) if root.is_dir() else []:
        table = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
        if table.empty:
            continue
        last = table.iloc[-1]
        out.append((path.parent.name, path.stem, float(last.get("max_rss", float("nan"))), float(last["s"])))
    return out


_START = re.compile(r"^(?:local)?rule (\S+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")
_FINISH = re.compile(r"^Finished jobid: (\d+)")


def concurrency_from_log(text: str) -> tuple[int, int, int]:
    """(jobs started, most jobs running at once, most jobs of *different datasets* running at
    once) from Snakemake's console log, read in order."""
    running: dict[str, str | None] = {}  # jobid -> dataset wildcard
    pending_rule = None
    started = most = most_datasets = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _START.match(line.strip()) and not line.startswith(" "):
            pending_rule = i
            continue
        m = _JOBID.match(line)
        if m and pending_rule is not None:
            dataset = None
            for follow in lines[i + 1 : i + 6]:
                w = _WILDCARDS.match(follow)
                if w:
                    d = re.search(r"dataset=([^,\s]+)", w.group(1))
                    dataset = d.group(1) if d else None
                    break
            running[m.group(1)] = dataset
            started += 1
            pending_rule = None
            most = max(most, len(running))
            most_datasets = max(most_datasets, len({d for d in running.values() if d}))
            continue
        m = _FINISH.match(line)
        if m:
            running.pop(m.group(1), None)
    return started, most, most_datasets


def demo_config(shared: Path, workdir: Path) -> Path:
    text = (REPO / "config" / "demo.yaml").read_text().replace("../shared/data", str(shared))
    path = workdir / "demo.yaml"
    path.write_text(text)
    return path


def snakemake_cmd(workdir: Path, configfile: Path, cores: int) -> list[str]:
    exe = Path(sys.executable).with_name("snakemake")
    return [
        str(exe) if exe.exists() else "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        str(cores),
        "--nocolor",
        # the workflow profile (profiles/default) hides the job blocks (`quiet: [rules, host]`);
        # concurrency_from_log needs them: this replaces that setting for the benchmark's runs
        "--quiet",
        "host",
        "--configfile",
        str(configfile),
    ]


def run_workflow(shared: Path, cores_list: list[int], warm_runs: int, keep: bool, log) -> list[WorkflowRow]:
    rows = []
    for cores in cores_list:
        workdir = Path(tempfile.mkdtemp(prefix=f"pathverdict_bench_demo_c{cores}_"))
        try:
            cfg = demo_config(shared, workdir)
            cmd = snakemake_cmd(workdir, cfg, cores)
            cold = WorkflowRow(f"demo workflow, cold, --cores {cores}", cores, "cold")
            t0 = time.monotonic()
            m = measure(cmd, cwd=workdir)
            cold.span = (t0, time.monotonic())
            if m.returncode != 0:
                cold.error = f"snakemake failed (exit {m.returncode}): {(m.stdout + m.stderr)[-3000:]}"
                rows.append(cold)
                continue
            cold.wall.append(m.wall)
            cold.max_rss_mb = m.max_rss_mb
            cold.jobs, cold.max_at_once, cold.datasets_at_once = concurrency_from_log(m.stdout + m.stderr)
            bench = read_benchmark_files(workdir)
            if bench:
                cold.largest_job = max(bench, key=lambda b: b[2])
                cold.slowest_job = max(bench, key=lambda b: b[3])
            log(
                f"  cold --cores {cores}: {m.wall:.1f} s, {m.max_rss_mb:.0f} MB, {cold.jobs} jobs, "
                f"{cold.max_at_once} at once"
            )
            rows.append(cold)
            warm = WorkflowRow(f"demo workflow, warm, --cores {cores}", cores, "warm")
            t0 = time.monotonic()
            for _ in range(warm_runs):
                m = measure(cmd, cwd=workdir)
                warm.span = (t0, time.monotonic())
                text = m.stdout + m.stderr
                if m.returncode != 0 or "Nothing to be done" not in text:
                    warm.error = f"warm run redid work or failed (exit {m.returncode}): {text[-3000:]}"
                    break
                warm.wall.append(m.wall)
                warm.max_rss_mb = max(m.max_rss_mb, warm.max_rss_mb) if warm.wall[:-1] else m.max_rss_mb
                log(f"  warm --cores {cores}: {m.wall:.1f} s")
            rows.append(warm)
        finally:
            if keep:
                log(f"  kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------- the table


def _fmt(x, digits=1):
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return f"{x:.{digits}f}"


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"


def _other_note(span) -> str:
    st = OTHER.stats(*span) if span else None
    return f"others {st[0]:.1f} cores (max {st[1]:.1f})" if st else ""


def build_table(de_rows: list[DERow], wf_rows: list[WorkflowRow], with_r: bool) -> tuple[list[str], list[list[str]]]:
    head = ["case", "genes in / tested x samples", "runs", "ours wall s", "ours CPU s", "ours DE s", "ours peak RSS MB"]
    with_ggp = with_r and any(r.g_wall for r in de_rows)
    with_step = any(r.step_wall for r in de_rows)
    if with_step:
        head += ["step wall s", "step CPU s", "step peak RSS MB"]
    if with_r:
        head += ["R wall s", "R DE s", "R peak RSS MB", "ours/R wall", "ours/R DE", "LFC Pearson", "padj-call agree %"]
    if with_ggp:
        head += ["R+glmGamPoi wall s", "R+glmGamPoi DE s", "R+glmGamPoi peak RSS MB", "ours/glmGamPoi (worse)"]
    head += ["targets", "notes"]
    rows = []
    for r in de_rows:
        cells = [
            r.case + ("" if r.engine == "r_exact" else f" [{r.engine}]"),
            f"{r.genes_in} / {r.genes_tested} x {r.samples}",
            str(len(r.ours_wall)),
            _fmt(_median(r.ours_wall), 2),
            _fmt(_median(r.ours_cpu), 2),
            _fmt(_median(r.ours_fit), 2),
            _fmt(max(r.ours_rss, default=None), 0),
        ]
        if with_step:
            cells += [
                _fmt(_median(r.step_wall), 2),
                _fmt(_median(r.step_cpu), 2),
                _fmt(max(r.step_rss, default=None), 0),
            ]
        targets = []
        if r.ours_rss:
            bound = " (asserted)" if r.genes_in * r.samples >= MEMORY_BOUND_CELLS else ""
            what = " incl. whole step" if r.step_rss else ""
            targets.append(f"rss{what} {_ok(peak_rss(r) <= TARGET_RSS_MB)}{bound}")
        if with_r:
            rw, rf = _median(r.ours_wall) / _median(r.r_wall), _median(r.ours_fit) / _median(r.r_fit)
            f = r.fidelity or {}
            cells += [
                _fmt(_median(r.r_wall), 2),
                _fmt(_median(r.r_fit), 2),
                _fmt(max(r.r_rss, default=None), 0),
                _fmt(rw, 2),
                _fmt(rf, 2),
                _fmt(f.get("lfc_pearson"), 9),
                _fmt(f.get("call_agreement_pct"), 2),
            ]
            if r.r_wall:
                worst = max(rw, rf)
                targets.insert(0, f"<=1.5x {_ok(worst <= TARGET_RATIO)}, <=1.0x {_ok(worst <= STRETCH_RATIO)}")
            if f and r.engine == "r_exact":  # the fidelity target is r_exact's; pydeseq2's rows say how far it is
                targets.append(f"fidelity {_ok(f['pass'])}")
        if with_ggp:
            g = (
                max(_median(r.ours_wall) / _median(r.g_wall), _median(r.ours_fit) / _median(r.g_fit))
                if r.g_wall
                else float("nan")
            )
            cells += [
                _fmt(_median(r.g_wall), 2),
                _fmt(_median(r.g_fit), 2),
                _fmt(max(r.g_rss, default=None), 0),
                _fmt(g, 2),
            ]
            if r.g_wall:
                targets.append(f"<={TARGET_GGP_RATIO}x glmGamPoi {_ok(g <= TARGET_GGP_RATIO)}")
        notes = []
        if r.error:
            notes.append(r.error.splitlines()[0][:120])
        notes.append(_other_note(r.span))
        rows.append(cells + ["; ".join(targets), "; ".join(n for n in notes if n)])
    n_demo = len(yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["datasets"]) if wf_rows else 0
    for w in wf_rows:
        cells = [
            w.label,
            f"{n_demo} simulated data sets" + (f", {w.jobs} jobs" if w.jobs else ""),
            str(len(w.wall)),
            _fmt(_median(w.wall), 1),
            "-",
            "-",
            _fmt(w.max_rss_mb, 0),
        ]
        if with_step:
            cells += ["-"] * 3
        if with_r:
            cells += ["-"] * 7
        if with_r and any(r.g_wall for r in de_rows):
            cells += ["-"] * 4
        targets, notes = [], []
        if w.wall:
            limit = TARGET_COLD_S if w.kind == "cold" else TARGET_WARM_S
            targets.append(f"<={limit:.0f} s {_ok(_median(w.wall) <= limit)}")
            targets.append(f"rss {_ok(w.max_rss_mb <= TARGET_RSS_MB)}")
        if w.kind == "cold" and w.wall:
            if w.largest_job:
                rule, ds, rss, secs = w.largest_job
                notes.append(f"largest job {rule}[{ds}] {rss:.0f} MB, {secs:.1f} s")
                targets[-1] = f"rss {_ok(max(w.max_rss_mb, rss) <= TARGET_RSS_MB)}"
            if w.slowest_job:
                rule, ds, rss, secs = w.slowest_job
                notes.append(f"slowest {rule}[{ds}] {secs:.1f} s")
            notes.append(f"{w.max_at_once} jobs at once, {w.datasets_at_once} data sets at once")
            if w.cores > 1:
                targets.append(f"parallel {_ok(w.datasets_at_once > 1)}")
        if w.error:
            notes.append(w.error.splitlines()[0][:120])
        notes.append(_other_note(w.span))
        rows.append(cells + ["; ".join(targets), "; ".join(n for n in notes if n)])
    return head, rows


def build_engine_table(de_rows: list[DERow]) -> tuple[list[str], list[list[str]]]:
    """The DE engines side by side with R DESeq2 on each case: time, CPU, memory, agreement with R's
    calls and LFCs, and the target's rank and status (ORA of all DE genes) from each table."""
    head = [
        "data set",
        "DE by",
        "genes x samples",
        "wall s",
        "CPU s",
        "fit s",
        "peak RSS MB",
        "LFC Pearson vs R",
        "padj < 0.05 calls as R % (differ)",
        "DE genes",
        "target: rank, status",
    ]
    rows = []
    for case in dict.fromkeys(r.case for r in de_rows):
        group = [r for r in de_rows if r.case == case]
        with_r = next((r for r in group if r.r_wall), None)
        shape = f"{group[0].genes_in} x {group[0].samples}"
        if with_r is not None:
            f = with_r.fidelity or {}
            rows.append(
                [case, "R DESeq2", shape, _fmt(_median(with_r.r_wall), 2), _fmt(_median(with_r.r_cpu), 2),
                 _fmt(_median(with_r.r_fit), 2),
                 _fmt(max(with_r.r_rss, default=None), 0), "-", "-", str(f.get("sig_r", "-")), with_r.target_r or "-"]
            )  # fmt: skip
        for r in group:
            f = r.fidelity or {}
            agree = f"{f['call_agreement_pct']:.2f} ({f['call_disagreements']})" if f else "-"
            rows.append(
                [case, r.engine, shape, _fmt(_median(r.ours_wall), 2), _fmt(_median(r.ours_cpu), 2),
                 _fmt(_median(r.ours_fit), 2), _fmt(max(r.tree_rss or r.ours_rss, default=None), 0),
                 _fmt(f.get("lfc_pearson"), 6), agree, str(f.get("sig_ours", "-")), r.target or "-"]
            )  # fmt: skip
    return head, rows


def peak_rss(r: DERow) -> float:
    """Largest peak RSS of our processes of a row: the fit stage and, when run, the whole DE step."""
    return max([*r.ours_rss, *r.step_rss], default=float("nan"))


def format_markdown(head: list[str], rows: list[list[str]]) -> str:
    return _load_fidelity().markdown_table(head, rows)


def machine_line() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(ln for ln in meminfo if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.1f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu or platform.machine()}){mem}, {platform.system()} {platform.release()}"


def versions_line(with_r: bool) -> str:
    import numpy
    import pandas
    import scipy

    parts = [
        f"Python {platform.python_version()}",
        f"numpy {numpy.__version__}",
        f"scipy {scipy.__version__}",
        f"pandas {pandas.__version__}",
        f"pydeseq2 {importlib.metadata.version('pydeseq2')}",
    ]
    if with_r:
        proc = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version$major, ".", R.version$minor, " DESeq2 ", '
                'as.character(packageVersion("DESeq2")), sep = "")',
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0:
            parts.append("R " + proc.stdout.strip())
    return ", ".join(parts)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--cases",
        nargs="+",
        choices=sorted(CASES),
        default=None,
        help="DE cases to run (default: the four real sets and the two large synthetic matrices)",
    )
    ap.add_argument(
        "--large",
        action="store_true",
        help="also run the cohort-sized matrices " + ", ".join(LARGE_CASES) + " (issue 14); the peak "
        "RSS bound is asserted on every case of >= 20 M cells",
    )
    ap.add_argument(
        "--no-glmgampoi",
        action="store_true",
        help='do not run R DESeq2 with fitType = "glmGamPoi" even when glmGamPoi is installed',
    )
    ap.add_argument(
        "--de-threads",
        type=int,
        default=2,
        help="threads our DE fit runs its gene blocks on (DEParams.threads; default 2, both cores)",
    )
    ap.add_argument(
        "--step",
        action="store_true",
        help="also run the workflow's whole DE step (steps.run_de: read, fit, results, de.tsv, normalised "
        "counts, VST) once per case; always done on cases of >= 20 M cells, where the memory bound is "
        "asserted on it",
    )
    ap.add_argument(
        "--engines",
        nargs="+",
        choices=["r_exact", "pydeseq2"],
        default=["r_exact"],
        help="DE engines of our side (de.engine; default r_exact), each measured on every case against the same R "
        "run; with more than one, a second table puts them side by side with R",
    )
    ap.add_argument("--runs", type=int, default=3, help="runs of each side per DE case (median shown; default 3)")
    ap.add_argument("--no-r", action="store_true", help="do not run R even when it is installed")
    ap.add_argument("--no-de", action="store_true", help="skip the DE-stage rows")
    ap.add_argument("--no-workflow", action="store_true", help="skip the end-to-end demo workflow rows")
    ap.add_argument("--cores-list", nargs="+", type=int, default=[1, 2], help="--cores of the workflow runs")
    ap.add_argument("--warm-runs", type=int, default=3, help="warm workflow runs per --cores (median shown)")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP threads for both sides of the DE stage (default 1, as R's DESeq())",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="tiny mode: a 2,000 x 6 synthetic matrix, 1 run, no workflow (for the test suite)",
    )
    ap.add_argument(
        "--shared", type=Path, default=None, help="shared data (default $PATHVERDICT_SHARED or ../shared/data)"
    )
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="synthetic matrices (default benchmarks/.cache)")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the table (with its header) here")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw measurements here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary working directories")
    args = ap.parse_args(argv)

    if args.quick:
        args.cases = args.cases or QUICK_CASES
        args.runs = 1
        args.no_workflow = True
    names = list(args.cases or DEFAULT_CASES)
    if args.large:
        names += [n for n in LARGE_CASES if n not in names]
    cases = [CASES[c] for c in names]
    shared = (args.shared or fid.default_shared()).resolve()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if not os.access(TIME_BIN, os.X_OK):
        log(f"{TIME_BIN} not found (Debian: apt-get install time): measuring with os.wait4 instead")
    r_reason = "not asked for (--no-r)" if args.no_r else fid.r_unavailable_reason()
    with_r = r_reason is None and not args.no_de
    with_ggp = with_r and not args.no_glmgampoi and glmgampoi_available()
    if with_r and not with_ggp and not args.no_glmgampoi:
        log("R package glmGamPoi not installed (Debian: r-bioc-glmgampoi): the glmGamPoi columns are left out")
    started = _dt.datetime.now().astimezone()
    load_start = os.getloadavg()
    OTHER.start()
    t_all = time.monotonic()
    de_rows: list[DERow] = []
    wf_rows: list[WorkflowRow] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="pathverdict_bench_") as tmp:
        for case, (k, engine) in [(c, e) for c in ([] if args.no_de else cases) for e in enumerate(args.engines)]:
            log(f"[bench] DE stage: {case.name} ({engine})")
            try:
                row = run_de_case(
                    case,
                    args.cache,
                    shared,
                    args.runs,
                    with_r and k == 0,  # R (and glmGamPoi) once per case
                    args.threads,
                    Path(tmp),
                    log,
                    with_ggp=with_ggp and k == 0,
                    de_threads=args.de_threads,
                    step=args.step or is_large(case, args.cache, shared),
                    engine=engine,
                    r_reference=Path(tmp) / f"{case.name}.R.tsv" if with_r else None,
                )
            except fid.Unavailable as exc:
                row = DERow(case.name, error=str(exc), engine=engine)
            failed |= bool(row.error)
            if row.ours_rss and row.genes_in * row.samples >= MEMORY_BOUND_CELLS and peak_rss(row) > TARGET_RSS_MB:
                log(
                    f"[bench] MEMORY BOUND MISSED: {case.name} ({row.genes_in} x {row.samples} = "
                    f"{row.genes_in * row.samples / 1e6:.0f} M cells) peaked at {peak_rss(row):.0f} MB > "
                    f"{TARGET_RSS_MB:.0f} MB"
                )
                failed = True
            de_rows.append(row)
    if not args.no_workflow:
        log("[bench] workflow on the demo study")
        wf_rows = run_workflow(shared, args.cores_list, args.warm_runs, args.keep, log)
        failed |= any(w.error for w in wf_rows)
    load_end = os.getloadavg()
    OTHER.stop()
    other = OTHER.stats(t_all, time.monotonic())

    head, rows = build_table(de_rows, wf_rows, with_r)
    header = [
        f"pathverdict benchmark, {started:%Y-%m-%d %H:%M %Z}; {machine_line()}",
        f"{versions_line(with_r)}; DE stage with {args.threads} BLAS thread(s) per side, ours on "
        f"{args.de_threads} thread(s) over gene blocks" + ('; R also with fitType = "glmGamPoi"' if with_ggp else ""),
        f"load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, "
        f"at end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} (includes the benchmark's own work)",
    ]
    if other:
        busy = other[0] > BUSY_CORES
        header.append(
            f"other processes used {other[0]:.2f} cores on average (max {other[1]:.1f}) while it ran"
            + (" -- the machine was LOADED by other work: times are inflated" if busy else " -- the machine was quiet")
        )
    if not with_r and not args.no_de:
        header.append(
            "R DESeq2 not run (--no-r): the R columns are left out"
            if args.no_r
            else f"R DESeq2 not found: {r_reason}; the R columns are left out"
        )
    table = format_markdown(head, rows)
    if len(args.engines) > 1 and de_rows:
        table += "\n\nThe DE engines side by side with R:\n\n" + format_markdown(*build_engine_table(de_rows))
    text = "\n".join(header) + "\n\n" + table
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "header": header,
                    "columns": head,
                    "rows": rows,
                    "de": [r.__dict__ for r in de_rows],
                    "workflow": [w.__dict__ for w in wf_rows],
                },
                indent=1,
                default=str,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
