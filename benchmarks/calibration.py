"""How often is "on top" wrong? False-positive rate and power of the verdict procedure on
simulated studies whose truth is known.

    python benchmarks/calibration.py                 # the whole table (writes src/pathverdict/data/calibration.tsv)
    python benchmarks/calibration.py --quick --out /tmp/cal.tsv   # a few studies (tests/test_benchmarks.py)

Every study runs the package functions the workflow uses, with the workflow's default settings
(read from config/schemas/config.schema.yaml through pathverdict.config.validate_config):
``de.run_deseq2`` (R-DESeq2-faithful estimation), ``enrichment.collapse_to_symbols`` /
``de_gene_lists`` / ``ora``, ``verdict.judge_dataset`` / ``gene_status``, ``claims.evaluate`` /
``summarise``, and for tissue with a selection by expression ``null.apply_selection`` and the
selection-aware ``null.run_null`` (``set_score``, ``null.max_permutations`` relabelings,
``null.seed``). Over-representation of all DE genes (``verdict.primary`` ora_all) on the first
library, KEGG_2021_Human; GSEA is not calibrated (one prerank with 1,000 permutations costs
about 10x a DE fit here).

Scenarios (studies simulated with :func:`pathverdict.simulation.simulated_study.simulate_dataset`, negative
binomial with means and dispersions fitted on real data; background DE in 10% (cells) / 5%
(tissue) of the genes, log2FC ~ N(0, 0.8 / 0.5); 3 other pathways with 30% of their genes at
|log2FC| 0.8 (cells); ``n_genes`` genes sampled, the target pathway's always kept):

* ``cells_3v3``: 3 vs 3, LNCaP lanes (li2008_lncap) -- the only cell set with > 2 replicates;
* ``cells_3v3_modules``: the same with correlated modules: the metallothioneins move together
  (a latent factor per sample, loading 0.5 log2 units) and two random 50-gene modules;
* ``tissue_12v12_selection``: 12 vs 12, 85 GEUVADIS individuals (geuvadis_lcl_sex, within sex),
  MEIS1 reduced (x0.3) in half the patients, patients kept when MEIS1 < control median;
* ``tissue_12v12_selection_modules``: the same plus the metallothionein module and a binary
  latent factor (in 70% of the individuals, loading 2 log2 units) moving MEIS1 with the target's
  genes (the selection-bias scenario).

Null studies: nothing planted on the target. Planted studies: ``fraction`` (default 30%) of the
target's simulated genes at |log2FC| in the grid, mixed directions; in tissue only in the
patients with reduced MEIS1. A cells study for the claims is two datasets (over-expression and
loss of function); a tissue study one dataset. The tissue claim needs the selection-aware null
only when the selected analysis is enriched (otherwise the claim cannot be "yes"); that null
costs ``max_permutations + 1`` DE fits, so it is run on at most ``--null-studies`` enriched
studies per scenario and kind (the first ones, in seed order) and the claim's rate is
P(enriched) x P(null p <= alpha | enriched) with the second factor from those; the row says so.
A tissue study whose selection keeps fewer than 2 patients stops the workflow with a message (no
answer); it is counted in ``no_answer`` and never as "on top".
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
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

from pathverdict.sources import annotation  # noqa: E402
from pathverdict.judgement import claim_specs, claim_tests, claims, dataset_calibration, null, replay, verdict  # noqa: E402
from pathverdict import config, genesets  # noqa: E402
from pathverdict.simulation import simulated_study  # noqa: E402
from pathverdict.de import DEParams  # noqa: E402
from pathverdict.errors import InputError  # noqa: E402
from pathverdict.util import quiet_logging  # noqa: E402

SHARED = Path(os.environ.get("PATHVERDICT_SHARED", REPO.parent / "shared" / "data"))
TARGET = "Mineral absorption"
LIBRARY = "KEGG_2021_Human"
CONTRAST = ["condition", "treated", "control"]
SELECTION = {"gene": "MEIS1", "group": "treated", "rule": "below_reference_median"}
KEY_GENES = ["MEIS1", "HMOX1", "VDR", "MT2A"]
GENE_MEANS = {"HMOX1": 400, "VDR": 150, "MT2A": 600, "MEIS1": 300}
MODULES = {
    "metallothioneins": {"pattern": "^MT1[A-Z0-9]*$|^MT2A$|^MT3$|^MT4$", "loading": 0.5, "kind": "normal"},
    "meis1_axis": {"symbols": ["MEIS1"], "target_fraction": 1.0, "loading": 2.0, "kind": "binary", "prevalence": 0.7},
}
CELLS = {
    "background": {"fraction": 0.1, "log2fc_sd": 0.8},
    "off_target": {"pathways": 3, "fraction": 0.3, "log2fc": 0.8},
}
TISSUE = {
    "background": {"fraction": 0.05, "log2fc_sd": 0.5},
    "reduce_gene": {"gene": "MEIS1", "fraction": 0.5, "fold": 0.3},
}
SCENARIOS = {
    "cells_3v3": {"role": "cells", "source": "cells", "n": 3, "modules": [], **CELLS},
    "cells_3v3_modules": {
        "role": "cells",
        "source": "cells",
        "n": 3,
        "modules": ["metallothioneins", "random_a", "random_b"],
        **CELLS,
    },
    "tissue_12v12_selection": {"role": "tissue", "source": "tissue", "n": 12, "modules": [], **TISSUE},
    "tissue_12v12_selection_modules": {
        "role": "tissue",
        "source": "tissue",
        "n": 12,
        "modules": ["metallothioneins", "meis1_axis"],
        **TISSUE,
    },
}
SOURCES = {"cells": ("li2008_lncap", "condition"), "tissue": ("geuvadis_lcl_sex", "sex")}
COLUMNS = [
    "scenario",
    "role",
    "n_per_group",
    "design",
    "method",
    "library",
    "modules",
    "selection",
    "source",
    "median_cv",
    "n_genes",
    "n_null",
    "no_answer",
    "fpr_on_top",
    "fpr_ci_low",
    "fpr_ci_high",
    "inconclusive_null",
    "fpr_enriched",
    "fpr_enriched_ci_high",
    "claim",
    "n_claim_null",
    "fpr_claim",
    "fpr_claim_ci_high",
    "claim_note",
    "fpr_metallothioneins",
    "n_planted",
    "fraction",
    "effects",
    "power_by_effect",
    "enriched_by_effect",
    "power",
    "power_ci_low",
    "power_ci_high",
    "power_effect",
    "inconclusive_planted",
    "claim_power",
    "claim_power_note",
    "fpr_counted",
    "fpr_counted_ci_low",
    "fpr_counted_ci_high",
    "fpr_enriched_counted",
    "fpr_enriched_counted_ci_high",
    "power_counted_by_effect",
    "enriched_counted_by_effect",
    "power_counted",
    "power_counted_ci_low",
    "power_counted_ci_high",
    "counted_note",
    "settings",
]

_STATE: dict = {}


def study_claims() -> list:
    """The claims of the default config (config/config.yaml: cells, tissue, metallothioneins), judged on
    every simulated study as the workflow judges them."""
    import yaml

    with open(REPO / "config" / "config.yaml") as fh:
        study = yaml.safe_load(fh)
    return claim_specs.parse_claims(study["claims"], {}, perturbed_gene=study.get("perturbed_gene"), check_roles=False)


def workflow_settings(max_permutations: int | None = None) -> dict:
    """The workflow's defaults, from the config schema (a minimal config validated)."""
    cfg = config.validate_config(
        {
            "datasets": {"x": {"counts": "c.tsv", "samples": "s.tsv", "design": "~condition", "contrast": CONTRAST}},
            "genesets": str(SHARED / "genesets" / "KEGG_2021_Human.txt"),
            "target_pathway": TARGET,
            "annotation": str(SHARED / "annotation" / "human_gene_info.tsv.gz"),
        },
        "calibration defaults",
    )
    if max_permutations is not None:
        cfg["null"]["max_permutations"] = max_permutations
    return cfg


