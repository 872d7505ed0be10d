# Trust at the level of samples (issue 19): each dataset's sample QC, its sample sheet's columns
# against the contrast, and the verdict re-run with each sample left out (DE, every enrichment
# method of the first library); then the study's tables and page.


rule samples:
    input:
        counts=rules.prepare_dataset.output.counts,
        samples=rules.prepare_dataset.output.samples,
        genes=rules.prepare_dataset.output.genes,
        de=rules.deseq2.output.de,
        vst=rules.deseq2.output.vst,
        summary=rules.deseq2.output.summary,
        # the verdict's numbers on all samples, which each removal is compared with
        ora_up=rules.enrichment.output.up,
        ora_down=rules.enrichment.output.down,
        ora_all=rules.enrichment.output.all,
        ora_info=rules.enrichment.output.info,
        gsea=rules.enrichment.output.gsea,
        camera=rules.enrichment.output.camera,
        gmt=lambda wc: library_gmts()[PRIMARY_LIBRARY],
    output:
        qc=f"{RESULTS}/{{dataset}}/samples/qc.tsv",
        confounding=f"{RESULTS}/{{dataset}}/samples/confounding.tsv",
        loo=f"{RESULTS}/{{dataset}}/samples/leave_one_sample_out.tsv",
    log:
        f"{LOGS}/{{dataset}}/samples.log",
    benchmark:
        f"{LOGS}/benchmarks/samples/{{dataset}}.tsv"
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["deseq2"]
    resources:
        mem_mb=de_mem_mb,
        runtime=loo_runtime,
    params:
        dataset_config=dataset_cfg,
        library=PRIMARY_LIBRARY,
        target=CFG["target_pathway"],
        de_settings=CFG["de"],
        enrichment=CFG["enrichment"],
        verdict_settings=CFG["verdict"],
        alpha=CFG["de"]["alpha"],
        leave_one_sample_out=LOO_SETTINGS,
    script:
        "../scripts/samples.py"


rule sample_report:
    input:
        qc=expand(rules.samples.output.qc, dataset=DATASETS),
        confounding=expand(rules.samples.output.confounding, dataset=DATASETS),
        loo=expand(rules.samples.output.loo, dataset=DATASETS),
    output:
        qc=f"{RESULTS}/samples_qc.tsv",
        confounding=f"{RESULTS}/confounding.tsv",
        html=report(
            f"{RESULTS}/samples.html",
            caption="../report/sample_qc.rst",
            category="Quality control",
            labels={"table": "samples: QC, confounding, leave one out"},
        ),
    log:
        f"{LOGS}/sample_report.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        banner=BANNER,
    script:
        "../scripts/sample_report.py"
