import re
import sys
from types import SimpleNamespace

from pathverdict.config import missing_local_files, validate_config
from pathverdict.organisms import known as known_organisms
from pathverdict.judgement import claim_specs
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
    # the study's claims (config `claims:`; without it one claim per dataset, "the target is on top"):
    # a claim naming a role no dataset has, an unknown test kind, ... stop the run here
    CLAIMS = claim_specs.from_config(CFG, source=_config_source)
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
LIBRARIES = CFG["genesets"]  # library names (and the study organism's sources)
# Organisms (pathverdict.organisms): each dataset's, and per organism the key of each library's
# files (the library's name for the study organism, <organism>/<library> for the others) and the
# annotation file. LIBRARY_SOURCES: every library key -> its source.
ORGANISM = {d: CFG["datasets"][d]["organism"] for d in DATASETS}
ORGANISM_INFO = known_organisms(CFG["organisms"])
LIBRARY_KEYS = CFG["library_keys"]
LIBRARY_SOURCES = CFG["library_sources"]
# organism -> ortholog table (study organism -> organism): the claims' genes given in the study
# organism's symbols only, for datasets of that organism (judgement.claim_genes)
ORTHOLOGS = CFG["orthologs"]
ROLES = claim_specs.roles_of(CFG)  # dataset -> role ("" when it has none)

# One study, one folder: every path of this study is under these three (config key `study`,
# default the first config file's name). The download cache (downloads.cache_dir) is shared
# between studies: its files are named by their source and checked by sha256.
STUDY = CFG["study"]
RESULTS = f"results/{STUDY}"  # results, per dataset in RESULTS/<dataset>/
RESOURCES = f"resources/{STUDY}"  # inputs made from this config: gene sets, fetched/simulated data
LOGS = f"logs/{STUDY}"


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in DATASETS),
    library="|".join(re.escape(key) for key in LIBRARY_SOURCES),


def dataset_cfg(wildcards):
    return CFG["datasets"][wildcards.dataset]


def is_local(dataset):
    return "counts" in CFG["datasets"][dataset]


# datasets given as the authors' published DE table (`de_table`): no counts, so no prepare_dataset,
# deseq2 or label-permutation null; rule import_de_table writes their de.tsv (docs/de_tables.md)
TABLES = [d for d in DATASETS if "de_table" in CFG["datasets"][d]]
COUNTED = [d for d in DATASETS if d not in TABLES]
NO_DATASET = "(?!)"  # a wildcard constraint no name matches


def names_regex(names):
    return "|".join(re.escape(n) for n in names) or NO_DATASET


def de_table_inputs(wildcards):
    """A DE table dataset's table (local, or what fetch_de_table downloads, with its provenance) and
    the gene-list file of its `background`, when it gives one."""
    spec = CFG["datasets"][wildcards.dataset]["de_table"]
    fetched = f"{RESOURCES}/de_tables/{wildcards.dataset}"
    inputs = (
        {"table": spec["path"]}
        if "path" in spec
        else {"table": f"{fetched}/table", "source": f"{fetched}/source.json"}
    )
    if spec.get("background") not in (None, "annotation_protein_coding"):
        inputs["background"] = spec["background"]
    return inputs


def count_outputs(wildcards):
    """The counts, VST, sample sheet and DE summary of a dataset with counts (CAMERA, PCA, the sample
    checks); for a DE table its record (what it cannot test: CAMERA, the sample checks).
    """
    if wildcards.dataset in TABLES:
        return {"record": f"{RESULTS}/{wildcards.dataset}/input/prepare.json"}
    return {
        "counts": f"{RESULTS}/{wildcards.dataset}/input/counts.tsv.gz",
        "vst": f"{RESULTS}/{wildcards.dataset}/vst.tsv.gz",
        "samples": f"{RESULTS}/{wildcards.dataset}/samples.tsv",
        "summary": f"{RESULTS}/{wildcards.dataset}/de_summary.json",
    }


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
    return [ds["counts"], ds["samples"], annotation_of(wildcards)]


def raw_library_inputs(wildcards):
    """The source file of every library of the dataset's organism (local, or as downloaded), for the
    enrichment to depend on as well (not read): a changed library that fails prepare_genesets fails
    every run (see raw_inputs)."""
    return [
        f
        for key in LIBRARY_KEYS[ORGANISM[wildcards.dataset]].values()
        for f in library_inputs(SimpleNamespace(library=key)).values()
    ]


