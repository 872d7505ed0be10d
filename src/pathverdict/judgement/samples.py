"""Sample QC: is one sample unlike the others, in the wrong group, or a copy of another?

Per dataset, one row per sample (:func:`sample_qc`), every figure shown and the outlying ones
flagged with the figure that flags them (``flags``, ``note``). Nothing is removed: the flags are
for people to look at (``results/<study>/samples.html``, the verdict note); whether a sample
changes the answer is what leaving it out says (:mod:`pathverdict.judgement.leave_one_sample_out`).

The measures and their thresholds (docs/samples.md says why each is where it is; none is fitted
to a dataset: each compares a sample with the other samples of the same dataset, so it is a
ratio without units, and each threshold lies far outside what exchangeable samples give in the
simulated studies of tests/test_samples.py):

* ``library_size`` (reads) and ``detected_genes`` (genes with >= 1 read), as ratios to the
  dataset's median: flagged below 1/:data:`LIBRARY_FOLD` or above :data:`LIBRARY_FOLD` times the
  median depth, and below :data:`DETECTED_FRACTION` of the median number of detected genes;
* the position in the PCA (the :data:`N_TOP` most variable genes of the VST, as the PCA plot):
  ``pc1``, ``pc2``, and the *robust distance* from its group: the Euclidean distance (all
  components) to the coordinate-wise median of its group, divided by the median of that
  distance over all samples; flagged from :data:`DISTANCE_RATIO`;
* ``group_correlation``: Pearson correlation of the sample's VST (every gene) with the median
  profile of the other samples of its group; flagged when ``1 - r`` is :data:`CORRELATION_RATIO`
  times the median over samples (the distance rule on its squared scale);
* ``cooks_outliers``: genes where the sample's Cook's distance is above DESeq2's cutoff
  ``qf(0.99, p, m - p)`` (from the DE step; only for groups of >= 3, as DESeq2); flagged when
  :data:`COOKS_RATIO` times the median over samples and at least :data:`COOKS_MIN_FRACTION` of the
  genes with reads;
* a possible *label swap* (compared samples only): the distance to its nearest sample of its own
  group over the distance to its nearest sample of the other group (in the PCA's space): flagged
  from :data:`SWAP_RATIO` -- the sample sits with the other group;
* a possible *re-sequenced library* (the same library listed twice): the distance of a sample to
  its nearest sample of the same group over the :data:`TWIN_GENES` most highly expressed genes,
  divided by the median of that nearest-neighbour distance over the samples (at least
  :data:`MIN_TWIN_SAMPLES`); flagged from :data:`TWIN_RATIO` down, for both samples of the pair: far
  more alike than replicates are (technical noise only).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..util import read_text_table
from .claims import CAVEAT_COLUMNS, CAVEAT_HOLDS

N_TOP = 500
LIBRARY_FOLD = 4.0
DETECTED_FRACTION = 0.75
DISTANCE_RATIO = 3.0
CORRELATION_RATIO = 9.0
COOKS_RATIO = 3.0
COOKS_MIN_FRACTION = 0.005
SWAP_RATIO = 1.2
TWIN_RATIO = 0.5
TWIN_GENES = 1000
MIN_TWIN_SAMPLES = 6

QC_COLUMNS = [
    "dataset",
    "sample",
    "group",
    "compared",
    "library_size",
    "library_ratio",
    "detected_genes",
    "detected_ratio",
    "pc1",
    "pc2",
    "distance_ratio",
    "group_correlation",
    "cooks_outliers",
    "swap_ratio",
    "closest",
    "closest_ratio",
    "flags",
    "note",
]
TEXT = ("dataset", "sample", "group", "compared", "closest", "flags", "note")
FLAG_WORDS = {
    "library_size": "library size",
    "detected_genes": "detected genes",
    "distance": "far from its group in the PCA",
    "correlation": "low correlation with its group",
    "cooks": "many Cook's outliers",
    "label_swap": "sits with the other group",
    "twin": "a near copy of another sample",
}


# ----------------------------------------------------------------------------- PCA


def pca_scores(vst: pd.DataFrame, n_top: int = N_TOP) -> tuple[np.ndarray, np.ndarray]:
    """PCA like DESeq2's ``plotPCA``: the ``n_top`` genes with the highest variance across samples,
    centred per gene, not scaled, SVD. Returns the scores (samples x components, each sign fixed so
    that its largest loading is positive; numerically zero components set to 0) and each
    component's fraction of the variance (NaN when there is none). Genes with a non-finite value are
    dropped; fewer than 2 samples or no gene give empty scores."""
    mat = vst.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if mat.ndim != 2 or mat.shape[1] < 2:
        return np.zeros((mat.shape[1] if mat.ndim == 2 else 0, 0)), np.zeros(0)
    mat = mat[np.isfinite(mat).all(axis=1)]
    if mat.shape[0] == 0:
        return np.zeros((mat.shape[1], 0)), np.zeros(0)
    var = mat.var(axis=1, ddof=1)
    order = np.argsort(-var, kind="stable")[: max(1, int(n_top))]
    x = mat[order].T  # samples x genes
    x = x - x.mean(axis=0, keepdims=True)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    eig = s**2
    total = float(eig.sum())
    if not np.isfinite(total) or total <= 0:
        return np.zeros_like(u), np.full(len(s), np.nan)
    for k in range(len(s)):
        if vt[k, np.argmax(np.abs(vt[k]))] < 0:
            u[:, k] *= -1
            vt[k] *= -1
    scores = u * s
    negligible = eig / total < 1e-12  # numerically zero components (e.g. PC2 with 2 samples)
    scores[:, negligible] = 0.0
    eig = np.where(negligible, 0.0, eig)
    return scores, eig / eig.sum()


# ----------------------------------------------------------------------------- measures


def _median(values) -> float:
    """The median of the values that are not NaN (NaN when none, without numpy's warning)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return float(np.median(v)) if len(v) else float("nan")


def _ratio_to_median(values: pd.Series) -> pd.Series:
    med = _median(values)
    if not med or pd.isna(med):
        return pd.Series(np.nan, index=values.index)
    return values / med


def _robust_distances(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Distance of each sample to the coordinate-wise median of its group (NaN alone in its group)."""
    out = np.full(len(groups), np.nan)
    for g in pd.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(members) < 2:
            continue
        centre = np.median(scores[members], axis=0)
        out[members] = np.linalg.norm(scores[members] - centre, axis=1)
    return out


# from this group size on, a sample is compared with its group's median profile itself, not with the
# median of the others (one sample moves the median of this many by a negligible amount, and one median
# per group instead of one per sample keeps large cohorts linear in the samples)
LARGE_GROUP = 30


def _group_correlations(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Pearson r of each sample (column of genes x samples ``x``) with the median of its group's others."""
    out = np.full(len(groups), np.nan)
    medians = {g: np.median(x[:, groups == g], axis=1) for g in pd.unique(groups) if (groups == g).sum() >= LARGE_GROUP}
    for j in range(len(groups)):
        others = np.flatnonzero((groups == groups[j]) & (np.arange(len(groups)) != j))
        if not len(others):
            continue
        ref = medians[groups[j]] if groups[j] in medians else np.median(x[:, others], axis=1)
        a, b = x[:, j], ref
        if a.std() > 0 and b.std() > 0:
            out[j] = float(np.corrcoef(a, b)[0, 1])
    return out


def _swap_ratios(scores: np.ndarray, groups: np.ndarray, compared: tuple[str, str]) -> np.ndarray:
    """Per compared sample: the distance to its nearest sample of its own group over the distance to its
    nearest sample of the other group (nearest samples, not group centres: one outlier of the group
    does not move them)."""
    out = np.full(len(groups), np.nan)
    if min(int((groups == g).sum()) for g in compared) < 2:
        return out
    for j in np.flatnonzero(np.isin(groups, compared)):
        own = groups[j]
        other = compared[1] if own == compared[0] else compared[0]
        mates = np.flatnonzero((groups == own) & (np.arange(len(groups)) != j))
        d_own = np.linalg.norm(scores[mates] - scores[j], axis=1).min()
        d_other = np.linalg.norm(scores[groups == other] - scores[j], axis=1).min()
        if d_other > 0:
            out[j] = d_own / d_other
    return out


def _closest_pairs(x: np.ndarray, groups: np.ndarray, names: list[str]) -> tuple[list[str], np.ndarray]:
    """Each sample's closest sample of its group (nearest neighbour) and their distance over the median
    nearest-neighbour distance of the samples (NaN with fewer than :data:`MIN_TWIN_SAMPLES` samples that
    have a neighbour in their group). Nearest neighbours, not all pairs: the closest of many pairs is
    close by chance (85 individuals: the closest pair at 0.45 of the median pair distance)."""
    n = len(names)
    sq = (x**2).sum(axis=0)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * (x.T @ x), 0.0))
    same = (groups[:, None] == groups[None, :]) & ~np.eye(n, dtype=bool)
    closest, nn = [""] * n, np.full(n, np.nan)
    for j in range(n):
        mates = np.flatnonzero(same[j])
        if len(mates):
            k = mates[np.argmin(d[j, mates])]
            closest[j], nn[j] = names[k], d[j, k]
    ok = ~np.isnan(nn)
    med = float(np.median(nn[ok])) if ok.sum() >= MIN_TWIN_SAMPLES else np.nan
    return closest, (nn / med if med > 0 else np.full(n, np.nan))


