#!/usr/bin/env python3
"""Compare ``pathverdict.de.run_deseq2`` with R DESeq2 on the shared real count sets.

Usage::

    python tools/fidelity_vs_r.py [--datasets NAME ...] [--shared DIR] [--out TSV] [--workdir DIR]
                                  [--prefilter MIN_COUNT] [--prefilter-cost [MIN_COUNT]]
                                  [--stress [VARIANT ...]] [--engine r_exact|pydeseq2]

R gets exactly the count matrix that the DE settings imply: by default (``de.prefilter.min_count``
0, the workflow's default) the raw matrix, as a user would give it to ``DESeqDataSetFromMatrix``;
with ``--prefilter N`` (the opt-in pre-filter, N reads in at least as many samples as the smaller
compared group) the matrix after that pre-filter, applied in Python with ``prefilter_mask``. It
is written to a tsv and given to ``tools/deseq2_reference.R``, which runs ``DESeq()`` and
``results(dds, contrast=..., alpha=0.05)`` on it with the same design. Our side runs
``run_deseq2`` on the raw matrix with the same settings (it applies the pre-filter itself).

``--engine`` picks the DE engine of our side (``de.engine``: ``r_exact``, the default, or ``pydeseq2``);
every row also gives the target pathway's rank and status by ORA of all DE genes (the workflow's
headline method and default settings, KEGG_2021_Human "Mineral absorption") from R's table and
from ours (:func:`target_verdict`). ``benchmarks/run.py --engines r_exact pydeseq2`` measures both
engines and R side by side, with time and memory.

``--prefilter-cost [N]`` (default N = 10) measures what opting in to the pre-filter costs: our
run *with* the pre-filter against R on the *raw* matrix (R's default analysis). Genes the
pre-filter removed count as "not significant" on our side.

Targets, per dataset:

* Pearson correlation of log2FoldChange over the genes both report: >= 0.999
* the call ``padj < 0.05`` (NA = not significant) agrees for >= 99% of the genes R tested
  (genes with a non-NA p-value in R).

Exit status: 0 all targets met, 1 some target missed, 2 Rscript or DESeq2 unavailable
(or the shared data is missing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without `pip install -e`
    sys.path.insert(0, str(REPO / "src"))

from pathverdict.de import DEParams, prefilter_mask, run_deseq2, smallest_group  # noqa: E402

R_SCRIPT = REPO / "tools" / "deseq2_reference.R"
ALPHA = 0.05
MIN_COUNT = DEParams.min_count  # the workflow's default: 0 = no pre-filter (R's default)
OPT_IN_MIN_COUNT = 10  # the usual opt-in pre-filter (DESeq2 vignette), for --prefilter-cost
LFC_PEARSON_TARGET = 0.999
CALL_AGREEMENT_TARGET = 99.0  # percent
TARGET = "Mineral absorption"  # the workflow's target pathway, judged on each results table (target_verdict)
TARGET_LIBRARY = "KEGG_2021_Human"
_CACHE: dict = {}  # annotation, library and R's results, read or computed once per process


@dataclass(frozen=True)
class Dataset:
    name: str
    design: str
    contrast: tuple[str, str, str]


DATASETS = {
    d.name: d
    for d in [
        Dataset("li2008_lncap", "~condition", ("condition", "Treated", "Control")),
        Dataset("sultan2008_hek293t", "~cell", ("cell", "HEK293T", "Ramos_B_cell")),
        Dataset("marioni2008_kidney_liver", "~run + Tissue", ("Tissue", "Liver", "Kidney")),
        Dataset("geuvadis_lcl_sex", "~sex", ("sex", "Male", "Female")),
    ]
}


class Unavailable(RuntimeError):
    """R/DESeq2 or the shared data is not there; exit status 2."""


def default_shared() -> Path:
    env = os.environ.get("PATHVERDICT_SHARED")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


def r_unavailable_reason(package: str = "DESeq2") -> str | None:
    """None when ``Rscript`` with the R package ``package`` can be run, else why not."""
    debian = f"r-bioc-{package.lower()}"
    rscript = shutil.which("Rscript")
    if rscript is None:
        return f"Rscript is not on PATH (install R, e.g. `apt-get install r-base-core {debian}`)"
    try:
        proc = subprocess.run(
            [rscript, "-e", f'cat(as.character(packageVersion("{package}")))'],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Rscript could not be run ({exc})"
    if proc.returncode != 0:
        return f"the R package {package} is not installed (Debian: `apt-get install {debian}`)"
    return None


def load_dataset(shared: Path, ds: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = shared / "counts" / ds.name
    counts_path, samples_path = folder / "counts.tsv.gz", folder / "samples.tsv"
    for p in (counts_path, samples_path):
        if not p.is_file():
            raise Unavailable(
                f"{p} not found: is the shared data directory right? (--shared or PATHVERDICT_SHARED; "
                f"default ../shared/data next to the repository)"
            )
    from pathverdict.util import read_tsv  # gene IDs and sample names stay text (a gene called NA)

    counts = read_tsv(counts_path, index_col=0)
    samples = read_tsv(samples_path, dtype=str).set_index("sample")
    counts = counts[list(samples.index)].astype(np.int64)
    return counts, samples


def run_reference(
    counts: pd.DataFrame, samples: pd.DataFrame, ds: Dataset, workdir: Path
) -> tuple[pd.DataFrame, dict, float]:
    """Run tools/deseq2_reference.R on ``counts`` (exactly the matrix R is to see); returns results,
    metadata, wall s."""
    workdir.mkdir(parents=True, exist_ok=True)
    counts_file = workdir / f"{ds.name}.R_counts.tsv"
    samples_file = workdir / f"{ds.name}.samples.tsv"
    out_file = workdir / f"{ds.name}.R_results.tsv"
    counts.rename_axis("gene_id").to_csv(counts_file, sep="\t")
    samples.rename_axis("sample").to_csv(samples_file, sep="\t")
    var, tested, reference = ds.contrast
    cmd = [
        "Rscript",
        str(R_SCRIPT),
        str(counts_file),
        str(samples_file),
        ds.design,
        var,
        tested,
        reference,
        str(out_file),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode == 2:
        raise Unavailable(proc.stderr.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr}")
    res = pd.read_csv(out_file, sep="\t", index_col=0, na_values=["NA"], keep_default_na=False)
    meta = pd.read_csv(str(out_file) + ".meta.tsv", sep="\t", dtype=str, keep_default_na=False)
    return res, dict(zip(meta["key"], meta["value"])), wall


def run_ours(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    ds: Dataset,
    min_count: int = MIN_COUNT,
    min_samples: int | None = None,
    engine: str = "r_exact",
):
    import formulaic_contrasts  # noqa: F401  (import time is not part of the timing)

    if engine == "pydeseq2":
        import pydeseq2.dds  # noqa: F401  (nor is pydeseq2's)
    params = DEParams(
        design=ds.design,
        contrast=list(ds.contrast),
        alpha=ALPHA,
        min_count=min_count,
        min_samples=min_samples,
        engine=engine,
    )
    t0 = time.perf_counter()
    result = run_deseq2(counts, samples, params)
    return result, time.perf_counter() - t0


def target_verdict(results: pd.DataFrame, shared: Path | None = None) -> dict:
    """The target pathway's rank, FDR and status by ORA of all DE genes -- the workflow's headline
    method with its default settings (padj < 0.05, pathways of 10-500 genes, top 1, FDR 0.05, >= 5
    DE genes, >= 3 of the target's) -- from a results table indexed by Ensembl gene ID (ours or R's),
    the IDs mapped to symbols with the shared annotation as the prepare step maps them."""
    from pathverdict import enrichment, genesets
    from pathverdict.judgement import verdict
    from pathverdict.sources import annotation
    from pathverdict.util import quiet_logging

    shared = Path(shared) if shared else default_shared()
    if "annotation" not in _CACHE:
        _CACHE["annotation"] = annotation.load_annotation(shared / "annotation" / "human_gene_info.tsv.gz")
        _CACHE["library"] = genesets.read_library(shared / "genesets" / f"{TARGET_LIBRARY}.txt", TARGET_LIBRARY)
    lib = _CACHE["library"]
    with quiet_logging():
        mapping = annotation.map_ids([str(g) for g in results.index], _CACHE["annotation"])
    symbols = mapping.table.set_index("gene_id")["symbol"]
    de = results[["baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]].copy()
    de.insert(0, "symbol", symbols.reindex([str(g) for g in results.index]).to_numpy())
    genes = enrichment.collapse_to_symbols(de.rename_axis("gene_id").reset_index())
    lists, background = enrichment.de_gene_lists(genes, ALPHA, 0.0)
    with quiet_logging():
        table = enrichment.ora(lists["all"], background, lib.sets, TARGET_LIBRARY, lib.ids, 10, 500)
    j = verdict.judge_method(table, "ora_all", lib.find(TARGET), verdict.VerdictSettings(), len(lists["all"]))
    return {"rank": j["rank"], "n_terms": j["n_terms"], "fdr": j["fdr"], "status": j["status"]}


def format_target(t: dict) -> str:
    """ "1/151 on_top" (rank / pathways ranked, status), "not ranked, not_on_top" when not ranked."""
    rank = "not ranked," if pd.isna(t["rank"]) else f"{int(t['rank'])}/{int(t['n_terms'])}"
    return f"{rank} {t['status']}"


def compare_results(ours: pd.DataFrame, ref: pd.DataFrame, alpha: float = ALPHA) -> dict:
    """Agreement figures between our results and R's (both indexed by gene)."""
    if set(ours.index) != set(ref.index):
        raise RuntimeError(
            f"gene sets differ: {len(set(ours.index) - set(ref.index))} only ours, "
            f"{len(set(ref.index) - set(ours.index))} only R"
        )
    ours = ours.loc[ref.index]
    lfc_ok = ours["log2FoldChange"].notna() & ref["log2FoldChange"].notna()
    lfc_r = float(np.corrcoef(ours.loc[lfc_ok, "log2FoldChange"], ref.loc[lfc_ok, "log2FoldChange"])[0, 1])
    dlfc = (ours.loc[lfc_ok, "log2FoldChange"] - ref.loc[lfc_ok, "log2FoldChange"]).abs()
    r_tested = ref["pvalue"].notna()
    sig_r = ref["padj"].lt(alpha)  # NaN < alpha is False: NA counts as not significant
    sig_ours = ours["padj"].lt(alpha)
    agree = (sig_r == sig_ours)[r_tested]
    return {
        "genes_tested": int(len(ref)),
        "r_tested": int(r_tested.sum()),
        "ours_tested": int(ours["pvalue"].notna().sum()),
        "lfc_pearson": lfc_r,
        "max_abs_lfc_diff": float(dlfc.max()) if len(dlfc) else float("nan"),
        "call_agreement_pct": 100.0 * float(agree.mean()),
        "call_disagreements": int((~agree).sum()),
        "sig_r": int(sig_r.sum()),
        "sig_ours": int(sig_ours.sum()),
        "pvalue_na_mismatch": int((ours["pvalue"].isna() != ref["pvalue"].isna()).sum()),
    }


