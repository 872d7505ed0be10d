# Beyond the paper: how robust is the target's rank to the DE thresholds and gene-set release,
# and how often does it reach its rank on permuted sample labels?


rule robustness_grid:
    input:
        de=rules.deseq2.output.de,
        gsea=rules.gsea.output.gsea,
        gmts=library_gmts().values(),
    output:
        grid="results/{dataset}/robustness.tsv",
    params:
        libraries=library_gmts(),
        target=CFG["target_pathway"],
        robustness=CFG["robustness"],
        enrichment=CFG["enrichment"],
        verdict=CFG["verdict"],
    log:
        "logs/{dataset}/robustness_grid.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/robustness_grid.py"


rule robustness:
    input:
        grids=expand(rules.robustness_grid.output.grid, dataset=DATASETS),
    output:
        grid="results/robustness.tsv",
        summary="results/robustness_summary.tsv",
        heatmap=report(
            "results/robustness.png",
            caption="../report/robustness.rst",
            category="Robustness",
            labels={"figure": "target rank across thresholds, libraries and methods"},
        ),
    params:
        banner=BANNER,
    log:
        "logs/robustness.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/robustness.py"


def null_inputs(wildcards):
    """The prepared counts, sheet and gene IDs; of all samples before the selection for a
    dataset with select_by_expression (the selection-aware null re-applies it)."""
    d = wildcards.dataset
    if d in SELECTED:
        base = f"results/{d}/input/unselected"
        return {"counts": f"{base}/counts.tsv.gz", "samples": f"{base}/samples.tsv", "genes": f"{base}/gene_ids.tsv"}
    return {
        "counts": f"results/{d}/input/counts.tsv.gz",
        "samples": f"results/{d}/samples.tsv",
        "genes": f"results/{d}/input/gene_ids.tsv",
    }


rule null_permutations:
    input:
        unpack(null_inputs),
        verdict=rules.verdict.output.tsv,
        gmt=lambda wc: library_gmts()[PRIMARY_LIBRARY],
    output:
        permutations="results/{dataset}/null/permutations.tsv",
        summary="results/{dataset}/null/summary.tsv",
    params:
        dataset=dataset_cfg,
        library=PRIMARY_LIBRARY,
        target=CFG["target_pathway"],
        de=CFG["de"],
        enrichment=CFG["enrichment"],
        verdict=CFG["verdict"],
        null=CFG["null"],
        selection=lambda wc: CFG["datasets"][wc.dataset].get("select_by_expression"),
    threads: CFG["threads"]["deseq2"]
    resources:
        mem_mb=de_mem_mb,
        runtime=null_runtime,
    log:
        "logs/{dataset}/null_permutations.log",
    benchmark:
        "logs/benchmarks/null_permutations/{dataset}.tsv"
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/null_permutations.py"


rule null:
    input:
        summaries=expand(rules.null_permutations.output.summary, dataset=DATASETS),
    output:
        summary="results/null.tsv",
        html=report(
            "results/null.html",
            caption="../report/null.rst",
            category="Robustness",
            labels={"table": "label-permutation null"},
        ),
    params:
        banner=BANNER,
    log:
        "logs/null.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/null.py"
