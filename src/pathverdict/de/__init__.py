"""Differential expression, reproducing R DESeq2 1.38.

``run_deseq2`` takes a raw count matrix (genes x samples), the sample sheet, a design
formula and a contrast, and returns DESeq2-style results. Steps:

1. optional pre-filtering (off by default, as in R's ``DESeq()``; independent filtering
   in ``results()`` already removes genes with too few reads): when ``min_count`` > 0, keep
   genes with at least ``min_count`` reads in at least ``min_samples`` samples (default:
   the size of the smaller compared group). Turning it on changes the results: fewer genes
   get a p-value, which changes BH, independent filtering and the ORA background, so they
   no longer match R DESeq2 run on the same count matrix (docs/fidelity.md). Without it,
   genes with no reads at all are kept in the table with baseMean 0 and NA statistics,
   exactly as R reports them;
2. the design matrix and contrast vector (:func:`pathverdict.de.rcompat.design_matrix`:
   formulaic, as pydeseq2 builds them; treatment coding with the alphabetically first level
   as reference, as R's ``model.matrix``);
3. ``DESeq()`` as R does it (:mod:`pathverdict.de.rcompat`): median-of-ratios size factors,
   gene-wise dispersions by R's line search, the parametric trend, MAP dispersions, the
   NB GLM, Cook's distances and outlier replacement for cells with >= 7 replicates;
4. ``results(dds, contrast, alpha)``: Wald test, Cook's filtering, independent filtering
   with R's lowess, Benjamini-Hochberg (``tools/fidelity_vs_r.py`` measures the agreement
   with R; see docs/fidelity.md);
5. optionally apeGLM-style LFC shrinkage by pydeseq2, fed with our fit
   (:func:`pathverdict.de.rcompat.lfc_shrink`; ``log2FoldChange_shrunk``);
6. normalised counts and the variance-stabilising transformation of the fitted
   dispersion trend (R's ``vst(dds, blind = FALSE)``), for PCA.

pydeseq2 is used for the LFC shrinkage only, and imported only then: its own dispersion
estimation, Wald standard errors, Cook's and independent filtering differ from R's enough
to change the significance call of 0.5-2% of the genes (docs/fidelity.md).

That is the default engine, ``r_exact`` (``de.engine``). ``de.engine: pydeseq2`` runs steps 3-5
with pydeseq2 itself instead (:mod:`pathverdict.de.pydeseq2_engine`: ``DeseqDataSet`` and
``DeseqStats`` with pydeseq2's own defaults); the checks before (pre-filter, genes with reads,
the design and contrast) and after (the results table, the summary), the normalised counts and
the VST of the fitted trend are the same code for both engines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError

log = logging.getLogger(__name__)

RESULT_COLUMNS = ["baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]
R_EXACT = "r_exact"  # our estimation, R DESeq2 1.38 step by step (pathverdict.de.rcompat); the default
PYDESEQ2 = "pydeseq2"  # pydeseq2's DeseqDataSet + DeseqStats (pathverdict.de.pydeseq2_engine)
ENGINES = (R_EXACT, PYDESEQ2)


@dataclass
class DEParams:
    design: str
    contrast: list[str]
    alpha: float = 0.05
    min_count: int = 0  # 0: no pre-filter (R's default)
    min_samples: int | None = None  # None: size of the smaller compared group
    independent_filtering: bool = True
    cooks_filter: bool = True
    shrink: bool = False
    threads: int = 1
    block_genes: int | None = None  # genes per block of the fit (None: rcompat.default_block_genes)
    numeric: tuple[str, ...] = ()  # design variables that are continuous covariates (the others are factors)
    engine: str = R_EXACT  # ENGINES: who estimates (de.engine)
    dataset: str = ""  # the dataset's name, for messages

    @classmethod
    def from_config(cls, de: dict, dataset_config: dict, threads: int = 1, dataset: str = "") -> DEParams:
        """The DE settings of a dataset: its design and contrast, and the config's ``de`` section."""
        return cls(
            dataset=dataset,
            design=dataset_config["design"],
            contrast=list(dataset_config["contrast"]),
            alpha=de["alpha"],
            min_count=de["prefilter"]["min_count"],
            min_samples=de["prefilter"]["min_samples"],
            independent_filtering=de["independent_filtering"],
            cooks_filter=de["cooks_filter"],
            shrink=de["shrinkage"],
            threads=threads,
            engine=de.get("engine", R_EXACT),
        )