def _setup(
    n_genes: int, seed: int, max_permutations: int | None, methods=("ora_all",), engine: str = "r_exact"
) -> None:
    ann = annotation.load_annotation(SHARED / "annotation" / "human_gene_info.tsv.gz")
    lib = genesets.read_library(SHARED / "genesets" / "KEGG_2021_Human.txt", LIBRARY)
    term = lib.find(TARGET)
    spec = {"n_genes": n_genes, "keep_genes": KEY_GENES, "gene_means": GENE_MEANS, "seed": seed}
    sources = {}
    for key, (name, group) in SOURCES.items():
        with quiet_logging():
            sources[key] = simulated_study.source_from_folder(
                key, SHARED / "counts" / name, group, ann, lib, term, spec, seed
            )
    # GEUVADIS has 10,101 genes: the tissue studies get the rest of n_genes from LNCaP's other gene IDs (of
    # all its fitted genes, not only the n_genes drawn for the cells), with GEUVADIS means and dispersions
    # (simulated_study.pad_source)
    for key, donor in (("tissue", "cells"), ("cells", "tissue")):
        if len(sources[key].params) < n_genes:
            name, group = SOURCES[donor]
            with quiet_logging():
                full = simulated_study.source_from_folder(
                    donor,
                    SHARED / "counts" / name,
                    group,
                    ann,
                    lib,
                    term,
                    {**spec, "n_genes": None, "min_mean": 1e-9},  # its gene IDs only: every one with reads
                    seed,
                )
            sources[key] = simulated_study.pad_source(sources[key], full, n_genes, seed, KEY_GENES)
    # two random modules of 50 genes each (cells_3v3_modules), fixed by the seed
    rng = np.random.default_rng([seed, 9])
    others = sorted(
        set(sources["cells"].symbol_of[g] for g in sources["cells"].params.index if g in sources["cells"].symbol_of)
        - set(lib.sets[term])
    )
    picks = rng.choice(len(others), size=100, replace=False)
    modules = dict(MODULES)
    modules["random_a"] = {"symbols": [others[i] for i in picks[:50]], "loading": 0.5, "kind": "normal"}
    modules["random_b"] = {"symbols": [others[i] for i in picks[50:]], "loading": 0.5, "kind": "normal"}
    cfg = workflow_settings(max_permutations)
    cfg["de"]["engine"] = engine  # the DE engine the studies' DE (and the nulls') run with
    settings = verdict.VerdictSettings.from_config(cfg["verdict"], cfg["de"]["alpha"])
    gsea = None
    if "gsea" in methods:
        from pathverdict.enrichment import gsea_fast

        gsea = gsea_fast.GseaFast.from_config(cfg["enrichment"]).run
    _STATE.update(
        replay=replay.ReplaySettings(LIBRARY, lib, term, settings, cfg["enrichment"], tuple(methods), gsea),
        lib=lib,
        term=term,
        sources=sources,
        modules=modules,
        cfg=cfg,
        claims=study_claims(),
        settings=settings,
        params=DEParams.from_config(cfg["de"], {"design": "~condition", "contrast": CONTRAST}, 1),
    )