def _compare(
    name: str,
    ds: Dataset,
    r_input: pd.DataFrame,
    our_input: pd.DataFrame,
    samples: pd.DataFrame,
    min_count: int,
    min_samples: int | None,
    workdir: Path | None,
    engine: str = "r_exact",
    shared: Path | None = None,
) -> dict:
    key = ("R", name, min_count, min_samples)
    if key not in _CACHE:  # R once per dataset and settings, however many engines are compared with it
        with tempfile.TemporaryDirectory(prefix="fidelity_") as tmp:
            _CACHE[key] = run_reference(r_input, samples, ds, Path(workdir) if workdir else Path(tmp))
    ref, meta, r_wall = _CACHE[key]
    result, ours_s = run_ours(our_input, samples, ds, min_count, min_samples, engine)
    row = {"dataset": name, "engine": engine}
    row.update(compare_results(result.results, ref))
    if name in DATASETS:  # the real sets (Ensembl IDs): the target's verdict from both tables
        row["target_r"] = format_target(target_verdict(ref, shared))
        row["target_ours"] = format_target(target_verdict(result.results, shared))
    row.update(
        {
            "seconds_ours": ours_s,
            "seconds_r": float(meta.get("seconds", "nan")),  # DESeq() + results() inside R
            "seconds_r_wall": r_wall,  # including R start-up and loading DESeq2
            "deseq2_version": meta.get("deseq2_version", ""),
            "r_fit_type": meta.get("fitType", ""),
            "r_disp_prior_var": float(meta.get("dispPriorVar", "nan")),
        }
    )
    row["pass"] = bool(row["lfc_pearson"] >= LFC_PEARSON_TARGET and row["call_agreement_pct"] >= CALL_AGREEMENT_TARGET)
    if workdir:
        result.results.to_csv(Path(workdir) / f"{ds.name}.{engine}_results.tsv", sep="\t")
    return row


