rule prepare_dataset:
    input:
        counts=lambda wc: CFG["datasets"][wc.dataset]["counts"],
        samples=lambda wc: CFG["datasets"][wc.dataset]["samples"],
        annotation=CFG["annotation"],
    output:
        counts="results/{dataset}/input/counts.tsv.gz",
        samples="results/{dataset}/samples.tsv",
        genes="results/{dataset}/input/gene_ids.tsv",
        info="results/{dataset}/input/prepare.json",
    params:
        dataset=dataset_cfg,
    log:
        "logs/{dataset}/prepare_dataset.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/prepare_dataset.py"


rule prepare_genesets:
    input:
        library=lambda wc: LIBRARIES[wc.library],
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
