rule plot_dataset:
    input:
        de=rules.deseq2.output.de,
        vst=rules.deseq2.output.vst,
        samples=rules.prepare_dataset.output.samples,
        ora_up=rules.ora.output.up,
        ora_down=rules.ora.output.down,
        ora_all=rules.ora.output.all,
        gsea=rules.gsea.output.gsea,
        gmts=library_gmts().values(),
    output:
        pca=report(
            "results/{dataset}/plots/pca.png",
            caption="../report/pca.rst",
            category="Quality control",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "PCA"},
        ),
        ma=report(
            "results/{dataset}/plots/ma.png",
            caption="../report/ma.rst",
            category="Differential expression",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "MA plot"},
        ),
        volcano=report(
            "results/{dataset}/plots/volcano.png",
            caption="../report/volcano.rst",
            category="Differential expression",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "volcano"},
        ),
        dotplot=report(
            "results/{dataset}/plots/dotplot.png",
            caption="../report/dotplot.rst",
            category="Enrichment",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "top pathways"},
        ),
    log:
        "logs/{dataset}/plots.log",
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
            "results/target_heatmap.png",
            caption="../report/heatmap.rst",
            category="Verdict",
            labels={"figure": "target pathway genes across datasets"},
        ),
    log:
        "logs/plot_target_heatmap.log",
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