def r_input(
    counts: pd.DataFrame, samples: pd.DataFrame, contrast, min_count: int = MIN_COUNT, min_samples: int | None = None
) -> pd.DataFrame:
    """The matrix R gets for these DE settings: the raw one without pre-filter (min_count 0), else
    the rows our pre-filter keeps (min_samples None = size of the smaller compared group)."""
    if min_count <= 0:
        return counts
    n = min_samples or smallest_group(samples, list(contrast))
    return counts.loc[prefilter_mask(counts, min_count, n)]


def compare_dataset(
    name: str,
    shared: Path | None = None,
    workdir: Path | None = None,
    min_count: int = MIN_COUNT,
    engine: str = "r_exact",
) -> dict:
    """Run ours and R on one dataset and return the figures (see ``compare_results``) plus timings.

    R gets the matrix the settings imply (``r_input``: raw by default); ours gets the raw one
    and applies the same settings. Raises ``Unavailable`` when R/DESeq2 or the data is missing.
    """
    ds = DATASETS[name]
    shared = Path(shared) if shared else default_shared()
    counts, samples = load_dataset(shared, ds)
    row = _compare(
        name,
        ds,
        r_input(counts, samples, ds.contrast, min_count),
        counts,
        samples,
        min_count,
        None,
        workdir,
        engine,
        shared,
    )
    row["prefilter_min_count"] = min_count
    return row


