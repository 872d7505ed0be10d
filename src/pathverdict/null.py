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
  the observed one being the verdict's (``results/verdict.tsv``). A relabeling that does
  not rank the target has no rank and counts neither way (p conditional on the target
  being ranked); when no relabeling ranks it (e.g. ORA at 3 vs 3: no relabeling gives a
  DE gene), or the observed data do not, the null is *uninformative*: no p, and the note
  says why. The analysis is also re-run on the observed labels (``rerun_rank``); a
  different rank means the verdict is stale or was made with other settings.
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
target's rank for one DE table), :func:`set_score`, :func:`run_null` and the file-level wrapper
:func:`null_from_files` for a Snakemake rule.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import de, enrichment, verdict
from .errors import InputError
from .genesets import GeneSetLibrary, read_prepared_library
from .robustness import quiet_logging
from .util import read_tsv, write_tsv

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
    "null_from_files",
]

RANK_COLUMNS = ["library", "method", "rank", "n_terms", "pvalue", "fdr", "de_genes", "on_top", "note"]
# the workflow's defaults (config/schemas/config.schema.yaml), used for keys not given
ENRICHMENT_DEFAULTS = {
    "padj": 0.05,
    "lfc": 0.0,
    "ora_min_size": 10,
    "ora_max_size": 500,
    "gsea_min_size": 15,
    "gsea_max_size": 500,
    "gsea_permutations": 1000,
    "seed": 42,
}
# above this many distinct relabelings, sample by drawing random permutations instead of enumerating
ENUMERATION_LIMIT = 100_000


# ----------------------------------------------------------------------------- relabelings


def _indexed(samples: pd.DataFrame) -> pd.DataFrame:
    """The sample sheet indexed by sample name (index, or a ``sample`` column)."""
    if "sample" in samples.columns and samples.index.name != "sample":
        samples = samples.set_index("sample")
    samples = samples.copy()
    samples.index = samples.index.astype(str)
    if samples.index.duplicated().any():
        dups = sorted(set(samples.index[samples.index.duplicated()]))
        raise InputError(f"sample sheet: duplicated sample name(s) {', '.join(dups)}")
    return samples


def _compared(samples: pd.DataFrame, contrast: Sequence[str]) -> tuple[list[str], list[str]]:
    """Compared samples (sheet order) and their observed labels."""
    var, tested, reference = contrast
    if var not in samples.columns:
        raise InputError(
            f"contrast variable {var!r} is not a column of the sample sheet "
            f"(columns: {', '.join(map(str, samples.columns))})"
        )
    labels = samples[var].astype(str)
    mask = labels.isin([str(tested), str(reference)])
    names = list(samples.index[mask])
    obs = list(labels[mask])
    n_t = obs.count(str(tested))
    n_r = obs.count(str(reference))
    if n_t == 0 or n_r == 0:
        raise InputError(
            f"contrast {list(contrast)}: no sample has {var} = "
            f"{tested if n_t == 0 else reference!r}; nothing to permute"
        )
    return names, obs


def permutation_strata(
    samples: pd.DataFrame, contrast: Sequence[str], strata: str | Sequence[str] | None = None
) -> pd.Series | None:
    """The stratum of each compared sample when labels are permuted within strata, else None.

    ``strata`` are covariate columns (e.g. the other variables of the design,
    ``"batch"``). Each combination of their values is a stratum; permuting within strata
    is used only when every stratum contains both compared groups. Returns a Series
    (compared sample -> stratum label, sheet order) or ``None`` for free permutation.
    """
    samples = _indexed(samples)
    names, obs = _compared(samples, contrast)
    if strata is None:
        return None
    cols = [strata] if isinstance(strata, str) else [c for c in strata if c != contrast[0]]
    if not cols:
        return None
    absent = [c for c in cols if c not in samples.columns]
    if absent:
        raise InputError(f"permutation strata: column(s) {', '.join(absent)} not in the sample sheet")
    key = (
        samples.loc[names, cols].astype(str).agg(" & ".join, axis=1)
        if len(cols) > 1
        else samples.loc[names, cols[0]].astype(str)
    )
    groups = pd.Series(obs, index=names)
    for level in dict.fromkeys(key):
        if groups[key == level].nunique() < 2:
            log.info(
                "permutation: stratum %s=%s has only %s samples; permuting labels freely",
                "+".join(cols),
                level,
                groups[key == level].iloc[0],
            )
            return None
    key.name = "+".join(cols)
    return key


