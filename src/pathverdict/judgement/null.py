"""Label-permutation null: how often does the target reach its observed statistic by chance?

The sample labels of the contrast variable are permuted among the samples of the two
compared groups, the whole analysis (DESeq2, gene-level collapse, ORA / GSEA) is re-run
on each relabelled sample sheet, and the target's statistics are compared with the
observed ones:

    empirical p = (1 + #relabelings at least as extreme) / (1 + #relabelings where the statistic is defined)

(the observed labelling counts as one of the equally likely labellings under the null,
so p is never 0).

Which relabelings (:func:`relabelings`)
---------------------------------------
* Only the contrast variable's labels of the samples in the two compared groups move;
  samples of other levels and every other column (covariates) stay as they are. Every
  relabeling is balanced: each group keeps its size.
* Designs with covariates (``~batch + condition``): when every level (combination of
  levels) of the covariates contains samples of both compared groups, labels are
  permuted *within* each level, which keeps every batch's group composition and so the
  covariate's share of the signal. Otherwise (a batch with one group only, a continuous
  covariate) the labels are permuted freely among the compared samples; a relabeling
  that makes the design singular is skipped and counted in the summary.
* With equal group sizes (in every stratum), a relabeling and its exact swap (every
  label flipped) give the same DE results with the signs flipped -- identical
  p-values, hence identical ORA-all results, and GSEA up to the direction of the
  enrichment -- so only one of each pair is used: the one in which the first compared
  sample of the sheet keeps its observed label. This is a valid permutation test (it
  conditions on that sample's label) for every method, ora_up and ora_down included.
  The observed labelling and its swap are never among the relabelings.
* 3 vs 3 samples: C(6,3) = 20 labellings, 10 swap pairs, minus the observed pair = 9
  relabelings; the smallest attainable p is then 1 / (1 + 9) = 0.1. Small designs
  cannot give small p-values; the summary says so.
* When the number of distinct relabelings exceeds ``max_permutations``, a random sample
  of ``max_permutations`` distinct ones is drawn with ``numpy.random.default_rng(seed)``
  (Monte-Carlo permutation p, still valid). All orders are deterministic.

What is compared (:func:`run_null`)
-----------------------------------
* ``set_score`` (always): :func:`set_score`, the target's mean |Wald statistic|
  standardised against all tested genes -- two-sided, competitive, threshold-free and so
  defined under every relabeling. Observed and permuted values come from the same
  function on DE tables made the same way (the observed one by re-running the analysis
  on the observed labels).
* The rank methods (``ora_all``, ``ora_up``, ``ora_down``, ``gsea``): the target's rank,
  the observed one being the verdict's (``results/<study>/verdict.tsv``). A relabeling that does
  not rank the target has no rank and counts neither way (p conditional on the target
  being ranked); when no relabeling ranks it (e.g. ORA at 3 vs 3: no relabeling gives a
  DE gene), or the observed data do not, the null is *uninformative*: no p, and the note
  says why. The analysis is also re-run on the observed labels (``rerun_rank``), as the
  verdict's own computation: the DE step's gene blocks, the DE table at the 6 significant
  digits ``de.tsv`` keeps (:func:`null_statistics.de_table`; every relabeling too), GSEA's
  permutations and seed (its threads change nothing); a different rank means the verdict
  is stale or was made with other settings.
* Every relabeling runs the full analysis with the workflow's settings: DESeq2 without
  LFC shrinkage (enrichment does not use it), ``enrichment.*`` including GSEA's
  permutations and seed -- the verdict's own, so that the re-run reproduces it.
* Selection-aware (``selection``, a dataset's ``select_by_expression``): labels are
  permuted over all samples before the selection, which is re-applied to every
  relabeling (:func:`apply_selection`); swap pairs are then not collapsed.
* DESeq2 and gseapy log output is silenced while they run; one progress line every 10
  relabelings. Cost is (1 + n) x (one DESeq2 fit + the enrichments); GSEA dominates on
  real data, so ``methods=("ora_all",)`` is the cheap choice.

Functions: :func:`relabelings`, :func:`relabeling_count`, :func:`permutation_strata`,
:func:`apply_relabeling`, :func:`target_ranks` (the workflow's enrichment and the
target's rank for one DE table), :func:`set_score`, :func:`run_null` (the workflow's step:
:func:`pathverdict.steps.robustness.null_permutations`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import de, enrichment
from . import verdict
from ..errors import InputError
from ..genesets import GeneSetLibrary
from ..io import read_table
from .null_statistics import (  # noqa: F401  (part of this module's API)
    ENRICHMENT_DEFAULTS,
    RANK_COLUMNS,
    SET_SCORE,
    STATISTIC_NAMES,
    _de_table,
    _enrichment_cfg,
    set_score,
    target_ranks,
    target_set_scores,
)
from .relabeling import (  # noqa: F401  (part of this module's API)
    ENUMERATION_LIMIT,
    _indexed,
    _scheme,
    apply_relabeling,
    format_relabeling,
    permutation_strata,
    relabeling_count,
    relabelings,
)
from ..util import quiet_logging

log = logging.getLogger(__name__)

__all__ = [
    "PERMUTATION_COLUMNS",
    "SET_SCORE",
    "STATISTIC_NAMES",
    "set_score",
    "target_set_scores",
    "apply_selection",
    "read_table",
    "read_summary",
    "SUMMARY_COLUMNS",
    "ENRICHMENT_DEFAULTS",
    "relabelings",
    "relabeling_count",
    "permutation_strata",
    "apply_relabeling",
    "format_relabeling",
    "target_ranks",
    "run_null",
]


# ----------------------------------------------------------------------------- the null

PERMUTATION_COLUMNS = [
    "dataset",
    "permutation",
    "relabeling",
    "moved",
    "n_samples",
    "library",
    "method",
    "statistic",
    "rank",
    "n_terms",
    "pvalue",
    "fdr",
    "de_genes",
    "on_top",
    "de_ok",
    "note",
]
SUMMARY_COLUMNS = [
    "dataset",
    "library",
    "method",
    "target",
    "statistic",
    "observed",
    "n_permutations",
    "n_defined",
    "n_as_extreme",
    "empirical_p",
    "min_p",
    "informative",
    "selection_aware",
    "scheme",
    "n_possible",
    "exhaustive",
    "failed",
    "observed_rank",
    "observed_fdr",
    "rerun_rank",
    "null_ranked",
    "null_on_top",
    "note",
]


def _observed_rows(observed: pd.DataFrame | None, dataset: str) -> tuple[pd.DataFrame, str]:
    if observed is None:
        return pd.DataFrame(columns=["library", "method", "rank", "fdr"]), dataset
    obs = observed.copy()
    if "dataset" in obs.columns:
        obs["dataset"] = obs["dataset"].astype(str)
        if dataset:
            obs = obs[obs["dataset"] == dataset]
        names = list(dict.fromkeys(obs["dataset"]))
        if len(names) > 1:
            raise ValueError(
                f"observed verdict rows of several datasets ({', '.join(names)}): pass `dataset` or "
                "the rows of one dataset"
            )
        dataset = dataset or (names[0] if names else "")
    missing = [c for c in ("library", "method", "rank") if c not in obs.columns]
    if missing:
        raise ValueError(f"observed verdict rows lack column(s) {', '.join(missing)}")
    return obs, dataset


def apply_selection(
    counts: pd.DataFrame,
    sheet: pd.DataFrame,
    symbols: pd.Series,
    spec: Mapping,
    contrast: Sequence[str],
    where: str = "",
    level: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts and sheet of the samples kept by :func:`selection.select_by_expression`
    (``spec`` = the dataset's ``select_by_expression``), as the prepare step keeps them.
    ``level``: :func:`selection.gene_level` of ``counts``, when already computed."""
    from .selection import select_by_expression

    keep, _ = select_by_expression(
        counts, sheet, symbols, dict(spec), [str(c) for c in contrast], where=where, level=level
    )
    return counts[keep], sheet.loc[keep]