def compare_prefilter_cost(
    name: str, shared: Path | None = None, workdir: Path | None = None, min_count: int = OPT_IN_MIN_COUNT
) -> dict:
    """What the opt-in pre-filter costs: ours *with* the pre-filter (>= min_count reads in >= the
    smaller group) against R's default analysis of the *raw* matrix.

    Over the genes R tested (non-NA p-value), a gene our pre-filter removed counts as not
    significant on our side. Returns the agreement figures and the gene counts.
    """
    ds = DATASETS[name]
    shared = Path(shared) if shared else default_shared()
    counts, samples = load_dataset(shared, ds)
    with tempfile.TemporaryDirectory(prefix="fidelity_") as tmp:
        ref, _meta, _wall = run_reference(counts, samples, ds, Path(workdir) if workdir else Path(tmp))
    result, _secs = run_ours(counts, samples, ds, min_count, None)
    ours = result.results.reindex(ref.index)
    r_tested = ref["pvalue"].notna()
    sig_r = ref["padj"].lt(ALPHA)
    sig_ours = ours["padj"].lt(ALPHA)
    agree = (sig_r == sig_ours)[r_tested]
    both = ours["log2FoldChange"].notna() & ref["log2FoldChange"].notna()
    lost = r_tested & ours["pvalue"].isna()
    return {
        "dataset": name,
        "prefilter_min_count": min_count,
        "genes_in": int(len(counts)),
        "r_tested": int(r_tested.sum()),
        "ours_tested": int(ours["pvalue"].notna().sum()),
        "r_tested_removed_by_prefilter": int(lost.sum()),
        "lfc_pearson": float(np.corrcoef(ours.loc[both, "log2FoldChange"], ref.loc[both, "log2FoldChange"])[0, 1]),
        "call_agreement_pct": 100.0 * float(agree.mean()),
        "call_disagreements": int((~agree).sum()),
        "only_r": int((sig_r & ~sig_ours)[r_tested].sum()),
        "only_ours": int((~sig_r & sig_ours)[r_tested].sum()),
        "sig_r": int(sig_r.sum()),
        "sig_ours": int(sig_ours.sum()),
    }


