"""The engine sensitivity (sensitivity.tsv, variant ``engine:<other engine>``): each row's statement
against the two engines' verdicts computed directly.

A small planted dataset (400 real human genes, the KEGG target planted, 3 vs 3) goes through the
workflow's own steps twice, once per DE engine -- prepare, DE (``steps.de.run_de``), ORA, GSEA,
CAMERA (``steps.enrichment``) and the verdict (``steps.verdict.make_verdict``) -- and the engine
sensitivity step (``steps.robustness.engine_sensitivity``) is then run both ways (configured
r_exact with pydeseq2 as the other engine, and the reverse): every row must give the other
engine's own verdict (status, rank, FDR) and say "same status" exactly when the two verdicts
agree, "status changes" (from -> to) otherwise.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TARGET, config_defaults, make_tiny_dataset

from pathverdict.judgement import claims, sensitivity
from pathverdict.judgement.engine_sensitivity import CHANGES, call_agreement
from pathverdict.judgement.verdict import read_verdict
from pathverdict.steps import enrichment as enrich_steps
from pathverdict.steps.de import run_de
from pathverdict.steps.prepare import prepare_dataset, prepare_genesets
from pathverdict.steps.robustness import combine_sensitivity, engine_sensitivity
from pathverdict.steps.verdict import make_verdict

LIB = "KEGG_2021_Human"
DE = config_defaults("de")
ENRICHMENT = config_defaults("enrichment", gsea_permutations=100, seed=3)
VERDICT = config_defaults("verdict")
DATASET_CONFIG = {"design": "~condition", "contrast": ["condition", "Treated", "Control"]}


def _prepare(tmp, ds, annotation_path, kegg_path) -> dict:
    out = {"counts": tmp / "input/counts.tsv.gz", "samples": tmp / "samples.tsv", "genes": tmp / "input/gene_ids.tsv"}
    (tmp / "input").mkdir(parents=True)
    prepare_dataset(
        dataset="tiny",
        dataset_config=dict(DATASET_CONFIG),
        counts=str(ds.counts_path),
        samples=str(ds.samples_path),
        annotation=str(annotation_path),
        out_counts=str(out["counts"]),
        out_samples=str(out["samples"]),
        out_genes=str(out["genes"]),
        out_info=str(tmp / "input/prepare.json"),
    )
    out["gmt"] = tmp / f"{LIB}.gmt"
    prepare_genesets(library=str(kegg_path), library_name=LIB, out_gmt=str(out["gmt"]), out_info=str(tmp / "lib.json"))
    return {k: str(v) for k, v in out.items()}


def _verdict_of(tmp, engine: str, files: dict) -> dict:
    """The workflow's DE, enrichment and verdict of the dataset with ``engine``, step by step."""
    d = tmp / engine
    d.mkdir()
    p = {name: str(d / name) for name in ("de.tsv", "norm.tsv.gz", "vst.tsv.gz", "de.json", "verdict.tsv")}
    run_de(
        dataset="tiny",
        dataset_config=DATASET_CONFIG,
        de=dict(DE, engine=engine),
        counts=files["counts"],
        samples=files["samples"],
        genes=files["genes"],
        out_de=p["de.tsv"],
        out_normalized=p["norm.tsv.gz"],
        out_vst=p["vst.tsv.gz"],
        out_summary=p["de.json"],
    )
    common = dict(dataset="tiny", de=p["de.tsv"], gmts=[files["gmt"]], libraries=[LIB], enrichment=ENRICHMENT)
    t = {f: str(d / f"{f}.tsv") for f in ("up", "down", "all", "camera", "gsea")}
    enrich_steps.run_ora(**common, out_up=t["up"], out_down=t["down"], out_all=t["all"], out_info=str(d / "ora.json"))
    enrich_steps.run_gsea(**common, out_gsea=t["gsea"])
    enrich_steps.run_camera(
        **common, dataset_config=DATASET_CONFIG, vst=p["vst.tsv.gz"], samples=files["samples"], out_camera=t["camera"]
    )
    make_verdict(
        datasets=["tiny"],
        de=[p["de.tsv"]],
        ora_up=[t["up"]],
        ora_down=[t["down"]],
        ora_all=[t["all"]],
        ora_info=[str(d / "ora.json")],
        gsea=[t["gsea"]],
        camera=[t["camera"]],
        gene_ids=[files["genes"]],
        gmts=[files["gmt"]],
        libraries=[LIB],
        target=TARGET,
        verdict_settings=VERDICT,
        alpha=0.05,
        out_tsv=p["verdict.tsv"],
        out_genes=str(d / "genes.tsv"),
        out_md=str(d / "verdict.md"),
        out_html=str(d / "verdict.html"),
    )
    return p


