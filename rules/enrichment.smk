rule ora:
    input:
        de=rules.deseq2.output.de,
        gmts=library_gmts().values(),
        # not read: a changed (and maybe broken) library reruns prepare_genesets every time (see raw_inputs)
        sources=raw_library_inputs(),
    output:
        up="results/{dataset}/enrichment/ora_up.tsv",
        down="results/{dataset}/enrichment/ora_down.tsv",
        all="results/{dataset}/enrichment/ora_all.tsv",
        info="results/{dataset}/enrichment/ora.json",
    log:
        "logs/{dataset}/ora.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        enrichment=CFG["enrichment"],
        libraries=list(LIBRARIES),
    script:
        "../scripts/ora.py"


rule gsea:
    input:
        de=rules.deseq2.output.de,
        gmts=library_gmts().values(),
        # not read: a changed (and maybe broken) library reruns prepare_genesets every time (see raw_inputs)
        sources=raw_library_inputs(),
    output:
        gsea="results/{dataset}/enrichment/gsea.tsv",
    log:
        "logs/{dataset}/gsea.log",
    benchmark:
        "logs/benchmarks/gsea/{dataset}.tsv"
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["gsea"]
    resources:
        runtime=gsea_runtime,
    params:
        enrichment=CFG["enrichment"],
        libraries=list(LIBRARIES),
    script:
        "../scripts/gsea.py"


rule camera:
    input:
        de=rules.deseq2.output.de,
        vst=rules.deseq2.output.vst,
        samples=rules.prepare_dataset.output.samples,
        gmts=library_gmts().values(),
        # not read: a changed (and maybe broken) library reruns prepare_genesets every time (see raw_inputs)
        sources=raw_library_inputs(),
    output:
        camera="results/{dataset}/enrichment/camera.tsv",
    log:
        "logs/{dataset}/camera.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        enrichment=CFG["enrichment"],
        libraries=list(LIBRARIES),
    script:
        "../scripts/camera.py"
