#!/usr/bin/env python3
"""Compare ``pathverdict.enrichment.camera`` with R ``limma::camera`` on the shared real count sets.

Usage::

    python tools/camera_vs_r.py [--datasets NAME ...] [--shared DIR] [--library GMT] [--out TSV]
                                [--workdir DIR]

Per dataset the workflow's own input is built: DE as the workflow runs it
(``pathverdict.de.run_deseq2``, default settings), the VST (``vst(blind = FALSE)``) of the genes GSEA
ranks, one row per symbol (``camera.expression_by_symbol``), the design matrix and contrast vector
of the DE step (``camera.design_and_contrast``), and the KEGG_2021_Human sets reduced to those
genes with GSEA's size limits (15..500). Exactly these (matrix, design, contrast, sets) are
written to tsv files and given to ``tools/camera_reference.R`` (``limma::camera``), with
``inter.gene.cor = 0.01`` (limma's default) and ``inter.gene.cor = NA`` (estimated per set,
the workflow's default); our side runs ``camera.camera`` with the same settings.

Targets, per dataset and setting:

* Pearson correlation of log10 p over all sets >= 0.999,
* the direction (Up/Down) identical for every set,
* the target pathway's rank (by p, ties share the best rank) within 3 positions of R's.

Also reported: the largest |log10 p| difference, the largest difference of the estimated
correlations and of the FDR, and the target's p and rank on both sides.

Exit status: 0 all targets met, 1 some target missed, 2 Rscript or limma unavailable (or the
shared data is missing).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
for p in (REPO / "src", REPO / "tools"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from fidelity_vs_r import DATASETS, Unavailable, default_shared, load_dataset  # noqa: E402
from fidelity_vs_r import r_unavailable_reason as fid_r_unavailable_reason  # noqa: E402

from pathverdict.enrichment import camera  # noqa: E402
from pathverdict import enrichment, genesets  # noqa: E402
from pathverdict.de import DEParams, run_deseq2  # noqa: E402

R_SCRIPT = REPO / "tools" / "camera_reference.R"
TARGET = "Mineral absorption"
LIBRARY = "KEGG_2021_Human"
MIN_SIZE, MAX_SIZE = 15, 500  # the workflow's gsea_min_size / gsea_max_size defaults
LOG10P_PEARSON_TARGET = 0.999
RANK_TOLERANCE = 3
SETTINGS = {"fixed": 0.01, "estimated": None}  # limma's inter.gene.cor = 0.01 and = NA


def r_unavailable_reason() -> str | None:
    """None when ``Rscript`` with limma can be run, else why not."""
    return fid_r_unavailable_reason("limma")


def library_path(shared: Path) -> Path:
    path = shared / "genesets" / f"{LIBRARY}.txt"
    if not path.is_file():
        raise Unavailable(f"{path} not found: is the shared data directory right? (--shared or PATHVERDICT_SHARED)")
    return path


def workflow_input(
    name: str, shared: Path, scale: str = "vst"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """The VST by symbol, design, contrast vector and design column names the workflow gives camera
    (``scale="log2norm"``: log2(normalised count + 1) of the same genes instead of the VST)."""
    from pathverdict.sources import annotation

    ds = DATASETS[name]
    counts, samples = load_dataset(shared, ds)
    result = run_deseq2(counts, samples, DEParams(design=ds.design, contrast=list(ds.contrast)))
    ann = annotation.load_annotation(str(shared / "annotation" / "human_gene_info.tsv.gz"))
    mapping = annotation.map_ids(list(counts.index), ann, "auto")
    symbols = pd.Series(mapping.table["symbol"].to_numpy(), index=mapping.table["gene_id"].astype(str))
    de = result.results.copy()
    de.insert(0, "symbol", symbols.reindex(de.index).to_numpy())
    de = de.reset_index()
    expr = result.vst if scale == "vst" else np.log2(result.normalized + 1)
    y = camera.expression_by_symbol(de, expr)
    design, contrast, columns = camera.design_and_contrast(
        samples.loc[list(result.vst.columns)], ds.design, list(ds.contrast)
    )
    return y, design, contrast, columns


def run_reference(
    name: str,
    y: pd.DataFrame,
    design: np.ndarray,
    contrast: np.ndarray,
    columns: list[str],
    sets: dict[str, list[str]],
    workdir: Path,
) -> tuple[dict[str, pd.DataFrame], dict]:
    workdir.mkdir(parents=True, exist_ok=True)
    f_expr, f_design = workdir / f"{name}.expr.tsv", workdir / f"{name}.design.tsv"
    f_contrast, f_sets = workdir / f"{name}.contrast.tsv", workdir / f"{name}.sets.tsv"
    prefix = workdir / f"{name}.R_camera"
    y.rename_axis("gene").to_csv(f_expr, sep="\t", float_format="%.17g")
    pd.DataFrame(design, index=pd.Index(y.columns, name="sample"), columns=columns).to_csv(f_design, sep="\t")
    pd.DataFrame({"contrast": contrast}).to_csv(f_contrast, sep="\t", index=False, float_format="%.17g")
    pd.DataFrame([(t, g) for t in sorted(sets) for g in sets[t]], columns=["term", "gene"]).to_csv(
        f_sets, sep="\t", index=False
    )
    cmd = ["Rscript", str(R_SCRIPT), str(f_expr), str(f_design), str(f_contrast), str(f_sets), str(prefix)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == 2:
        raise Unavailable(proc.stderr.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr}")
    out = {}
    for setting in SETTINGS:
        t = pd.read_csv(
            f"{prefix}.{setting}.tsv",
            sep="\t",
            dtype={"term": str},
            keep_default_na=False,
            na_values={"Correlation": ["NA"]},
        )
        out[setting] = t.set_index("term")
    meta = pd.read_csv(f"{prefix}.meta.tsv", sep="\t", dtype=str, keep_default_na=False)
    return out, dict(zip(meta["key"], meta["value"]))


def _rank(p: pd.Series, term: str) -> float:
    """Competition rank by p-value (ties share the best rank) of ``term``."""
    if term not in p.index:
        return float("nan")
    return float((p < p[term]).sum() + 1)


def compare(ours: pd.DataFrame, ref: pd.DataFrame, target: str) -> dict:
    """Agreement figures between our camera table and R's (R indexed by term)."""
    o = ours.set_index("term")
    if set(o.index) != set(ref.index):
        raise RuntimeError(f"set lists differ: {sorted(set(o.index) ^ set(ref.index))[:5]}")
    ref = ref.loc[o.index]
    lo, lr = np.log10(o["pvalue"].astype(float)), np.log10(ref["PValue"].astype(float))
    row = {
        "sets": int(len(o)),
        "log10p_pearson": float(np.corrcoef(lo, lr)[0, 1]),
        "max_abs_log10p_diff": float((lo - lr).abs().max()),
        "max_abs_fdr_diff": float((o["fdr"] - ref["FDR"]).abs().max()),
        "direction_mismatches": int((o["direction"] != ref["Direction"]).sum()),
        "ngenes_mismatches": int((o["n_genes"] != ref["NGenes"]).sum()),
        "max_abs_correlation_diff": (
            float((o["correlation"] - ref["Correlation"]).abs().max()) if "Correlation" in ref.columns else float("nan")
        ),
        "target_rank_ours": _rank(o["pvalue"], target),
        "target_rank_r": _rank(ref["PValue"], target),
        "target_p_ours": float(o["pvalue"].get(target, np.nan)),
        "target_p_r": float(ref["PValue"].get(target, np.nan)),
        "target_direction": f"{o['direction'].get(target, '')}/{ref['Direction'].get(target, '')}",
        "target_correlation": float(o["correlation"].get(target, np.nan)),
    }
    row["pass"] = bool(
        row["log10p_pearson"] > LOG10P_PEARSON_TARGET
        and row["direction_mismatches"] == 0
        and row["ngenes_mismatches"] == 0
        and abs(row["target_rank_ours"] - row["target_rank_r"]) <= RANK_TOLERANCE
    )
    return row