def _engine_rows(tmp, files, configured: dict, other: dict, names: tuple[str, str], gsea: bool = True) -> pd.DataFrame:
    out = tmp / f"engine_{names[0]}_{names[1]}.tsv"
    return engine_sensitivity(
        dataset="tiny",
        dataset_config=DATASET_CONFIG,
        de=other["de.tsv"],
        vst=other["vst.tsv.gz"],
        base_de=configured["de.tsv"],
        verdict=configured["verdict.tsv"],
        samples=files["samples"],
        gmts=[files["gmt"]],
        libraries=[LIB],
        target=TARGET,
        engine=names[0],
        other=names[1],
        enrichment=ENRICHMENT,
        verdict_settings=VERDICT,
        alpha=0.05,
        sensitivity={"enabled": True, "gsea": gsea, "engine": True},
        out_tsv=str(out),
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory, gene_pool, annotation_path, kegg_path):
    tmp = tmp_path_factory.mktemp("engines")
    ds = make_tiny_dataset(tmp / "data", gene_pool, n_genes=400, reps=3, seed=11)
    files = _prepare(tmp / "prepared", ds, annotation_path, kegg_path)
    return tmp, files, {e: _verdict_of(tmp, e, files) for e in ("r_exact", "pydeseq2")}


@pytest.mark.parametrize("configured,other", [("r_exact", "pydeseq2"), ("pydeseq2", "r_exact")])
def test_each_engine_row_states_the_two_engines_verdicts(runs, configured, other):
    tmp, files, paths = runs
    rows = _engine_rows(tmp, files, paths[configured], paths[other], (configured, other))
    mine, theirs = read_verdict(paths[configured]["verdict.tsv"]), read_verdict(paths[other]["verdict.tsv"])
    assert list(rows.columns) == sensitivity.COLUMNS
    assert sorted(rows["method"]) == sorted(mine["method"])  # every method of the verdict: ORA x 3, GSEA, CAMERA
    assert set(rows["variant"]) == {f"engine:{other}"} and set(rows["dataset"]) == {"tiny"}
    for r in rows.itertuples():
        base = mine[(mine["library"] == r.library) & (mine["method"] == r.method)].iloc[0]
        direct = theirs[(theirs["library"] == r.library) & (theirs["method"] == r.method)].iloc[0]
        # the row is the other engine's own verdict
        assert r.status == direct["status"], (r.method, r.detail)
        assert (pd.isna(r.rank) and pd.isna(direct["rank"])) or r.rank == direct["rank"], r.method
        assert (pd.isna(r.fdr) and pd.isna(direct["fdr"])) or r.fdr == pytest.approx(
            direct["fdr"], rel=1e-5
        )  # verdict.tsv: 6 digits
        # and says whether the status changes
        if base["status"] == direct["status"]:
            assert r.detail.startswith(f"same status as with {configured}"), r.detail
        else:
            assert r.detail.startswith(f"{CHANGES}: {base['status']} with {configured}"), r.detail
            assert f"{direct['status']} with {other}" in r.detail
    # the planted target is on top by ORA of all DE genes with both engines
    assert rows.set_index("method").loc["ora_all", "status"] == "on_top"
    # the DE calls of the two engines, as the detail gives them
    a = call_agreement(
        pd.read_csv(paths[configured]["de.tsv"], sep="\t"), pd.read_csv(paths[other]["de.tsv"], sep="\t"), 0.05
    )
    assert 90 <= a["agree_pct"] <= 100 and f"the same call for {a['agree_pct']:.2f}% of the" in rows["detail"].iloc[0]