def format_cost_table(rows: list[dict]) -> str:
    head = [
        "dataset",
        "pre-filter",
        "R-tested (raw)",
        "tested ours",
        "padj-call agree %",
        "differ",
        "sig only R",
        "sig only ours",
        "#sig R",
        "#sig ours",
    ]
    body = [
        [
            r["dataset"],
            f">= {r['prefilter_min_count']} reads",
            str(r["r_tested"]),
            str(r["ours_tested"]),
            f"{r['call_agreement_pct']:.2f}",
            str(r["call_disagreements"]),
            str(r["only_r"]),
            str(r["only_ours"]),
            str(r["sig_r"]),
            str(r["sig_ours"]),
        ]
        for r in rows
    ]
    return markdown_table(head, body)


# Harder variants of the shared data sets (``--stress``): raw matrices with added genes that have no
# reads at all or a single read (R's allZero rows; independent filtering with many low-count genes),
# planted outlier counts (Cook's filtering, outlier replacement with non-replaceable cells, the local
# dispersion trend), a 3-level factor compared between two non-reference levels and small designs
# with <= 3 residual degrees of freedom (R's histogram-matching prior variance).
# Outliers: count * 20 + 50 in random (gene, sample) cells, numpy default_rng(seed). Each variant is
# (source dataset, samples or None for all, design, contrast, pre-filter (min_count, min_samples; 0 = none),
#  planted outliers, seed, sample sheet edits). Both sides get the same matrix.
STRESS = {
    "li2008_zero_rows": ("li2008_lncap", None, "~condition", ("condition", "Treated", "Control"), (0, 1), 0, 5, None),
    "sultan2008_zero_rows": (
        "sultan2008_hek293t",
        None,
        "~cell",
        ("cell", "HEK293T", "Ramos_B_cell"),
        (0, 1),
        0,
        6,
        None,
    ),
    "li2008_outliers": ("li2008_lncap", None, "~condition", ("condition", "Treated", "Control"), (10, 3), 200, 1, None),
    "marioni2008_outliers": (
        "marioni2008_kidney_liver",
        None,
        "~run + Tissue",
        ("Tissue", "Liver", "Kidney"),
        (10, 3),
        150,
        3,
        None,
    ),
    "geuvadis_10v4_outliers": (
        "geuvadis_lcl_sex",
        ("Female", 10, "Male", 4),
        "~sex",
        ("sex", "Male", "Female"),
        (10, 4),
        300,
        1,
        None,
    ),
    "geuvadis_outliers": ("geuvadis_lcl_sex", None, "~sex", ("sex", "Male", "Female"), (10, 41), 300, 1, None),
    "li2008_3level": (
        "li2008_lncap",
        None,
        "~condition",
        ("condition", "Treated", "Mid"),
        (5, 2),
        0,
        0,
        {"lane3": "Mid", "lane4": "Mid"},
    ),
    "li2008_2v2": (
        "li2008_lncap",
        ["lane1", "lane2", "lane5", "lane6"],
        "~condition",
        ("condition", "Treated", "Control"),
        (10, 2),
        0,
        0,
        None,
    ),
    "li2008_3v2": (
        "li2008_lncap",
        ["lane1", "lane2", "lane3", "lane5", "lane6"],
        "~condition",
        ("condition", "Treated", "Control"),
        (10, 2),
        0,
        0,
        None,
    ),
    "marioni2008_2v2": (
        "marioni2008_kidney_liver",
        ["R1L1Kidney", "R1L3Kidney", "R1L2Liver", "R1L4Liver"],
        "~Tissue",
        ("Tissue", "Liver", "Kidney"),
        (10, 2),
        0,
        0,
        None,
    ),
    "geuvadis_2v2": (
        "geuvadis_lcl_sex",
        ("Female", 2, "Male", 2),
        "~sex",
        ("sex", "Male", "Female"),
        (10, 2),
        0,
        0,
        None,
    ),
    "geuvadis_3v2": (
        "geuvadis_lcl_sex",
        ("Female", 3, "Male", 2),
        "~sex",
        ("sex", "Male", "Female"),
        (10, 2),
        0,
        0,
        None,
    ),
}


