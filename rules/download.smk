# Public data: GEO series / URLs, named gene-set libraries and the annotation, fetched into a
# cache (downloads.cache_dir) with provenance. Run on the submit host (compute nodes of many
# clusters have no network); retrying is done inside, with backoff.


rule fetch_dataset:
    output:
        counts=f"{RESOURCES}/datasets/{{dataset}}/counts.tsv.gz",
        samples=f"{RESOURCES}/datasets/{{dataset}}/samples.tsv",
        info=f"{RESOURCES}/datasets/{{dataset}}/source.json",
    log:
        f"{LOGS}/{{dataset}}/fetch_dataset.log",
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
        ncbi_genome=lambda wc: ORGANISM_INFO[ORGANISM[wc.dataset]].ncbi_counts_genome,
    script:
        "../scripts/fetch_dataset.py"


rule fetch_library:
    output:
        library=f"{RESOURCES}/genesets/source/{{library}}.txt",
        info=f"{RESOURCES}/genesets/source/{{library}}.json",
    log:
        f"{LOGS}/genesets/fetch_{{library}}.log",
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        source=lambda wc: LIBRARY_SOURCES[wc.library],
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
    script:
        "../scripts/fetch_library.py"


# one per organism: annotation.tsv.gz for the study's organism, <organism>.tsv.gz for the others
rule fetch_annotation:
    output:
        annotation=f"{RESOURCES}/annotation/{{annotation}}.tsv.gz",
        info=f"{RESOURCES}/annotation/{{annotation}}.json",
    log:
        f"{LOGS}/fetch_{{annotation}}.log",
    wildcard_constraints:
        annotation="|".join(re.escape(k) for k in ANNOTATION_KEY.values()),
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        source=lambda wc: CFG["annotations"][
            next(o for o, k in ANNOTATION_KEY.items() if k == wc.annotation)
        ],
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
    script:
        "../scripts/fetch_annotation.py"


# A DE table given by `url` or as a GEO supplementary file (`de_table: {geo: ...}`).
rule fetch_de_table:
    output:
        table=f"{RESOURCES}/de_tables/{{dataset}}/table",
        info=f"{RESOURCES}/de_tables/{{dataset}}/source.json",
    log:
        f"{LOGS}/{{dataset}}/fetch_de_table.log",
    localrule: True
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        downloads=CFG["downloads"],
        base_urls=CFG["base_urls"],
    script:
        "../scripts/fetch_de_table.py"
