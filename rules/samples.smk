# Trust at the level of samples (issue 19): each dataset's sample QC, its sample sheet's columns
# against the contrast and the verdict re-run with each sample left out are made by the enrichment
# job (rules/enrichment.smk); here the study's tables and page.


rule sample_report:
    input:
        qc=expand(rules.enrichment.output.qc, dataset=DATASETS),
        confounding=expand(rules.enrichment.output.confounding, dataset=DATASETS),
        loo=expand(rules.enrichment.output.loo, dataset=DATASETS),
        # the verdict on all samples, shown above the removals
        verdict=rules.verdict.output.tsv,
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