# ----------------------------------------------------------------------------- the table


def sample_qc(
    counts: pd.DataFrame,
    vst: pd.DataFrame,
    sheet: pd.DataFrame,
    contrast: list[str],
    *,
    cooks: Mapping[str, float | None] | None = None,
    dataset: str = "",
) -> pd.DataFrame:
    """One row per sample of ``counts`` (genes x samples, raw): the measures of the module docs, the
    ``flags`` (``;``-separated names of :data:`FLAG_WORDS`) and a ``note`` giving the figure of each.

    ``vst`` is the DE step's VST (genes x samples), ``sheet`` the checked sample sheet (indexed by
    sample), ``contrast`` ``[variable, tested, reference]``; ``cooks`` the DE step's
    ``cooks_outliers_by_sample`` (None: not shown)."""
    names = [str(s) for s in counts.columns]
    var, tested, reference = (str(c) for c in contrast)
    groups = sheet.loc[names, var].astype(str).to_numpy()
    compared = np.isin(groups, [tested, reference])
    lib = counts.sum(axis=0).astype(float)
    detected = (counts > 0).sum(axis=0).astype(float)
    vst = vst.reindex(columns=names)
    scores, frac = pca_scores(vst)
    dist = _robust_distances(scores, groups) if scores.size else np.full(len(names), np.nan)
    values = vst.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values).all(axis=1)]
    cor = _group_correlations(values, groups)
    swap = _swap_ratios(scores, groups, (tested, reference)) if scores.size else np.full(len(names), np.nan)
    top = np.argsort(-values.mean(axis=1), kind="stable")[:TWIN_GENES]
    closest, twin = _closest_pairs(values[top], groups, names)
    t = pd.DataFrame(
        {
            "dataset": dataset,
            "sample": names,
            "group": groups,
            "compared": np.where(compared, "yes", "no"),
            "library_size": lib.to_numpy(),
            "library_ratio": _ratio_to_median(lib).to_numpy(),
            "detected_genes": detected.to_numpy(),
            "detected_ratio": _ratio_to_median(detected).to_numpy(),
            "pc1": scores[:, 0] if scores.shape[1:] and scores.shape[1] > 0 else np.nan,
            "pc2": scores[:, 1] if scores.shape[1:] and scores.shape[1] > 1 else np.nan,
            "distance_ratio": _ratio_to_median(pd.Series(dist)).to_numpy(),
            "group_correlation": cor,
            "cooks_outliers": [np.nan if (cooks or {}).get(s) is None else float(cooks[s]) for s in names],
            "swap_ratio": swap,
            "closest": closest,
            "closest_ratio": twin,
        }
    )
    t.attrs["pc_variance"] = [float(f) for f in frac[:2]]
    genes_with_reads = int((counts.sum(axis=1) > 0).sum())
    typical = {"one_minus_r": _median(1 - t["group_correlation"]), "cooks": _median(t["cooks_outliers"])}
    flags, notes = zip(*(_flags(r, typical, genes_with_reads) for r in t.to_dict("records"))) if len(t) else ((), ())
    t["flags"] = list(flags)
    t["note"] = list(notes)
    return t[QC_COLUMNS]