@dataclass
class DEResult:
    """``normalized`` and ``vst`` (genes x samples) are computed when first asked for: a
    caller that needs only the results table (the label-permutation null, the benchmarks)
    never holds a genes x samples float matrix."""

    results: pd.DataFrame  # indexed by gene_id, RESULT_COLUMNS (+ log2FoldChange_shrunk)
    size_factors: pd.Series
    summary: dict = field(default_factory=dict)
    counts: pd.DataFrame | None = field(default=None, repr=False)  # the fitted genes x samples counts
    trend: object = field(default=None, repr=False)  # rcompat.DispersionTrend

    @property
    def normalized(self) -> pd.DataFrame:
        """Normalised counts (counts / size factors), genes x samples."""
        return self.counts / self.size_factors.to_numpy()[None, :]

    @property
    def vst(self) -> pd.DataFrame:
        """R's ``vst(dds, blind = FALSE)`` of the fitted dispersion trend, genes x samples."""
        return self._vst(self.counts)

    def _vst(self, counts: pd.DataFrame) -> pd.DataFrame:
        sf = self.size_factors.to_numpy()
        q = counts.to_numpy() / sf[None, :]
        return pd.DataFrame(self.trend.vst(q, sf), index=counts.index, columns=counts.columns)

    def blocks(self, max_cells: int = 2_000_000):
        """``(normalized, vst)`` for consecutive blocks of genes (each block at most about
        ``max_cells`` genes x samples), so that writing them never holds a whole genes x samples
        float matrix; both are row-wise transforms, so the blocks together equal
        :attr:`normalized` and :attr:`vst`."""
        n_genes, n_samples = self.counts.shape
        step = max(1, max_cells // max(n_samples, 1))
        sf = self.size_factors.to_numpy()[None, :]
        for start in range(0, n_genes, step):
            counts = self.counts.iloc[start : start + step]
            yield counts / sf, self._vst(counts)


def prefilter_mask(counts: pd.DataFrame, min_count: int, min_samples: int) -> pd.Series:
    """Genes with at least ``min_count`` reads in at least ``min_samples`` samples."""
    return (counts >= min_count).sum(axis=1) >= min_samples


def smallest_group(samples: pd.DataFrame, contrast: list[str]) -> int:
    var, tested, reference = contrast
    return int(min((samples[var] == tested).sum(), (samples[var] == reference).sum()))


def _metadata(samples: pd.DataFrame, design: str, numeric=()) -> pd.DataFrame:
    """The design's columns of the sample sheet: factors as text (as DESeq2 makes every variable of
    the sheet a factor), except the ``numeric`` ones (continuous covariates)."""
    from ..tables import formula_variables

    meta = samples[formula_variables(design)].copy()
    for col in meta.columns:
        meta[col] = meta[col].astype(float) if col in numeric else meta[col].astype(str)
    return meta


@contextlib.contextmanager
def _quiet():
    """pydeseq2 (its engine, the LFC shrinkage) prints progress and warns: send both to the log instead."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        yield
    seen: dict[str, int] = {}
    for w in caught:  # each message once (pydeseq2 repeats some per gene block)
        seen[str(w.message)] = seen.get(str(w.message), 0) + 1
    for message, n in seen.items():
        log.warning("pydeseq2: %s", message + (f" ({n} times)" if n > 1 else ""))
    for line in (out.getvalue() + err.getvalue()).splitlines():
        if line.strip():
            log.debug("pydeseq2: %s", line)


def engine_version(engine: str) -> str:
    """Who estimated, with its version, as ``de_summary.json`` and the provenance give it."""
    if engine == PYDESEQ2:
        from . import pydeseq2_engine

        return f"pydeseq2 {pydeseq2_engine.version()}"
    from .. import __version__

    return f"pathverdict {__version__} (R DESeq2 1.38 step by step)"


@dataclass
class _EngineFit:
    results: pd.DataFrame  # indexed like the fitted counts: RESULT_COLUMNS (+ the shrunk columns)
    size_factors: object  # per sample (array)
    trend: object  # .vst(normalized, size_factors): rcompat.DispersionTrend
    all_zero: np.ndarray  # per gene: no reads in any sample
    notes: list[str]
    # per sample: genes whose Cook's distance (of the first fit) is above DESeq2's cutoff; NaN where the
    # sample's design cell has fewer than 3 samples (DESeq2 and pydeseq2 use no Cook's distance there)
    cooks_outliers_per_sample: np.ndarray


def _fit_r_exact(kept: pd.DataFrame, meta: pd.DataFrame, design, contrast, params: DEParams) -> _EngineFit:
    """``DESeq()`` + ``results()`` (+ shrinkage) as R DESeq2 1.38 computes them (:mod:`pathverdict.de.rcompat`)."""
    from . import rcompat
    from ..tables import formula_variables

    var, tested, reference = params.contrast
    try:
        fit = rcompat.fit_deseq(
            kept.to_numpy(), design.matrix.to_numpy(dtype=float), block_genes=params.block_genes, threads=params.threads
        )
    except ValueError as exc:
        raise InputError(f"DESeq2 model fit failed for design {params.design!r}: {exc}") from exc
    variables = formula_variables(params.design)
    single_two_level = len(variables) == 1 and meta[variables[0]].nunique() == 2
    out = rcompat.deseq_results(
        fit,
        contrast,
        alpha=params.alpha,
        cooks_filter=params.cooks_filter,
        independent_filtering=params.independent_filtering,
        single_two_level_factor=single_two_level,
        compared_samples=meta[var].isin([tested, reference]).to_numpy(),
    )
    res = pd.DataFrame(out.table, index=kept.index)[RESULT_COLUMNS]
    if params.shrink:
        with _quiet():
            shrunk = rcompat.lfc_shrink(fit, contrast, threads=params.threads)
        res["log2FoldChange_shrunk"] = shrunk.log2_fold_change
        res["lfcSE_shrunk"] = shrunk.lfc_se
    if out.filter is not None:
        log.info("independent filtering: baseMean >= %.4g (theta %.3f)", out.filter.threshold, out.filter.theta)
    notes = [f"DESeq2 (R-faithful) note: {n}" for n in fit.notes]
    all_zero = np.asarray(fit.all_zero, dtype=bool)
    return _EngineFit(res, fit.size_factors, fit.trend, all_zero, notes, fit.cooks_outliers_per_sample)


def _fit_pydeseq2(kept: pd.DataFrame, meta: pd.DataFrame, design, contrast, params: DEParams) -> _EngineFit:
    from . import pydeseq2_engine

    with _quiet():
        fit = pydeseq2_engine.fit(kept, meta, design, contrast, params)
    all_zero = ~(kept.to_numpy() != 0).any(axis=1)
    notes = [f"pydeseq2: {n}" for n in fit.notes]
    return _EngineFit(fit.results, fit.size_factors, fit.trend, all_zero, notes, fit.cooks_outliers_per_sample)


def check_results(res: pd.DataFrame, kept: pd.DataFrame, all_zero, size_factors: pd.Series, engine: str) -> None:
    """The checks after the fit, the same for every engine: one row per fitted gene in the counts'
    order, the columns of :data:`RESULT_COLUMNS`; a gene without reads has baseMean 0 and NA
    statistics (as R reports it); baseMean finite and >= 0; p-values and adjusted p-values in
    [0, 1]; size factors finite and > 0. InputError naming the engine and the first gene otherwise."""
    problems = []
    if list(res.index) != list(kept.index):
        problems.append("its results table does not have one row per gene of the count matrix, in its order")
    missing = [c for c in RESULT_COLUMNS if c not in res.columns]
    if missing:
        problems.append(f"its results table lacks the column(s) {', '.join(missing)}")
    if not problems:
        zero = np.asarray(all_zero, dtype=bool)
        base = res["baseMean"].to_numpy(dtype=float)
        stats = res[RESULT_COLUMNS[1:]].to_numpy(dtype=float)
        checks = [
            (zero & ((base != 0) | ~np.isnan(stats).all(axis=1)), "has no reads but not baseMean 0 and NA statistics"),
            (~np.isfinite(base) | (base < 0), "has a baseMean that is not a finite number >= 0"),
        ]
        for col in ("pvalue", "padj"):
            v = res[col].to_numpy(dtype=float)
            checks.append(((v < 0) | (v > 1), f"has a {col} outside [0, 1]"))
        for bad, what in checks:
            if bad.any():
                problems.append(f"gene {res.index[int(np.argmax(bad))]} {what} ({int(bad.sum())} gene(s))")
    sf = size_factors.to_numpy(dtype=float)
    if not (np.isfinite(sf).all() and (sf > 0).all()):
        problems.append(f"size factors that are not finite and > 0 ({size_factors.to_dict()})")
    if problems:
        other = PYDESEQ2 if engine == R_EXACT else R_EXACT
        raise InputError(
            f"the DE engine {engine} ({engine_version(engine)}) gave results that cannot be used: "
            + "; ".join(problems)
            + f". Check the count matrix; de.engine: {other} estimates otherwise."
        )


def run_deseq2(counts: pd.DataFrame, samples: pd.DataFrame, params: DEParams) -> DEResult:
    """Run DESeq2 with ``params.engine`` (R-faithful by default, see module docstring) on ``counts``
    (genes x samples, ints) with ``samples`` indexed by sample."""
    from . import rcompat

    if params.engine not in ENGINES:
        raise InputError(f"unknown DE engine {params.engine!r}: de.engine is one of {', '.join(ENGINES)}")
    var, tested, reference = params.contrast
    prefilter = params.min_count > 0
    if prefilter:
        min_samples = params.min_samples or smallest_group(samples, params.contrast)
        keep = prefilter_mask(counts, params.min_count, min_samples)
        n_kept = int(keep.sum())
        log.info(
            "pre-filter: %d of %d genes have >= %d reads in >= %d samples",
            n_kept,
            len(keep),
            params.min_count,
            min_samples,
        )
        if n_kept < 2:
            raise InputError(
                f"only {n_kept} gene(s) pass the pre-filter (>= {params.min_count} reads in >= "
                f"{min_samples} samples). Lower `de.prefilter.min_count` (0 turns the pre-filter "
                "off) or check the count matrix."
            )
    else:
        keep = pd.Series(True, index=counts.index)
        n_kept = int(len(counts))
        n_expressed = int((counts.sum(axis=1) > 0).sum())
        log.info(
            "no pre-filter (de.prefilter.min_count = 0, as R's DESeq()): all %d genes go to DESeq2, "
            "%d of them with any reads",
            n_kept,
            n_expressed,
        )
        if n_expressed < 2:
            raise InputError(
                f"only {n_expressed} of {n_kept} gene(s) have any reads in the count matrix; DESeq2 "
                "needs at least 2. Check that the count matrix holds raw read counts."
            )
    kept = counts.loc[keep] if prefilter else counts  # no copy of the whole matrix without a pre-filter
    meta = _metadata(samples.loc[kept.columns], params.design, params.numeric)
    design = design_and_contrast(meta, params.design, params.contrast)
    contrast = design.contrast(var, tested, reference)
    if params.shrink and rcompat.shrinkable_coefficient(contrast) is None:  # before the fit: fail fast
        first = sorted(set(meta[var].astype(str)))[0]  # the design's reference level (R's: the first, sorted)
        where = f"dataset {params.dataset}" if params.dataset else "this dataset"
        key = f"datasets.{params.dataset}.contrast" if params.dataset else "the dataset's `contrast`"
        raise InputError(
            f"{where}: LFC shrinkage (`de.shrinkage: true`) shrinks one coefficient of the design, so the "
            f"contrast's reference level must be the design's reference level for {var!r}, which is {first!r} "
            f"(levels are sorted, the first is the reference, as in R); the contrast [{var}, {tested}, {reference}] "
            f"compares two other levels (coefficients: {', '.join(design.columns)}). Fix: set `de.shrinkage: false`, "
            f"or compare with {first!r} ({key}: [{var}, {tested}, {first}])."
        )
    engine_fit = (_fit_pydeseq2 if params.engine == PYDESEQ2 else _fit_r_exact)(kept, meta, design, contrast, params)
    res = engine_fit.results
    res.index.name = "gene_id"
    size_factors = pd.Series(engine_fit.size_factors, index=kept.columns, name="size_factor")
    check_results(res, kept, engine_fit.all_zero, size_factors, params.engine)
    for note in engine_fit.notes:
        log.warning("%s", note)
    n_sig = int((res["padj"] < params.alpha).sum())
    summary = {
        "engine": params.engine,
        "engine_version": engine_version(params.engine),
        "genes_in": int(len(counts)),
        "genes_tested": n_kept,
        "prefilter": ({"min_count": params.min_count, "min_samples": int(min_samples)} if prefilter else None),
        "genes_all_zero": int(engine_fit.all_zero.sum()),
        "genes_with_pvalue": int(res["pvalue"].notna().sum()),
        "genes_with_padj": int(res["padj"].notna().sum()),
        "alpha": params.alpha,
        "significant": n_sig,
        "up": int(((res["padj"] < params.alpha) & (res["log2FoldChange"] > 0)).sum()),
        "down": int(((res["padj"] < params.alpha) & (res["log2FoldChange"] < 0)).sum()),
        "cooks_outliers": int((res["pvalue"].isna() & res["baseMean"].gt(0)).sum()),
        # per sample: genes whose Cook's distance is above DESeq2's cutoff (None: the sample's group has fewer
        # than 3 replicates, where DESeq2 does not use Cook's distances); read by the sample QC
        "cooks_outliers_by_sample": {
            str(s): (None if np.isnan(n) else int(n))
            for s, n in zip(kept.columns, engine_fit.cooks_outliers_per_sample)
        },
        "shrinkage": params.shrink,
    }
    return DEResult(res, size_factors, summary, counts=kept, trend=engine_fit.trend)


def design_and_contrast(meta: pd.DataFrame, design: str, contrast: list[str]):
    """The design (:class:`pathverdict.de.rcompat.Design`) of ``design`` over ``meta``; an InputError
    naming the formula and the contrast when it cannot be built or the contrast names no level of it."""
    from . import rcompat

    var, tested, reference = contrast
    try:
        built = rcompat.design_matrix(meta, design)
        built.contrast(var, tested, reference)
    except Exception as exc:  # noqa: BLE001 - formulaic and formulaic_contrasts raise many kinds
        raise InputError(
            f"the design {design!r} with contrast {contrast} cannot be built from the sample sheet: {exc}"
        ) from exc
    if built.rank < built.matrix.shape[1]:
        log.warning(
            "the design matrix of %s is not full rank (columns %s): the model cannot be fitted",
            design,
            ", ".join(built.columns),
        )
    return built
