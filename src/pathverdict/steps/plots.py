"""Steps of rules/plots.smk: the figures of each dataset and the target's genes across datasets."""

from __future__ import annotations

import pandas as pd

from .. import enrichment, tables
from ..io import load_prepared_library, read_de, read_enrichment, read_sample_sheet
from ..util import read_tsv
from .enrichment import libraries_of


def _target_genes(libraries: dict[str, str], target: str) -> tuple[str, list[str]]:
    """The target's name and genes in the first library (the one plots are drawn for)."""
    name, gmt = next(iter(libraries.items()))
    lib = load_prepared_library(gmt, name)
    term = lib.find(target)
    return term, lib.sets[term]


def plot_dataset(
    *,
    dataset: str,
    dataset_config: dict,
    de: str,
    vst: str,
    samples: str,
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
) -> None:
    """PCA of the VST, MA and volcano plots of the DE table, and the enrichment dot plot (first library)."""
    from .. import plots

    name, ds, de_path, vst_path, samples_path = dataset, dataset_config, de, vst, samples
    libraries = libraries_of(libraries, gmts)
    enrichment_paths = {"ora_up": ora_up, "ora_down": ora_down, "ora_all": ora_all, "gsea": gsea}
    outputs = {"pca": out_pca, "ma": out_ma, "volcano": out_volcano, "dotplot": out_dotplot}

    tag = "SIMULATED — " if simulated else ""
    de_table = read_de(de_path)
    vst = read_tsv(vst_path, index_col=0)
    samples = read_sample_sheet(samples_path)
    var = ds["contrast"][0]
    others = [v for v in tables.formula_variables(ds["design"]) if v != var]
    term, genes = _target_genes(libraries, target)
    first = next(iter(libraries))
    enr = {}
    for method, path in enrichment_paths.items():
        t = read_enrichment(path)
        enr[method] = t[t["library"] == first].reset_index(drop=True)
    var_, tested, ref = ds["contrast"]
    label = f"{tag}{name}: {tested} vs {ref}"
    plots.pca_plot(
        vst,
        samples,
        color_by=var,
        out=outputs["pca"],
        title=f"{tag}{name}: PCA of VST counts",
        shape_by=others[0] if others else None,
    )
    if "log2FoldChange_shrunk" in de_table.columns:  # DESeq2 draws MA plots of shrunken fold changes
        plots.ma_plot(
            de_table.assign(log2FoldChange=de_table["log2FoldChange_shrunk"]),
            alpha,
            outputs["ma"],
            title=f"{label} (MA plot, shrunken log2FC)",
        )
    else:
        plots.ma_plot(de_table, alpha, outputs["ma"], title=f"{label} (MA plot)")
    plots.volcano_plot(
        de_table, alpha, outputs["volcano"], title=f"{label} (volcano)", highlight=genes, highlight_name=term
    )
    plots.enrichment_dotplot(enr, outputs["dotplot"], title=f"{tag}{name}: top {first} pathways", target=term)


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
    from .. import plots

    de_paths, out = de, out_heatmap
    libraries = libraries_of(libraries, gmts)

    term, genes = _target_genes(libraries, target)
    lfc, padj = {}, {}
    for ds, path in zip(datasets, de_paths):
        g = enrichment.collapse_to_symbols(read_de(path))
        lfc[ds] = g["log2FoldChange"].reindex(genes)
        padj[ds] = g["padj"].reindex(genes)
    lfc_df = pd.DataFrame(lfc, index=genes).dropna(how="all")
    padj_df = pd.DataFrame(padj, index=genes).reindex(lfc_df.index)
    plots.target_heatmap(
        lfc_df,
        padj_df,
        alpha,
        out,
        title=f"{'SIMULATED — ' if simulated else ''}{term}\nlog2 fold change of its genes (* padj < {alpha})",
    )