def _analyse(
    counts,
    sheet,
    params,
    symbols,
    libraries,
    target,
    methods,
    e,
    threads,
    top_n,
    max_fdr,
    selection,
    contrast,
    level=None,
) -> tuple[list[dict], int]:
    """The target's statistics (set score + rank methods) for one labelling: rows and samples analysed."""
    if selection:
        counts, sheet = apply_selection(counts, sheet, symbols, selection, contrast, level=level)
    table = _de_table(counts, sheet, params, symbols)
    genes = enrichment.collapse_to_symbols(table)  # once for the set scores and the ranks
    rows = [
        {**r, "rank": pd.NA, "n_terms": pd.NA, "pvalue": np.nan, "fdr": np.nan, "de_genes": pd.NA, "on_top": ""}
        for r in target_set_scores(table, libraries, target, genes=genes).to_dict("records")
    ]
    if methods:
        ranks = target_ranks(
            table,
            libraries,
            target,
            methods=methods,
            enrichment_cfg=e,
            threads=threads,
            top_n=top_n,
            max_fdr=max_fdr,
            genes=genes,
        )
        rows += [
            {**r, "statistic": float(r["rank"]) if pd.notna(r["rank"]) else np.nan} for r in ranks.to_dict("records")
        ]
    return rows, int(sheet.shape[0])


