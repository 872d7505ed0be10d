rule prepare_dataset:
    input:
        unpack(dataset_inputs),
        annotation=ANNOTATION,
    output:
        counts="results/{dataset}/input/counts.tsv.gz",
        samples=report(
            "results/{dataset}/samples.tsv",
            caption="../report/samples.rst",
            category="Samples",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "sample sheet"},
        ),
        genes="results/{dataset}/input/gene_ids.tsv",
        info="results/{dataset}/input/prepare.json",
        selection=report(
            "results/{dataset}/input/selection.tsv",
            caption="../report/selection.rst",
            category="Samples",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "selection by expression"},
        ),
    log:
        "logs/{dataset}/prepare_dataset.log",
    conda:
        "../envs/pathverdict.yaml"
    resources:
        # reads the whole count matrix with pandas
        mem_mb=matrix_mem_mb,
    params:
        dataset=dataset_cfg,
    script:
        "../scripts/prepare_dataset.py"


rule prepare_genesets:
    input:
        unpack(library_inputs),
    output:
        gmt="resources/genesets/{library}.gmt",
        info="resources/genesets/{library}.json",
    log:
        "logs/genesets/{library}.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        target=CFG["target_pathway"],
    script:
        "../scripts/prepare_genesets.py"


# The checked counts and sample sheet of ALL samples, before `select_by_expression`: the
# selection-aware null (rule null_permutations) and the reviewer's analyses (rule
# selection_analyses) relabel or split these samples and re-apply the selection themselves.
rule prepare_unselected:
    input:
        unpack(dataset_inputs),
        annotation=ANNOTATION,
    output:
        counts="results/{dataset}/input/unselected/counts.tsv.gz",
        samples="results/{dataset}/input/unselected/samples.tsv",
        genes="results/{dataset}/input/unselected/gene_ids.tsv",
        info="results/{dataset}/input/unselected/prepare.json",
    log:
        "logs/{dataset}/prepare_unselected.log",
    conda:
        "../envs/pathverdict.yaml"
    resources:
        mem_mb=matrix_mem_mb,
    params:
        dataset=lambda wc: unselected_cfg(wc.dataset),
    script:
        "../scripts/prepare_unselected.py"