def _scheme(samples: pd.DataFrame, contrast: Sequence[str], strata, swap_pairs: bool = True):
    samples = _indexed(samples)
    names, obs = _compared(samples, contrast)
    tested = str(contrast[1])
    key = permutation_strata(samples, contrast, strata)
    if key is None:
        blocks = [list(range(len(names)))]
    else:
        blocks = [[i for i, n in enumerate(names) if key[n] == level] for level in dict.fromkeys(key)]
    n_tested = [sum(obs[i] == tested for i in b) for b in blocks]
    total = math.prod(math.comb(len(b), t) for b, t in zip(blocks, n_tested))
    collapse = swap_pairs and all(2 * t == len(b) for b, t in zip(blocks, n_tested))
    n_classes = total // 2 if collapse else total
    return names, obs, blocks, n_tested, collapse, n_classes - 1, key


def relabeling_count(
    samples: pd.DataFrame, contrast: Sequence[str], strata: str | Sequence[str] | None = None, swap_pairs: bool = True
) -> int:
    """Number of distinct relabelings :func:`relabelings` chooses from (see module docs)."""
    return _scheme(samples, contrast, strata, swap_pairs)[5]


def relabelings(
    samples: pd.DataFrame,
    contrast: Sequence[str],
    *,
    max_permutations: int,
    seed: int,
    strata: str | Sequence[str] | None = None,
    swap_pairs: bool = True,
) -> list[dict[str, str]]:
    """Distinct balanced relabelings of the contrast variable among the compared samples.

    Parameters
    ----------
    samples
        Sample sheet, indexed by sample name (or with a ``sample`` column).
    contrast
        ``[variable, tested level, reference level]``.
    max_permutations
        All distinct relabelings are returned when there are at most this many,
        otherwise a random sample of this many distinct ones.
    seed
        Seed of ``numpy.random.default_rng`` for that sample.
    strata
        Covariate column(s) to permute within (see :func:`permutation_strata`); ``None``:
        free permutation. :func:`run_null` passes the design's other variables.
    swap_pairs
        With equal group sizes, keep one relabeling per swap pair (True, the default).
        ``False`` keeps both: needed when a swap does not just flip the signs of the DE
        results, e.g. when samples are selected by expression within the tested group.

    Returns
    -------
    A list of dicts ``{sample: label}`` over the compared samples (sheet order), each
    with as many tested/reference labels as observed. Never the observed labelling,
    never an exact swap of two equal-sized groups (a swap only flips the signs of the
    DE results; one representative per swap pair is kept, see the module docs).
    Enumeration order when exhaustive (combinations in sheet order), the sorted
    enumeration order of the sample when at most ``ENUMERATION_LIMIT`` relabelings
    exist, draw order beyond; the same arguments always give the same list.
    """
    if max_permutations < 1:
        raise ValueError(f"max_permutations must be >= 1, got {max_permutations}")
    names, obs, blocks, n_tested, collapse, n_candidates, _ = _scheme(samples, contrast, strata, swap_pairs)
    var, tested, reference = (str(c) for c in contrast)
    observed = tuple(o == tested for o in obs)

    def labelled(flags) -> dict[str, str]:
        return {n: tested if f else reference for n, f in zip(names, flags)}

    if n_candidates <= 0:
        return []
    if n_candidates <= ENUMERATION_LIMIT:
        candidates = list(_enumerate(blocks, n_tested, len(names), observed, collapse))
        assert len(candidates) == n_candidates, (len(candidates), n_candidates)
        if n_candidates > max_permutations:
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(n_candidates, size=max_permutations, replace=False))
            candidates = [candidates[i] for i in pick]
        return [labelled(c) for c in candidates]
    rng = np.random.default_rng(seed)
    seen: set[tuple[bool, ...]] = {observed}
    out = []
    while len(out) < max_permutations:
        flags = [False] * len(names)
        for b, t in zip(blocks, n_tested):
            for i in rng.permutation(b)[:t]:
                flags[int(i)] = True
        cand = tuple(flags)
        if collapse and cand[0] != observed[0]:
            cand = tuple(not f for f in cand)  # the pair's representative
        if cand not in seen:
            seen.add(cand)
            out.append(cand)
    return [labelled(c) for c in out]


