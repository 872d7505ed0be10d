"""Leave one sample out: does "the target is on top" rest on one sample?

For a dataset with at least :data:`MIN_PER_GROUP` samples in each compared group, each sample of
the two groups is removed in turn and the analysis is re-run on the others: DESeq2 with the
workflow's settings, then the enrichment of every method (ORA of up, down and all DE genes,
pre-ranked GSEA with the workflow's permutations and seed, CAMERA) against the first library,
and the verdict (:func:`verdict.judge_method`, the verdict's own rule). Each removal is a row of
the sensitivity table (variant ``leave_one_sample_out:<sample>``, the columns of
:data:`sensitivity.COLUMNS`), compared with the verdict's status on all samples:

* a sample whose removal takes the target off the top (on_top -> not_on_top or inconclusive) is
  *critical* for that method; a sample whose removal puts it on top *reverses* a "not on top";
* the answer *rests on* a critical sample that also carries at least :data:`SHARE` of the target's
  difference between the groups (:func:`influence`): without it the effect is (mostly) gone, not
  just a replicate fewer. Under an effect the samples of a group share, removing any one of them
  leaves the group difference about where it was (shares of a few per cent, either sign), and a
  target near the threshold can still drop off the top: that is a loss of power, shown and
  not counted (how much power a design has is the calibration's question). Likewise a reversing
  sample *masks* the answer when its removal makes that difference at least :data:`SHARE` larger
  (e.g. a sample of the other group listed in this one). :func:`resting` reads the rows.

Re-runs start from the numbers as the files hold them (:func:`null_statistics.de_table`), so the
removal of nothing would reproduce the verdict.

Cost and its bound: one DE fit and one enrichment per removal (GSEA dominates: as long as the
enrichment step's GSEA of one library). With more than ``max_removals`` compared samples only
the ``max_removals`` samples with the largest *influence* are removed (:func:`influence`): how much
removing the sample shrinks the target's difference between the groups, from the VST of the
target's genes signed by their log2 fold change -- the samples whose removal can take the target
off the top. The others are listed in one ``not tested`` row.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import de, enrichment
from . import sensitivity, verdict
from ..errors import InputError
from ..genesets import GeneSetLibrary
from ..io import read_tsv
from ..util import as_written, quiet_logging
from .null_statistics import de_table

log = logging.getLogger(__name__)

VARIANT = "leave_one_sample_out"
PREFIX = VARIANT + ":"
MIN_PER_GROUP = 3
DEFAULT_MAX_REMOVALS = 6  # the schema's default: every sample of a 3 vs 3 design
METHODS = ("ora_all", "ora_up", "ora_down", "gsea", "camera")
# a critical sample carries the answer when its removal takes at least this share of the target's
# difference between the groups away (docs/samples.md)
SHARE = 0.5
NOT_TESTED = sensitivity.NOT_TESTED


def eligible(sheet: pd.DataFrame, contrast: Sequence[str]) -> str:
    """'' when both compared groups have at least :data:`MIN_PER_GROUP` samples, else why not."""
    var, tested, reference = (str(c) for c in contrast)
    sizes = {g: int((sheet[var].astype(str) == g).sum()) for g in (tested, reference)}
    if min(sizes.values()) >= MIN_PER_GROUP:
        return ""
    return (
        f"{sizes[tested]} {tested} vs {sizes[reference]} {reference}: leaving a sample out needs at least "
        f"{MIN_PER_GROUP} in each compared group (2 would be left)"
    )


def influence(
    vst: pd.DataFrame, de_table_: pd.DataFrame, sheet: pd.DataFrame, contrast: Sequence[str], target_genes
) -> pd.Series:
    """Per compared sample: the share of the target's difference between the groups that its removal
    takes away (1: all of it; negative: its removal makes the difference larger).

    The difference is ``D = mean over the target's genes of s_i (mean_tested_i - mean_reference_i)`` on
    the VST, ``s_i`` the sign of gene i's log2 fold change (the target's genes with a fold change);
    removing sample j of group g moves that group's mean by ``-(x_ij - mean_g_i) / (n_g - 1)``, which
    changes D by ``-Delta_j``; the share is ``Delta_j / D``. Under an effect shared by the samples of a
    group the shares are small (noise, of either sign); one sample that carries the effect alone has a
    share near 1. Sorted by absolute share, largest first (ties: sheet order); NaN when D <= 0."""
    var, tested, reference = (str(c) for c in contrast)
    groups = sheet[var].astype(str)
    samples = [s for s in sheet.index.astype(str) if groups[s] in (tested, reference) and s in vst.columns]
    genes = de_table_[de_table_["symbol"].astype("string").isin(set(target_genes))]
    genes = genes[genes["log2FoldChange"].notna() & genes["gene_id"].isin(vst.index)]
    if genes.empty:
        return pd.Series(np.nan, index=pd.Index(samples, name="sample"), name="share")
    sign = np.sign(genes["log2FoldChange"].to_numpy(dtype=float))[:, None]
    x = vst.loc[genes["gene_id"].to_numpy(), samples].to_numpy(dtype=float)
    cols = {g: [i for i, s in enumerate(samples) if groups[s] == g] for g in (tested, reference)}
    centre = {g: x[:, c].mean(axis=1, keepdims=True) for g, c in cols.items()}
    difference = float(np.mean(sign * (centre[tested] - centre[reference])))
    out = {}
    for g, direction in ((tested, 1.0), (reference, -1.0)):
        for i in cols[g]:
            delta = direction * float(np.mean(sign * (x[:, i : i + 1] - centre[g]))) / (len(cols[g]) - 1)
            out[samples[i]] = delta / difference if difference > 0 else np.nan
    s = pd.Series(out, name="share").reindex(samples)
    order = np.lexsort((np.arange(len(s)), -np.nan_to_num(s.abs().to_numpy(), nan=-1.0)))
    return s.iloc[order]


def _camera_judged(
    result: de.DEResult, table: pd.DataFrame, sheet: pd.DataFrame, params: de.DEParams, name, lib, term, settings, e
):
    from ..enrichment import camera

    vst = as_written(result.vst.round(4).rename_axis("gene_id").reset_index(), read_tsv, index_col=0)
    y = camera.expression_by_symbol(table, vst)
    design, contrast, _ = camera.design_and_contrast(sheet.loc[list(vst.columns)], params.design, list(params.contrast))
    res = camera.camera(
        y,
        design,
        contrast,
        lib.sets,
        name,
        lib.ids,
        e["gsea_min_size"],
        e["gsea_max_size"],
        inter_gene_cor=e.get("camera_inter_gene_cor"),
    )
    return verdict.judge_method(res, "camera", term, settings, None)


def rerun(
    counts: pd.DataFrame,
    sheet: pd.DataFrame,
    params: de.DEParams,
    symbols: pd.Series,
    name: str,
    lib: GeneSetLibrary,
    term: str,
    *,
    settings: verdict.VerdictSettings,
    enrichment_cfg: Mapping,
    methods: Sequence[str] = METHODS,
    threads: int = 1,
) -> dict[str, dict]:
    """DE of ``counts`` / ``sheet`` and the verdict of every method (method -> judged row)."""
    e = enrichment_cfg
    result = de.run_deseq2(counts, sheet, params)
    table = de_table(result, symbols)
    genes = enrichment.collapse_to_symbols(table)
    out = {}
    if any(m.startswith("ora_") for m in methods):
        judged = sensitivity._ora_judged(
            genes, name, lib, term, e["padj"], e["lfc"], settings, e["ora_min_size"], e["ora_max_size"]
        )
        out.update({m: judged[m] for m in methods if m in judged})
    if "gsea" in methods:
        out["gsea"] = sensitivity._gsea_judged(
            genes, name, lib, term, settings, enrichment.GseaSettings.from_config(e, threads)
        )
    if "camera" in methods:
        out["camera"] = _camera_judged(result, table, sheet, params, name, lib, term, settings, e)
    return out


def _not_tested(dataset: str, library: str, detail: str) -> dict:
    return {
        "dataset": dataset,
        "library": library,
        "method": "de",
        "variant": VARIANT,
        "rank": np.nan,
        "n_terms": np.nan,
        "fdr": np.nan,
        "on_top": "",
        "status": NOT_TESTED,
        "detail": detail,
    }


def leave_one_sample_out(
    counts: pd.DataFrame,
    sheet: pd.DataFrame,
    params: de.DEParams,
    symbols: pd.Series,
    library: tuple[str, GeneSetLibrary],
    target: str,
    *,
    baseline: Mapping[str, Mapping],
    settings: verdict.VerdictSettings,
    enrichment_cfg: Mapping,
    vst: pd.DataFrame,
    de_table_: pd.DataFrame,
    methods: Sequence[str] = METHODS,
    max_removals: int = DEFAULT_MAX_REMOVALS,
    threads: int = 1,
    dataset: str = "",
) -> pd.DataFrame:
    """The sensitivity rows of leaving each (chosen) compared sample out (see the module docs).

    ``counts``/``sheet``: the dataset as analysed (after any selection by expression); ``params``
    the DE settings; ``library``: (name, library) -- the first library; ``baseline``: the verdict's
    judged row per method on all samples; ``vst``/``de_table_``: the DE step's VST and DE table (for
    :func:`influence`); ``enrichment_cfg``: the workflow's ``enrichment`` section."""
    name, lib = library
    term = lib.find(target)
    sheet = sheet.copy()
    sheet.index = sheet.index.astype(str)
    why = eligible(sheet, params.contrast)
    if why:
        return sensitivity.typed(pd.DataFrame([_not_tested(dataset, name, why)], columns=sensitivity.COLUMNS))
    methods = [m for m in methods if m in baseline]
    inf = influence(vst, de_table_, sheet, params.contrast, lib.sets[term])
    chosen = list(inf.index[: max(1, int(max_removals))])
    params = dataclasses.replace(params, shrink=False, threads=threads)
    rows = []
    started = time.monotonic()
    for k, sample in enumerate(chosen, start=1):
        keep = [s for s in counts.columns.astype(str) if s != sample]
        try:
            with quiet_logging():
                judged = rerun(
                    counts[keep],
                    sheet.loc[keep],
                    params,
                    symbols,
                    name,
                    lib,
                    term,
                    settings=settings,
                    enrichment_cfg=enrichment_cfg,
                    methods=methods,
                    threads=threads,
                )
        except (InputError, ValueError) as exc:
            rows.append(
                {
                    **_not_tested(dataset, name, f"without {sample}: the analysis failed: {exc}"),
                    "variant": PREFIX + sample,
                }
            )
            continue
        for method in methods:
            j, b = judged[method], baseline[method]
            rows.append(sensitivity._row(dataset, name, PREFIX + sample, j, _detail(sample, j, b, float(inf[sample]))))
        log.info(
            "%s: without %s (%d/%d) done, %.1f s so far", dataset, sample, k, len(chosen), time.monotonic() - started
        )
    left = [s for s in inf.index if s not in chosen]
    if left:
        rows.append(
            _not_tested(
                dataset,
                name,
                f"{len(left)} of {len(inf)} samples not removed (at most {max_removals} removals, "
                f"sensitivity.leave_one_sample_out.max_removals; chosen by their influence on the target's difference "
                f"between the groups, largest absolute share first; the smallest removed: {chosen[-1]} "
                f"{inf[chosen[-1]]:+.0%}): " + ", ".join(f"{s} {inf[s]:+.0%}" for s in left),
            )
        )
    return sensitivity.typed(pd.DataFrame(rows, columns=sensitivity.COLUMNS))


