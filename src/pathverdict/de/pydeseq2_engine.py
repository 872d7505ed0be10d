"""The pydeseq2 engine (``de.engine: pydeseq2``): DESeq2 as pydeseq2 computes it, through its public API.

:func:`fit` is what :func:`pathverdict.de.run_deseq2` calls for this engine, after the checks both
engines share (the pre-filter, genes with reads, the design and the contrast built by
:func:`pathverdict.de.rcompat.design_matrix`, the shrinkage's coefficient). What it runs:

* ``DeseqDataSet(counts=..., metadata=..., design=<the formula>, inference=DefaultInference(n_cpus=threads),
  quiet=True)`` and ``deseq2()``, then ``DeseqStats(dds, contrast=[variable, tested, reference],
  alpha=de.alpha, cooks_filter=de.cooks_filter, independent_filter=de.independent_filtering, ...)``
  and ``summary()``: pydeseq2's own defaults throughout (median-of-ratios size factors, gene-wise
  dispersions by L-BFGS-B, its parametric trend and prior, Cook's refit with >= 7 replicates and
  its Cook's filter, its independent filtering), so the calls differ from R DESeq2's for 0-4.5% of
  the genes (docs/fidelity.md, the engine table).
* The design: pydeseq2 builds its design matrix from the formula itself (formulaic). Before the
  fit, its matrix (column names, order, values) and the contrast vector its ``DeseqStats`` makes
  of ``[variable, tested, reference]`` are compared with ours (R's ``model.matrix``: treatment
  coding, the sorted first level as reference): when they differ, or the design is not of full
  rank (pydeseq2 only warns and fits anyway), the run stops naming the difference -- pydeseq2
  would otherwise test another comparison than the one configured.
* Shrinkage (``de.shrinkage``): ``DeseqStats.lfc_shrink(coeff=<the contrast's design column>)``.
* Threads: ``n_cpus`` = the rule's threads. pydeseq2 fits gene by gene in joblib's worker
  processes (its default ``loky`` backend); with 1 thread joblib runs them in this process. The
  workers are reused from fit to fit (the null's relabelings) and shut down when the process ends
  (:func:`_end_workers`): idle loky workers otherwise live on for their idle timeout (300 s), and
  the job's process waits for them at exit.
* The VST: the workflow's is R's ``vst(dds, blind = FALSE)``, the closed-form transformation of the
  dispersion trend of the DE fit. pydeseq2's ``DeseqDataSet.vst()`` is blind by default
  (``use_design=False``: it refits gene-wise dispersions and a trend on an intercept-only design);
  ``vst(use_design=True)`` refits the gene-wise dispersions and the trend with the design, which
  gives the trend of ``deseq2()`` again at the cost of a second gene-wise fit. So the VST is
  computed from the trend pydeseq2 fitted in ``deseq2()`` (``dds.uns["trend_coeffs"]``, a0 + a1 /
  mean; ``dds.uns["mean_disp"]`` when pydeseq2 fell back to the mean) with that formula
  (R's ``getVarianceStabilizedData``, pydeseq2's ``vst_transform``):
  ``tests/test_pydeseq2_engine.py`` checks it equals ``vst(use_design=True)``.

pydeseq2 (and anndata, scikit-learn) are imported here only, when this engine runs (~1.5-2 s).
"""

from __future__ import annotations

import atexit
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .rcompat import DispersionTrend, shrinkable_coefficient
from .rcompat.cooks import cooks_cutoff, n_or_more_in_cell

log = logging.getLogger(__name__)

NAME = "pydeseq2"


@dataclass
class PyDESeq2Fit:
    results: pd.DataFrame  # indexed like the counts: baseMean .. padj (+ log2FoldChange_shrunk, lfcSE_shrunk)
    size_factors: np.ndarray  # per sample, in the counts' column order
    trend: DispersionTrend  # the dispersion trend of the fit (for the VST)
    notes: list[str]  # what pydeseq2 warned about
    cooks_outliers_per_sample: np.ndarray  # genes above the Cook's cutoff per sample (NaN: cell of < 3 samples)


_ENDING: list[bool] = []  # the exit handler is registered (once per process)


def _end_workers() -> None:
    """Shut joblib's reusable worker processes down and reap them (registered with ``atexit``)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def version() -> str:
    import importlib.metadata as md

    try:
        return md.version("pydeseq2")
    except md.PackageNotFoundError:  # pragma: no cover - pinned in requirements.txt
        return "not installed"


def _design_problem(ours, theirs: pd.DataFrame) -> str | None:
    """Why pydeseq2's design matrix is not ours (None when it is)."""
    mine = ours.matrix
    if [str(c) for c in theirs.columns] != [str(c) for c in mine.columns]:
        return f"its design columns are {', '.join(map(str, theirs.columns))}, ours {', '.join(map(str, mine.columns))}"
    a = np.asarray(theirs.loc[list(mine.index)], dtype=float)
    if a.shape != mine.shape or not np.allclose(a, mine.to_numpy(dtype=float), rtol=0, atol=1e-12):
        return "its design matrix has other values than ours (another coding of the factors)"
    return None