def checked_inputs():
    """The files of the steps that check inputs (prepared datasets and libraries, downloaded or
    simulated data): targets of `rule all` too. When such a step fails, Snakemake removes its
    outputs; as targets they are then rebuilt by the next run (which fails again while the input
    is broken) instead of being taken for intermediates that need not be rebuilt."""
    out = expand(f"{RESULTS}/{{dataset}}/input/prepare.json", dataset=DATASETS) + list(
        all_gmts().values()
    )
    for d in COUNTED:
        if not is_local(d):
            out += list(dataset_inputs(SimpleNamespace(dataset=d)).values())
    for d in TABLES:
        if "path" not in CFG["datasets"][d]["de_table"]:
            out += list(de_table_inputs(SimpleNamespace(dataset=d)).values())
    out += [
        ANNOTATIONS[org] for org, src in CFG["annotations"].items() if "file" not in src
    ]
    return out


def library_inputs(wildcards):
    """A library file: local, or what fetch_library downloads (with its provenance)."""
    src = LIBRARY_SOURCES[wildcards.library]
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

# the annotation of each organism: a local file, or what fetch_annotation downloads
# (resources/<study>/annotation/annotation.tsv.gz for the study organism, <organism>.tsv.gz else)
ANNOTATION_KEY = {
    org: "annotation" if org == CFG["organism"] else org for org in CFG["annotations"]
}
ANNOTATIONS = {
    org: src.get("file", f"{RESOURCES}/annotation/{ANNOTATION_KEY[org]}.tsv.gz")
    for org, src in CFG["annotations"].items()
}
ANNOTATION = ANNOTATIONS[CFG["organism"]] if CFG["organism"] in ANNOTATIONS else []


def annotation_of(wildcards):
    """The annotation of the dataset's organism."""
    return ANNOTATIONS[ORGANISM[wildcards.dataset]]


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

# the DE engine (de.engine) and the other one, whose DE the engine sensitivity runs (rule
# deseq2_engine, when sensitivity.enabled and sensitivity.engine)
DE_ENGINE = CFG["de"]["engine"]
OTHER_ENGINE = "pydeseq2" if DE_ENGINE == "r_exact" else "r_exact"
ENGINE_SENSITIVITY = CFG["sensitivity"]["enabled"] and CFG["sensitivity"]["engine"]


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


# leaving one sample out (the enrichment job): a sensitivity variant, so it runs when both sensitivity.enabled
# and sensitivity.leave_one_sample_out.enabled are true
LOO_SETTINGS = {
    **CFG["sensitivity"]["leave_one_sample_out"],
    "enabled": bool(
        CFG["sensitivity"]["enabled"]
        and CFG["sensitivity"]["leave_one_sample_out"]["enabled"]
    ),
}


def library_gmts(organism=None):
    """{library: prepared GMT} of an organism (default: the study's, or the first organism of
    the datasets when none is of the study's), in the config's order."""
    org = organism or (
        CFG["organism"] if CFG["organism"] in LIBRARY_KEYS else next(iter(LIBRARY_KEYS))
    )
    return {
        lib: f"{RESOURCES}/genesets/{key}.gmt" for lib, key in LIBRARY_KEYS[org].items()
    }


def library_annotation(wildcards):
    """The annotation of a library key's organism, for organisms other than human (whose symbols
    libraries may write in capitals: genesets.align_case); none for human."""
    org = (
        wildcards.library.split("/", 1)[0]
        if "/" in wildcards.library
        else CFG["organism"]
    )
    return [] if org == "human" else ANNOTATIONS[org]


def dataset_gmts(wildcards):
    """The prepared GMTs of the dataset's organism (one per library, in the config's order)."""
    return list(library_gmts(ORGANISM[wildcards.dataset]).values())


