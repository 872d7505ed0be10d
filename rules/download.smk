# Public data: GEO series / URLs, named gene-set libraries and the annotation, fetched into a
# cache (downloads.cache_dir) with provenance. Run on the submit host (compute nodes of many
# clusters have no network); retrying is done inside, with backoff.


rule fetch_dataset:
    output:
        counts="resources/datasets/{dataset}/counts.tsv.gz",
        samples="resources/datasets/{dataset}/samples.tsv",
        info="resources/datasets/{dataset}/source.json",
    log:
        "logs/{dataset}/fetch_dataset.log",
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
    script:
        "../scripts/fetch_dataset.py"


rule fetch_library:
    output:
        library="resources/genesets/source/{library}.txt",
        info="resources/genesets/source/{library}.json",
    log:
        "logs/genesets/fetch_{library}.log",
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        source=lambda wc: LIBRARIES[wc.library],
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
    script:
        "../scripts/fetch_library.py"


rule fetch_annotation:
    output:
        annotation="resources/annotation/annotation.tsv.gz",
        info="resources/annotation/annotation.json",
    log:
        "logs/fetch_annotation.log",
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        source=CFG["annotation"],
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
    script:
        "../scripts/fetch_annotation.py"
