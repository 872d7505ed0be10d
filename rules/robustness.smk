# Beyond the paper: how robust is the target's rank to the DE thresholds and gene-set release,
# and how often does it reach its rank on permuted sample labels?


rule robustness:
    input:
        grids=expand(RERUN_OUTPUTS["grid"], dataset=DATASETS),
    output:
        grid=f"{RESULTS}/robustness.tsv",
        summary=f"{RESULTS}/robustness_summary.tsv",
        heatmap=report(
            f"{RESULTS}/robustness.png",
            caption="../report/robustness.rst",
            category="Robustness",
            labels={"figure": "target rank across thresholds, libraries and methods"},
        ),
    log:
        f"{LOGS}/robustness.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        banner=BANNER,
    script:
        "../scripts/robustness.py"


rule null_permutations:
    input:
        unpack(null_inputs),
        verdict=rules.verdict.output.tsv,
        gmt=lambda wc: library_gmts(ORGANISM[wc.dataset])[PRIMARY_LIBRARY],
    output:
        permutations=f"{RESULTS}/{{dataset}}/null/permutations.tsv",
        summary=f"{RESULTS}/{{dataset}}/null/summary.tsv",
    log:
        f"{LOGS}/{{dataset}}/null_permutations.log",
    benchmark:
        f"{LOGS}/benchmarks/null_permutations/{{dataset}}.tsv"
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["deseq2"]
    resources:
        mem_mb=de_mem_mb,
        runtime=null_runtime,
    params:
        dataset_config=dataset_cfg,
        library=PRIMARY_LIBRARY,
        target=CFG["target_pathway"],
        de=CFG["de"],
        enrichment=CFG["enrichment"],
        verdict_settings=CFG["verdict"],
        null_settings=CFG["null"],
        selection=lambda wc: CFG["datasets"][wc.dataset].get("select_by_expression"),
    script:
        "../scripts/null_permutations.py"


rule null:
    input:
        # a DE table has no counts to relabel: its rows say so (params.not_tested)
        summaries=expand(rules.null_permutations.output.summary, dataset=COUNTED),
    output:
        summary=f"{RESULTS}/null.tsv",
        html=report(
            f"{RESULTS}/null.html",
            caption="../report/null.rst",
            category="Robustness",
            labels={"table": "label-permutation null"},
        ),
    log:
        f"{LOGS}/null.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        banner=BANNER,
        not_tested=TABLES,
        library=PRIMARY_LIBRARY,
        target=CFG["target_pathway"],
    script:
        "../scripts/null.py"


rule selection_analyses:
    input:
        counts=rules.prepare_unselected.output.counts,
        samples=rules.prepare_unselected.output.samples,
        genes=rules.prepare_unselected.output.genes,
        gmts=dataset_gmts,
    output:
        analyses=report(
            f"{RESULTS}/{{dataset}}/selection/analyses.tsv",
            caption="../report/selection_analyses.rst",
            category="Robustness",
            subcategory="{dataset}",
            labels={
                "dataset": "{dataset}",
                "table": "selection by expression: side analyses",
            },
        ),
    log:
        f"{LOGS}/{{dataset}}/selection_analyses.log",
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["deseq2"]
    resources:
        mem_mb=selection_mem_mb,
    params:
        dataset_config=dataset_cfg,
        selection=lambda wc: CFG["datasets"][wc.dataset]["select_by_expression"],
        libraries=list(LIBRARIES),
        target=CFG["target_pathway"],
        de=CFG["de"],
        enrichment=CFG["enrichment"],
        verdict_settings=CFG["verdict"],
        methods=list(
            dict.fromkeys([CFG["verdict"]["primary"], *CFG["null"]["methods"]])
        ),
    script:
        "../scripts/selection_analyses.py"


# The engine sensitivity of one dataset with counts (sensitivity.engine): the other DE engine's DE
# (rule deseq2_engine), then the enrichment and verdict of the workflow, compared with the verdict. A
# DE table dataset has no counts to re-run: rule sensitivity gives it one `not tested` row.
rule engine_sensitivity:
    input:
        de=rules.deseq2_engine.output.de,
        vst=rules.deseq2_engine.output.vst,
        base_de=rules.deseq2.output.de,
        verdict=rules.verdict.output.tsv,
        samples=rules.prepare_dataset.output.samples,
        gmts=dataset_gmts,
    output:
        tsv=f"{RESULTS}/{{dataset}}/sensitivity_engine.tsv",
    log:
        f"{LOGS}/{{dataset}}/engine_sensitivity.log",
    wildcard_constraints:
        dataset=names_regex(COUNTED),
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["gsea"]
    resources:
        runtime=engine_sensitivity_runtime,
    params:
        dataset_config=dataset_cfg,
        libraries=list(LIBRARIES),
        target=CFG["target_pathway"],
        engine=DE_ENGINE,
        other=OTHER_ENGINE,
        enrichment=CFG["enrichment"],
        verdict_settings=CFG["verdict"],
        alpha=CFG["de"]["alpha"],
        sensitivity=CFG["sensitivity"],
    script:
        "../scripts/engine_sensitivity.py"


# Sensitivity of the answer: without the metallothioneins, leaving one DE gene of the target
# out, across the configured releases, with the other DE engine (rule engine_sensitivity), and the
# direction of the pathway's DE genes.
rule sensitivity:
    input:
        tables=expand(RERUN_OUTPUTS["sensitivity"], dataset=DATASETS),
        engine_tables=(
            expand(rules.engine_sensitivity.output.tsv, dataset=COUNTED)
            if ENGINE_SENSITIVITY
            else []
        ),
        genes=rules.verdict.output.genes,
        # leaving one sample out (the enrichment job)
        loo=expand(rules.enrichment.output.loo, dataset=DATASETS),
    output:
        tsv=f"{RESULTS}/sensitivity.tsv",
        directions=f"{RESULTS}/sensitivity_directions.tsv",
    log:
        f"{LOGS}/sensitivity.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        roles=ROLES,
        # the engine sensitivity's other engine (None: off); a DE table dataset gets one `not tested` row
        other_engine=OTHER_ENGINE if ENGINE_SENSITIVITY else None,
        not_tested=TABLES,
        library=PRIMARY_LIBRARY,
    script:
        "../scripts/sensitivity.py"
