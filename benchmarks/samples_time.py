#!/usr/bin/env python3
"""How long do the sample checks take (the enrichment job's sample QC, confounding, leave one sample out)?

    python benchmarks/samples_time.py                          # 12 vs 12, ~20,000 genes, 6 removals, GSEA 1000
    python benchmarks/samples_time.py --removals 24 --gsea-permutations 200 --threads 1 2

Builds the 12 vs 12 tissue study of ``benchmarks/null_time.py`` (GEUVADIS means and dispersions, an
effect on 30% of Mineral absorption in the patients with reduced MEIS1; ``--genes`` genes; every
patient kept: no selection), then runs what the enrichment job's sample checks run, in this process: the sample
QC (``samples.sample_qc``, after one DE fit for the VST and Cook's counts as the DE step makes them),
the confounding check, and ``leave_one_sample_out`` with every method (ORA up/down/all, GSEA with
``--gsea-permutations`` and the workflow's seed, CAMERA) against KEGG_2021_Human, bounded to
``--removals`` removals. Prints per run: wall and CPU (user + system of this process) of the QC and
of the removals, CPU per removal and the share of it in the DE fits and in GSEA, the load average.

No assertion: the figures go to benchmarks/README.md (*Sample checks*) and the README.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# null_time (beside this file) sets the BLAS threads and puts src/ on the path before numpy is imported
from null_time import _cpu, print_runs, tissue_study  # noqa: I001

import calibration as cal

from pathverdict import de, enrichment
from pathverdict.judgement import confounding, samples
from pathverdict.judgement import leave_one_sample_out as loo
from pathverdict.judgement.null_statistics import de_table
from pathverdict.util import quiet_logging


class Timer:
    """Wall and CPU seconds spent inside a function while a run lasts (patched in, then restored)."""

    def __init__(self, owner, name: str):
        self.owner, self.name, self.cpu = owner, name, 0.0
        self.original = getattr(owner, name)

        def timed(*a, **k):
            c = _cpu()
            try:
                return self.original(*a, **k)
            finally:
                self.cpu += _cpu() - c

        setattr(owner, name, timed)

    def restore(self):
        setattr(self.owner, self.name, self.original)


def run_once(counts, sheet, symbols, removals: int, permutations: int, threads: int) -> dict:
    lib = cal._STATE["lib"]
    e = dict(cal._STATE["cfg"]["enrichment"], gsea_permutations=permutations)
    settings = cal._STATE["settings"]
    params = cal._STATE["params"]
    contrast = list(params.contrast)
    load0 = os.getloadavg()
    w0, c0 = time.perf_counter(), _cpu()
    with quiet_logging():  # the verdict on all samples: the workflow's samples job reads it from files
        result = de.run_deseq2(counts, sheet, params)
        table = de_table(result, symbols)
        vst = result.vst
        base = loo.rerun(
            counts, sheet, params, symbols, cal.LIBRARY, lib, cal.TARGET, settings=settings, enrichment_cfg=e
        )
    base_cpu = _cpu() - c0
    w0, c0 = time.perf_counter(), _cpu()
    qc = samples.sample_qc(counts, vst, sheet, contrast, cooks=result.summary["cooks_outliers_by_sample"])
    conf = confounding.check_sheet(sheet, ["condition"], contrast)
    qc_wall, qc_cpu = time.perf_counter() - w0, _cpu() - c0
    fits, gsea = Timer(de, "run_deseq2"), Timer(enrichment, "gsea")
    w1, c1 = time.perf_counter(), _cpu()
    try:
        with quiet_logging():
            rows = loo.leave_one_sample_out(
                counts,
                sheet,
                params,
                symbols,
                (cal.LIBRARY, lib),
                cal.TARGET,
                baseline=base,
                settings=settings,
                enrichment_cfg=e,
                vst=vst,
                de_table_=table,
                max_removals=removals,
                threads=threads,
            )
    finally:
        fits.restore()
        gsea.restore()
    wall, cpu = time.perf_counter() - w1, _cpu() - c1
    n = len({v for v in rows["variant"] if v.startswith(loo.PREFIX)})
    return {
        "genes": int(counts.shape[0]),
        "samples": int(counts.shape[1]),
        "threads": threads,
        "gsea_permutations": permutations,
        "baseline_cpu_s": round(base_cpu, 1),
        "qc_and_confounding_wall_s": round(qc_wall, 2),
        "qc_and_confounding_cpu_s": round(qc_cpu, 2),
        "removals": n,
        "removals_wall_s": round(wall, 1),
        "removals_cpu_s": round(cpu, 1),
        "cpu_per_removal_s": round(cpu / max(n, 1), 2),
        "de_fit_share": round(fits.cpu / max(cpu, 1e-9), 3),
        "gsea_share": round(gsea.cpu / max(cpu, 1e-9), 3),
        "flagged": samples.flagged(qc)["sample"].tolist(),
        "confounded": conf.loc[conf["status"] == confounding.CONFOUNDED, "column"].tolist(),
        "baseline": {m: b["status"] for m, b in base.items()},
        "rests_on": {m: loo.resting(rows, "", cal.LIBRARY, m)["rests"] for m in loo.METHODS},
        "load_average_start": [round(x, 2) for x in load0],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--removals", type=int, default=6)
    ap.add_argument("--gsea-permutations", type=int, default=1000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    counts, sheet, symbols = tissue_study(a.genes, a.seed)
    return print_runs(
        counts, a.threads, lambda th: run_once(counts, sheet, symbols, a.removals, a.gsea_permutations, th), a.json
    )


if __name__ == "__main__":
    sys.exit(main())
