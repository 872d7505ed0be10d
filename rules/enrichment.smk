rule ora:
    input:
        de=rules.deseq2.output.de,
        gmts=library_gmts().values(),
        # not read: a changed (and maybe broken) library reruns prepare_genesets every time (see raw_inputs)
        sources=raw_library_inputs(),
    output:
        up=f"{RESULTS}/{{dataset}}/enrichment/ora_up.tsv",
        down=f"{RESULTS}/{{dataset}}/enrichment/ora_down.tsv",
        all=f"{RESULTS}/{{dataset}}/enrichment/ora_all.tsv",
        info=f"{RESULTS}/{{dataset}}/enrichment/ora.json",
    log:
        f"{LOGS}/{{dataset}}/ora.log",
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
        gsea=f"{RESULTS}/{{dataset}}/enrichment/gsea.tsv",
    log:
        f"{LOGS}/{{dataset}}/gsea.log",
    benchmark:
        f"{LOGS}/benchmarks/gsea/{{dataset}}.tsv"
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
        camera=f"{RESULTS}/{{dataset}}/enrichment/camera.tsv",
    log:
        f"{LOGS}/{{dataset}}/camera.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        enrichment=CFG["enrichment"],
        libraries=list(LIBRARIES),
    script:
        "../scripts/camera.py"
