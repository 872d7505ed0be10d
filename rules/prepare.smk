rule prepare_dataset:
    input:
        unpack(dataset_inputs),
        annotation=annotation_of,
    output:
        counts=f"{RESULTS}/{{dataset}}/input/counts.tsv.gz",
        samples=report(
            f"{RESULTS}/{{dataset}}/samples.tsv",
            caption="../report/samples.rst",
            category="Samples",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "sample sheet"},
        ),
        genes=f"{RESULTS}/{{dataset}}/input/gene_ids.tsv",
        info=f"{RESULTS}/{{dataset}}/input/prepare.json",
        selection=report(
            f"{RESULTS}/{{dataset}}/input/selection.tsv",
            caption="../report/selection.rst",
            category="Samples",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "selection by expression"},
        ),
    log:
        f"{LOGS}/{{dataset}}/prepare_dataset.log",
    wildcard_constraints:
        # a DE table dataset's gene IDs and record are written by import_de_table (rules/de.smk)
        dataset=names_regex(COUNTED),
    conda:
        "../envs/pathverdict.yaml"
    resources:
        # reads the whole count matrix with pandas
        mem_mb=matrix_mem_mb,
    params:
        dataset_config=dataset_cfg,
    script:
        "../scripts/prepare_dataset.py"


rule prepare_genesets:
    input:
        unpack(library_inputs),
        # other organisms than human: genes in another case than the annotation's symbols are renamed
        annotation=library_annotation,
    output:
        gmt=f"{RESOURCES}/genesets/{{library}}.gmt",
        info=f"{RESOURCES}/genesets/{{library}}.json",
    log:
        f"{LOGS}/genesets/{{library}}.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        library_name=lambda wc: wc.library.rsplit("/", 1)[-1],
        target=CFG["target_pathway"],
    script:
        "../scripts/prepare_genesets.py"


# The checked counts and sample sheet of ALL samples, before `select_by_expression`: the
# selection-aware null (rule null_permutations) and the reviewer's analyses (rule
# selection_analyses) relabel or split these samples and re-apply the selection themselves.
rule prepare_unselected:
    input:
        unpack(dataset_inputs),
        annotation=annotation_of,
    output:
        counts=f"{RESULTS}/{{dataset}}/input/unselected/counts.tsv.gz",
        samples=f"{RESULTS}/{{dataset}}/input/unselected/samples.tsv",
        genes=f"{RESULTS}/{{dataset}}/input/unselected/gene_ids.tsv",
        info=f"{RESULTS}/{{dataset}}/input/unselected/prepare.json",
    log:
        f"{LOGS}/{{dataset}}/prepare_unselected.log",
    conda:
        "../envs/pathverdict.yaml"
    resources:
        mem_mb=matrix_mem_mb,
    params:
        dataset_config=lambda wc: unselected_cfg(wc.dataset),
    script:
        "../scripts/prepare_unselected.py"