def _flags(r: dict, typical: dict, genes_with_reads: int) -> tuple[str, str]:
    out: list[tuple[str, str]] = []
    lr = r["library_ratio"]
    if not pd.isna(lr) and (lr <= 1 / LIBRARY_FOLD or lr >= LIBRARY_FOLD):
        out.append(("library_size", f"{_n(r['library_size'])} reads, {_x(lr)} the median library"))
    dr = r["detected_ratio"]
    if not pd.isna(dr) and dr < DETECTED_FRACTION:
        out.append(("detected_genes", f"{_n(r['detected_genes'])} genes detected, {dr:.0%} of the median"))
    dist = r["distance_ratio"]
    if not pd.isna(dist) and dist >= DISTANCE_RATIO:
        out.append(("distance", f"{dist:.1f}x the median distance of a sample from its group's centre in the PCA"))
    med = typical["one_minus_r"]
    if not pd.isna(r["group_correlation"]) and med > 0 and (1 - r["group_correlation"]) / med >= CORRELATION_RATIO:
        out.append(
            (
                "correlation",
                f"correlation with its group {r['group_correlation']:.3f} (median over samples {1 - med:.3f})",
            )
        )
    c = r["cooks_outliers"]
    cmed = typical["cooks"]
    if (
        not pd.isna(c)
        and c >= COOKS_MIN_FRACTION * genes_with_reads
        and c >= COOKS_RATIO * (cmed if not pd.isna(cmed) else 0)
    ):
        out.append(
            (
                "cooks",
                f"Cook's outlier in {_n(c)} genes ({c / max(genes_with_reads, 1):.1%} of the genes with reads; "
                f"median over samples {_n(cmed)})",
            )
        )
    s = r["swap_ratio"]
    if not pd.isna(s) and s >= SWAP_RATIO:
        out.append(
            (
                "label_swap",
                f"sits with the other group: {s:.2f}x as far from the rest of {r['group']} as from the other "
                "group, relative to exchangeable samples (a possible label swap)",
            )
        )
    cr = r["closest_ratio"]
    if not pd.isna(cr) and cr <= TWIN_RATIO:
        out.append(
            (
                "twin",
                f"{cr:.2f}x the median distance between replicates from {r['closest']} (a re-sequenced library "
                "listed as a second replicate?)",
            )
        )
    return ";".join(k for k, _ in out), "; ".join(f"{r['sample']}: {text}" for _, text in out)


