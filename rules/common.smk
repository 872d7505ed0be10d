import re

from pathverdict.config import missing_local_files, validate_config
from pathverdict.errors import InputError
from pathverdict.steps import report_context

_config_source = " and ".join(map(str, workflow.overwrite_configfiles)) or "config/config.yaml"
try:
    CFG = validate_config(config, source=_config_source)
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
        sim = f"resources/simulated/{wildcards.dataset}"
        return {"counts": f"{sim}/counts.tsv.gz", "samples": f"{sim}/samples.tsv"}
    fetched = f"resources/datasets/{wildcards.dataset}"
    return {
        "counts": f"{fetched}/counts.tsv.gz",
        "samples": f"{fetched}/samples.tsv",
        "source": f"{fetched}/source.json",
    }


def library_inputs(wildcards):
    """A library file: local, or what fetch_library downloads (with its provenance)."""
    src = LIBRARIES[wildcards.library]
    if "file" in src:
        return {"library": src["file"]}
    return {
        "library": f"resources/genesets/source/{wildcards.library}.txt",
        "download": f"resources/genesets/source/{wildcards.library}.json",
    }


# shown on every page of a simulated study's outputs
BANNER = (
    "SIMULATED DATA: this is a demonstration on a simulated study, not on real samples."
    if CFG.get("simulated")
    else ""
)

ANNOTATION = CFG["annotation"].get("file", "resources/annotation/annotation.tsv.gz")


# the library the per-dataset plots and the label-permutation null use (the first configured)
PRIMARY_LIBRARY = next(iter(LIBRARIES))


def library_gmts():
    return {lib: f"resources/genesets/{lib}.gmt" for lib in LIBRARIES}


def final_outputs():
    per_dataset = [
        "results/{dataset}/de.tsv",
        "results/{dataset}/plots/pca.png",
        "results/{dataset}/plots/ma.png",
        "results/{dataset}/plots/volcano.png",
        "results/{dataset}/plots/dotplot.png",
    ]
    return expand(per_dataset, dataset=DATASETS) + [
        "results/verdict.tsv",
        "results/verdict.html",
        "results/claims.html",
        "results/target_heatmap.png",
        "results/provenance.json",
    ] + (["results/robustness.tsv", "results/robustness.png"] if CFG["robustness"]["enabled"] else []) + (
        ["results/null.tsv", "results/null.html"] if CFG["null"]["enabled"] else []
    )


# values shown by report/workflow.rst (the report's methods section)
config["_report"] = report_context(CFG)