def _simulate(scenario: str, kind: str, seed: int, log2fc: float, fraction: float):
    sc = SCENARIOS[scenario]
    src = _STATE["sources"][sc["source"]]
    entry = {
        "n_per_group": sc["n"],
        "effect": kind == "planted",
        "log2fc": log2fc,
        "fraction": fraction,
        "modules": sc["modules"],
        "background": sc["background"],
    }
    if "off_target" in sc:
        entry["off_target"] = sc["off_target"]
    if "reduce_gene" in sc:
        entry["reduce_gene"] = sc["reduce_gene"]
        entry["effect_in_reduced"] = True
    spec = {"modules": _STATE["modules"], "always_plant": [], "seed": 2019}
    counts, sheet, _ = simulated_study.simulate_dataset(
        f"{scenario}_{kind}_{seed}", entry, src, _STATE["lib"], _STATE["term"], spec, seed
    )
    symbols = pd.Series({g: src.symbol_of.get(g) for g in counts.index}, dtype="string")
    return counts, sheet.set_index("sample"), symbols


def _verdict(name: str, counts, sheet, symbols):
    """DE, every method's enrichment (first library) and the verdict + gene rows, as the workflow makes them
    (:func:`pathverdict.judgement.replay.replay`); the details keep the pathways ranked at or above the target."""
    rs = _STATE["replay"]
    v, details, table = replay.replay(counts, sheet, _STATE["params"], symbols, rs, dataset=name)
    g = verdict.gene_status(name, table, rs.settings)
    record = {
        r["method"]: {
            "status": r["status"],
            "rank": None if pd.isna(r["rank"]) else int(r["rank"]),
            "n_terms": int(r["n_terms"]),
            "pvalue": None if pd.isna(r["pvalue"]) else float(r["pvalue"]),
            "fdr": None if pd.isna(r["fdr"]) else float(r["fdr"]),
            "overlap": None if pd.isna(r["overlap_size"]) else int(r["overlap_size"]),
            "de_genes": None if pd.isna(r["de_genes"]) else int(r["de_genes"]),
            "competitors": details.get(r["method"], []),
        }
        for r in v.to_dict("records")
    }
    return v, g, record


def run_study(task: tuple) -> dict:
    """One study: its datasets' verdicts, the claims, and (tissue, when asked) the selection-aware null."""
    scenario, kind, seed, log2fc, fraction, with_null = task
    sc = SCENARIOS[scenario]
    cfg = _STATE["cfg"]
    out = {"scenario": scenario, "kind": kind, "seed": seed, "log2fc": log2fc, "statuses": [], "records": []}
    with quiet_logging():
        if sc["role"] == "cells":
            n_ds = 2 if kind == "null" else 1
            vs, gs, roles = [], [], {}
            for k in range(n_ds):
                name = f"d{k}"
                counts, sheet, symbols = _simulate(scenario, kind, seed * 2 + k, log2fc, fraction)
                v, g, record = _verdict(name, counts, sheet, symbols)
                vs.append(v)
                gs.append(g)
                roles[name] = "cells_overexpression" if k == 0 else "cells_loss_of_function"
                out["statuses"].append({m: r["status"] for m, r in record.items()})
                out["records"].append(record)
            table = claims.evaluate(
                pd.concat(vs),
                pd.concat(gs),
                roles,
                target=_STATE["term"],
                claims=_STATE["claims"],
                max_fdr=cfg["verdict"]["max_fdr"],
                library=LIBRARY,
                null=None,
                null_enabled=False,
            )
            s = claims.summarise(table, _STATE["claims"])
            out["claim"] = s["cells"] if n_ds == 2 else ""
            out["metallothioneins"] = s["metallothioneins"] if n_ds == 2 else ""
            return out
        counts, sheet, symbols = _simulate(scenario, kind, seed, log2fc, fraction)
        try:
            c_sel, s_sel = null.apply_selection(counts, sheet, symbols, SELECTION, CONTRAST)
        except InputError:
            # the workflow stops with a message (fewer than 2 patients kept): no answer at all
            out.update(
                statuses=[{m: "no answer" for m in _STATE["replay"].methods}],
                records=[{}],
                enriched=False,
                null_run=False,
                claim="no answer",
                metallothioneins="no answer",
            )
            return out
        v, g, record = _verdict("t", c_sel, s_sel, symbols)
        out["statuses"].append({m: r["status"] for m, r in record.items()})
        out["records"].append(record)
        head = (v[v["primary"]] if v["primary"].any() else v).iloc[0]  # the headline method, when judged
        enriched = (
            head["status"] != "inconclusive"
            and not pd.isna(head["fdr"])
            and float(head["fdr"]) <= cfg["verdict"]["max_fdr"]
        )
        out["enriched"] = bool(enriched)
        out["null_run"] = False
        summary = None
        if enriched and with_null:
            summary, out["null_answer"] = _selection_aware_null(counts, sheet, symbols)
            out["null_run"] = True
            out["null_p"] = float(summary.iloc[0]["empirical_p"])
        table = claims.evaluate(
            v,
            g,
            {"t": "tissue"},
            target=_STATE["term"],
            claims=_STATE["claims"],
            max_fdr=cfg["verdict"]["max_fdr"],
            library=LIBRARY,
            null=summary,
            selected=["t"],
            null_enabled=True,
            null_alpha=cfg["null"]["alpha"],
        )
        s = claims.summarise(table, _STATE["claims"])
        out["claim"] = s["tissue"]
        out["metallothioneins"] = s["metallothioneins"]
    return out


