rule verdict:
    input:
        de=expand(rules.deseq2.output.de, dataset=DATASETS),
        ora_up=expand(rules.enrichment.output.up, dataset=DATASETS),
        ora_down=expand(rules.enrichment.output.down, dataset=DATASETS),
        ora_all=expand(rules.enrichment.output.all, dataset=DATASETS),
        ora_info=expand(rules.enrichment.output.info, dataset=DATASETS),
        gsea=expand(rules.enrichment.output.gsea, dataset=DATASETS),
        camera=expand(rules.enrichment.output.camera, dataset=DATASETS),
        gene_ids=expand(rules.prepare_dataset.output.genes, dataset=DATASETS),
        # every organism's libraries; each dataset is judged with its organism's (dataset_libraries)
        gmts=all_gmts().values(),
        orthologs=list(ORTHOLOGS.values()),
        # what the samples say of each answer (the enrichment job's sample checks)
        qc=expand(rules.enrichment.output.qc, dataset=DATASETS),
        confounding=expand(rules.enrichment.output.confounding, dataset=DATASETS),
        loo=expand(rules.enrichment.output.loo, dataset=DATASETS),
    output:
        tsv=f"{RESULTS}/verdict.tsv",
        genes=f"{RESULTS}/verdict_genes.tsv",
        md=f"{RESULTS}/verdict.md",
        html=report(
            f"{RESULTS}/verdict.html",
            caption="../report/verdict.rst",
            category="Verdict",
            labels={"table": "verdict"},
        ),
    log:
        f"{LOGS}/verdict.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        banner=BANNER,
        datasets=DATASETS,
        target=CFG["target_pathway"],
        verdict_settings=CFG["verdict"],
        alpha=CFG["de"]["alpha"],
        libraries=list(all_gmts()),
        dataset_libraries={d: LIBRARY_KEYS[ORGANISM[d]] for d in DATASETS},
        organisms=ORGANISM,
        # the genes and gene families the claims test are reported in verdict_genes.tsv too, in each
        # dataset organism's symbols
        claims_settings=CFG.get("claims"),
        study_organism=CFG["organism"],
        ortholog_organisms=list(ORTHOLOGS),
        # datasets selected by expression: their sentences say an 'on top' needs the selection-aware null
        selected=SELECTED,
    script:
        "../scripts/verdict.py"


# SELECTED (rules/common.smk): datasets that select patients by expression; their tissue claim
# needs the selection-aware null


# Per-dataset calibration (calibration.enabled): studies simulated from the dataset's own fit, judged
# like the data; a dataset with select_by_expression is simulated before the selection (null_inputs)
rule calibrate_dataset:
    input:
        unpack(null_inputs),
        de_table=rules.deseq2.output.de,
        gmt=lambda wc: library_gmts(ORGANISM[wc.dataset])[PRIMARY_LIBRARY],
    output:
        summary=f"{RESULTS}/{{dataset}}/calibration/summary.tsv",
        simulations=f"{RESULTS}/{{dataset}}/calibration/simulations.tsv",
    log:
        f"{LOGS}/{{dataset}}/calibrate_dataset.log",
    benchmark:
        f"{LOGS}/benchmarks/calibrate_dataset/{{dataset}}.tsv"
    conda:
        "../envs/pathverdict.yaml"
    resources:
        mem_mb=calibration_mem_mb,
        runtime=calibration_runtime,
    params:
        dataset_config=dataset_cfg,
        library=PRIMARY_LIBRARY,
        target=CFG["target_pathway"],
        de=CFG["de"],
        enrichment=CFG["enrichment"],
        verdict_settings=CFG["verdict"],
        calibration=CFG["calibration"],
        selection=lambda wc: CFG["datasets"][wc.dataset].get("select_by_expression"),
    script:
        "../scripts/calibrate_dataset.py"


