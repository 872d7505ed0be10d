import re
import sys
from types import SimpleNamespace

from pathverdict.config import missing_local_files, validate_config
from pathverdict.errors import InputError
from pathverdict.runlock import record_owner, release_stale_lock
from pathverdict.report.provenance import report_context
from pathverdict.util import remove_stale_temp_files

# A run killed with SIGKILL leaves Snakemake's directory lock behind; remove it before Snakemake
# checks it, but only when its run is known to be gone (pathverdict.runlock says how).
if workflow.is_main_process:
    _released = release_stale_lock(Path(".snakemake"))
    if _released:
        print(_released, file=sys.stderr)

_CONFIGFILES = [str(p) for p in workflow.overwrite_configfiles]
_config_source = " and ".join(_CONFIGFILES) or "config/config.yaml"
try:
    CFG = validate_config(config, source=_config_source, configfiles=_CONFIGFILES)
except InputError as exc:
    raise WorkflowError(str(exc)) from None
_missing = missing_local_files(CFG)
if _missing:
    raise WorkflowError(
        f"{_config_source}: these input files do not exist (paths are relative to {Path.cwd()}):\n  - "
        + "\n  - ".join(_missing)
        + "\nFix the paths in the config, or run snakemake from the directory they are relative to."
    )

DATASETS = list(CFG["datasets"])
LIBRARIES = CFG["genesets"]

# One study, one folder: every path of this study is under these three (config key `study`,
# default the first config file's name). The download cache (downloads.cache_dir) is shared
# between studies: its files are named by their source and checked by sha256.
STUDY = CFG["study"]
RESULTS = f"results/{STUDY}"  # results, per dataset in RESULTS/<dataset>/
RESOURCES = f"resources/{STUDY}"  # inputs made from this config: gene sets, fetched/simulated data
LOGS = f"logs/{STUDY}"


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS),
    library="|".join(re.escape(lib) for lib in LIBRARIES),


def dataset_cfg(wildcards):
    return CFG["datasets"][wildcards.dataset]


def is_local(dataset):
    return "counts" in CFG["datasets"][dataset]


SIMULATED = [d for d in DATASETS if CFG["datasets"][d].get("simulated")]


def dataset_inputs(wildcards):
    """Counts and sample sheet of a dataset: local files, or what fetch_dataset downloads."""
    ds = CFG["datasets"][wildcards.dataset]
    if is_local(wildcards.dataset):
        return {"counts": ds["counts"], "samples": ds["samples"]}
    if ds.get("simulated"):
        sim = f"{RESOURCES}/simulated/{wildcards.dataset}"
        return {"counts": f"{sim}/counts.tsv.gz", "samples": f"{sim}/samples.tsv"}
    fetched = f"{RESOURCES}/datasets/{wildcards.dataset}"
    return {
        "counts": f"{fetched}/counts.tsv.gz",
        "samples": f"{fetched}/samples.tsv",
        "source": f"{fetched}/source.json",
    }


def raw_inputs(wildcards):
    """The files prepare_dataset checks, for the rules after it to depend on as well (not read).

    When a changed input fails prepare_dataset, Snakemake removes the prepared files; without
    this, the next run would find de.tsv and the study outputs present, treat the missing prepared
    files as intermediates it need not rebuild, and exit 0 showing the old verdict. With it, an
    input newer than de.tsv reruns deseq2, hence prepare_dataset: a broken input fails every run
    until it is fixed."""
    ds = dataset_inputs(wildcards)
    return [ds["counts"], ds["samples"], ANNOTATION]


def raw_library_inputs(wildcards=None):
    """Every library's source file (local, or as downloaded), for ora and gsea to depend on as
    well (not read): a changed library that fails prepare_genesets fails every run (see raw_inputs).
    """
    return [
        f
        for lib in LIBRARIES
        for f in library_inputs(SimpleNamespace(library=lib)).values()
    ]


def checked_inputs():
    """The files of the steps that check inputs (prepared datasets and libraries, downloaded or
    simulated data): targets of `rule all` too. When such a step fails, Snakemake removes its
    outputs; as targets they are then rebuilt by the next run (which fails again while the input
    is broken) instead of being taken for intermediates that need not be rebuilt."""
    out = expand(f"{RESULTS}/{{dataset}}/input/prepare.json", dataset=DATASETS) + list(
        library_gmts().values()
    )
    for d in DATASETS:
        if not is_local(d):
            out += list(dataset_inputs(SimpleNamespace(dataset=d)).values())
    if "file" not in CFG["annotation"]:
        out.append(ANNOTATION)
    return out


def library_inputs(wildcards):
    """A library file: local, or what fetch_library downloads (with its provenance)."""
    src = LIBRARIES[wildcards.library]
    if "file" in src:
        return {"library": src["file"]}
    return {
        "library": f"{RESOURCES}/genesets/source/{wildcards.library}.txt",
        "download": f"{RESOURCES}/genesets/source/{wildcards.library}.json",
    }