def all_gmts():
    """{library key: prepared GMT} of every organism of the study."""
    return {key: f"{RESOURCES}/genesets/{key}.gmt" for key in LIBRARY_SOURCES}


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
    study += ["samples.html", "samples_qc.tsv", "confounding.tsv"]
    study += ["replication.tsv", "replication.html"]  # rules/replication.smk
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
    try:  # a read-only results/ (or mount): one message, before any job
        claim_study(RUN_RECORD, STUDY, _CONFIGFILES)
    except InputError as exc:
        raise WorkflowError(str(exc)) from None
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
        claims=[c.id for c in CLAIMS],
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
# the pydeseq2 engine (de.engine: pydeseq2; or the engine sensitivity's other engine): no gene
# blocks (AnnData holds the counts and several float64 genes x samples layers), per-gene scipy
# optimisers, and with more than one thread joblib worker processes that import pydeseq2 each
# (benchmarks/README.md, "The two DE engines"; measured on the four real sets, 4-85 samples, 2
# threads: 3-4 ms of CPU per gene whatever the samples, peaks 0.69-0.79 GB for the process and its
# workers, 0.25-0.35 GB for the process alone): memory a fixed part + bytes per cell + a worker per
# thread beyond one; CPU seconds per gene + per cell
PYDESEQ2_FIXED_MB = 250
PYDESEQ2_BYTES_PER_CELL = 160
PYDESEQ2_WORKER_MB = 220
PYDESEQ2_S_PER_GENE = 5e-3
PYDESEQ2_S_PER_CELL = 2e-5
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


def de_mem_mb_for(cells, threads, engine="r_exact"):
    """MB for one DE job on `cells` genes x samples with `threads` threads (before retries)."""
    if engine == "pydeseq2":
        workers = (
            threads if threads > 1 else 0
        )  # 1 thread: joblib fits in the process itself
        need = (
            PYDESEQ2_FIXED_MB
            + cells * PYDESEQ2_BYTES_PER_CELL / 2**20
            + workers * PYDESEQ2_WORKER_MB
        )
    else:
        need = (
            DE_FIXED_MB
            + cells * DE_BYTES_PER_CELL / 2**20
            + max(1, threads) * DE_BLOCK_MB
        )
    return max(MIN_MEM_MB, need * DE_MEM_MARGIN)


def de_mem_mb(wildcards, input, threads, attempt):
    """Memory of a DE job with de.engine on input.counts (deseq2, null_permutations)."""
    cells = matrix_cells(input.counts)
    return _round_up(de_mem_mb_for(cells, threads, DE_ENGINE) * attempt, 100)


def calibration_mem_mb(wildcards, input, threads, attempt):
    """Memory of the calibrate_dataset job: DE fits by the R-exact engine, whatever de.engine
    (pathverdict.judgement.calibration.CALIBRATION_ENGINE)."""
    cells = matrix_cells(input.counts)
    return _round_up(de_mem_mb_for(cells, threads, "r_exact") * attempt, 100)


def other_engine_mem_mb(wildcards, input, threads, attempt):
    """Memory of the engine sensitivity's DE job (deseq2_engine: the other engine)."""
    cells = matrix_cells(input.counts)
    return _round_up(de_mem_mb_for(cells, threads, OTHER_ENGINE) * attempt, 100)


def matrix_mem_mb(wildcards, input, attempt):
    """Memory of a job that reads a whole count matrix as text into pandas (prepare_dataset,
    prepare_unselected, selection_analyses): 300 MB + 100 bytes per cell."""
    cells = matrix_cells(input.counts)
    return _round_up(
        max(MIN_MEM_MB, MATRIX_BASE_MB + cells * MATRIX_BYTES_PER_CELL / 2**20)
        * attempt,
        100,
    )


def selection_mem_mb(wildcards, input, threads, attempt):
    """Memory of the selection analyses: a whole matrix read as text, and DE fits with de.engine
    (pydeseq2's worker processes can need more than the matrix)."""
    de_mb = _round_up(
        de_mem_mb_for(matrix_cells(input.counts), threads, DE_ENGINE) * attempt, 100
    )
    return max(matrix_mem_mb(wildcards, input, attempt), de_mb)


def matrix_samples(path):
    """The samples of a count matrix: the columns of its header line after the gene IDs."""
    import gzip

    try:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt") as fh:
            header = fh.readline()
    except (OSError, EOFError, ValueError):
        return 1
    return max(len(header.rstrip("\r\n").split("\t" if "\t" in header else ",")) - 1, 1)


def pydeseq2_fit_s(cells, samples):
    """CPU seconds of one pydeseq2 fit of `cells` genes x samples."""
    return PYDESEQ2_S_PER_GENE * cells / max(samples, 1) + PYDESEQ2_S_PER_CELL * cells


def de_runtime_for(cells, engine="r_exact", samples=1):
    """Minutes for the deseq2 step on `cells` genes x `samples` (before retries)."""
    if engine == "pydeseq2":
        seconds = pydeseq2_fit_s(cells, samples)
    else:
        seconds = DE_STEP_S_PER_CELL * cells
    return DE_FIXED_MIN + DE_TIME_MARGIN * seconds / 60


