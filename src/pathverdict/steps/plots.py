"""The figures of each dataset (drawn by the enrichment job, rules/enrichment.smk) and of the target's genes
across datasets (rules/plots.smk)."""

from __future__ import annotations

import pandas as pd

from .. import enrichment, tables
from ..io import libraries_of, load_prepared_library, read_de, read_enrichment, read_sample_sheet
from ..util import read_tsv


def _target_genes(libraries: list[str], gmts: list[str], target: str) -> tuple[str, list[str], str]:
    """The target's name and genes in the first library (the one plots are drawn for), and that library."""
    name, gmt = next(iter(libraries_of(libraries, gmts).items()))
    lib = load_prepared_library(gmt, name)
    term = lib.find(target)
    return term, lib.sets[term], name


def plot_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    de: str,
    ora_up: str,
    ora_down: str,
    ora_all: str,
    gsea: str,
    gmts: list[str],
    libraries: list[str],
    target: str,
    alpha: float,
    out_pca: str,
    out_ma: str,
    out_volcano: str,
    out_dotplot: str,
    simulated: bool = False,
    vst: str | None = None,
    samples: str | None = None,
) -> None:
    """PCA of the VST, MA and volcano plots of the DE table, and the enrichment dot plot (first library).
    A dataset given as a published DE table (no ``vst``, no ``samples``) gets a PCA figure that says why it
    is not drawn, and an MA plot against the table's own mean expression, where it has one."""
    from ..report import plots

    tag = "SIMULATED — " if simulated else ""
    de_table = read_de(de)
    term, genes, first = _target_genes(libraries, gmts, target)
    enr = {}
    for method, path in {"ora_up": ora_up, "ora_down": ora_down, "ora_all": ora_all, "gsea": gsea}.items():
        t = read_enrichment(path)
        enr[method] = t[t["library"] == first].reset_index(drop=True)
    if vst is None or samples is None:
        label = f"{tag}{dataset} (from its DE table)"
        plots.not_drawn(
            out_pca,
            f"{tag}{dataset}: PCA",
            "not drawn: a PCA needs the expression of every sample,\nand this dataset is a published DE table",
        )
    else:
        var, tested, ref = dataset_config["contrast"]
        others = [v for v in tables.formula_variables(dataset_config["design"]) if v != var]
        label = f"{tag}{dataset}: {tested} vs {ref}"
        plots.pca_plot(
            read_tsv(vst, index_col=0),
            read_sample_sheet(samples),
            color_by=var,
            out=out_pca,
            title=f"{tag}{dataset}: PCA of VST counts",
            shape_by=others[0] if others else None,
        )
    if de_table["baseMean"].isna().all() and "mean_expression" not in de_table.columns:
        plots.not_drawn(out_ma, f"{label} (MA plot)", "not drawn: the DE table gives no mean expression of the genes")
    elif "log2FoldChange_shrunk" in de_table.columns:  # DESeq2 draws MA plots of shrunken fold changes
        plots.ma_plot(
            de_table.assign(log2FoldChange=de_table["log2FoldChange_shrunk"]),
            alpha,
            out_ma,
            title=f"{label} (MA plot, shrunken log2FC)",
        )
    else:
        plots.ma_plot(de_table, alpha, out_ma, title=f"{label} (MA plot)")
    plots.volcano_plot(de_table, alpha, out_volcano, title=f"{label} (volcano)", highlight=genes, highlight_name=term)
    plots.enrichment_dotplot(enr, out_dotplot, title=f"{tag}{dataset}: top {first} pathways", target=term)


def plot_target_heatmap(
    *,
    datasets: list[str],
    de: list[str],
    gmts: list[str],
    libraries: list[str],
    target: str,
    alpha: float,
    out_heatmap: str,
    simulated: bool = False,
) -> None:
    """The log2 fold change of the target's genes (first library) in every dataset."""
    from ..report import plots

    term, genes, _ = _target_genes(libraries, gmts, target)
    lfc, padj = {}, {}
    for ds, path in zip(datasets, de, strict=True):
        g = enrichment.collapse_to_symbols(read_de(path))
        lfc[ds] = g["log2FoldChange"].reindex(genes)
        padj[ds] = g["padj"].reindex(genes)
    lfc_df = pd.DataFrame(lfc, index=genes).dropna(how="all")
    padj_df = pd.DataFrame(padj, index=genes).reindex(lfc_df.index)
    plots.target_heatmap(
        lfc_df,
        padj_df,
        alpha,
        out_heatmap,
        title=f"{'SIMULATED — ' if simulated else ''}{term}\nlog2 fold change of its genes (* padj < {alpha})",
    )
