"""What a reviewer asks next to an analysis of samples selected by expression.

A dataset with ``select_by_expression`` compares the tested group's samples with reduced
expression of a gene (e.g. RLS patients with MEIS1 below the control median) with the
reference group. Selecting on one gene's expression can create a pathway "enrichment" on
its own: anything that moves that gene and the pathway's genes together across
individuals (dissection, cell mix, a latent factor) makes the low-expression samples
differ from the others in the pathway, disease or not. Four analyses, side by side, with
the workflow's own DE (R-faithful DESeq2) and enrichment (:func:`null.target_ranks`):

* ``selected``: the analysis as configured (the selected samples vs the reference);
* ``all_patients``: every sample of the tested group vs the reference, no selection;
* ``low_vs_high_reference``: the *reference* samples split at their own median of the
  gene, low vs high -- a negative control: no disease is involved, so enrichment here
  shows what the selection alone produces;
* ``continuous_covariate``: all samples, the gene's expression (log2 of the normalised
  count + 1, centred) as a continuous covariate in the design next to the condition;
  the condition's effect, adjusted for the gene's level, is tested.

Expression is measured as the selection measures it (:mod:`pathverdict.judgement.selection`:
median-of-ratios normalised counts, size factors over all samples).

Functions: :func:`expression_level`, :func:`run_selection_analyses`,
the workflow's step is :func:`pathverdict.steps.robustness.selection_analyses`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import de
from . import null
from ..errors import InputError
from ..genesets import GeneSetLibrary
from .selection import size_factors
from ..tables import formula_variables
from ..util import quiet_logging

log = logging.getLogger(__name__)

ANALYSES = ("selected", "all_patients", "low_vs_high_reference", "continuous_covariate")
COLUMNS = [
    "dataset",
    "analysis",
    "description",
    "library",
    "method",
    "rank",
    "n_terms",
    "pvalue",
    "fdr",
    "status",
    "implication",
    "n_samples",
    "de_genes",
    "note",
]
LEVEL_COLUMN = "selection_gene_level"
COVARIATE = "selection_gene_log2"


def expression_level(counts: pd.DataFrame, symbols: pd.Series, gene: str) -> pd.Series:
    """Normalised expression of ``gene`` per sample, as :func:`selection.select_by_expression` computes it."""
    ids = [g for g, s in symbols.items() if (isinstance(s, str) and s == gene) or g == gene]
    if not ids:
        raise InputError(f"select_by_expression.gene: {gene!r} is not among the genes of the count matrix")
    return counts.loc[ids].sum(axis=0) / size_factors(counts)


def _de_with_covariate(
    counts: pd.DataFrame, samples: pd.DataFrame, params: de.DEParams, covariate: pd.Series, symbols: pd.Series
) -> pd.DataFrame:
    """DE table (as ``de.tsv``) for ``params.design`` plus a continuous covariate (:func:`de.run_deseq2`
    with the covariate kept numeric, first in the design)."""
    sheet = samples.copy()
    sheet[COVARIATE] = covariate.reindex(sheet.index).astype(float).to_numpy()
    design = f"~{COVARIATE} + " + " + ".join(formula_variables(params.design))
    covariate_params = dataclasses.replace(params, design=design, numeric=(COVARIATE,), shrink=False)
    res = de.run_deseq2(counts, sheet, covariate_params).results
    res.insert(0, "symbol", symbols.reindex(res.index.astype(str)).astype("string").to_numpy())
    return res.reset_index()


def _status(row: Mapping) -> str:
    if pd.notna(row.get("rank")):
        return "on top" if row.get("on_top") == "yes" else "ranked, not on top"
    return "not ranked"


def _implication(analysis: str, status: str, gene: str, group: str, reference: str) -> str:
    top = status == "on top"
    if status == "failed":
        return "this analysis could not be run, so nothing follows from it"
    if analysis == "selected":
        return (
            f"{group} samples selected for low {gene} show the pathway on top; the other analyses say whether "
            "the selection itself could produce it"
            if top
            else f"even the {group} samples selected for low {gene} do not show the pathway on top"
        )
    if analysis == "all_patients":
        return (
            f"without the selection the pathway is on top too: the finding does not depend on choosing "
            f"{group} samples by {gene}"
            if top
            else f"without the selection the pathway is not on top: the finding depends on choosing {group} samples "
            f"by {gene} expression"
        )
    if analysis == "low_vs_high_reference":
        return (
            f"{reference} samples split by {gene} level show the pathway too: the selection alone produces the "
            "enrichment, disease or not"
            if top
            else f"{reference} samples split by {gene} level do not show the pathway: no sign that selecting on "
            f"{gene} produces it by itself"
        )
    return (
        f"adjusted for {gene} expression the {group} effect on the pathway remains: it is not explained by {gene} level"
        if top
        else f"adjusted for {gene} expression the pathway is not on top: its enrichment goes with {gene} level, "
        "not with the disease"
    )


def run_selection_analyses(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    symbols: pd.Series,
    spec: Mapping,
    de_params: de.DEParams,
    libraries: Mapping[str, GeneSetLibrary],
    target: str,
    *,
    methods: Sequence[str] = ("ora_all",),
    enrichment_cfg: Mapping | None = None,
    threads: int = 1,
    top_n: int = 1,
    max_fdr: float = 0.05,
    dataset: str = "",
) -> pd.DataFrame:
    """The four analyses (module docs) of one dataset; :data:`COLUMNS`, one row per
    analysis x library x method.

    ``counts``/``samples`` hold *all* samples (before the selection; the prepared
    ``input/unselected`` files), ``spec`` is the dataset's ``select_by_expression``.
    """
    samples = null._indexed(samples)
    counts = counts.copy()
    counts.index = counts.index.astype(str)
    symbols = symbols.copy()
    symbols.index = symbols.index.astype(str)
    var, tested, reference = (str(c) for c in de_params.contrast)
    gene = str(spec["gene"])
    group = str(spec.get("group", tested))
    params = dataclasses.replace(de_params, contrast=[var, tested, reference], shrink=False, threads=threads)
    level = expression_level(counts, symbols, gene)
    others = [v for v in formula_variables(params.design) if v != var]

    def selected():
        c, s = null.apply_selection(counts, samples, symbols, spec, params.contrast, where=f"dataset {dataset}: ")
        return null._de_table(c, s, params, symbols), len(s)

    def all_patients():
        return null._de_table(counts, samples, params, symbols), len(samples)

    def low_vs_high():
        ref = samples.index[samples[var].astype(str) == reference]
        cut = float(level[ref].median())
        sheet = samples.loc[ref].copy()
        sheet[LEVEL_COLUMN] = np.where(level[ref] < cut, "low", "high")
        p = dataclasses.replace(
            params, design="~" + " + ".join([*others, LEVEL_COLUMN]), contrast=[LEVEL_COLUMN, "low", "high"]
        )
        n_low = int((sheet[LEVEL_COLUMN] == "low").sum())
        descriptions["low_vs_high_reference"] += f"; {n_low} low vs {len(sheet) - n_low} high"
        if min(n_low, len(sheet) - n_low) < 2:
            raise InputError(
                f"{reference} samples split at their {gene} median ({cut:.4g}) give {n_low} low and "
                f"{len(sheet) - n_low} high: at least 2 of each are needed"
            )
        return null._de_table(counts[list(ref)], sheet, p, symbols), len(sheet)

    def continuous():
        x = np.log2(level + 1.0)
        return _de_with_covariate(counts, samples, params, x - x.mean(), symbols), len(samples)

    design_text = " + ".join(formula_variables(params.design))
    descriptions = {
        "selected": f"{group} samples kept by the configured selection ({spec.get('rule', 'below_reference_median')} "
        f"on {gene}) vs {reference}, design ~{design_text}",
        "all_patients": f"all {group} samples vs {reference}, no selection, design ~{design_text}",
        "low_vs_high_reference": f"{reference} samples only, split at their own {gene} median: low vs high {gene} "
        "(negative control: no disease involved)",
        "continuous_covariate": f"all samples; {var} {tested} vs {reference} adjusted for {gene} expression (log2 of "
        f"the normalised count + 1, centred) as a continuous covariate: design "
        f"~{COVARIATE} + {design_text}",
    }
    runs = {
        "selected": selected,
        "all_patients": all_patients,
        "low_vs_high_reference": low_vs_high,
        "continuous_covariate": continuous,
    }
    rows = []
    for analysis in ANALYSES:
        try:
            with quiet_logging():
                table, n_samples = runs[analysis]()
                ranks = null.target_ranks(
                    table,
                    libraries,
                    target,
                    methods=methods,
                    enrichment_cfg=enrichment_cfg,
                    threads=threads,
                    top_n=top_n,
                    max_fdr=max_fdr,
                )
        except InputError as exc:
            log.warning("%s: %s analysis failed: %s", dataset, analysis, exc)
            for lib_name in libraries:
                for method in methods:
                    rows.append(
                        {
                            "dataset": dataset,
                            "analysis": analysis,
                            "description": descriptions[analysis],
                            "library": lib_name,
                            "method": method,
                            "rank": pd.NA,
                            "n_terms": pd.NA,
                            "pvalue": np.nan,
                            "fdr": np.nan,
                            "status": "failed",
                            "implication": _implication(analysis, "failed", gene, group, reference),
                            "n_samples": pd.NA,
                            "de_genes": pd.NA,
                            "note": str(exc),
                        }
                    )
            continue
        for r in ranks.to_dict("records"):
            status = _status(r)
            implication = _implication(analysis, status, gene, group, reference)
            if analysis == "low_vs_high_reference" and status != "on top" and n_samples < 8:
                implication += f" (but with only {n_samples} {reference} samples it has little power)"
            rows.append(
                {
                    "dataset": dataset,
                    "analysis": analysis,
                    "description": descriptions[analysis],
                    "library": r["library"],
                    "method": r["method"],
                    "rank": r["rank"],
                    "n_terms": r["n_terms"],
                    "pvalue": r["pvalue"],
                    "fdr": r["fdr"],
                    "status": status,
                    "implication": implication,
                    "n_samples": n_samples,
                    "de_genes": r["de_genes"],
                    "note": r["note"],
                }
            )
        log.info("%s: %s analysis done (DE engine %s)", dataset, analysis, params.engine)
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("rank", "n_terms", "n_samples", "de_genes"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out