rule calibration:
    input:
        # the checked (selected) sample sheets give each dataset's design (a DE table has none)
        samples=expand(f"{RESULTS}/{{dataset}}/samples.tsv", dataset=COUNTED),
        summaries=(
            expand(rules.calibrate_dataset.output.summary, dataset=COUNTED)
            if CFG["calibration"]["enabled"]
            else []
        ),
    output:
        tsv=f"{RESULTS}/calibration.tsv",
    log:
        f"{LOGS}/calibration.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        datasets={d: CFG["datasets"][d] for d in DATASETS},
        primary=CFG["verdict"]["primary"],
        library=PRIMARY_LIBRARY,
        calibration=CFG["calibration"],
        engine=DE_ENGINE,
    script:
        "../scripts/calibration.py"


rule claims:
    input:
        verdict=rules.verdict.output.tsv,
        genes=rules.verdict.output.genes,
        # calibrated false-positive rate and power per dataset (rule calibration)
        calibration=rules.calibration.output.tsv,
        # the label-permutation null (rules/robustness.smk) and the selection analyses
        null=f"{RESULTS}/null.tsv" if CFG["null"]["enabled"] else [],
        selection=(
            expand(f"{RESULTS}/{{dataset}}/selection/analyses.tsv", dataset=SELECTED)
            if CFG["null"]["enabled"]
            else []
        ),
        # the sensitivity of the answer (rules/robustness.smk)
        sensitivity=(
            f"{RESULTS}/sensitivity.tsv" if CFG["sensitivity"]["enabled"] else []
        ),
        directions=(
            f"{RESULTS}/sensitivity_directions.tsv"
            if CFG["sensitivity"]["enabled"]
            else []
        ),
        # the sheet's columns against the contrast (rule sample_report): the claims' caveats of the
        # sample checks, with the leave-one-sample-out rows of the sensitivity table
        confounding=f"{RESULTS}/confounding.tsv",
        # caveat tables written by other rules (claims.CAVEAT_COLUMNS): none yet
        caveats=[],
        # the claims' genes in each dataset organism's symbols (organisms.<organism>.orthologs)
        orthologs=list(ORTHOLOGS.values()),
    output:
        tsv=f"{RESULTS}/claims.tsv",
        # every caveat that qualified the answers (the replication summary weighs datasets the same way)
        caveats=f"{RESULTS}/caveats.tsv",
        html=report(
            f"{RESULTS}/claims.html",
            caption="../report/claims.rst",
            category="Verdict",
            labels={"table": "the study's claims"},
        ),
    log:
        f"{LOGS}/claims.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        roles=ROLES,
        claims_settings=CFG.get("claims"),
        perturbed_gene=CFG.get("perturbed_gene"),
        role_names=CFG.get("role_names"),
        selected=SELECTED,
        tables=TABLES,
        library=PRIMARY_LIBRARY,
        banner=BANNER,
        target=CFG["target_pathway"],
        verdict_settings=CFG["verdict"],
        alpha=CFG["de"]["alpha"],
        null_settings=CFG["null"],
        organisms=ORGANISM,
        study_organism=CFG["organism"],
        ortholog_organisms=list(ORTHOLOGS),
    script:
        "../scripts/claims.py"


rule provenance:
    input:
        datasets=expand(rules.prepare_dataset.output.info, dataset=DATASETS),
        de=expand(rules.deseq2.output.summary, dataset=DATASETS),
        ora=expand(rules.enrichment.output.info, dataset=DATASETS),
        libraries=expand(
            rules.prepare_genesets.output.info, library=list(LIBRARY_SOURCES)
        ),
        annotation=(
            []
            if "file" in CFG["annotation"] or CFG["organism"] not in CFG["annotations"]
            else f"{RESOURCES}/annotation/annotation.json"
        ),
        # the downloaded annotations of the datasets' other organisms
        other_annotations=[
            f"{RESOURCES}/annotation/{ANNOTATION_KEY[org]}.json"
            for org, src in CFG["annotations"].items()
            if org != CFG["organism"] and "file" not in src
        ],
    output:
        json=f"{RESULTS}/provenance.json",
        html=report(
            f"{RESULTS}/provenance.html",
            caption="../report/provenance.rst",
            category="Provenance",
            labels={"table": "tools, data and gene sets"},
        ),
    log:
        f"{LOGS}/provenance.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        config=CFG,
        banner=BANNER,
    script:
        "../scripts/provenance.py"