def _selection_aware_null(counts, sheet, symbols) -> tuple[pd.DataFrame, str]:
    """A tissue study's selection-aware set_score null (all its samples, the selection re-applied to every
    relabeling) and the claims' reading of it (``claim_tests.selection_null``: yes / no / inconclusive)."""
    n = _STATE["cfg"]["null"]
    _, summary = null.run_null(
        counts,
        sheet,
        _STATE["params"],
        {LIBRARY: _STATE["lib"]},
        TARGET,
        None,
        symbols=symbols,
        methods=(),
        enrichment_cfg=_STATE["cfg"]["enrichment"],
        max_permutations=n["max_permutations"],
        seed=n["seed"],
        dataset="t",
        selection=SELECTION,
    )
    return summary, claim_tests.selection_null(summary, "t", LIBRARY, n["alpha"], True)[0]


def run_selection_null(task: tuple) -> dict:
    """The selection-aware set_score null (``null.run_null`` with the selection, as the workflow and the
    claims run it) of one tissue study, and its answer as the claims read it
    (``claim_tests.selection_null``: yes / no / inconclusive). The statistic is set_score, so one null
    serves every method judged on the study."""
    scenario, kind, seed, log2fc, fraction = task
    with quiet_logging():
        counts, sheet, symbols = _simulate(scenario, kind, seed, log2fc, fraction)
        summary, answer = _selection_aware_null(counts, sheet, symbols)
    p = summary.iloc[0]["empirical_p"]
    return {
        "scenario": scenario,
        "kind": kind,
        "seed": seed,
        "log2fc": log2fc,
        "null_p": None if pd.isna(p) else float(p),
        "null_answer": answer,
    }


def _timed(task: tuple) -> dict:
    t = time.process_time()
    out = run_selection_null(task) if len(task) == 5 else run_study(task)
    out["cpu_s"] = time.process_time() - t
    return out


_cp = dataset_calibration.clopper_pearson  # 95% Clopper-Pearson interval


def _tasks(
    scenario: str, n_null: int, n_planted: int, effects, fraction: float, null_studies: int, base_seed: int
) -> list[tuple]:
    off = 1_000_000 * (list(SCENARIOS).index(scenario) + 1) + base_seed
    tasks = [(scenario, "null", off + i, 0.0, 0.0, False) for i in range(n_null)]
    for j, lfc in enumerate(effects):
        tasks += [(scenario, "planted", off + 100_000 * (j + 1) + i, lfc, fraction, False) for i in range(n_planted)]
    return tasks


def _null_tasks(results: list[dict], null_studies: int, headline: float) -> list[tuple]:
    """Re-run, with the selection-aware null, the first enriched tissue studies per scenario x kind
    (planted: at the headline effect)."""
    picked = []
    for scenario, sc in SCENARIOS.items():
        if sc["role"] != "tissue":
            continue
        for kind in ("null", "planted"):
            rows = [
                r
                for r in results
                if r["scenario"] == scenario
                and r["kind"] == kind
                and r.get("enriched")
                and (kind == "null" or r["log2fc"] == headline)
            ]
            for r in sorted(rows, key=lambda r: r["seed"])[:null_studies]:
                picked.append((scenario, kind, r["seed"], r["log2fc"], _STATE["fraction"], True))
    return picked


def _key(r: dict) -> tuple:
    return (r["scenario"], r["kind"], int(r["seed"]))


def _enriched(x: dict, max_fdr: float) -> bool:
    """A method's record (of ``_verdict``) is enriched: FDR <= max_fdr with the verdict's minimum evidence
    (the tissue claim's test)."""
    return (
        x.get("status") not in (None, "inconclusive", "no answer")
        and x.get("fdr") is not None
        and (float(x["fdr"]) <= max_fdr)
    )


def _says_yes(r: dict, max_fdr: float) -> bool:
    """Some method's pathway test says yes in the study: on top, or enriched."""
    return any(x.get("status") == "on_top" or _enriched(x, max_fdr) for rec in r["records"] for x in rec.values())


def _selection_null_tasks(results: list[dict], headline: float, fraction: float) -> list[tuple]:
    """The tissue studies (null, and planted at every effect) where some method's pathway test says yes
    and whose selection-aware null is not known yet: their "yes" counts only if that null rejects (the
    claims' rule, ``claim_tests.qualify_by_selection``). Null studies first, then the headline effect, the
    selection-bias scenario (the last) first within an effect."""
    max_fdr = _STATE["cfg"]["verdict"]["max_fdr"]
    order = list(SCENARIOS)
    picked = [
        r
        for r in results
        if SCENARIOS[r["scenario"]]["role"] == "tissue"
        and not r.get("null_run")
        and "null_answer" not in r
        and _says_yes(r, max_fdr)
    ]
    picked.sort(
        key=lambda r: (
            r["kind"] != "null",
            r["log2fc"] != headline,
            r["log2fc"],
            -order.index(r["scenario"]),
            r["seed"],
        )
    )
    return [
        (r["scenario"], r["kind"], int(r["seed"]), r["log2fc"], fraction if r["kind"] == "planted" else 0.0)
        for r in picked
    ]


def _attach_nulls(results: list[dict], nulls: list[dict]) -> list[dict]:
    """Each study with its selection-aware null's p and answer (``null_p``, ``null_answer``) where run."""
    by = {_key(n): n for n in nulls}
    out = []
    for r in results:
        n = by.get(_key(r))
        out.append(r | {"null_p": n["null_p"], "null_answer": n["null_answer"]} if n and "null_answer" not in r else r)
    return out


def summarise(results: list[dict], effects, fraction: float, headline: float, n_genes: int) -> pd.DataFrame:
    """One row per scenario x method; the claims' rates on the headline method's row (verdict.primary)."""
    rows = []
    for scenario in SCENARIOS:
        for method in _STATE["replay"].methods:
            rows.append(_summarise_one(results, scenario, method, effects, fraction, headline, n_genes))
    return pd.DataFrame(rows, columns=COLUMNS)