# shown on every page of a simulated study's outputs
BANNER = (
    "SIMULATED DATA: this is a demonstration on a simulated study, not on real samples."
    if CFG.get("simulated")
    else ""
)

ANNOTATION = CFG["annotation"].get("file", f"{RESOURCES}/annotation/annotation.tsv.gz")


# datasets whose tested group is selected by the expression of a gene (select_by_expression)
SELECTED = [d for d in DATASETS if CFG["datasets"][d].get("select_by_expression")]


def unselected_cfg(dataset):
    """A dataset's config without its select_by_expression (all samples of the sheet)."""
    return {
        k: v for k, v in CFG["datasets"][dataset].items() if k != "select_by_expression"
    }


def null_inputs(wildcards):
    """The prepared counts, sheet and gene IDs; of all samples before the selection for a
    dataset with select_by_expression (the selection-aware null re-applies it)."""
    d = wildcards.dataset
    if d in SELECTED:
        base = f"{RESULTS}/{d}/input/unselected"
        return {
            "counts": f"{base}/counts.tsv.gz",
            "samples": f"{base}/samples.tsv",
            "genes": f"{base}/gene_ids.tsv",
        }
    return {
        "counts": f"{RESULTS}/{d}/input/counts.tsv.gz",
        "samples": f"{RESULTS}/{d}/samples.tsv",
        "genes": f"{RESULTS}/{d}/input/gene_ids.tsv",
    }


# the library the per-dataset plots and the label-permutation null use (the first configured)
PRIMARY_LIBRARY = next(iter(LIBRARIES))


# the enrichment job's re-runs that test the answer (output name -> path), and the config section
# that enables each
RERUN_OUTPUTS = {
    "grid": f"{RESULTS}/{{dataset}}/robustness.tsv",
    "sensitivity": f"{RESULTS}/{{dataset}}/sensitivity.tsv",
}
RERUN_SECTIONS = {"grid": "robustness", "sensitivity": "sensitivity"}


def enrichment_reruns():
    """The enrichment job's optional outputs (name -> path): the dataset's robustness grid and its
    sensitivity table, when `robustness.enabled` / `sensitivity.enabled`."""
    return {
        name: path
        for name, path in RERUN_OUTPUTS.items()
        if CFG[RERUN_SECTIONS[name]]["enabled"]
    }


def library_gmts():
    return {lib: f"{RESOURCES}/genesets/{lib}.gmt" for lib in LIBRARIES}


def final_outputs():
    per_dataset = [
        "{dataset}/de.tsv",
        "{dataset}/plots/pca.png",
        "{dataset}/plots/ma.png",
        "{dataset}/plots/volcano.png",
        "{dataset}/plots/dotplot.png",
    ]
    study = [
        "verdict.tsv",
        "verdict.html",
        "claims.html",
        "calibration.tsv",
        "target_heatmap.png",
        "provenance.json",
    ]
    study += (
        ["robustness.tsv", "robustness.png"] if CFG["robustness"]["enabled"] else []
    )
    study += ["null.tsv", "null.html"] if CFG["null"]["enabled"] else []
    study += ["sensitivity.tsv"] if CFG["sensitivity"]["enabled"] else []
    return (
        expand([f"{RESULTS}/{p}" for p in per_dataset], dataset=DATASETS)
        + checked_inputs()
        + [f"{RESULTS}/{p}" for p in study]
        + expand(f"{RESULTS}/{{dataset}}/selection/analyses.tsv", dataset=SELECTED)
    )


# Which config made this study's results: results/<study>/.pathverdict-run.json (written when a
# run starts, completed with the datasets when it succeeds). A study folder belongs to one config
# file: a run, dry run or report of another config that names the same study is refused (it would
# mix their results), with the fix.
RUN_RECORD = f"{RESULTS}/.pathverdict-run.json"
if workflow.is_main_process:
    from pathverdict.summary import check_study_owner

    _problem = check_study_owner(RUN_RECORD, STUDY, _CONFIGFILES)
    if _problem:
        raise WorkflowError(_problem)
    if Path("results/verdict.tsv").is_file():
        print(
            f"note: results/verdict.tsv and the files beside it come from a version of pathverdict "
            f"before one folder per study; this run writes to {RESULTS}/ (remove the old files when "
            f"no longer needed)",
            file=sys.stderr,
        )