# Genes added by the *_zero_rows variants: (all-zero genes, genes with a single read in one sample).
ADDED_ROWS = {"li2008_zero_rows": (2000, 500), "sultan2008_zero_rows": (1000, 300)}


def compare_stress(name: str, shared: Path | None = None, workdir: Path | None = None, engine: str = "r_exact") -> dict:
    """One ``--stress`` variant: both sides get exactly the same (modified, pre-filtered) matrix."""
    ds, counts, samples = stress_input(name, shared)
    return _compare(name, ds, counts, counts, samples, 0, 1, workdir, engine, shared)


def stress_input(name: str, shared: Path | None = None) -> tuple[Dataset, pd.DataFrame, pd.DataFrame]:
    """The ``--stress`` variant ``name``: (dataset spec, the modified and pre-filtered counts, the
    samples), exactly the matrix both sides get (ours without a further pre-filter)."""
    source, subset, design, contrast, (min_count, min_samples), n_out, seed, edits = STRESS[name]
    shared = Path(shared) if shared else default_shared()
    counts, samples = load_dataset(shared, DATASETS[source])
    var = contrast[0]
    if isinstance(subset, tuple):  # (level, n, level, n): the first n samples of each level
        keep = []
        for level, n in zip(subset[::2], subset[1::2]):
            keep += list(samples.index[samples[var] == level][:n])
        subset = keep
    if subset is not None:
        samples, counts = samples.loc[subset], counts[subset]
    if edits:
        samples = samples.copy()
        for sample, level in edits.items():
            samples.loc[sample, var] = level
    if min_count > 0:
        counts = counts.loc[prefilter_mask(counts, min_count, min_samples)]
    if name in ADDED_ROWS:
        n_zero, n_single = ADDED_ROWS[name]
        rng = np.random.default_rng(seed)
        single = np.zeros((n_single, counts.shape[1]), dtype=np.int64)
        single[np.arange(n_single), rng.integers(0, counts.shape[1], n_single)] = 1
        extra = pd.DataFrame(
            np.vstack([np.zeros((n_zero, counts.shape[1]), dtype=np.int64), single]),
            index=[f"ZERO{i:05d}" for i in range(n_zero)] + [f"ONE{i:05d}" for i in range(n_single)],
            columns=counts.columns,
        )
        order = rng.permutation(len(counts) + len(extra))  # spread them over the matrix
        counts = pd.concat([counts, extra]).iloc[order]
    if n_out:
        rng = np.random.default_rng(seed)
        rows = rng.choice(len(counts), n_out, replace=False)
        cols = rng.integers(0, counts.shape[1], n_out)
        values = counts.to_numpy().copy()
        values[rows, cols] = values[rows, cols] * 20 + 50
        counts = pd.DataFrame(values, index=counts.index, columns=counts.columns)
    return Dataset(name, design, contrast), counts, samples