def _summarise_one(results, scenario, method, effects, fraction, headline, n_genes) -> dict:
    cfg = _STATE["cfg"]
    alpha = cfg["null"]["alpha"]
    sc = SCENARIOS[scenario]
    res = [r for r in results if r["scenario"] == scenario]
    nulls = [r for r in res if r["kind"] == "null"]

    def statuses(rs):  # a study not judged by the method (a run of other methods) is left out
        return [d[method] for r in rs for d in r["statuses"] if method in d]

    max_fdr = cfg["verdict"]["max_fdr"]

    def enriched(rs):
        recs = [rec.get(method) or {} for r in rs for d, rec in zip(r["statuses"], r["records"]) if method in d]
        return [_enriched(rec, max_fdr) for rec in recs]

    def by_effect(counts):
        return ";".join(dataset_calibration.by_effect_part(lfc, k, n) for lfc, (k, n) in counts.items())

    null_status = statuses(nulls)
    k_fp = sum(s == "on_top" for s in null_status)
    lo, hi = _cp(k_fp, len(null_status))
    null_enriched = enriched(nulls)
    planted = {lfc: [r for r in res if r["kind"] == "planted" and r["log2fc"] == lfc] for lfc in effects}
    power = {lfc: (statuses(rs).count("on_top"), len(statuses(rs))) for lfc, rs in planted.items()}
    power_enriched = {lfc: (sum(enriched(rs)), len(enriched(rs))) for lfc, rs in planted.items()}
    hk, hn = power.get(headline, (0, 0))
    plo, phi = _cp(hk, hn)
    planted_status = [s for rs in planted.values() for s in statuses(rs)]
    src = _STATE["sources"][sc["source"]]
    row = {
        "scenario": scenario,
        "role": sc["role"],
        "n_per_group": sc["n"],
        "design": f"{sc['n']} vs {sc['n']}",
        "method": method,
        "library": LIBRARY,
        "modules": ",".join(sc["modules"]) or "none",
        "selection": "MEIS1 below control median" if sc["role"] == "tissue" else "none",
        "source": SOURCES[sc["source"]][0]
        + (f" (+{src.info['genes_padded']} genes padded)" if src.info.get("genes_padded") else ""),
        "median_cv": round(src.info["median_cv_mean_ge_50"], 3),
        "n_genes": int(len(src.params)),
        "n_null": len(null_status),
        "no_answer": sum(s == "no answer" for s in null_status + planted_status),
        "fpr_on_top": k_fp / max(1, len(null_status)),
        "fpr_ci_low": lo,
        "fpr_ci_high": hi,
        "inconclusive_null": sum(s == "inconclusive" for s in null_status) / max(1, len(null_status)),
        "n_planted": len(planted_status),
        "fraction": fraction,
        "effects": ";".join(f"{x:g}" for x in effects),
        "power_by_effect": by_effect(power),
        "enriched_by_effect": by_effect(power_enriched),
        "fpr_enriched": sum(null_enriched) / max(1, len(null_enriched)),
        "fpr_enriched_ci_high": _cp(sum(null_enriched), len(null_enriched))[1],
        "power": hk / hn if hn else math.nan,
        "power_ci_low": plo,
        "power_ci_high": phi,
        "power_effect": f"|log2FC| {headline:g} on {fraction:.0%} of the pathway's simulated genes "
        f"(mixed directions{', in the patients with reduced MEIS1' if sc['role'] == 'tissue' else ''})",
        "inconclusive_planted": sum(s == "inconclusive" for s in planted_status) / max(1, len(planted_status)),
        "fpr_metallothioneins": sum(r.get("metallothioneins") == "reproduced" for r in nulls) / max(1, len(nulls)),
        "settings": (
            f"de.engine {cfg['de']['engine']}, de.alpha {cfg['de']['alpha']}, enrichment.padj "
            f"{cfg['enrichment']['padj']}, lfc "
            f"{cfg['enrichment']['lfc']}, ora size {cfg['enrichment']['ora_min_size']}-"
            f"{cfg['enrichment']['ora_max_size']}, gsea/camera size {cfg['enrichment']['gsea_min_size']}-"
            f"{cfg['enrichment']['gsea_max_size']}, verdict top_n {cfg['verdict']['top_n']}, max_fdr "
            f"{cfg['verdict']['max_fdr']}, min_de_genes {cfg['verdict']['min_de_genes']}, "
            f"min_overlap {cfg['verdict']['min_overlap']}, null max_permutations "
            f"{cfg['null']['max_permutations']} seed {cfg['null']['seed']} alpha {alpha}"
        ),
    }
    row.update(
        as_counted(
            nulls, planted, method, max_fdr=max_fdr, alpha=alpha, selected=sc["role"] == "tissue", headline=headline
        )
    )
    if method != _STATE["replay"].settings.primary:
        row.update(claim="", claim_note="the claims are judged on the headline method only (verdict.primary)")
        return row
    if sc["role"] == "cells":
        k = sum(r["claim"] == "reproduced" for r in nulls)
        _, chi = _cp(k, len(nulls))
        row.update(
            claim="cells",
            n_claim_null=len(nulls),
            fpr_claim=k / max(1, len(nulls)),
            fpr_claim_ci_high=chi,
            claim_note="null study = two 3 vs 3 datasets (over-expression, loss of function); 'reproduced' "
            "needs both on top and HMOX1 and VDR DE in both",
            claim_power=math.nan,
            claim_power_note="not measured (planted studies are single datasets)",
        )
    else:
        enr = [r for r in nulls if r.get("enriched")]
        p_enr = len(enr) / max(1, len(nulls))
        tested = [r for r in res if r["kind"] == "null" and r.get("null_run")]
        yes = sum(r["claim"] == "reproduced" for r in tested)
        cond = yes / len(tested) if tested else (0.0 if not enr else math.nan)
        # upper bound: the product of the two one-sided 97.5% Clopper-Pearson bounds (P(enriched), and
        # P(p <= alpha | enriched), 1 when no enriched study was tested): >= 95% coverage by Bonferroni
        _, enr_hi = _cp(len(enr), len(nulls))
        chi = _cp(yes, len(tested))[1] if tested else 1.0
        row.update(
            claim="tissue",
            n_claim_null=len(nulls),
            fpr_claim=p_enr * cond,
            fpr_claim_ci_high=enr_hi * chi,
            claim_note=(
                f"selected analysis enriched in {len(enr)} of {len(nulls)} null studies; the "
                f"selection-aware null run on {len(tested)} of them gave p <= {alpha} in {yes}; "
                "rate = P(enriched) x P(p <= alpha | enriched); upper bound = the product of the two "
                "one-sided 97.5% bounds"
            ),
        )
        ptested = [r for r in res if r["kind"] == "planted" and r.get("null_run")]
        penr = [r for r in planted.get(headline, []) if r.get("enriched")]
        pe = len(penr) / max(1, len(planted.get(headline, [])))
        pyes = sum(r["claim"] == "reproduced" for r in ptested)
        row.update(
            claim_power=pe * (pyes / len(ptested)) if ptested else math.nan,
            claim_power_note=f"at the headline effect: enriched in {len(penr)} of "
            f"{len(planted.get(headline, []))}; selection-aware null p <= {alpha} in "
            f"{pyes} of {len(ptested)} tested",
        )
    return row