def _enumerate(blocks, n_tested, n, observed, collapse) -> Iterator[tuple[bool, ...]]:
    per_block = [list(itertools.combinations(b, t)) for b, t in zip(blocks, n_tested)]
    for choice in itertools.product(*per_block):
        flags = [False] * n
        for combo in choice:
            for i in combo:
                flags[i] = True
        cand = tuple(flags)
        if cand == observed or (collapse and cand[0] != observed[0]):
            continue
        yield cand


def apply_relabeling(samples: pd.DataFrame, contrast: Sequence[str], relabeling: Mapping[str, str]) -> pd.DataFrame:
    """A copy of the sample sheet (indexed by sample) with the contrast variable relabelled."""
    out = _indexed(samples)
    var = contrast[0]
    out[var] = out[var].astype(str)
    out.loc[list(relabeling), var] = list(relabeling.values())
    return out


def format_relabeling(relabeling: Mapping[str, str], contrast: Sequence[str]) -> str:
    """Compact text: ``Treated=s1,s4,s5`` (the samples given the tested level)."""
    tested = str(contrast[1])
    return f"{tested}=" + ",".join(s for s, lab in relabeling.items() if lab == tested)


# ----------------------------------------------------------------------------- enrichment of one DE table


def _enrichment_cfg(cfg: Mapping | None) -> dict:
    out = dict(ENRICHMENT_DEFAULTS)
    out.update({k: v for k, v in (cfg or {}).items() if v is not None})
    return out