def _detail(sample: str, judged: Mapping, base: Mapping, share: float) -> str:
    """The row's conclusion first (``rests on`` / ``masks`` / ``critical`` / ``reverses`` / ``not
    critical``: :func:`resting` reads it), then the numbers."""
    fmt = sensitivity._fmt
    was, now = base["status"], judged["status"]
    carried = "" if pd.isna(share) else f"{share:.0%}"
    tail = f" (with it: {fmt(base)})"
    if was == "on_top" and now != "on_top":
        if not pd.isna(share) and share >= SHARE:
            return (
                f"rests on {sample}: without it the target is {fmt(judged)}; {sample} carries {carried} of the "
                f"target's difference between the groups" + tail
            )
        return (
            f"critical: without {sample} the target is {fmt(judged)}, as with a replicate fewer ({sample} carries "
            f"{carried or 'an unknown share'} of the target's difference between the groups)" + tail
        )
    if was != "on_top" and now == "on_top":
        if not pd.isna(share) and share <= -SHARE:
            return (
                f"masks: without {sample} the target is {fmt(judged)}; its removal makes the target's difference "
                f"between the groups {-share:.0%} larger" + tail
            )
        return f"reverses: without {sample} the target is {fmt(judged)}" + tail
    return f"not critical: without {sample} still {fmt(judged)}" + tail


