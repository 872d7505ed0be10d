"""The replication summary's per-dataset effect on simulated count data, and the step's cost.

    python benchmarks/replication.py                  # 100 datasets per scenario (~5 CPU minutes)
    python benchmarks/replication.py --datasets 10    # quicker

1. **Calibration of the effect's 95% interval** where the truth is 0: datasets simulated with
   :func:`pathverdict.simulation.simulated_study.simulate_dataset` (negative binomial, means and dispersions
   fitted on real data: cells on the LNCaP lanes of li2008_lncap, tissue on the 85 GEUVADIS individuals)
   with nothing planted anywhere (no background DE, no off-target pathways), so that every gene's effect is 0
   and the pathway's effect is exactly 0; with and without correlated modules (the metallothioneins; half of
   the pathway on one latent factor). Each goes through the workflow's DE (``de.run_deseq2``) and
   :func:`pathverdict.judgement.pathway_effect.dataset_effect`. Printed: the share of intervals that hold 0
   and the share above 0 (a false "more changed than the other genes").
2. **The same effect at every sample size**: 30% of the pathway's genes at |log2FC| 1 (mixed directions),
   cells at 3, 6 and 12 per group: the mean effect, and the mean excess of z^2 (a test statistic's scale,
   which grows with n).
3. **The step's cost** on the demo's results (``results/demo``, when present): CPU seconds of
   ``steps.replication.make_replication`` in-process, and of the whole job (a new Python process).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
NULL_SCENARIOS = {
    "cells 3 vs 3": ("cells", 3, []),
    "cells 3 vs 3, metallothionein module": ("cells", 3, ["metallothioneins"]),
    "cells 3 vs 3, half the pathway co-regulated": ("cells", 3, ["pathway_axis"]),
    "tissue 12 vs 12": ("tissue", 12, []),
    "tissue 12 vs 12, half the pathway co-regulated": ("tissue", 12, ["pathway_axis"]),
}


def tissue_source():
    """The GEUVADIS source (fitted within sex), as replication_sim prepares the cells one."""
    import replication_sim as rs
    from pathverdict.simulation import simulated_study
    from pathverdict.sources import annotation
    from pathverdict.util import quiet_logging

    lib, term = rs.library(SHARED)
    ann = annotation.load_annotation(SHARED / "annotation" / "human_gene_info.tsv.gz")
    with quiet_logging():
        return simulated_study.prepare_source(
            "tissue",
            SHARED / "counts/geuvadis_lcl_sex/counts.tsv.gz",
            SHARED / "counts/geuvadis_lcl_sex/samples.tsv",
            "sex",
            ann,
            lib,
            term,
            rs.SPEC,
            2019,
        )


def effect_of(source, seed: int, entry: dict):
    import replication_sim as rs
    from pathverdict.de import DEParams, run_deseq2
    from pathverdict.judgement.pathway_effect import dataset_effect
    from pathverdict.simulation import simulated_study
    from pathverdict.util import quiet_logging

    lib, term = rs.library(SHARED)
    with quiet_logging():
        counts, sheet, _ = simulated_study.simulate_dataset(f"b{seed}", entry, source, lib, term, rs.SPEC, seed)
        sheet = sheet.set_index("sample")
        result = run_deseq2(counts, sheet, DEParams(design=rs.DESIGN, contrast=rs.CONTRAST))
    de = result.results.copy()
    de.insert(
        0,
        "symbol",
        pd.Series({g: source.symbol_of.get(g) for g in counts.index}, dtype="string")
        .reindex(de.index.astype(str))
        .to_numpy(),
    )
    return dataset_effect(de.reset_index(), result.vst, sheet, rs.DESIGN, rs.CONTRAST, lib.sets[term])


def calibration(n: int) -> pd.DataFrame:
    import replication_sim as rs

    sources = {"cells": rs._source(str(SHARED))[0], "tissue": tissue_source()}
    rows = []
    for name, (src, per_group, modules) in NULL_SCENARIOS.items():
        effects = [
            effect_of(sources[src], 5000 + i, {"n_per_group": per_group, "effect": False, "modules": modules})
            for i in range(n)
        ]
        low = np.array([e.ci[0] for e in effects])
        high = np.array([e.ci[1] for e in effects])
        rows.append(
            {
                "scenario": name,
                "datasets": n,
                "interval holds 0": np.mean((low <= 0) & (0 <= high)),
                "interval above 0": np.mean(low > 0),
                "mean effect": np.mean([e.effect for e in effects]),
                "median correlation inflation": np.median([e.correlation_inflation for e in effects]),
            }
        )
    return pd.DataFrame(rows)


def sizes(n: int) -> pd.DataFrame:
    import replication_sim as rs

    src = rs._source(str(SHARED))[0]
    rows = []
    for per_group in (3, 6, 12):
        entry = {"n_per_group": per_group, "effect": True, "log2fc": 1.0, "fraction": 0.3}
        effects = [effect_of(src, 7000 + i, entry) for i in range(n)]
        rows.append(
            {
                "per group": per_group,
                "datasets": n,
                "mean effect": np.mean([e.effect for e in effects]),
                "sd effect": np.std([e.effect for e in effects]),
                "mean SE": np.mean([e.se for e in effects]),
                "mean z^2 excess": np.mean([e.mean_z2_set - e.mean_z2_other for e in effects]),
            }
        )
    return pd.DataFrame(rows)


def step_cost() -> str:
    demo = REPO / "results" / "demo"
    if not (demo / "verdict.tsv").is_file():
        return "no results/demo: run ./run.sh --configfile config/demo.yaml first"
    code = f"""