def _n(x) -> str:
    return "–" if pd.isna(x) else f"{int(round(float(x))):,}"


def _x(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio >= 1 else f"1/{1 / ratio:.1f} of"


def flagged(qc: pd.DataFrame) -> pd.DataFrame:
    """The rows of flagged samples."""
    return qc[qc["flags"].fillna("").astype(str) != ""]


# a dataset whose samples cannot be checked (a published DE table: no counts, no sample sheet) has one
# QC row without a sample whose note says so and why; its verdict rows' note starts with NOT_CHECKED
NOT_TESTED = "not tested"
NOT_CHECKED = "sample checks not tested"


def not_tested_qc(dataset: str, reason: str) -> pd.DataFrame:
    """The QC table of a dataset whose samples cannot be checked: one row, no sample, ``note``
    "not tested: <reason>" (:func:`not_tested_reason` reads it back)."""
    row = {c: np.nan for c in QC_COLUMNS} | {c: "" for c in TEXT}
    return pd.DataFrame([row | {"dataset": dataset, "note": f"{NOT_TESTED}: {reason}"}], columns=QC_COLUMNS)


def not_tested_reason(qc: pd.DataFrame | None) -> str:
    """Why the samples of a dataset (``qc``: its rows) were not checked; '' when they were."""
    if qc is None or qc.empty:
        return ""
    rows = qc[(qc["sample"].fillna("").astype(str) == "") & qc["note"].astype(str).str.startswith(NOT_TESTED + ": ")]
    return str(rows["note"].iloc[0])[len(NOT_TESTED) + 2 :] if len(rows) else ""


def read_qc(path) -> pd.DataFrame:
    """A sample QC table, names and flags as text."""
    t = read_text_table(path, TEXT)
    return t.fillna({c: "" for c in TEXT if c in t.columns})


# ----------------------------------------------------------------------------- caveats of the claims

# The caveats table: what the sample-level checks change in the claims' answers, without knowing the
# claims' wording -- the seam with the claims engine, whose definition it is (claims.CAVEAT_COLUMNS,
# claims.apply_caveats; docs/claims.md "Caveats").
# the claims' tests that use the headline method of the first library
HEADLINE_TESTS = "on_top;enriched"
INCONCLUSIVE = CAVEAT_HOLDS[0]


def caveats_from_qc(
    *, confounding: pd.DataFrame | None, sensitivity: pd.DataFrame | None, library: str, primary: str
) -> pd.DataFrame:
    """The caveats (:data:`CAVEAT_COLUMNS`) of the sample-level checks, for the claims engine:

    * a column of the sheet confounded with the contrast (:mod:`confounding`): every test of the
      dataset, whatever its answer, is ``inconclusive`` -- the data cannot tell the condition from
      the column (``tests`` ``*``, ``when`` ``any``, source ``confounding``);
    * an answer that rests on one (or a few) samples (:func:`leave_one_sample_out.resting` of the
      headline method ``primary`` in ``library``, the first library): a "yes" of the tests that use
      that method (``on_top``, ``enriched``) is ``inconclusive`` -- "on top by ora_all, but not
      without sample S6"; likewise a "no" that one sample masks (on top without it).

    ``confounding`` is the study's confounding table, ``sensitivity`` a table with the
    leave-one-sample-out rows (either may be None). Empty (with the columns) when nothing applies."""
    from . import confounding as _confounding
    from . import leave_one_sample_out as loo

    rows = []
    if confounding is not None and len(confounding):
        hit = confounding[confounding["status"].astype(str) == _confounding.CONFOUNDED]
        for dataset, detail in zip(hit["dataset"].astype(str), hit["detail"].astype(str)):
            rows.append(_caveat(dataset, "*", "any", "confounding", detail))
    table = loo.rows_of(sensitivity)
    for dataset in dict.fromkeys(table["dataset"].astype(str)):
        r = loo.resting(table, dataset, library, primary)
        for key, when in (("rests", "yes"), ("masks", "no")):
            if r[key]:
                n = len(r[key])
                reason = loo.sentence(table, dataset, library, primary) + (
                    f": the answer rests on {'one sample' if n == 1 else f'{n} samples'}"
                )
                rows.append(_caveat(dataset, HEADLINE_TESTS, when, loo.VARIANT, reason))
    return pd.DataFrame(rows, columns=CAVEAT_COLUMNS)


def _caveat(dataset: str, tests: str, when: str, source: str, reason: str) -> dict:
    return {"dataset": dataset, "tests": tests, "when": when, "holds": INCONCLUSIVE, "source": source, "reason": reason}


# ----------------------------------------------------------------------------- the verdict's note


def verdict_notes(
    verdict_table: pd.DataFrame,
    qc: pd.DataFrame | None,
    confounding: pd.DataFrame | None,
    sensitivity: pd.DataFrame | None,
) -> list[str]:
    """Per row of the verdict (dataset x library x method): what the samples say of it, '' when nothing --
    leaving one sample out for that library and method ("on top by gsea, but not without sample S6"),
    a column confounded with (or associated with) the contrast, and the flagged samples; for a dataset
    whose samples could not be checked (a DE table), "sample checks not tested: <why>"."""
    from . import confounding as _confounding
    from . import leave_one_sample_out as loo

    loo_rows = loo.rows_of(sensitivity)
    per_dataset: dict[str, list[str]] = {}
    for ds in dict.fromkeys(verdict_table["dataset"].astype(str)):
        untested = not_tested_reason(qc[qc["dataset"].astype(str) == ds]) if qc is not None and len(qc) else ""
        if untested:  # no samples to check (a DE table): said, never left blank
            per_dataset[ds] = [f"{NOT_CHECKED}: {untested}"]
            continue
        parts = []
        if confounding is not None and len(confounding):
            text = _confounding.sentence(confounding[confounding["dataset"].astype(str) == ds])
            if text:
                parts.append(text)
        if qc is not None and len(qc):
            hit = flagged(qc[qc["dataset"].astype(str) == ds])
            if len(hit):
                parts.append(
                    "flagged sample(s): "
                    + ", ".join(
                        f"{s} ({', '.join(FLAG_WORDS.get(f, f) for f in str(fl).split(';'))})"
                        for s, fl in zip(hit["sample"], hit["flags"])
                    )
                )
        per_dataset[ds] = parts
    out = []
    for ds, lib, method in zip(
        verdict_table["dataset"].astype(str), verdict_table["library"].astype(str), verdict_table["method"].astype(str)
    ):
        own = loo.sentence(loo_rows, ds, lib, method) if len(loo_rows) else ""
        out.append("; ".join(p for p in [own, *per_dataset.get(ds, [])] if p))
    return out