def format_table(rows: list[dict]) -> str:
    engines = {r.get("engine", "r_exact") for r in rows}
    targets = any("target_r" in r for r in rows)
    head = [
        "dataset",
        *(["engine"] if engines != {"r_exact"} else []),
        "genes tested",
        "R-tested",
        "LFC Pearson",
        "padj-call agree %",
        "#sig R",
        "#sig ours",
        "time ours (s)",
        "time R (s)",
        *(["target R", "target ours"] if targets else []),
        "result",
    ]
    lines = [head]
    for r in rows:
        lines.append(
            [
                r["dataset"],
                *([r.get("engine", "r_exact")] if engines != {"r_exact"} else []),
                str(r["genes_tested"]),
                str(r["r_tested"]),
                f"{r['lfc_pearson']:.9f}",
                f"{r['call_agreement_pct']:.2f}",
                str(r["sig_r"]),
                str(r["sig_ours"]),
                f"{r['seconds_ours']:.1f}",
                f"{r['seconds_r']:.1f}",
                *([r.get("target_r", "-"), r.get("target_ours", "-")] if targets else []),
                "PASS" if r["pass"] else ("FAIL" if r.get("engine", "r_exact") == "r_exact" else "below the target"),
            ]
        )
    return markdown_table(head, lines[1:])


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    """A padded Markdown table (also used by benchmarks/run.py)."""
    lines = [head] + rows
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for k, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")
        if k == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--datasets",
        nargs="+",
        choices=sorted(DATASETS),
        default=list(DATASETS),
        help="datasets to compare (default: all four)",
    )
    ap.add_argument(
        "--shared",
        type=Path,
        default=None,
        help="shared data directory (default: $PATHVERDICT_SHARED or ../shared/data)",
    )
    ap.add_argument("--out", type=Path, default=None, help="also write the figures to this tsv")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep the filtered matrices and both result tables here (default: a temp dir)",
    )
    ap.add_argument(
        "--prefilter",
        type=int,
        default=MIN_COUNT,
        metavar="MIN_COUNT",
        help="compare with the opt-in pre-filter on (R then gets the pre-filtered matrix); "
        f"default {MIN_COUNT} = none, R gets the raw matrix",
    )
    ap.add_argument(
        "--prefilter-cost",
        type=int,
        nargs="?",
        const=OPT_IN_MIN_COUNT,
        default=None,
        metavar="MIN_COUNT",
        help="also measure ours with the pre-filter (default >= %(const)s reads) against R on the raw "
        "matrix: what opting in costs (reported, not a target)",
    )
    ap.add_argument(
        "--stress",
        nargs="*",
        choices=sorted(STRESS),
        default=None,
        metavar="VARIANT",
        help="also run harder variants of the data sets (all of them when given without names): " + ", ".join(STRESS),
    )
    ap.add_argument(
        "--engine",
        choices=["r_exact", "pydeseq2"],
        default="r_exact",
        help="our DE engine (de.engine; default r_exact). pydeseq2 takes minutes per data set and is not held "
        "to the targets: its rows say how far it is from R (exit status 0 unless r_exact misses a target)",
    )
    args = ap.parse_args(argv)

    reason = r_unavailable_reason()
    if reason:
        print(f"fidelity_vs_r: cannot compare with R DESeq2: {reason}", file=sys.stderr)
        return 2
    jobs = [(name, lambda n, sh, wd: compare_dataset(n, sh, wd, args.prefilter, args.engine)) for name in args.datasets]
    if args.stress is not None:
        jobs += [
            (name, lambda n, sh, wd: compare_stress(n, sh, wd, args.engine)) for name in (args.stress or list(STRESS))
        ]
    rows = []
    for name, compare in jobs:
        print(f"[fidelity] {name} ...", file=sys.stderr, flush=True)
        try:
            rows.append(compare(name, args.shared, args.workdir))
        except Unavailable as exc:
            print(f"fidelity_vs_r: {exc}", file=sys.stderr)
            return 2
    print(format_table(rows))
    if args.out:
        pd.DataFrame(rows).to_csv(args.out, sep="\t", index=False, float_format="%.6g")
    if args.prefilter_cost is not None:
        cost = []
        for name in args.datasets:
            print(
                f"[fidelity] {name}: pre-filter >= {args.prefilter_cost} reads vs R on the raw matrix ...",
                file=sys.stderr,
                flush=True,
            )
            try:
                cost.append(compare_prefilter_cost(name, args.shared, args.workdir, args.prefilter_cost))
            except Unavailable as exc:
                print(f"fidelity_vs_r: {exc}", file=sys.stderr)
                return 2
        print()
        print(format_cost_table(cost))
    failed = [r["dataset"] for r in rows if not r["pass"] and r.get("engine", "r_exact") == "r_exact"]
    if failed:
        print(
            f"targets (LFC Pearson >= {LFC_PEARSON_TARGET}, padj-call agreement >= {CALL_AGREEMENT_TARGET}%) "
            f"missed for: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