# A run killed during a write (kill -9, a node lost) leaves the hidden temporary files of our
# atomic writes (.pathverdict-tmp.<pid>.*) behind; remove them when a run starts (not in a dry
# run; after Snakemake has locked the outputs, in the main process only).
onstart:
    from pathverdict.summary import claim_study

    record_owner(".snakemake", local_jobs=workflow.local_exec)
    claim_study(RUN_RECORD, STUDY, _CONFIGFILES)
    for _stale in remove_stale_temp_files("results", "resources"):
        print(
            f"removed {_stale}, a temporary file left by an interrupted run",
            file=sys.stderr,
        )


# values shown by report/workflow.rst (the report's methods section)
config["_report"] = report_context(CFG, f"{RESULTS}/provenance.json")


# `--report` builds the report of this config's study (results/<study>/); when the study has no
# results yet, or they were made with other datasets, it stops with the command that makes them.
# The end of every successful run (Snakefile: onsuccess, and at exit of a run with nothing to do).
def finish_run():
    """Record the run in the study's folder and print the answer."""
    from pathverdict.summary import end_of_run

    end_of_run(
        RUN_RECORD,
        DATASETS,
        _CONFIGFILES,
        study=STUDY,
        target=CFG["target_pathway"],
        simulated=bool(CFG.get("simulated")),
    )


if any(a == "--report" or a.startswith("--report=") for a in sys.argv):
    from pathverdict.summary import check_report_config

    _problem = check_report_config(RUN_RECORD, DATASETS, _CONFIGFILES, STUDY)
    if _problem:
        raise WorkflowError(_problem)


# --------------------------------------------------------------------------- job resources
# Memory (mem_mb) and run time (runtime, minutes) of the heavy rules, from the size of their
# input; a batch system (profiles/slurm) is asked for them, and `--resources mem_mb=N` makes a
# local run respect them too. Each estimate gets a margin, never goes under MIN_MEM_MB, and grows
# with each retry (`--retries`, set in profiles/slurm) for a job killed for lack of memory/time.
#
# The DE jobs (deseq2, null_permutations) follow the figures measured for issue 14
# (benchmarks/README.md, "Cohort-sized matrices"): they hold the count matrix as int32 (4 bytes a
# cell; while pandas builds the frame from the text, briefly twice that) and fit genes in blocks
# (rcompat.BLOCK_CELLS cells), one block's float64 working arrays per thread, and write the
# normalised counts and the VST block by block. So the model is a fixed part + the matrix + a
# per-block part per thread:
#   the whole deseq2 step (steps.run_de): 60,000 x 2,000 (120 M cells, 2 threads) peaked at 1.30 GB
#   (reading and fitting; 1.17-1.20 GB while writing the tables) in 614 CPU seconds, 68% of them
#   writing the normalised counts and the VST;
#   the fit alone: 120 M cells 0.94 GB (1 thread), 36 M cells 0.59 GB (2 threads), 6 M cells 0.34 /
#   0.42 GB (1 / 2 threads) -> ~230 MB + 5.3 bytes a cell + 80 (200 samples) to ~200 MB (2,000
#   samples) a thread. Without the margin the model gives 1.53 GB for the 1.30 GB measured.
# The other rules that read a whole matrix (prepare_dataset, prepare_unselected, selection_analyses)
# read it as text into int64 frames and keep the older, larger figure (matrix_mem_mb).
import os

from pathverdict.tables import estimate_cells

MIN_MEM_MB = 1000
DE_FIXED_MB = 250  # interpreter, pandas, pydeseq2, per-gene vectors
DE_BYTES_PER_CELL = 8  # int32 counts, twice while the frame is built from the text
DE_BLOCK_MB = 200  # one gene block's working arrays, per thread
DE_MEM_MARGIN = 1.25
# CPU seconds a cell of the whole deseq2 step (read, fit, write the three tables) on one core,
# measured at 120 M cells (benchmarks/README.md); the runtime asks for DE_TIME_MARGIN times that
# (loaded nodes, slower cores) plus DE_FIXED_MIN minutes.
DE_STEP_S_PER_CELL = 5.1e-6
DE_FIXED_MIN = 10  # start-up on a batch node (environment, shared file system)
DE_TIME_MARGIN = 3
# the label-permutation null, per relabeling (benchmarks/null_time.py: 12 vs 12 tissue, 20,000 genes):
# DE fit + set score + ORA ~1.75 us a cell + ~0.2 s, GSEA ~10 s per 1,000 gene-set permutations
NULL_FIT_S_PER_CELL = 1.75e-6
NULL_FIT_FIXED_S = 0.2
NULL_GSEA_S_PER_1000 = 10.0
# the calibration's GSEA (pathverdict.enrichment.gsea_fast) per 1000 permutations, 20,000 genes, KEGG
CALIBRATION_GSEA_S_PER_1000 = 0.6
MATRIX_BASE_MB = 300
MATRIX_BYTES_PER_CELL = 100
# genes x samples assumed when a count file cannot be read at DAG time (corrupt, truncated, not a
# table): a large study (20,000 genes x 100 samples, ~830 MB); the prepare step then reports what is
# wrong with the file.
FALLBACK_CELLS = 2_000_000
_CELLS_CACHE = {}


