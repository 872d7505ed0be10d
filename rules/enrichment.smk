# Every enrichment of one dataset's DE table in one job (steps.enrichment.enrich_dataset): ORA of
# up/down/all DE genes, CAMERA and pre-ranked GSEA against every library, then the re-runs that
# test the answer -- the target's rank over DE thresholds (robustness grid), its sensitivity
# (without the metallothioneins, leaving one DE gene out, per release) and the sample checks
# (sample QC, the sheet's columns against the contrast, leaving one sample out: DE and every
# method of the first library re-run per removed sample) -- and the dataset's figures (PCA, MA,
# volcano, enrichment dot plot). One process instead of seven: they read the same files, and each
# new Python process costs 0.5-1.5 s of imports (gseapy alone imports matplotlib, which the
# figures need anyway).


rule enrichment:
    input:
        # the counts, VST, sample sheet and DE summary (CAMERA, PCA, the sample checks) of a dataset with
        # counts; for a DE table dataset its record (input/prepare.json): what its table cannot test
        # (rules/common.smk)
        unpack(count_outputs),
        de=rules.deseq2.output.de,
        genes=rules.prepare_dataset.output.genes,
        gmts=dataset_gmts,
        # not read: a changed (and maybe broken) library reruns prepare_genesets every time (see raw_inputs)
        sources=raw_library_inputs,
    output:
        # the robustness grid and the sensitivity table, when enabled
        **enrichment_reruns(),
        up=f"{RESULTS}/{{dataset}}/enrichment/ora_up.tsv",
        down=f"{RESULTS}/{{dataset}}/enrichment/ora_down.tsv",
        all=f"{RESULTS}/{{dataset}}/enrichment/ora_all.tsv",
        info=f"{RESULTS}/{{dataset}}/enrichment/ora.json",
        camera=f"{RESULTS}/{{dataset}}/enrichment/camera.tsv",
        gsea=f"{RESULTS}/{{dataset}}/enrichment/gsea.tsv",
        # the sample checks (steps.samples.check_samples)
        qc=f"{RESULTS}/{{dataset}}/samples/qc.tsv",
        confounding=f"{RESULTS}/{{dataset}}/samples/confounding.tsv",
        loo=f"{RESULTS}/{{dataset}}/samples/leave_one_sample_out.tsv",
        # the dataset's figures (steps.plots.plot_dataset)
        pca=report(
            f"{RESULTS}/{{dataset}}/plots/pca.png",
            caption="../report/pca.rst",
            category="Quality control",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "PCA"},
        ),
        ma=report(
            f"{RESULTS}/{{dataset}}/plots/ma.png",
            caption="../report/ma.rst",
            category="Differential expression",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "MA plot"},
        ),
        volcano=report(
            f"{RESULTS}/{{dataset}}/plots/volcano.png",
            caption="../report/volcano.rst",
            category="Differential expression",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "volcano"},
        ),
        dotplot=report(
            f"{RESULTS}/{{dataset}}/plots/dotplot.png",
            caption="../report/dotplot.rst",
            category="Enrichment",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "top pathways"},
        ),
    log:
        f"{LOGS}/{{dataset}}/enrichment.log",
    benchmark:
        f"{LOGS}/benchmarks/enrichment/{{dataset}}.tsv"
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["gsea"]
    resources:
        mem_mb=enrichment_mem_mb,
        runtime=enrichment_runtime,
    params:
        dataset_config=dataset_cfg,
        libraries=list(LIBRARIES),
        target=CFG["target_pathway"],
        enrichment=CFG["enrichment"],
        robustness=CFG["robustness"],
        verdict_settings=CFG["verdict"],
        alpha=CFG["de"]["alpha"],
        sensitivity=CFG["sensitivity"],
        simulated=CFG["simulated"],
        de_settings=CFG["de"],
        leave_one_sample_out=LOO_SETTINGS,
    script:
        "../scripts/enrichment.py"
