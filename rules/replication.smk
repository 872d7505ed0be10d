# One answer across the datasets of each claim (issue 23 part 3, docs/replication.md): per dataset the
# target's status and its standardised effect (from the DE table, the VST and the design of every dataset
# with counts), a random-effects meta-analysis (REML, as R metafor) and the forest plot.


rule replication:
    input:
        verdict=rules.verdict.output.tsv,
        de=expand(rules.deseq2.output.de, dataset=COUNTED),
        vst=expand(rules.deseq2.output.vst, dataset=COUNTED),
        samples=expand(f"{RESULTS}/{{dataset}}/samples.tsv", dataset=COUNTED),
        # every organism's libraries; each dataset's target genes from its organism's (dataset_libraries)
        gmts=all_gmts().values(),
        # the selection-aware null of datasets selected by expression (claims' selection_null)
        null=f"{RESULTS}/null.tsv" if CFG["null"]["enabled"] else [],
        # every caveat of the claims (rule claims: sample checks, and any caveat table it is given): a
        # caveat that makes a pathway test inconclusive keeps the dataset out of the pooling
        caveats=rules.claims.output.caveats,
    output:
        tsv=f"{RESULTS}/replication.tsv",
        html=report(
            f"{RESULTS}/replication.html",
            caption="../report/replication.rst",
            category="Verdict",
            labels={"table": "replication across datasets"},
        ),
        png=report(
            f"{RESULTS}/replication.png",
            caption="../report/replication_plot.rst",
            category="Verdict",
            labels={"figure": "replication: forest plot"},
        ),
    log:
        f"{LOGS}/replication.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        counted=COUNTED,
        datasets={d: CFG["datasets"][d] for d in COUNTED},
        roles=ROLES,
        claims_settings=CFG.get("claims"),
        perturbed_gene=CFG.get("perturbed_gene"),
        role_names=CFG.get("role_names"),
        library=PRIMARY_LIBRARY,
        libraries=list(all_gmts()),
        dataset_libraries={d: LIBRARY_KEYS[ORGANISM[d]] for d in DATASETS},
        selected=SELECTED,
        tables=TABLES,
        target=CFG["target_pathway"],
        verdict_settings=CFG["verdict"],
        null_settings=CFG["null"],
        study_organism=CFG["organism"],
        banner=BANNER,
    script:
        "../scripts/replication.py"