def test_a_changed_status_is_said_so(runs, gene_pool, annotation_path, kegg_path):
    """The wording when the two verdicts differ: the configured engine's (pydeseq2) verdict of the
    planted dataset against the other engine's (r_exact) DE of a dataset with no effect (identical
    groups: no DE gene, so the ORA verdicts are inconclusive) -- a real change of status, from on_top."""
    tmp, files, paths = runs
    null = make_tiny_dataset(tmp / "null_data", gene_pool, n_genes=400, reps=3, seed=11, identical_groups=True)
    null_files = _prepare(tmp / "null_prepared", null, annotation_path, kegg_path)
    other = _verdict_of(tmp / "null_prepared", "r_exact", null_files)
    rows = _engine_rows(tmp, null_files, paths["pydeseq2"], other, ("pydeseq2", "r_exact"), gsea=False)
    ora_all = rows.set_index("method").loc["ora_all"]
    assert ora_all["status"] == "inconclusive"
    assert ora_all["detail"].startswith(f"{CHANGES}: on_top with pydeseq2 (the verdict: rank 1 of ")
    assert "inconclusive with r_exact" in ora_all["detail"]
    gsea = rows.set_index("method").loc["gsea"]
    assert gsea["status"] == sensitivity.NOT_TESTED and "sensitivity.gsea: false" in gsea["detail"]
    # the claims' sentence and the claims page's variant name
    table = sensitivity.typed(rows)
    sentence = sensitivity.sentence(table, "tiny", LIB, "ora_all")
    assert "DE engine r_exact: inconclusive" in sentence and "(status changes)" in sentence
    assert claims.variant_text("engine:pydeseq2") == "DE engine pydeseq2"


def test_combined_table_keeps_each_datasets_rows_together(runs, tmp_path):
    """combine_sensitivity puts every dataset's engine rows after its other rows (and reads back what it wrote)."""
    tmp, files, paths = runs
    engine_rows = _engine_rows(tmp, files, paths["r_exact"], paths["pydeseq2"], ("r_exact", "pydeseq2"), gsea=False)
    other = engine_rows.assign(dataset="second")
    parts = {}
    for name, t in (("a_engine", engine_rows), ("b_engine", other)):
        parts[name] = tmp_path / f"{name}.tsv"
        t.to_csv(parts[name], sep="\t", index=False)
    base = engine_rows.assign(variant="release:" + LIB, detail="x")
    for name, t in (("a", base), ("b", base.assign(dataset="second"))):
        parts[name] = tmp_path / f"{name}.tsv"
        t.to_csv(parts[name], sep="\t", index=False)
    genes = tmp / "r_exact" / "genes.tsv"  # verdict_genes.tsv of the r_exact run
    table, _ = combine_sensitivity(
        tables=[str(parts["a"]), str(parts["b"])],
        engine_tables=[str(parts["b_engine"]), str(parts["a_engine"])],
        genes=str(genes),
        roles={"tiny": "cells_overexpression", "second": "other"},
        out_tsv=str(tmp_path / "sensitivity.tsv"),
        out_directions=str(tmp_path / "directions.tsv"),
    )
    order = list(zip(table["dataset"], table["variant"].str.split(":").str[0]))
    assert order == sorted(order, key=lambda x: (x[0] != "tiny", x[1] == "engine"))
    pd.testing.assert_frame_equal(sensitivity.read_sensitivity(tmp_path / "sensitivity.tsv"), table, rtol=1e-5)