def _min_p_note(n_def: int) -> str:
    if n_def == 0:
        return ""
    mp = 1 / (1 + n_def)
    if mp > 0.05:
        return (
            f"only {n_def} relabelings: the smallest attainable p is 1/(1+{n_def}) = {mp:.3g} > 0.05, so this test "
            "cannot reach significance"
        )
    if mp > 0.01:
        return f"smallest attainable p is 1/(1+{n_def}) = {mp:.3g}"
    return ""


def _scheme_note(
    n: int, n_drawn: int, n_possible: int, exhaustive: bool, failed: int, seed: int, scheme: str, collapse: bool
) -> list[str]:
    notes = []
    if exhaustive:
        notes.append(f"all {n_possible} distinct relabelings ({scheme})")
    else:
        notes.append(f"random sample of {n_drawn} of {n_possible} distinct relabelings ({scheme}, seed {seed})")
    if collapse:
        notes.append("equal group sizes: one relabeling per swap pair (a swap only flips the signs)")
    if failed:
        notes.append(f"{failed} relabeling(s) left out: DESeq2 or the selection failed on them")
    return notes


def _fmt_rank(r: float) -> str:
    return "not ranked" if pd.isna(r) else f"rank {int(r)}"


# cells (genes x samples) per gene block of each relabeling's DE fit: blocks that stay in the CPU's caches.
# Measured on a 12 vs 12 tissue study (20,000 genes, 20 samples after the selection; benchmarks/README.md,
# *The label-permutation null*): one block of all genes (rcompat's default, 500,000 cells) took 0.89 s CPU
# per fit, blocks of 200,000 / 100,000 / 50,000 cells 0.69-0.70 s, and on 2 threads the fit runs its
# blocks in parallel (with one block it cannot). Block size changes no number beyond floating-point
# noise (tests/test_blocks.py).
NULL_BLOCK_CELLS = 100_000