def de_runtime(wildcards, input, attempt):
    """Minutes for one deseq2 job (whole step on one core, with margin)."""
    cells, samples = matrix_cells(input.counts), matrix_samples(input.counts)
    return _round_up(de_runtime_for(cells, DE_ENGINE, samples) * attempt, 5)


def other_engine_runtime(wildcards, input, attempt):
    """Minutes for the engine sensitivity's DE job (deseq2_engine)."""
    cells, samples = matrix_cells(input.counts), matrix_samples(input.counts)
    return _round_up(de_runtime_for(cells, OTHER_ENGINE, samples) * attempt, 5)


def refit_s(cells, engine="r_exact", samples=1):
    """CPU seconds of one DE fit of the null's relabelings or of leaving one sample out."""
    if engine == "pydeseq2":
        return NULL_FIT_FIXED_S + pydeseq2_fit_s(cells, samples)
    return NULL_FIT_FIXED_S + NULL_FIT_S_PER_CELL * cells


def null_runtime_for(
    cells, relabelings, gsea_permutations=None, engine="r_exact", samples=1
):
    """Minutes for the label-permutation null: one DE fit (+ set score, ORA, and GSEA when
    `gsea_permutations` is given) per relabeling and one on the observed labels."""
    per_fit = refit_s(cells, engine, samples)
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
        matrix_cells(input.counts),
        CFG["null"]["max_permutations"],
        gsea,
        DE_ENGINE,
        matrix_samples(input.counts),
    )
    return _round_up(minutes * attempt, 5)


def engine_sensitivity_runtime(wildcards, attempt):
    """Minutes for one dataset's engine sensitivity: a pre-ranked GSEA per library (as the
    enrichment job's), ORAs and CAMERA (seconds)."""
    gsea = CFG["sensitivity"]["gsea"]
    per_library = (
        5 * max(CFG["enrichment"]["gsea_permutations"], 100) / 1000 if gsea else 0
    )
    return _round_up((10 + len(LIBRARIES) * per_library) * attempt, 5)


def loo_runtime_for(cells, removals, gsea_permutations, engine="r_exact", samples=1):
    """Minutes for leaving ``removals`` samples out of a dataset of ``cells`` genes x ``samples``: per
    removal one DE fit with ``engine``, the ORAs and CAMERA, and one GSEA of the first library (the
    null's figures).
    """
    per_fit = (
        refit_s(cells, engine, samples)
        + NULL_GSEA_S_PER_1000 * max(gsea_permutations, 100) / 1000
    )
    return DE_FIXED_MIN + DE_TIME_MARGIN * removals * per_fit / 60


def enrichment_runtime(wildcards, input, attempt):
    """Minutes for one dataset's enrichment job: two pre-ranked GSEA per library (the workflow's
    and the sensitivity's re-run without the metallothioneins), ~5 minutes each per 1000
    gene-set permutations, the ORAs and CAMERA (seconds), and leaving one sample out (at most
    max_removals DE fits and enrichments of the first library; fewer samples, fewer removals).
    """
    per_library = 2 * 5 * max(CFG["enrichment"]["gsea_permutations"], 100) / 1000
    counted = wildcards.dataset in COUNTED  # a DE table has no samples to leave out
    removals = (
        LOO_SETTINGS["max_removals"] if LOO_SETTINGS["enabled"] and counted else 0
    )
    cells = matrix_cells(input.counts) if counted else 0
    samples = matrix_samples(input.counts) if counted else 1
    loo = loo_runtime_for(
        cells, removals, CFG["enrichment"]["gsea_permutations"], DE_ENGINE, samples
    )
    return _round_up((len(LIBRARIES) * per_library + loo) * attempt, 5)


ENRICHMENT_MIN_MB = (
    2000  # the profiles' default for a job that does not read a whole count matrix
)


def enrichment_mem_mb(wildcards, input, threads, attempt):
    """Memory of the enrichment job: its DE fits leaving one sample out need a DE job's (de_mem_mb), and
    never less than the profiles' default (a DE table dataset: no DE fit)."""
    if wildcards.dataset not in COUNTED:
        return ENRICHMENT_MIN_MB * attempt
    return max(
        ENRICHMENT_MIN_MB * attempt, de_mem_mb(wildcards, input, threads, attempt)
    )
