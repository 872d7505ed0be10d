rule verdict:
    input:
        de=expand(rules.deseq2.output.de, dataset=DATASETS),
        ora_up=expand(rules.ora.output.up, dataset=DATASETS),
        ora_down=expand(rules.ora.output.down, dataset=DATASETS),
        ora_all=expand(rules.ora.output.all, dataset=DATASETS),
        ora_info=expand(rules.ora.output.info, dataset=DATASETS),
        gsea=expand(rules.gsea.output.gsea, dataset=DATASETS),
        gene_ids=expand(rules.prepare_dataset.output.genes, dataset=DATASETS),
        gmts=library_gmts().values(),
    output:
        tsv="results/verdict.tsv",
        genes="results/verdict_genes.tsv",
        md="results/verdict.md",
        html=report(
            "results/verdict.html",
            caption="../report/verdict.rst",
            category="Verdict",
            labels={"table": "verdict"},
        ),
        claims="results/claims.tsv",
        claims_html=report(
            "results/claims.html",
            caption="../report/claims.rst",
            category="Verdict",
            labels={"table": "the study's claims"},
        ),
    params:
        roles={d: CFG["datasets"][d]["role"] for d in DATASETS},
        banner=BANNER,
        datasets=DATASETS,
        target=CFG["target_pathway"],
        verdict=CFG["verdict"],
        alpha=CFG["de"]["alpha"],
        libraries=library_gmts(),
    log:
        "logs/verdict.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/verdict.py"


rule provenance:
    input:
        datasets=expand(rules.prepare_dataset.output.info, dataset=DATASETS),
        de=expand(rules.deseq2.output.summary, dataset=DATASETS),
        ora=expand(rules.ora.output.info, dataset=DATASETS),
        libraries=expand(rules.prepare_genesets.output.info, library=list(LIBRARIES)),
        annotation=[] if "file" in CFG["annotation"] else rules.fetch_annotation.output.info,
    output:
        json="results/provenance.json",
        html=report(
            "results/provenance.html",
            caption="../report/provenance.rst",
            category="Provenance",
            labels={"table": "tools, data and gene sets"},
        ),
    params:
        config=CFG,
    log:
        "logs/provenance.log",
    conda:
        "../envs/pathverdict.yaml"
    script:
        "../scripts/provenance.py"
