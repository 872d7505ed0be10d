"""Selecting samples of a group by the expression of one gene.

The paper compared RLS patients *with reduced MEIS1 expression* with controls. A dataset
can ask for the same: among the samples of one group, keep those whose normalised
expression of a gene is reduced, by a configurable rule:

* ``below_reference_median``: below the median of the reference group;
* ``below_reference_quantile``: below the given quantile of the reference group;
* ``lowest_tertile``: in the lowest third of the group itself;
* ``lowest_fraction``: in the lowest ``fraction`` of the group itself.

Expression = median-of-ratios normalised counts (DESeq2 size factors over all samples).
Every sample of the group is listed with its level and whether it was kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, preview
from ..de.normalization import median_of_ratios

RULES = ("below_reference_median", "below_reference_quantile", "lowest_tertile", "lowest_fraction")


def size_factors(counts: pd.DataFrame) -> pd.Series:
    """DESeq2 median-of-ratios size factors of a genes x samples table."""
    return pd.Series(median_of_ratios(counts.to_numpy()), index=counts.columns)


# the gene must have reads in more than this share of the samples it ranks (docs/samples.md)
MAX_ZERO_SHARE = 0.5
NO_SELECTION = (
    "Select by another gene that is measured in this dataset, or remove `select_by_expression` to analyse "
    "all samples of the group."
)


def _gene_ids(symbols: pd.Series, gene: str, where: str) -> list:
    ids = [g for g, s in symbols.items() if (isinstance(s, str) and s == gene) or g == gene]
    if not ids:
        raise InputError(
            f"{where}select_by_expression.gene: {gene!r} is not among the genes of the count matrix "
            f"(after mapping IDs to symbols), so it cannot rank the samples. Check the gene symbol; {NO_SELECTION}"
        )
    return ids


def check_gene_reads(reads: pd.Series, gene: str, where: str = "") -> None:
    """Refuse a selection gene that cannot rank the samples: ``reads`` are its raw reads in the samples
    the rule compares (the selected group and the reference). With no reads in any of them it is not
    measured; with no reads in at least half of them (:data:`MAX_ZERO_SHARE`) the reference median, or
    the group's lower part, is zero, and "reduced expression" is decided among ties at zero -- by the
    order of the samples, not by the gene."""
    n, zero = len(reads), int((reads == 0).sum())
    if n and zero == n:
        raise InputError(
            f"{where}select_by_expression.gene: {gene} has no reads in any of the {n} samples it would rank: it is "
            f"not measured in this dataset, so no rule can tell reduced from normal expression. {NO_SELECTION}"
        )
    if n and zero >= MAX_ZERO_SHARE * n:
        raise InputError(
            f"{where}select_by_expression.gene: {gene} has no reads in {zero} of the {n} samples it would rank "
            f"(at most {MAX_ZERO_SHARE:.0%} may be zero): the samples would be told apart by ties at zero, not by "
            f"{gene}'s expression, and no quantile or fraction changes that. {NO_SELECTION}"
        )


def gene_level(counts: pd.DataFrame, symbols: pd.Series, gene: str, where: str = "") -> pd.Series:
    """The normalised expression of ``gene`` per sample that :func:`select_by_expression` selects on
    (the same numbers): it depends on the counts only, not on the labels, so a caller that selects
    from many relabelled sheets of one count matrix computes it once and passes it as ``level``."""
    ids = _gene_ids(symbols, gene, where)
    return counts.loc[ids].sum(axis=0) / size_factors(counts)  # several IDs of one symbol: summed


def select_by_expression(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    symbols: pd.Series,
    spec: dict,
    contrast: list[str],
    where: str,
    level: pd.Series | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Samples to keep and a table of the group's samples with their expression level.

    ``symbols`` maps the count matrix's gene IDs to symbols; ``spec`` has ``gene``,
    ``group`` (a level of the contrast variable; default the tested level), ``rule`` and
    ``quantile``/``fraction`` where the rule needs them. ``level``: :func:`gene_level` of these
    counts and ``spec["gene"]`` when the caller has it already (else it is computed here).
    """
    var, tested, reference = contrast
    gene, rule = spec["gene"], spec.get("rule", "below_reference_median")
    group = spec.get("group", tested)
    if rule not in RULES:
        raise InputError(f"{where}select_by_expression.rule: {rule!r} is not one of {', '.join(RULES)}.")
    if group == reference:
        raise InputError(
            f"{where}select_by_expression.group: {group!r} is the reference level; select within the "
            "tested group (or swap the contrast)."
        )
    ids = _gene_ids(symbols, gene, where) if level is None else None
    in_group = samples.index[samples[var] == group]
    in_ref = samples.index[samples[var] == reference]
    if len(in_group) == 0:
        raise InputError(
            f"{where}select_by_expression.group: no sample has {var} = {group!r} "
            f"(levels: {preview(sorted(samples[var].unique()))})."
        )
    if level is None:
        reads = counts.loc[ids].sum(axis=0)  # several IDs of one symbol: summed
        check_gene_reads(reads[list(in_group) + list(in_ref)], gene, where)
        level = reads / size_factors(counts)
    g_level, r_level = level[in_group], level[in_ref]
    if rule == "below_reference_median":
        cutoff, keep = float(r_level.median()), g_level < r_level.median()
        how = f"below the median of {reference} ({cutoff:.4g})"
    elif rule == "below_reference_quantile":
        q = float(spec.get("quantile", 0.5))
        cutoff = float(r_level.quantile(q))
        keep, how = g_level < cutoff, f"below the {q:g} quantile of {reference} ({cutoff:.4g})"
    else:
        frac = 1 / 3 if rule == "lowest_tertile" else float(spec.get("fraction", 1 / 3))
        n = max(1, int(np.floor(len(g_level) * frac + 1e-9)))
        order = g_level.sort_values(kind="mergesort").index[:n]
        cutoff = float(g_level[order].max())
        keep, how = g_level.index.isin(order), f"the lowest {n} of {len(g_level)} {group} samples"
        keep = pd.Series(keep, index=g_level.index)
    table = pd.DataFrame(
        {
            "sample": list(in_group) + list(in_ref),
            "group": [group] * len(in_group) + [reference] * len(in_ref),
            f"{gene}_normalized": np.round(list(g_level) + list(r_level), 3),
            "kept": ["yes" if k else "no" for k in keep] + ["yes (reference)"] * len(in_ref),
            "rule": [f"{gene} {how}"] * (len(in_group) + len(in_ref)),
        }
    )
    kept_group = [s for s, k in keep.items() if k]
    if len(kept_group) < 2:
        raise InputError(
            f"{where}select_by_expression keeps {len(kept_group)} of {len(in_group)} {group} sample(s) "
            f"({gene} {how}); at least 2 are needed. Relax the rule (e.g. below_reference_quantile with "
            "a higher quantile), or remove `select_by_expression` to analyse all samples of the group."
        )
    keep_all = [s for s in samples.index if s not in set(in_group) or s in set(kept_group)]
    return keep_all, table
