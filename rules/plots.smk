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