def _null_yes(r: dict, alpha: float) -> bool | None:
    """Did the study's selection-aware null reject (``claim_tests.selection_null`` said yes)? None: not run.
    Studies recorded before ``null_answer`` was stored have ``null_p`` only: a p is given only by an
    informative null, whose smallest possible p is <= p, so p <= alpha is exactly that null's yes."""
    if "null_answer" in r:
        return r["null_answer"] == "yes"
    if r.get("null_run"):
        p = r.get("null_p")
        return p is not None and not math.isnan(float(p)) and float(p) <= alpha
    return None


def study_calls(r: dict, method: str, *, max_fdr: float, alpha: float, selected: bool) -> list[dict]:
    """Per dataset of a study judged by ``method``: on top / enriched as the verdict says (raw), and as
    the claims count them (``claim_tests.qualify_by_selection``): in a dataset whose patients were selected
    by expression (``selected``) a yes counts only when the selection-aware null rejects; True / False, or
    None when that null was not run."""
    out = []
    for st, rec in zip(r["statuses"], r["records"]):
        if method not in st:
            continue
        x = rec.get(method) or {}
        on_top = st[method] == "on_top"
        enriched = _enriched(x, max_fdr)
        gate = _null_yes(r, alpha) if selected and (on_top or enriched) else True
        out.append(
            {
                "on_top": on_top,
                "enriched": enriched,
                "on_top_counted": gate if on_top else False,  # None: the null was not run
                "enriched_counted": gate if enriched else False,
            }
        )
    return out


def _tally(rs: list[dict], method: str, test: str, **kw) -> tuple[int, int, int, int]:
    """(n datasets, raw yes, yes as counted, yes whose selection-aware null was not run)."""
    calls = [c for r in rs for c in study_calls(r, method, **kw)]
    return (
        len(calls),
        sum(c[test] for c in calls),
        sum(bool(c[f"{test}_counted"]) for c in calls),
        sum(c[f"{test}_counted"] is None for c in calls),
    )


def as_counted(
    nulls: list[dict], planted: dict, method: str, *, max_fdr: float, alpha: float, selected: bool, headline: float
) -> dict:
    """The false-positive rate and power as the claims count them (``fpr_counted``, ``power_counted_by_effect``
    ...; the raw figures are the table's other columns): in a cohort selected by expression a method's "on top"
    or "enriched" counts only where the selection-aware set_score null (one per study, method-independent)
    gives p <= alpha. A figure whose studies' nulls were not all run is left out (NaN / absent effect) and
    ``counted_note`` gives its bounds (untested counted as no, as yes)."""
    kw = {"max_fdr": max_fdr, "alpha": alpha, "selected": selected}
    notes = []

    def rate(rs, test, what):
        n, raw, k, miss = _tally(rs, method, test, **kw)
        if miss:
            notes.append(
                f"{what}: selection-aware null not run on {miss} of the {raw} called {test.replace('_', ' ')}: "
                f"as counted between {k}/{n} and {k + miss}/{n}"
            )
            return n, None
        return n, k

    out: dict = {}
    n, k = rate(nulls, "on_top", "null studies")
    lo, hi = _cp(k, n) if k is not None else (math.nan, math.nan)
    out.update(fpr_counted=k / n if k is not None and n else math.nan, fpr_counted_ci_low=lo, fpr_counted_ci_high=hi)
    n, k = rate(nulls, "enriched", "null studies")
    out.update(
        fpr_enriched_counted=k / n if k is not None and n else math.nan,
        fpr_enriched_counted_ci_high=_cp(k, n)[1] if k is not None else math.nan,
    )
    for test, col in (("on_top", "power_counted_by_effect"), ("enriched", "enriched_counted_by_effect")):
        parts = []
        for lfc, rs in planted.items():
            n, k = rate(rs, test, f"|log2FC| {lfc:g}")
            if k is not None and n:
                parts.append(dataset_calibration.by_effect_part(lfc, k, n))
                if test == "on_top" and lfc == headline:
                    out.update(
                        power_counted=k / n, power_counted_ci_low=_cp(k, n)[0], power_counted_ci_high=_cp(k, n)[1]
                    )
        out[col] = ";".join(parts)
    if not selected:
        notes.insert(0, "no selection by expression: as counted = as called")
    else:
        notes.insert(
            0,
            f"patients selected by expression: a method's 'on top' or 'enriched' counts only where the "
            f"selection-aware set_score null gives p <= {alpha} (claim_tests.qualify_by_selection)",
        )
    out["counted_note"] = "; ".join(notes)
    return out