def fit(counts: pd.DataFrame, meta: pd.DataFrame, design, contrast: np.ndarray, params) -> PyDESeq2Fit:
    """pydeseq2 on ``counts`` (genes x samples) with the sample sheet's design columns ``meta``;
    ``design`` and ``contrast`` are ours (:class:`pathverdict.de.rcompat.Design` and its contrast
    vector), ``params`` the :class:`pathverdict.de.DEParams`. InputError where pydeseq2 cannot
    express the design or contrast as configured."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    var, tested, reference = (str(c) for c in params.contrast)
    if design.rank < design.matrix.shape[1]:
        raise InputError(
            f"the design {params.design!r} is not of full rank (columns {', '.join(design.columns)}): no "
            "coefficient of it can be estimated. pydeseq2 would fit it anyway (it only warns); remove the "
            "variables that are combinations of others from the design."
        )
    threads = max(1, int(params.threads))
    inference = DefaultInference(n_cpus=threads)
    if threads > 1 and not _ENDING:
        atexit.register(_end_workers)  # after multiprocessing's own handler is registered: runs before it
        _ENDING.append(True)
    data = pd.DataFrame(
        np.asarray(counts.to_numpy(), dtype=np.int64).T, index=[str(s) for s in counts.columns], columns=counts.index
    )
    dds = DeseqDataSet(
        counts=data, metadata=meta.set_axis(data.index), design=params.design, inference=inference, quiet=True
    )
    problem = _design_problem(design, dds.obsm["design_matrix"])
    if problem is None:
        their_contrast = np.asarray(dds.contrast(column=var, baseline=reference, group_to_compare=tested), dtype=float)
        if their_contrast.shape != contrast.shape or not np.allclose(their_contrast, contrast, rtol=0, atol=1e-12):
            problem = (
                f"its contrast vector for {var} {tested} vs {reference} is {their_contrast.tolist()}, ours "
                f"{np.asarray(contrast).tolist()} (another reference level)"
            )
    if problem:
        raise InputError(
            f"pydeseq2 {version()} cannot express the design {params.design!r} with contrast "
            f"[{var}, {tested}, {reference}] as configured: {problem}. Use de.engine: r_exact, or a design "
            "whose factors pydeseq2 codes as R does."
        )
    dds.deseq2()
    stats = DeseqStats(
        dds,
        contrast=[var, tested, reference],
        alpha=params.alpha,
        cooks_filter=params.cooks_filter,
        independent_filter=params.independent_filtering,
        inference=inference,
        quiet=True,
    )
    if not np.allclose(np.asarray(stats.contrast_vector, dtype=float), contrast, rtol=0, atol=1e-12):
        raise InputError(  # DeseqStats builds it with dds.contrast, checked above: a change in pydeseq2
            f"pydeseq2 {version()} built the contrast vector {np.asarray(stats.contrast_vector).tolist()} for "
            f"[{var}, {tested}, {reference}], ours is {np.asarray(contrast).tolist()}. Use de.engine: r_exact."
        )
    stats.summary()
    res = stats.results_df.loc[list(counts.index), ["baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]]
    res = res.astype(float)
    if params.shrink:
        k = shrinkable_coefficient(contrast)  # run_deseq2 refused a contrast that is not one coefficient
        stats.lfc_shrink(coeff=str(dds.obsm["design_matrix"].columns[k]))
        res["log2FoldChange_shrunk"] = stats.results_df.loc[res.index, "log2FoldChange"].astype(float).to_numpy()
        res["lfcSE_shrunk"] = stats.results_df.loc[res.index, "lfcSE"].astype(float).to_numpy()
    res.index = counts.index
    if dds.uns.get("disp_function_type") == "mean":
        trend = DispersionTrend("mean", mean_disp=float(dds.uns["mean_disp"]))
    else:
        a0, a1 = (float(x) for x in dds.uns["trend_coeffs"])
        trend = DispersionTrend("parametric", asympt_disp=a0, extra_pois=a1)
    notes = []
    if "replaced" in dds.var and int(dds.var["replaced"].sum()):
        notes.append(f"Cook's outliers replaced and refitted in {int(dds.var['replaced'].sum())} gene(s)")
    size_factors = np.asarray(dds.obs["size_factors"].loc[data.index], dtype=float)
    return PyDESeq2Fit(res, size_factors, trend, notes, _cooks_outliers_per_sample(dds, design))


def _cooks_outliers_per_sample(dds, design) -> np.ndarray:
    """Per sample, the genes whose Cook's distance of pydeseq2's first fit (``layers["cooks"]``, before
    any refit, as the r_exact engine counts them) is above pydeseq2's cutoff (R's ``qf(0.99, p, m - p)``);
    NaN for a sample whose design cell has fewer than 3 samples, or with no residual degrees of freedom
    (neither DESeq2 nor pydeseq2 uses Cook's distances there)."""
    x = design.matrix.to_numpy(dtype=float)
    m, p = x.shape
    if m <= p or "cooks" not in dds.layers:
        return np.full(m, np.nan)
    cooks = np.asarray(dds.layers["cooks"], dtype=float)  # samples (the counts' order) x genes; NaN: no reads
    with np.errstate(invalid="ignore"):
        above = (cooks > cooks_cutoff(m, p)).sum(axis=1).astype(float)
    return np.where(n_or_more_in_cell(x, 3), above, np.nan)