def target_ranks(
    de_table: pd.DataFrame,
    libraries: Mapping[str, GeneSetLibrary],
    target: str,
    *,
    methods: Sequence[str] = ("ora_all", "gsea"),
    enrichment_cfg: Mapping | None = None,
    threads: int = 1,
    top_n: int = 1,
    max_fdr: float = 0.05,
) -> pd.DataFrame:
    """The workflow's enrichment of one DE table and the target's rank per library x method.

    ``de_table`` has gene_id, symbol and the DESeq2 columns (as ``de.tsv``); it is
    collapsed to symbols, DE genes are ``padj < enrichment_cfg["padj"]`` and
    ``|log2FC| >= enrichment_cfg["lfc"]`` against the background of symbols with a padj;
    ``ora_*`` methods use :func:`enrichment.ora` with ``ora_min_size``/``ora_max_size``,
    ``gsea`` uses :func:`enrichment.gsea` on the Wald statistic with ``gsea_min_size``,
    ``gsea_max_size``, ``gsea_permutations`` and ``seed``. Missing config keys take the
    workflow's defaults (:data:`ENRICHMENT_DEFAULTS`). Rows (library, method, rank,
    n_terms, pvalue, fdr, de_genes, on_top, note) are judged by
    :func:`verdict.judge_method`, as in ``results/verdict.tsv``.
    """
    bad = [m for m in methods if m not in verdict.METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; use {', '.join(verdict.METHODS)}")
    e = _enrichment_cfg(enrichment_cfg)
    settings = verdict.VerdictSettings(top_n=top_n, max_fdr=max_fdr)
    genes = enrichment.collapse_to_symbols(de_table)
    lists, background = enrichment.de_gene_lists(genes, e["padj"], e["lfc"])
    ranking = genes.set_index("symbol")["stat"].astype(float) if "gsea" in methods else None
    rows = []
    for lib_name, lib in libraries.items():
        term = lib.find(target)
        for method in methods:
            if method == "gsea":
                table = enrichment.gsea(
                    ranking,
                    lib.sets,
                    lib_name,
                    lib.ids,
                    e["gsea_min_size"],
                    e["gsea_max_size"],
                    e["gsea_permutations"],
                    e["seed"],
                    threads,
                )
                judged = verdict.judge_method(table, method, term, settings, None)
            else:
                query = lists[method.removeprefix("ora_")]
                table = enrichment.ora(
                    query, background, lib.sets, lib_name, lib.ids, e["ora_min_size"], e["ora_max_size"]
                )
                judged = verdict.judge_method(table, method, term, settings, len(query))
            rows.append({"library": lib_name, **{k: judged[k] for k in RANK_COLUMNS[1:]}})
    return pd.DataFrame(rows, columns=RANK_COLUMNS)


def _de_table(counts: pd.DataFrame, sheet: pd.DataFrame, params: de.DEParams, symbols: pd.Series) -> pd.DataFrame:
    result = de.run_deseq2(counts, sheet, params)
    res = result.results.copy()
    res.insert(0, "symbol", symbols.reindex(res.index.astype(str)).astype("string").to_numpy())
    return res.reset_index()


# ----------------------------------------------------------------------------- the set score

SET_SCORE = "set_score"
# what each method's null statistic is; "more extreme" = larger score, smaller rank
STATISTIC_NAMES = {SET_SCORE: "abs_stat_z", **{m: "rank" for m in verdict.METHODS}}


def read_table(path: str | Path, **kwargs) -> pd.DataFrame:
    """A TSV written by the workflow, with only empty cells read as missing.

    Dataset, term, library, method, sample, gene and symbol names such as ``null``,
    ``NA``, ``None`` or ``nan`` stay strings (pandas' default NA parsing would turn
    them into NaN); numbers written as empty cells are still NaN."""
    return read_tsv(path, keep_default_na=False, na_values=[""], **kwargs)


def set_score(de_table: pd.DataFrame, genes: Sequence[str]) -> tuple[float, int, int]:
    """Competitive, two-sided, threshold-free score of a gene set in one DE table.

    Genes are the symbols of the gene-level table (:func:`enrichment.collapse_to_symbols`)
    with a Wald statistic and a p-value (DESeq2-tested, not a Cook's outlier): the
    background, N genes. With ``a = |stat|`` and the set's k genes in the background,

        z = (mean of a over the set - mean of a over the background)
            / (sd of a over the background * sqrt((N - k) / (k (N - 1))))

    i.e. the set's mean |Wald statistic| standardised against random sets of k
    background genes (the denominator is the standard error of a mean of k genes drawn
    without replacement). |stat| makes it two-sided: up, down or mixed dysregulation
    all raise it. It needs no DE threshold, so it is defined under every relabeling.
    Genes are correlated, so z is not read against a normal distribution: it is only
    compared with its own values on relabelled samples (:func:`run_null`).

    Returns ``(z, k, N)``; z is NaN when the set has no gene in the background, covers
    all of it, or the background has no spread.
    """
    g = enrichment.collapse_to_symbols(de_table)
    stat = pd.to_numeric(g["stat"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(stat) & g["pvalue"].notna().to_numpy()
    a = np.abs(stat[ok])
    in_set = g.index[ok].isin(set(genes))
    k, n = int(in_set.sum()), int(len(a))
    if k == 0 or k >= n:
        return math.nan, k, n
    sd = float(a.std(ddof=0))
    if not sd > 0:
        return math.nan, k, n
    se = sd * math.sqrt((n - k) / (k * (n - 1)))
    return float((a[in_set].mean() - a.mean()) / se), k, n


def target_set_scores(de_table: pd.DataFrame, libraries: Mapping[str, GeneSetLibrary], target: str) -> pd.DataFrame:
    """:func:`set_score` of the target of every library: library, method, statistic, note."""
    rows = []
    for lib_name, lib in libraries.items():
        z, k, n = set_score(de_table, lib.sets[lib.find(target)])
        note = f"{k} of the target's genes among {n} genes with a Wald statistic"
        if math.isnan(z):
            note += ": score undefined"
        rows.append({"library": lib_name, "method": SET_SCORE, "statistic": z, "note": note})
    return pd.DataFrame(rows, columns=["library", "method", "statistic", "note"])


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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts and sheet of the samples kept by :func:`selection.select_by_expression`
    (``spec`` = the dataset's ``select_by_expression``), as the prepare step keeps them."""
    from .selection import select_by_expression

    keep, _ = select_by_expression(counts, sheet, symbols, dict(spec), [str(c) for c in contrast], where=where)
    return counts[keep], sheet.loc[keep]


def _analyse(
    counts, sheet, params, symbols, libraries, target, methods, e, threads, top_n, max_fdr, selection, contrast
) -> tuple[list[dict], int]:
    """The target's statistics (set score + rank methods) for one labelling: rows and samples analysed."""
    if selection:
        counts, sheet = apply_selection(counts, sheet, symbols, selection, contrast)
    table = _de_table(counts, sheet, params, symbols)
    rows = [
        {**r, "rank": pd.NA, "n_terms": pd.NA, "pvalue": np.nan, "fdr": np.nan, "de_genes": pd.NA, "on_top": ""}
        for r in target_set_scores(table, libraries, target).to_dict("records")
    ]
    if methods:
        ranks = target_ranks(
            table, libraries, target, methods=methods, enrichment_cfg=e, threads=threads, top_n=top_n, max_fdr=max_fdr
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
        The workflow's DE settings (:func:`pathverdict.steps.de_params`); shrinkage is
        turned off (enrichment does not use it), ``threads`` replaces its threads and, unless
        it sets ``block_genes``, genes are fitted in blocks of :func:`null_block_genes`.
    libraries, target
        Gene-set libraries (name -> :class:`GeneSetLibrary`) and the target pathway.
    observed
        The observed verdict rows (``results/verdict.tsv``: dataset, library, method,
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
    from .tables import formula_variables

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
    with quiet_logging():  # DESeq2 and gseapy chatter, many times over
        rerun_rows, _ = _analyse(counts, samples, *args)
    rerun = pd.DataFrame(rerun_rows)
    if observed is None:
        obs_rows = rerun[rerun["method"] != SET_SCORE].assign(dataset=dataset)
    log.info(
        "%s: label-permutation null, %d relabeling(s) of %d possible (%s), statistics %s",
        dataset or "dataset",
        len(labs),
        n_possible,
        scheme,
        ", ".join([SET_SCORE, *methods]),
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


def null_from_files(
    dataset: str,
    counts_path: str | Path,
    samples_path: str | Path,
    genes_path: str | Path,
    libraries: Mapping[str, str | Path],
    target: str,
    verdict_path: str | Path | None,
    de_params: de.DEParams,
    enrichment_cfg: Mapping,
    *,
    out_permutations: str | Path | None = None,
    out_summary: str | Path | None = None,
    methods: Sequence[str] = ("ora_all", "gsea"),
    max_permutations: int = 100,
    seed: int = 42,
    threads: int = 1,
    top_n: int = 1,
    max_fdr: float = 0.05,
    selection: Mapping | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`run_null` from the workflow's files; writes both tables as TSV.

    ``counts_path``/``samples_path``/``genes_path`` are the prepared inputs
    (``results/{dataset}/input/counts.tsv.gz``, ``results/{dataset}/samples.tsv``,
    ``results/{dataset}/input/gene_ids.tsv``; with ``selection``, the unselected ones
    under ``results/{dataset}/input/unselected/``), ``libraries`` maps library name to
    its prepared GMT, ``verdict_path`` is ``results/verdict.tsv`` (rows of ``dataset``
    are used). ``de_params`` comes from :func:`pathverdict.steps.de_params`, and
    ``enrichment_cfg`` is the config's ``enrichment`` section. Names (datasets, samples,
    genes, symbols, libraries, methods) are read as strings, ``NA`` and ``null`` too.
    """
    # counts as int32, as the deseq2 step reads them (the prepare step refused counts above 2^31 - 1)
    names = list(pd.read_csv(counts_path, sep="\t", nrows=0).columns)
    counts = read_table(counts_path, index_col=0, dtype={names[0]: str, **{c: np.int32 for c in names[1:]}})
    counts.index = counts.index.astype(str)
    samples = read_tsv(samples_path, dtype=str, keep_default_na=False).set_index("sample")
    symbols = read_table(genes_path, dtype={"gene_id": str, "symbol": "string"}).set_index("gene_id")["symbol"]
    libs = {name: read_prepared_library(str(p), name) for name, p in libraries.items()}
    observed = read_table(verdict_path, dtype={"dataset": str, "library": str, "method": str}) if verdict_path else None
    perms, summary = run_null(
        counts,
        samples,
        de_params,
        libs,
        target,
        observed,
        symbols=symbols,
        methods=methods,
        enrichment_cfg=enrichment_cfg,
        max_permutations=max_permutations,
        seed=seed,
        threads=threads,
        dataset=dataset,
        top_n=top_n,
        max_fdr=max_fdr,
        selection=selection,
    )
    if out_permutations is not None:
        write_tsv(perms, out_permutations)
    if out_summary is not None:
        write_tsv(summary, out_summary)
    return perms, summary


def read_summary(path: str | Path) -> pd.DataFrame:
    """A ``null/summary.tsv`` (or ``results/null.tsv``), names kept as strings."""
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
