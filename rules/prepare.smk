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
    params:
        dataset=dataset_cfg,
    resources:
        # reads the whole count matrix with pandas: sized like a DESeq2 fit
        mem_mb=de_mem_mb,
    log:
        "logs/{dataset}/prepare_dataset.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/prepare_dataset.py"


rule prepare_genesets:
    input:
        unpack(library_inputs),
    output:
        gmt="resources/genesets/{library}.gmt",
        info="resources/genesets/{library}.json",
    params:
        target=CFG["target_pathway"],
    log:
        "logs/genesets/{library}.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/prepare_genesets.py"