import time, yaml
t0 = time.process_time()
from pathverdict.config import validate_config
from pathverdict.judgement import claim_specs
from pathverdict.steps.replication import make_replication
t1 = time.process_time()
cfg = validate_config(yaml.safe_load(open("config/demo.yaml")), configfiles=["config/demo.yaml"])
ds = list(cfg["datasets"])
d = "{demo}"
make_replication(
    verdict=d + "/verdict.tsv", de=[f"{{d}}/{{x}}/de.tsv" for x in ds], vst=[f"{{d}}/{{x}}/vst.tsv.gz" for x in ds],
    samples=[f"{{d}}/{{x}}/samples.tsv" for x in ds],
    gmts=[f"resources/demo/genesets/{{k}}.gmt" for k in cfg["genesets"]],
    libraries=list(cfg["genesets"]), counted=ds, datasets=cfg["datasets"], roles=claim_specs.roles_of(cfg),
    target=cfg["target_pathway"], verdict_settings=cfg["verdict"], out_tsv="/tmp/replication_bench.tsv",
    out_html="/tmp/replication_bench.html", out_png="/tmp/replication_bench.png", claims_settings=cfg.get("claims"),
    perturbed_gene=cfg.get("perturbed_gene"), null=d + "/null.tsv", null_settings=cfg["null"],
    selected=[x for x in ds if cfg["datasets"][x].get("select_by_expression")], banner="SIMULATED")
t2 = time.process_time()
print(f"imports {{t1 - t0:.2f}} s, the step {{t2 - t1:.2f}} s of CPU")
"""
    t0 = time.time()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%U %S", sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True
    )
    wall = time.time() - t0
    user, system = proc.stderr.strip().splitlines()[-1].split()
    return f"{proc.stdout.strip()}; the whole process {float(user) + float(system):.2f} CPU s, {wall:.1f} s wall"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=int, default=100, help="datasets per scenario (default 100)")
    args = ap.parse_args(argv)
    t0 = time.process_time()
    print("1. the effect's 95% interval where the true effect is 0 (DESeq2 on simulated counts)")
    print(calibration(args.datasets).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\n2. 30% of the pathway at |log2FC| 1 (cells): the effect does not grow with the sample size")
    print(sizes(max(10, args.datasets // 4)).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\n(1 and 2: {time.process_time() - t0:.0f} CPU s)")
    print("\n3. the step on the demo's results:", step_cost())
    return 0


if __name__ == "__main__":
    sys.exit(main())
