rule plot_dataset:
    input:
        de=rules.deseq2.output.de,
        vst=rules.deseq2.output.vst,
        samples=rules.prepare_dataset.output.samples,
        ora_up=rules.enrichment.output.up,
        ora_down=rules.enrichment.output.down,
        ora_all=rules.enrichment.output.all,
        gsea=rules.enrichment.output.gsea,
        gmts=library_gmts().values(),
    output:
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
        f"{LOGS}/{{dataset}}/plots.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        target=CFG["target_pathway"],
        alpha=CFG["de"]["alpha"],
        libraries=list(LIBRARIES),
        simulated=CFG["simulated"],
    script:
        "../scripts/plot_dataset.py"


rule plot_target_heatmap:
    input:
        de=expand(rules.deseq2.output.de, dataset=DATASETS),
        gmts=library_gmts().values(),
    output:
        heatmap=report(
            f"{RESULTS}/target_heatmap.png",
            caption="../report/heatmap.rst",
            category="Verdict",
            labels={"figure": "target pathway genes across datasets"},
        ),
    log:
        f"{LOGS}/plot_target_heatmap.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        datasets=DATASETS,
        target=CFG["target_pathway"],
        alpha=CFG["de"]["alpha"],
        libraries=list(LIBRARIES),
        simulated=CFG["simulated"],
    script:
        "../scripts/plot_target_heatmap.py"