def matrix_cells(path):
    """About genes x samples of a count matrix (tsv/csv, gzipped or not), from its header and
    first megabyte, extrapolated by the file size (pathverdict.tables.estimate_cells): never
    reads a whole file, never fails on a bad one. Counted once per file version."""
    path = str(path)
    st = os.stat(
        path
    )  # FileNotFoundError: Snakemake evaluates the resource once the file exists
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _CELLS_CACHE:
        cells = estimate_cells(path)
        _CELLS_CACHE[key] = FALLBACK_CELLS if cells is None else cells
    return _CELLS_CACHE[key]


def _round_up(value, step):
    return int(-(-value // step) * step)


def de_mem_mb_for(cells, threads):
    """MB for one DE job on `cells` genes x samples with `threads` threads (before retries)."""
    need = (
        DE_FIXED_MB + cells * DE_BYTES_PER_CELL / 2**20 + max(1, threads) * DE_BLOCK_MB
    )
    return max(MIN_MEM_MB, need * DE_MEM_MARGIN)


def de_mem_mb(wildcards, input, threads, attempt):
    """Memory of a DE job on input.counts (deseq2, null_permutations)."""
    return _round_up(de_mem_mb_for(matrix_cells(input.counts), threads) * attempt, 100)


def matrix_mem_mb(wildcards, input, attempt):
    """Memory of a job that reads a whole count matrix as text into pandas (prepare_dataset,
    prepare_unselected, selection_analyses): 300 MB + 100 bytes per cell."""
    cells = matrix_cells(input.counts)
    return _round_up(
        max(MIN_MEM_MB, MATRIX_BASE_MB + cells * MATRIX_BYTES_PER_CELL / 2**20)
        * attempt,
        100,
    )


def de_runtime_for(cells):
    """Minutes for the deseq2 step on `cells` genes x samples (before retries)."""
    return DE_FIXED_MIN + DE_TIME_MARGIN * DE_STEP_S_PER_CELL * cells / 60


def de_runtime(wildcards, input, attempt):
    """Minutes for one deseq2 job (whole step on one core, with margin)."""
    return _round_up(de_runtime_for(matrix_cells(input.counts)) * attempt, 5)


def null_runtime_for(cells, relabelings, gsea_permutations=None):
    """Minutes for the label-permutation null: one DE fit (+ set score, ORA, and GSEA when
    `gsea_permutations` is given) per relabeling and one on the observed labels."""
    per_fit = NULL_FIT_FIXED_S + NULL_FIT_S_PER_CELL * cells
    if gsea_permutations is not None:
        per_fit += NULL_GSEA_S_PER_1000 * max(gsea_permutations, 100) / 1000
    return DE_FIXED_MIN + DE_TIME_MARGIN * (1 + relabelings) * per_fit / 60


def calibration_runtime(wildcards, input, attempt):
    """Minutes for the calibrate_dataset job of a dataset: one DE fit and the enrichments (GSEA by
    pathverdict.enrichment.gsea_fast: CALIBRATION_GSEA_S_PER_1000) per simulated study.
    """
    c = CFG["calibration"]
    studies = c["null_simulations"] + c["planted_simulations"] * len(
        set(c["effects"]) | {c["reference_effect"]}
    )
    per_fit = NULL_FIT_FIXED_S + NULL_FIT_S_PER_CELL * matrix_cells(input.counts)
    per_fit += (
        CALIBRATION_GSEA_S_PER_1000 * CFG["enrichment"]["gsea_permutations"] / 1000
    )
    return _round_up(
        (DE_FIXED_MIN + DE_TIME_MARGIN * studies * per_fit / 60) * attempt, 5
    )


def null_runtime(wildcards, input, attempt):
    """Minutes for the null_permutations job of a dataset."""
    gsea = (
        CFG["enrichment"]["gsea_permutations"]
        if "gsea" in CFG["null"]["methods"]
        else None
    )
    minutes = null_runtime_for(
        matrix_cells(input.counts), CFG["null"]["max_permutations"], gsea
    )
    return _round_up(minutes * attempt, 5)


def enrichment_runtime(wildcards, attempt):
    """Minutes for one dataset's enrichment job: two pre-ranked GSEA per library (the workflow's
    and the sensitivity's re-run without the metallothioneins), ~5 minutes each per 1000
    gene-set permutations, and the ORAs and CAMERA (seconds)."""
    per_library = 2 * 5 * max(CFG["enrichment"]["gsea_permutations"], 100) / 1000
    return _round_up((10 + len(LIBRARIES) * per_library) * attempt, 5)