def compare_dataset(
    name: str, shared: Path, workdir: Path | None = None, reference: tuple[dict[str, pd.DataFrame], dict] | None = None
) -> list[dict]:
    """Ours vs R per setting. ``reference``: R's tables per setting and meta computed before (the stored
    ones of tests/data/r_expected/) instead of running R now."""
    lib = genesets.read_library(str(library_path(shared)), LIBRARY)
    t0 = time.perf_counter()
    y, design, contrast, columns = workflow_input(name, shared)
    t_de = time.perf_counter() - t0
    sets = enrichment.restrict_sets(lib.sets, set(y.index), MIN_SIZE, MAX_SIZE)
    if reference is not None:
        ref, meta = reference
    else:
        with tempfile.TemporaryDirectory(prefix="camera_") as tmp:
            ref, meta = run_reference(name, y, design, contrast, columns, sets, Path(workdir) if workdir else Path(tmp))
    rows = []
    for setting, cor in SETTINGS.items():
        t1 = time.perf_counter()
        ours = camera.camera(y, design, contrast, lib.sets, LIBRARY, lib.ids, MIN_SIZE, MAX_SIZE, inter_gene_cor=cor)
        secs = time.perf_counter() - t1
        row = {
            "dataset": name,
            "inter_gene_cor": "0.01" if cor is not None else "estimated (NA)",
            "genes": int(len(y)),
            "samples": int(y.shape[1]),
        }
        row.update(compare(ours, ref[setting], TARGET))
        row.update(
            seconds_ours=secs,
            seconds_de=t_de,
            seconds_r=float(meta.get("seconds", "nan")),
            limma_version=meta.get("limma_version", ""),
        )
        if workdir:
            ours.to_csv(Path(workdir) / f"{name}.ours_camera.{setting}.tsv", sep="\t", index=False)
        rows.append(row)
    return rows


