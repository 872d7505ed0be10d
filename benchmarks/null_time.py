#!/usr/bin/env python3
"""How long does the label-permutation null take on a cohort-sized tissue dataset?

    python benchmarks/null_time.py                          # 12 vs 12, ~20,000 genes, 200 relabelings
    python benchmarks/null_time.py --permutations 20 --threads 1 2 --methods ora_all gsea

Builds one simulated tissue study as the calibration benchmark does
(``benchmarks/calibration.py``: scenario ``tissue_12v12_selection``, means and dispersions of
the 85 GEUVADIS individuals, MEIS1 reduced in half the patients, patients selected by MEIS1
expression), on ``--genes`` genes: the calibration's source has ~10,000 genes with reads, so the
study is topped up with a second, independent simulation of the same source (gene IDs suffixed
``_b``, no symbol: they go through DE, not into the gene sets). Then it runs the workflow's
``null.run_null`` on it exactly as the ``null_permutations`` rule does (selection-aware,
``--permutations`` relabelings, ``null.seed``, the first library KEGG_2021_Human, the set score
plus ``--methods``), in this process, once per ``--threads`` value, and prints per run: wall, CPU
(user + system of this process, all threads), seconds per relabeling, the share of the time in
the DE fits (``de.run_deseq2``), the load average and the CPU other processes used meanwhile.

No assertion: the figures go to benchmarks/README.md (*The label-permutation null*).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import calibration as cal  # noqa: E402
from run import OtherLoad  # noqa: E402
import pandas as pd  # noqa: E402

from pathverdict import de  # noqa: E402
from pathverdict.judgement import null  # noqa: E402
from pathverdict.judgement.robustness import quiet_logging  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def tissue_study(n_genes: int, seed: int):
    """Counts (genes x 24), sheet and symbols of one 12 vs 12 tissue study with ~n_genes genes."""
    cal._setup(n_genes, seed, None)
    counts, sheet, symbols = cal._simulate("tissue_12v12_selection", "planted", seed, 1.0, 0.3)
    k = 1
    while len(counts) < n_genes:
        more, _, _ = cal._simulate("tissue_12v12_selection", "null", seed + 1000 * k, 1.0, 0.3)
        more = more.iloc[: n_genes - len(counts)]
        more.index = [f"{g}_b{k}" for g in more.index]
        counts = pd.concat([counts, more[counts.columns]])
        symbols = pd.concat([symbols, pd.Series(pd.NA, index=more.index, dtype="string")])
        k += 1
    return counts, sheet, symbols


def run_once(counts, sheet, symbols, permutations: int, threads: int, methods: list[str]) -> dict:
    cfg = cal._STATE["cfg"]
    params = dataclasses.replace(cal._STATE["params"], threads=threads)
    fit_seconds = [0.0]
    original = de.run_deseq2

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            fit_seconds[0] += time.perf_counter() - t

    de.run_deseq2 = timed
    load0 = os.getloadavg()
    other = OtherLoad().start()
    m0 = time.monotonic()
    t0, c0 = time.perf_counter(), _cpu()
    try:
        with quiet_logging():
            perms, summary = null.run_null(
                counts,
                sheet,
                params,
                {cal.LIBRARY: cal._STATE["lib"]},
                cal.TARGET,
                None,
                symbols=symbols,
                methods=tuple(methods),
                enrichment_cfg=cfg["enrichment"],
                max_permutations=permutations,
                seed=cfg["null"]["seed"],
                threads=threads,
                dataset="tissue",
                selection=cal.SELECTION,
            )
    finally:
        de.run_deseq2 = original
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    other.stop()
    others = (other.stats(m0, time.monotonic()) or (None,))[0]
    n = int(perms["permutation"].nunique())
    return {
        "genes": int(counts.shape[0]),
        "samples": int(counts.shape[1]),
        "relabelings": n,
        "threads": threads,
        "methods": ["set_score", *methods],
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "wall_per_relabeling_s": round(wall / (n + 1), 3),
        "cpu_per_relabeling_s": round(cpu / (n + 1), 3),
        "de_fit_share": round(fit_seconds[0] / wall, 3),
        "load_average_start": [round(x, 2) for x in load0],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "other_cores": None if others is None else round(others, 2),
        "empirical_p_set_score": float(summary.iloc[0]["empirical_p"]),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--permutations", type=int, default=200)
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument(
        "--methods", nargs="*", default=["ora_all"], help="rank methods besides the set score (default ora_all)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    counts, sheet, symbols = tissue_study(a.genes, a.seed)
    return print_runs(
        counts, a.threads, lambda th: run_once(counts, sheet, symbols, a.permutations, th, a.methods), a.json
    )


def print_runs(counts, threads, run, json_path: Path | None) -> int:
    """``run(threads)`` for each number of threads: one JSON line each, and all of them in ``json_path``."""
    print(f"study: {counts.shape[0]} genes x {counts.shape[1]} samples", file=sys.stderr, flush=True)
    out = []
    for th in threads:
        got = run(th)
        print(json.dumps(got), flush=True)
        out.append(got)
    if json_path:
        json_path.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
