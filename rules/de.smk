rule deseq2:
    input:
        counts=rules.prepare_dataset.output.counts,
        samples=rules.prepare_dataset.output.samples,
        genes=rules.prepare_dataset.output.genes,
        # not read: makes a changed (and maybe broken) input rerun prepare_dataset every time (see raw_inputs)
        raw=raw_inputs,
    output:
        de=report(
            f"{RESULTS}/{{dataset}}/de.tsv",
            caption="../report/de.rst",
            category="Differential expression",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "DE results"},
        ),
        normalized=f"{RESULTS}/{{dataset}}/normalized_counts.tsv.gz",
        vst=f"{RESULTS}/{{dataset}}/vst.tsv.gz",
        summary=f"{RESULTS}/{{dataset}}/de_summary.json",
    log:
        f"{LOGS}/{{dataset}}/deseq2.log",
    benchmark:
        f"{LOGS}/benchmarks/deseq2/{{dataset}}.tsv"
    wildcard_constraints:
        dataset=names_regex(COUNTED),
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["deseq2"]
    resources:
        mem_mb=de_mem_mb,
        runtime=de_runtime,
    params:
        dataset_config=dataset_cfg,
        de=CFG["de"],
    script:
        "../scripts/deseq2.py"


# A dataset given as the authors' published DE table (`de_table`): its de.tsv comes from the table
# (read as DESeq2, edgeR, limma or Cuffdiff wrote it, or by `columns`), with the gene IDs mapped as for
# counts, instead of from prepare_dataset and deseq2; the enrichment and verdict are the same.
rule import_de_table:
    input:
        unpack(de_table_inputs),
        annotation=annotation_of,  # the dataset organism's
    output:
        de=report(
            f"{RESULTS}/{{dataset}}/de.tsv",
            caption="../report/de.rst",
            category="Differential expression",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "DE results (from the DE table)"},
        ),
        genes=f"{RESULTS}/{{dataset}}/input/gene_ids.tsv",
        info=f"{RESULTS}/{{dataset}}/input/prepare.json",
        summary=f"{RESULTS}/{{dataset}}/de_summary.json",
    log:
        f"{LOGS}/{{dataset}}/import_de_table.log",
    wildcard_constraints:
        dataset=names_regex(TABLES),
    conda:
        "../envs/pathverdict.yaml"
    params:
        dataset_config=dataset_cfg,
        alpha=CFG["de"]["alpha"],
    script:
        "../scripts/import_de_table.py"


# The engine sensitivity's DE (sensitivity.engine): the same step with the other DE engine
# (r_exact <-> pydeseq2), its own job -- its own threads, memory and run time (pydeseq2 takes
# 12-39x the CPU of the r_exact fit on the four real sets) and its own reason to rerun -- off the path to
# the verdict (the sensitivity table and the claims wait for it).
rule deseq2_engine:
    input:
        counts=rules.prepare_dataset.output.counts,
        samples=rules.prepare_dataset.output.samples,
        genes=rules.prepare_dataset.output.genes,
    output:
        de=f"{RESULTS}/{{dataset}}/engine_{OTHER_ENGINE}/de.tsv",
        normalized=f"{RESULTS}/{{dataset}}/engine_{OTHER_ENGINE}/normalized_counts.tsv.gz",
        vst=f"{RESULTS}/{{dataset}}/engine_{OTHER_ENGINE}/vst.tsv.gz",
        summary=f"{RESULTS}/{{dataset}}/engine_{OTHER_ENGINE}/de_summary.json",
    log:
        f"{LOGS}/{{dataset}}/deseq2_engine.log",
    benchmark:
        f"{LOGS}/benchmarks/deseq2_engine/{{dataset}}.tsv"
    wildcard_constraints:
        dataset=names_regex(COUNTED),
    conda:
        "../envs/pathverdict.yaml"
    threads: CFG["threads"]["deseq2"]
    resources:
        mem_mb=other_engine_mem_mb,
        runtime=other_engine_runtime,
    params:
        dataset_config=dataset_cfg,
        de=CFG["de"],
        engine=OTHER_ENGINE,
    script:
        "../scripts/deseq2_engine.py"