def scale_rows(name: str, shared: Path) -> list[dict]:
    """What the expression scale changes: the mean-variance trend left in the residual variances
    (Spearman correlation of each gene's mean with its residual variance; camera's moderation
    without weights assumes none) and the target's camera result (estimated correlation)."""
    from scipy import stats

    lib = genesets.read_library(str(library_path(shared)), LIBRARY)
    rows = []
    for scale in ("vst", "log2norm"):
        y, design, contrast, _ = workflow_input(name, shared, scale)
        gs = camera.gene_statistics(y.to_numpy(dtype=float), design, contrast)
        res = camera.camera(y, design, contrast, lib.sets, LIBRARY, lib.ids, MIN_SIZE, MAX_SIZE).set_index("term")
        low = y.mean(axis=1).to_numpy() < np.quantile(y.mean(axis=1), 0.25)
        rows.append(
            {
                "dataset": name,
                "scale": scale,
                "spearman_mean_vs_variance": float(stats.spearmanr(y.mean(axis=1), gs.sigma2)[0]),
                "variance_ratio_lowest_quarter": float(np.median(gs.sigma2[low]) / np.median(gs.sigma2[~low])),
                "df_prior": gs.df_prior,
                "target_rank": _rank(res["pvalue"], TARGET),
                "target_p": float(res.loc[TARGET, "pvalue"]),
                "target_fdr": float(res.loc[TARGET, "fdr"]),
                "target_correlation": float(res.loc[TARGET, "correlation"]),
                "target_direction": res.loc[TARGET, "direction"],
                "sets": int(len(res)),
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    cols = [
        ("dataset", "{}"),
        ("inter_gene_cor", "{}"),
        ("genes", "{}"),
        ("sets", "{}"),
        ("log10p_pearson", "{:.10f}"),
        ("max_abs_log10p_diff", "{:.2e}"),
        ("max_abs_fdr_diff", "{:.2e}"),
        ("max_abs_correlation_diff", "{:.2e}"),
        ("direction_mismatches", "{}"),
        ("target_rank_ours", "{:.0f}"),
        ("target_rank_r", "{:.0f}"),
        ("target_p_ours", "{:.4g}"),
        ("target_p_r", "{:.4g}"),
        ("target_direction", "{}"),
        ("target_correlation", "{:.3f}"),
        ("pass", "{}"),
    ]
    lines = ["\t".join(c for c, _ in cols)]
    for r in rows:
        lines.append(
            "\t".join(f.format(r[c]) if not (isinstance(r[c], float) and np.isnan(r[c])) else "NA" for c, f in cols)
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--shared", type=Path, default=None, help="shared data directory (default ../shared/data)")
    ap.add_argument("--out", type=Path, default=None, help="write the agreement table here (tsv)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the inputs and both sides' tables here")
    ap.add_argument(
        "--scales",
        action="store_true",
        help="instead of comparing with R: VST vs log2(normalised + 1), mean-variance trend and target",
    )
    args = ap.parse_args(argv)
    if args.scales:
        shared = args.shared or default_shared()
        rows = [r for name in args.datasets for r in scale_rows(name, shared)]
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return 0
    reason = r_unavailable_reason()
    if reason:
        print(f"cannot compare with R limma: {reason}", file=sys.stderr)
        return 2
    shared = args.shared or default_shared()
    rows = []
    try:
        for name in args.datasets:
            rows.extend(compare_dataset(name, shared, args.workdir))
    except Unavailable as exc:
        print(str(exc), file=sys.stderr)
        return 2
    table = format_table(rows)
    print(table)
    if args.out:
        pd.DataFrame(rows).to_csv(args.out, sep="\t", index=False)
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