def _merge(results: list[dict], extra: list[dict]) -> list[dict]:
    """Replace the rows re-run with the null."""
    key = {(r["scenario"], r["kind"], r["seed"]): r for r in extra}
    return [key.get((r["scenario"], r["kind"], r["seed"]), r) for r in results]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 null and 4 planted studies per scenario, small genome")
    ap.add_argument("--null", type=int, default=200, help="null studies per scenario")
    ap.add_argument("--planted", type=int, default=200, help="planted studies per scenario and effect size")
    ap.add_argument("--effects", type=float, nargs="+", default=[1.0, 2.0, 3.0], help="|log2FC| grid")
    ap.add_argument("--headline", type=float, default=1.0, help="effect size reported as `power`")
    ap.add_argument("--fraction", type=float, default=0.3, help="share of the target's genes with the effect")
    ap.add_argument("--n-genes", type=int, default=15000, help="genes per simulated study (tissue: padded, see _setup)")
    ap.add_argument(
        "--methods",
        nargs="+",
        default=["ora_all", "ora_up", "ora_down", "camera", "gsea"],
        help="verdict methods judged on every study (gsea: pathverdict.enrichment.gsea_fast)",
    )
    ap.add_argument("--records", default=None, help="also write every study's verdict records (JSON lines)")
    ap.add_argument("--scenarios", nargs="*", default=None, choices=list(SCENARIOS), help="only these (default: all)")
    ap.add_argument(
        "--null-studies",
        type=int,
        default=40,
        help="enriched tissue studies per scenario x kind given the selection-aware null",
    )
    ap.add_argument("--max-permutations", type=int, default=None, help="default: the workflow's null.max_permutations")
    ap.add_argument("--engine", choices=["r_exact", "pydeseq2"], default="r_exact", help="de.engine of the studies' DE")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(REPO / "src" / "pathverdict" / "data" / "calibration.tsv"))
    ap.add_argument("--markdown", default=None, help="also write the table as markdown")
    ap.add_argument(
        "--from-records",
        nargs="+",
        default=None,
        help="summarise the studies of --records files again (same settings) instead of simulating",
    )
    ap.add_argument(
        "--selection-nulls",
        default=None,
        help="JSON lines of the tissue studies' selection-aware nulls (the as-counted rates): read, the missing "
        "ones run and appended",
    )
    ap.add_argument("--max-selection-nulls", type=int, default=None, help="run at most this many missing nulls")
    a = ap.parse_args(argv)
    if a.from_records:
        return _from_records(a)
    if a.quick:
        a.null, a.planted, a.effects, a.n_genes, a.null_studies = 3, 3, [1.0], 1500, 1
        a.max_permutations = a.max_permutations or 4
    started = time.monotonic()
    _setup(a.n_genes, a.seed, a.max_permutations, a.methods, a.engine)
    _STATE["fraction"] = a.fraction
    tasks = [
        t
        for sc in SCENARIOS
        if not a.scenarios or sc in a.scenarios
        for t in _tasks(sc, a.null, a.planted, a.effects, a.fraction, a.null_studies, a.seed)
    ]
    ctx = mp.get_context("fork")
    with ctx.Pool(a.processes) as pool:
        results = []
        for i, r in enumerate(pool.imap(_timed, tasks, chunksize=4), start=1):
            results.append(r)
            if i % 100 == 0:
                print(f"{i}/{len(tasks)} studies, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        t1 = time.monotonic()
        extra_tasks = _null_tasks(results, a.null_studies, a.headline)
        extra = pool.map(_timed, extra_tasks, chunksize=1)
        results = _merge(results, extra)
        # every other tissue study where some method says yes: its selection-aware null (the as-counted rates)
        t2 = time.monotonic()
        counted_tasks = _selection_null_tasks(results, a.headline, a.fraction)
        counted = pool.map(_timed, counted_tasks, chunksize=1)
    results = _attach_nulls(results, counted)
    table = summarise(results, a.effects, a.fraction, a.headline, a.n_genes)
    elapsed = time.monotonic() - started
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out, sep="\t", index=False, float_format="%.4g")
    if a.records:
        import json

        with open(a.records, "w") as fh:
            for r in results:
                fh.write(json.dumps(r, default=str) + "\n")
    show = table[
        [
            "scenario",
            "method",
            "design",
            "modules",
            "n_null",
            "fpr_on_top",
            "fpr_ci_high",
            "fpr_counted",
            "fpr_counted_ci_high",
            "inconclusive_null",
            "claim",
            "fpr_claim",
            "fpr_claim_ci_high",
            "fpr_metallothioneins",
            "n_planted",
            "power_by_effect",
            "power",
            "power_counted",
            "inconclusive_planted",
            "claim_power",
        ]
    ]
    text = show.to_markdown(index=False, floatfmt=".3f") if _has_tabulate() else show.to_string(index=False)
    cpu = pd.DataFrame(
        [
            {
                "scenario": r["scenario"],
                "kind": r["kind"],
                "null": r.get("null_run", "statuses" not in r),  # a study with its null, or a null alone
                "cpu_s": r.get("cpu_s", math.nan),
            }
            for r in results + extra + counted
        ]
    )
    per = cpu.groupby(["scenario", "kind", "null"])["cpu_s"].mean().round(2)
    print("CPU seconds per study (mean):\n" + per.to_string(), file=sys.stderr)
    header = (
        f"calibration: {len(tasks)} studies + {len(extra_tasks)} selection-aware nulls for the claim + "
        f"{len(counted_tasks)} for the as-counted rates, {a.processes} processes, {elapsed:.0f} s wall "
        f"({t1 - started:.0f} s before the nulls, {time.monotonic() - t2:.0f} s in the as-counted ones), "
        f"{cpu['cpu_s'].sum():.0f} CPU s in "
        f"the studies; n_genes {a.n_genes}; "
        f"planted on {a.fraction:.0%} of the target's genes; written to {a.out}"
    )
    print(header)
    print(text)
    for _, r in table[table["claim"].astype(str) != ""].iterrows():
        print(f"- {r['scenario']}: {r['claim']} claim: {r['claim_note']}; power: {r['claim_power_note']}")
    if a.markdown:
        Path(a.markdown).write_text(header + "\n\n" + text + "\n")
    return 0