# ----------------------------------------------------------------------------- reading the rows


def rows_of(table: pd.DataFrame | None, dataset: str | None = None) -> pd.DataFrame:
    """The leave-one-sample-out rows of a sensitivity table (of one dataset)."""
    if table is None or table.empty:
        return pd.DataFrame(columns=sensitivity.COLUMNS)
    t = table[table["variant"].astype(str).str.startswith(VARIANT)]
    return t if dataset is None else t[t["dataset"].astype(str) == str(dataset)]


def resting(table: pd.DataFrame, dataset: str, library: str, method: str) -> dict:
    """What leaving samples out says of one dataset x library x method: ``tested`` (removals
    analysed), ``critical`` (samples whose removal takes the target off the top), ``reversing``
    (whose removal puts it on top), and the samples the answer rests on: ``rests`` (critical, and
    carrying at least :data:`SHARE` of the target's difference between the groups) and ``masks``
    (reversing, and their removal makes that difference at least :data:`SHARE` larger)."""
    t = rows_of(table, dataset)
    t = t[(t["library"].astype(str) == str(library)) & (t["method"].astype(str) == str(method))]
    t = t[t["variant"].str.startswith(PREFIX) & (t["status"] != NOT_TESTED)]
    samples = [v[len(PREFIX) :] for v in t["variant"]]
    detail = t["detail"].astype(str).tolist()

    def having(*words):
        return [s for s, d in zip(samples, detail) if d.startswith(words)]

    return {
        "tested": samples,
        "critical": having("rests on", "critical"),
        "reversing": having("masks", "reverses"),
        "rests": having("rests on"),
        "masks": having("masks"),
    }


def _samples(names: list[str]) -> str:
    return f"sample{'s' if len(names) > 1 else ''} {', '.join(names)}"


def sentence(table: pd.DataFrame, dataset: str, library: str, method: str) -> str:
    """One clause for the verdict note and the terminal ('' when no removal changes the answer)."""
    r = resting(table, dataset, library, method)
    if r["rests"]:
        return f"on top by {method}, but not without {_samples(r['rests'])}"
    if r["masks"]:
        return f"not on top by {method}, but on top without {_samples(r['masks'])}"
    if r["critical"]:
        return (
            f"on top by {method}, but not without {_samples(r['critical'])} (as with a replicate fewer: "
            "no single sample carries the difference)"
        )
    if r["reversing"]:
        return (
            f"not on top by {method}, but on top without {_samples(r['reversing'])} (near the threshold: no "
            "single sample hides the difference)"
        )
    return ""