def null_block_genes(n_samples: int) -> int:
    """Genes per block of the null's DE fits (:data:`NULL_BLOCK_CELLS` cells)."""
    return max(1, NULL_BLOCK_CELLS // max(1, int(n_samples)))


def run_null(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    de_params: de.DEParams,
    libraries: Mapping[str, GeneSetLibrary],
    target: str,
    observed: pd.DataFrame | None,
    *,
    symbols: pd.Series,
    methods: Sequence[str] = ("ora_all", "gsea"),
    enrichment_cfg: Mapping,
    max_permutations: int,
    seed: int,
    threads: int = 1,
    dataset: str = "",
    top_n: int = 1,
    max_fdr: float = 0.05,
    selection: Mapping | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Empirical p of the target's observed statistics under label permutation.

    Parameters
    ----------
    counts
        Raw counts, genes x samples, indexed by gene_id: the prepared counts
        (``results/{dataset}/input/counts.tsv.gz``), or with ``selection`` the checked
        counts of *all* samples before the selection
        (``results/{dataset}/input/unselected/counts.tsv.gz``).
    samples
        Sample sheet indexed by sample (or with a ``sample`` column), matching ``counts``.
    de_params
        The workflow's DE settings (:meth:`pathverdict.de.DEParams.from_config`); shrinkage is
        turned off (enrichment does not use it), ``threads`` replaces its threads and, unless
        it sets ``block_genes``, genes are fitted in blocks of :func:`null_block_genes`.
    libraries, target
        Gene-set libraries (name -> :class:`GeneSetLibrary`) and the target pathway.
    observed
        The observed verdict rows (``results/<study>/verdict.tsv``: dataset, library, method,
        rank, fdr, ...), of this dataset (filtered by ``dataset`` when given): the ranks
        under scrutiny. ``None``: the ranks of the re-run on the observed labels.
    symbols
        gene_id -> symbol (``input/gene_ids.tsv``), attached to every DE table.
    methods
        Rank-based verdict methods to re-run: ``ora_all``, ``ora_up``, ``ora_down``,
        ``gsea``. The set score (:func:`set_score`) is always computed.
    enrichment_cfg
        The workflow's ``enrichment`` settings (padj, lfc, ora_min/max_size,
        gsea_min/max_size, gsea_permutations, seed) -- the verdict's own, GSEA
        permutations and seed included, so the re-run on the observed labels reproduces
        the verdict; missing keys take the defaults.
    max_permutations, seed
        See :func:`relabelings`; covariates of the design are used as strata.
    threads
        Passed to DESeq2 and to GSEA.
    top_n, max_fdr
        "On top" in the per-permutation table (the verdict's settings).
    selection
        The dataset's ``select_by_expression`` (selection-aware null): labels are
        permuted over all samples of the two groups *before* the selection, the
        selection is re-applied to every relabelled sheet (and to the observed one),
        then DE and the statistics. Swap pairs are not collapsed (selecting within the
        tested group breaks the symmetry).

    Returns
    -------
    (permutations, summary)
        ``permutations`` (:data:`PERMUTATION_COLUMNS`): one row per relabeling x library
        x method (``set_score`` first), the relabeling as ``Tested=s1,s2,...`` (before
        any selection), ``moved`` = samples whose label changed, ``n_samples`` analysed
        (after the selection), ``statistic`` (set score, or rank: NA = not ranked),
        rank, FDR, ...; ``de_ok`` False (and a note) when DESeq2 or the selection failed.
        ``summary`` (:data:`SUMMARY_COLUMNS`), per library x method: ``statistic`` (its
        name), ``observed`` (the verdict's rank, or the set score of the re-run on the
        observed labels), ``n_permutations`` (relabelings analysed), ``n_defined`` (those
        where the statistic is defined: the target ranked; every one for the set score),
        ``n_as_extreme`` (defined relabelings with a rank <= / score >= the observed),
        ``empirical_p = (1 + n_as_extreme) / (1 + n_defined)`` and ``min_p = 1 / (1 +
        n_defined)``, ``informative`` (``no`` -- and ``empirical_p`` empty -- when the
        observed statistic is undefined or no relabeling defines it: a null that never
        ranks the target says nothing about the observed rank), ``selection_aware``,
        the scheme, ``rerun_rank`` (rank on the observed labels; a different verdict
        rank is flagged as stale in the note), ``null_ranked``/``null_on_top``.

    Rank methods: a relabeling where the target is not ranked (no DE gene, none in the
    target) has no rank; it counts neither for nor against the observed rank. The p is
    conditional on the target being ranked, which is a valid permutation p: given that
    the observed labelling ranks the target, under the null it is one of the equally
    likely labellings that do.
    """
    from ..tables import formula_variables

    bad = [m for m in methods if m not in verdict.METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; use {', '.join(verdict.METHODS)}")
    samples = _indexed(samples)
    contrast = [str(c) for c in de_params.contrast]
    var = contrast[0]
    covariates = [v for v in formula_variables(de_params.design) if v != var and v in samples.columns]
    swap_pairs = not selection
    names, obs_labels, _, _, collapse, n_possible, strata_key = _scheme(
        samples, contrast, covariates or None, swap_pairs
    )
    scheme = (
        f"labels permuted within {strata_key.name} levels"
        if strata_key is not None
        else "labels permuted among the compared samples"
        + (f" (not within {'+'.join(covariates)}: a level lacks one of the groups)" if covariates else "")
    )
    if selection:
        scheme += (
            f", before the selection by {selection.get('gene')} expression, which is re-applied to every "
            "relabeling (selection-aware)"
        )
    labs = relabelings(
        samples,
        contrast,
        max_permutations=max_permutations,
        seed=seed,
        strata=covariates or None,
        swap_pairs=swap_pairs,
    )
    exhaustive = len(labs) == n_possible
    terms = {name: lib.find(target) for name, lib in libraries.items()}
    obs_rows, dataset = _observed_rows(observed, dataset)
    params = dataclasses.replace(
        de_params, shrink=False, threads=threads, block_genes=de_params.block_genes or null_block_genes(counts.shape[1])
    )
    e = _enrichment_cfg(enrichment_cfg)
    symbols = symbols.copy()
    symbols.index = symbols.index.astype(str)
    # the caller's frame with text labels, not a copy of its genes x samples values (one matrix in memory)
    counts = counts.set_axis(counts.index.astype(str), axis=0, copy=False).set_axis(
        counts.columns.astype(str), axis=1, copy=False
    )
    observed_flags = dict(zip(names, obs_labels))
    args = (params, symbols, libraries, target, list(methods), e, threads, top_n, max_fdr, selection, contrast)
    # the re-run on the observed labels is the verdict's computation: the DE step's gene blocks (block size
    # changes only floating-point noise, which can still move a value across the 6th digit the files keep)
    observed_params = dataclasses.replace(params, block_genes=de_params.block_genes)
    with quiet_logging():  # DESeq2 and gseapy chatter, many times over
        rerun_rows, _ = _analyse(counts, samples, observed_params, *args[1:])
    if selection:  # the selection gene's expression does not depend on the labels: once for all relabelings
        from .selection import gene_level

        args = (*args, gene_level(counts, symbols, selection["gene"]))
    rerun = pd.DataFrame(rerun_rows)
    if observed is None:
        obs_rows = rerun[rerun["method"] != SET_SCORE].assign(dataset=dataset)
    log.info(
        "%s: label-permutation null, %d relabeling(s) of %d possible (%s), statistics %s, DE engine %s",
        dataset or "dataset",
        len(labs),
        n_possible,
        scheme,
        ", ".join([SET_SCORE, *methods]),
        params.engine,
    )
    rows = []
    started = time.monotonic()
    for k, lab in enumerate(labs, start=1):
        text = format_relabeling(lab, contrast)
        moved = sum(lab[s] != observed_flags[s] for s in lab)
        sheet = apply_relabeling(samples, contrast, lab)
        base = {"dataset": dataset, "permutation": k, "relabeling": text, "moved": moved}
        try:
            with quiet_logging():
                got, n_samples = _analyse(counts, sheet, *args)
        except InputError as exc:
            log.warning("permutation %d (%s): failed, left out: %s", k, text, exc)
            for lib_name in libraries:
                for method in [SET_SCORE, *methods]:
                    rows.append(
                        {
                            **base,
                            "n_samples": pd.NA,
                            "library": lib_name,
                            "method": method,
                            "statistic": np.nan,
                            "rank": pd.NA,
                            "n_terms": pd.NA,
                            "pvalue": np.nan,
                            "fdr": np.nan,
                            "de_genes": pd.NA,
                            "on_top": "",
                            "de_ok": False,
                            "note": f"failed: {exc}",
                        }
                    )
            continue
        for r in got:
            rows.append({**base, "n_samples": n_samples, **r, "de_ok": True})
        if k == 1 or k % 10 == 0 or k == len(labs):
            log.info("permutation %d/%d (%s) done, %.1f s so far", k, len(labs), text, time.monotonic() - started)
    perms = pd.DataFrame(rows, columns=PERMUTATION_COLUMNS)
    for col in ("rank", "n_terms", "de_genes", "n_samples"):
        perms[col] = pd.to_numeric(perms[col], errors="coerce").astype("Int64")
    for col in ("statistic", "pvalue", "fdr"):
        perms[col] = pd.to_numeric(perms[col], errors="coerce").astype(float)
    perms["de_ok"] = perms["de_ok"].astype(bool)
    perms["note"] = perms["note"].fillna("").astype(str)

    summary = []
    common = {
        "dataset": dataset,
        "scheme": scheme,
        "n_possible": n_possible,
        "exhaustive": exhaustive,
        "selection_aware": "yes" if selection else "no",
    }
    for lib_name in libraries:
        for method in [SET_SCORE, *methods]:
            p = perms[(perms["library"] == lib_name) & (perms["method"] == method)]
            ok = p[p["de_ok"]]
            n, failed = len(ok), len(p) - len(ok)
            values = ok["statistic"].astype(float)
            defined = values.notna()
            n_def = int(defined.sum())
            rr = rerun[(rerun["library"] == lib_name) & (rerun["method"] == method)].iloc[0]
            notes = _scheme_note(n, len(labs), n_possible, exhaustive, failed, seed, scheme, collapse)
            row = {
                **common,
                "library": lib_name,
                "method": method,
                "target": terms[lib_name],
                "statistic": STATISTIC_NAMES[method],
                "n_permutations": n,
                "n_defined": n_def,
                "failed": failed,
                "observed_rank": np.nan,
                "observed_fdr": np.nan,
                "rerun_rank": np.nan,
                "null_ranked": pd.NA,
                "null_on_top": pd.NA,
            }
            why = ""  # why the null is uninformative
            if method == SET_SCORE:
                obs_value = float(rr["statistic"])
                notes.insert(
                    0,
                    f"set score: standardised mean |Wald statistic| of the target's genes vs all genes "
                    f"(two-sided, competitive); observed: {rr['note']}",
                )
                if np.isnan(obs_value):
                    why = "the set score is undefined in the observed data (" + str(rr["note"]) + ")"
                n_ext = (
                    int((values[defined] >= obs_value - 1e-9 * max(1.0, abs(obs_value))).sum())
                    if not np.isnan(obs_value)
                    else 0
                )
            else:
                hit = obs_rows[(obs_rows["library"].astype(str) == lib_name) & (obs_rows["method"] == method)]
                obs_value = float(pd.to_numeric(hit["rank"], errors="coerce").iloc[0]) if len(hit) else np.nan
                obs_fdr = pd.to_numeric(hit["fdr"], errors="coerce").iloc[0] if len(hit) and "fdr" in hit else np.nan
                rerun_rank = float(rr["rank"]) if pd.notna(rr["rank"]) else np.nan
                row.update(
                    observed_rank=obs_value,
                    observed_fdr=obs_fdr,
                    rerun_rank=rerun_rank,
                    null_ranked=n_def,
                    null_on_top=int((ok["on_top"] == "yes").sum()),
                )
                n_ext = int((values[defined] <= obs_value).sum()) if not np.isnan(obs_value) else 0
                no_de = method.startswith("ora") and bool((ok["de_genes"].fillna(0) == 0).all())
                if not len(hit):
                    why = f"no observed verdict row for {lib_name} / {method}"
                elif np.isnan(obs_value):
                    why = "the target is not ranked in the observed data: there is no observed rank to test"
                elif n and n_def == 0:
                    why = (
                        (
                            f"none of the {n} relabelings produced a DE gene"
                            if no_de
                            else f"the target was not ranked in any of the {n} relabelings"
                        )
                        + ", so the null has no rank to compare with; not being ranked under the null is no "
                        "evidence for the observed rank"
                    )
                elif n_def < n:
                    notes.insert(
                        0,
                        f"conditional on the target being ranked: {n_def} of {n} relabelings ranked it; "
                        f"the other {n - n_def} have no rank and count neither way",
                    )
                if len(hit) and not (obs_value == rerun_rank or (np.isnan(obs_value) and np.isnan(rerun_rank))):
                    warn = (
                        f"re-running the analysis on the observed labels gives {_fmt_rank(rerun_rank)}, the "
                        f"verdict has {_fmt_rank(obs_value)}: the verdict was made by other code or settings "
                        "(stale results?) and is not comparable with the permutations"
                    )
                    log.warning("%s %s / %s: %s", dataset, lib_name, method, warn)
                    notes.insert(0, f"WARNING: {warn}")
            if n == 0 and not why:
                why = "no relabeling could be analysed"
            elif n_def == 0 and not why:
                why = f"the statistic is undefined in all {n} relabelings"
            informative = not why
            if informative:
                mp = _min_p_note(n_def)
                if mp:
                    notes.append(mp)
            else:
                notes.insert(0, f"uninformative: {why}")
            row.update(
                observed=obs_value,
                n_as_extreme=n_ext if informative else pd.NA,
                empirical_p=(1 + n_ext) / (1 + n_def) if informative else np.nan,
                min_p=1 / (1 + n_def),
                informative="yes" if informative else "no",
                note="; ".join(notes),
            )
            summary.append(row)
    out = pd.DataFrame(summary, columns=SUMMARY_COLUMNS)
    for col in ("observed_rank", "rerun_rank", "n_as_extreme", "null_ranked", "null_on_top"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for col in ("observed", "observed_fdr", "empirical_p", "min_p"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    log.info("%s: null done in %.1f s", dataset or "dataset", time.monotonic() - started)
    return perms, out


def read_summary(path: str | Path) -> pd.DataFrame:
    """A ``null/summary.tsv`` (or ``results/<study>/null.tsv``), names kept as strings."""
    names = {
        c: str
        for c in (
            "dataset",
            "library",
            "method",
            "target",
            "statistic",
            "informative",
            "selection_aware",
            "scheme",
            "note",
        )
    }
    table = read_table(path, dtype=names)
    return table.fillna({c: "" for c in names if c in table.columns})