def read_records(paths) -> list[dict]:
    """The studies of one or more ``--records`` files, a study (scenario, kind, seed) once: a later file
    adds its methods' verdicts to a study of an earlier one (e.g. a GSEA run on the first seeds of an ORA
    run) and never replaces them; the study's claims and nulls are the first file's."""
    import json

    studies: dict[tuple, dict] = {}
    for path in paths:
        with open(path) as fh:
            for line in fh:
                if not line.strip():
                    continue
                r = json.loads(line)
                b = studies.setdefault(_key(r), r)
                if b is r:
                    continue
                for st, rec, st2, rec2 in zip(b["statuses"], b["records"], r["statuses"], r["records"]):
                    for m in st2:
                        if m not in st:
                            st[m] = st2[m]
                            if m in rec2:
                                rec[m] = rec2[m]
    return list(studies.values())


def read_nulls(path) -> list[dict]:
    import json

    if not path or not Path(path).exists():
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_missing_nulls(results: list[dict], a) -> list[dict]:
    """Run (one process) the selection-aware nulls the as-counted rates need and the ``--selection-nulls``
    file does not hold yet, appending each to the file as it finishes (a run cut off keeps what it did);
    at most ``--max-selection-nulls``. Returns the file's nulls."""
    import json

    have = read_nulls(a.selection_nulls)
    tasks = _selection_null_tasks(_attach_nulls(results, have), a.headline, a.fraction)
    if a.max_selection_nulls is not None:
        tasks = tasks[: a.max_selection_nulls]
    started, cpu = time.monotonic(), 0.0
    for i, task in enumerate(tasks, start=1):
        out = _timed(task)
        cpu += out["cpu_s"]
        with open(a.selection_nulls, "a") as fh:
            fh.write(json.dumps(out) + "\n")
        have.append(out)
        if i % 10 == 0 or i == len(tasks):
            print(
                f"{i}/{len(tasks)} selection-aware nulls, {time.monotonic() - started:.0f} s wall, {cpu:.0f} CPU s",
                file=sys.stderr,
                flush=True,
            )
    return have


def _from_records(a) -> int:
    results = read_records(a.from_records)
    _setup(a.n_genes, a.seed, a.max_permutations, a.methods, a.engine)
    _STATE["fraction"] = a.fraction
    if a.selection_nulls:
        results = _attach_nulls(results, run_missing_nulls(results, a))
    table = summarise(results, a.effects, a.fraction, a.headline, a.n_genes)
    table.to_csv(a.out, sep="\t", index=False, float_format="%.4g")
    text = readme_table(table)
    print(f"{len(results)} studies from {', '.join(a.from_records)}; written to {a.out}")
    print(text)
    if a.markdown:
        Path(a.markdown).write_text(text + "\n")
    return 0


def _cell(k: int, n: int, lo: float, hi: float) -> str:
    return f"{k}/{n} = {k / n:.3f} ({lo:.3f}-{hi:.3f})" if n else "-"


def readme_table(table: pd.DataFrame) -> str:
    """The table of benchmarks/README.md: per scenario and method the false 'on top' and the power at each
    effect, as called (the verdict's status) and as counted (the claims' rule in a cohort selected by expression)."""
    rows = []
    for _, r in table.iterrows():
        raw = dataset_calibration.parse_by_effect(r["power_by_effect"])
        cnt = dataset_calibration.parse_by_effect(r.get("power_counted_by_effect", "") or "")
        k, n = int(round(r["fpr_on_top"] * r["n_null"])), int(r["n_null"])
        row = {
            "scenario": r["scenario"],
            "method": r["method"],
            "false 'on top', as called (95% upper)": f"{k}/{n} = {r['fpr_on_top']:.3f} (≤ {r['fpr_ci_high']:.3f})",
        }
        fc = r.get("fpr_counted", math.nan)
        row["as counted (95% upper)"] = (
            "not computed" if pd.isna(fc) else f"{int(round(fc * n))}/{n} = {fc:.3f} (≤ {r['fpr_counted_ci_high']:.3f})"
        )
        for e in sorted(raw):
            row[f"power \\|log2FC\\| {e:g}, as called"] = _cell(*raw[e])
            row[f"as counted ({e:g})"] = _cell(*cnt[e]) if e in cnt else "not computed"
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.to_markdown(index=False) if _has_tabulate() else out.to_string(index=False)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401

        return True
    except ImportError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
