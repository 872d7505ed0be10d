"""What the per-dataset calibration costs: CPU seconds of `calibrate_dataset` on a 20,000-gene 3 vs 3
dataset at the config's default size (target: <= 2 CPU-minutes), and where they go.

    python benchmarks/calibration_cost.py                 # default size (calibration section of the schema)
    python benchmarks/calibration_cost.py --null 10 --planted 10 --effects 1   # the demo's size
    python benchmarks/calibration_cost.py --quick         # 2 + 2 studies (tests/test_benchmarks.py)

The dataset: li2008_lncap (LNCaP, lanes of one culture), lanes 1-3 vs 5, 6, 8, 20,000 of its 22,743 genes
(seeded choice; Mineral absorption's genes kept). One process, one thread (OMP/OpenBLAS 1), the workflow's
defaults from the config schema (GSEA 1,000 permutations, KEGG_2021_Human). Prints the CPU seconds of the
fit, of the whole calibration and per simulated study, and the split of one study's verdict into DE, ORA,
GSEA and CAMERA (mean over --profile studies).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pathverdict import config, de, genesets, tables  # noqa: E402
from pathverdict.enrichment import gsea_fast  # noqa: E402
from pathverdict.judgement import dataset_calibration, replay, verdict  # noqa: E402
from pathverdict.simulation import dataset_fit  # noqa: E402
from pathverdict.sources import annotation  # noqa: E402
from pathverdict.util import quiet_logging  # noqa: E402

SHARED = Path(os.environ.get("PATHVERDICT_SHARED", REPO.parent / "shared" / "data"))
CONTRAST = ["condition", "Treated", "Control"]
SAMPLES = ["lane1", "lane2", "lane3", "lane5", "lane6", "lane8"]


def defaults() -> dict:
    return config.validate_config(
        {
            "datasets": {"x": {"counts": "c.tsv", "samples": "s.tsv", "design": "~condition", "contrast": CONTRAST}},
            "genesets": str(SHARED / "genesets" / "KEGG_2021_Human.txt"),
            "target_pathway": "Mineral absorption",
            "annotation": str(SHARED / "annotation" / "human_gene_info.tsv.gz"),
        },
        "calibration cost defaults",
    )


def dataset(n_genes: int, lib, term):
    counts = tables.read_counts(SHARED / "counts" / "li2008_lncap" / "counts.tsv.gz").counts[SAMPLES]
    sheet = tables.read_samples(SHARED / "counts" / "li2008_lncap" / "samples.tsv").loc[SAMPLES]
    ann = annotation.load_annotation(SHARED / "annotation" / "human_gene_info.tsv.gz")
    m = annotation.map_ids(list(counts.index), ann, "auto")
    symbols = pd.Series(dict(zip(m.table["gene_id"], m.table["symbol"]))).astype("string")
    target = symbols.isin(lib.sets[term]).reindex(counts.index, fill_value=False).to_numpy()
    rng = np.random.default_rng(20_000)
    others = np.flatnonzero(~target)
    keep = np.sort(np.concatenate([np.flatnonzero(target), rng.choice(others, n_genes - target.sum(), replace=False)]))
    return counts.iloc[keep], sheet, symbols


def main(argv=None) -> int:
    cfg = defaults()
    c = cfg["calibration"]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--null", type=int, default=c["null_simulations"])
    ap.add_argument("--planted", type=int, default=c["planted_simulations"])
    ap.add_argument("--effects", type=float, nargs="+", default=c["effects"])
    ap.add_argument("--profile", type=int, default=3, help="studies timed step by step")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    if a.quick:
        a.genes, a.null, a.planted, a.effects, a.profile = 3000, 2, 2, [1.0], 1
    lib = genesets.read_library(SHARED / "genesets" / "KEGG_2021_Human.txt", "KEGG_2021_Human")
    term = lib.find(cfg["target_pathway"])
    counts, sheet, symbols = dataset(a.genes, lib, term)
    params = de.DEParams.from_config(cfg["de"], {"design": "~condition", "contrast": CONTRAST}, 1)
    settings = verdict.VerdictSettings.from_config(cfg["verdict"], cfg["de"]["alpha"])
    e = cfg["enrichment"]
    rs = replay.ReplaySettings(
        "KEGG_2021_Human", lib, term, settings, e, verdict.METHODS, gsea_fast.GseaFast.from_config(e).run
    )
    with quiet_logging():
        table = replay.gene_table(de.run_deseq2(counts, sheet, params), symbols)
        t0 = time.process_time()
        fit = dataset_fit.fit_dataset(counts, sheet, table, "~condition", CONTRAST, symbols, lib.sets[term])
        t_fit = time.process_time() - t0
        cal = dataset_calibration.CalibrationSettings.from_config(
            dict(c, null_simulations=a.null, planted_simulations=a.planted, effects=a.effects)
        )
        n_sims = len(dataset_calibration.simulations(cal))
        t0 = time.process_time()
        summary, _ = dataset_calibration.calibrate(fit, rs, params, cal, dataset="li2008_3v3")
        t_cal = time.process_time() - t0
        parts = {"simulate": 0.0, "DE": 0.0, "ORA (up, down, all)": 0.0, "GSEA": 0.0, "CAMERA": 0.0}
        for i in range(a.profile):
            t0 = time.process_time()
            sim, sim_sheet, _ = dataset_fit.simulate_fitted(fit, [99, i])
            t1 = time.process_time()
            parts["simulate"] += t1 - t0
            for methods, key in (((), "DE"), (("ora_all", "ora_up", "ora_down"), "ORA (up, down, all)"),
                                 (("gsea",), "GSEA"), (("camera",), "CAMERA")):  # fmt: skip
                t0 = time.process_time()
                replay.replay(sim, sim_sheet, params, fit.symbols, dataclass_replace(rs, methods))
                parts[key] += time.process_time() - t0
        base = parts["DE"]
        for key in ("ORA (up, down, all)", "GSEA", "CAMERA"):
            parts[key] -= base
    per = t_cal / n_sims
    print(
        f"calibration cost: {len(fit.params)} genes x 6 samples (li2008_lncap 3 vs 3), {n_sims} simulated studies "
        f"({a.null} null + {a.planted} planted x effects {', '.join(f'{x:g}' for x in cal.effects)}), every method"
    )
    print(f"fit {t_fit:.1f} CPU s; calibration {t_cal:.1f} CPU s = {t_cal / 60:.2f} CPU min; {per:.2f} CPU s per study")
    print(
        "one study, CPU s (mean of %d): " % a.profile + ", ".join(f"{k} {v / a.profile:.2f}" for k, v in parts.items())
    )
    print(summary[["method", "fpr_on_top", "fpr_ci_high", "power_by_effect"]].to_string(index=False))
    return 0


def dataclass_replace(rs, methods):
    import dataclasses

    return dataclasses.replace(rs, methods=tuple(methods))


if __name__ == "__main__":
    raise SystemExit(main())
