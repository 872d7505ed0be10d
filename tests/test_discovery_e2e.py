"""End to end: discovery against a local E-utilities/GEO/Enrichr/NCBI server, then the draft config
(with `review: true` removed) run by the workflow -- two human series and a mouse one.

The counts are simulated from parameters fitted on real data (li2008; tests/organism_twins.py):
GSE200001 as NCBI-generated counts (Entrez GeneIDs), GSE200002 as the authors' table (Ensembl IDs),
GSE200003 as a mouse table (mouse Ensembl IDs of one-to-one orthologs), each with the target
pathway's effect planted.
"""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
import yaml

import discovery_series as series
from conftest import run_snakemake
from fixtures_http import Reply, http_server, http_server_module  # noqa: F401
from organism_twins import MOUSE_ANNOTATION, mouse_library_text, one_to_one, simulate_human, to_mouse_ids
from pathverdict import discover

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

PLANTED = {
    "n_per_group": 3,
    "effect": True,
    "log2fc": 1.0,
    "fraction": 0.5,
    "background": {"fraction": 0.1, "log2fc_sd": 0.8},
}


def _as_series(counts: pd.DataFrame, sheet: pd.DataFrame, acc: str, perturbed_first: list[bool]) -> pd.DataFrame:
    """The simulated samples under the series' GSM accessions: treated -> perturbed, control -> control."""
    treated = list(sheet.loc[sheet["condition"] == "treated", "sample"])
    control = list(sheet.loc[sheet["condition"] == "control", "sample"])
    names = {}
    for gsm, pert in zip(series.gsm_ids(acc), perturbed_first):
        names[(treated if pert else control).pop(0)] = gsm
    return counts.rename(columns=names)[series.gsm_ids(acc)]


def _human_gene_info(shared, keep_ensembl: set[str]) -> bytes:
    """NCBI gene_info layout (Homo_sapiens.gene_info.gz) of the shared human annotation's genes in the data."""
    ann = pd.read_csv(shared / "annotation/human_gene_info.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    ann = ann[ann["Ensembl"].str.split(";").map(lambda ids: any(i in keep_ensembl for i in ids))]
    rows = [
        "\t".join(
            [
                "9606",
                r.GeneID,
                r.Symbol,
                "-",
                "-",
                "|".join(f"Ensembl:{e}" for e in r.Ensembl.split(";")),
                "-",
                "-",
                "-",
                r.GeneType or "-",
                "-",
                "-",
                "-",
                "-",
                "20240101",
                "-",
            ]
        )
        for r in ann.itertuples()
    ]
    header = (
        "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\tdescription\ttype_of_gene\t"
        "Symbol_from_nomenclature_authority\tFull_name_from_nomenclature_authority\tNomenclature_status\t"
        "Other_designations\tModification_date\tFeature_type"
    )
    return gzip.compress(("\n".join([header, *rows]) + "\n").encode(), mtime=0)


def _to_entrez(shared, counts: pd.DataFrame) -> pd.DataFrame:
    ann = pd.read_csv(shared / "annotation/human_gene_info.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    ann = ann[ann["Ensembl"].str.match(r"^ENSG\d{11}$")].assign(n=lambda a: a["GeneID"].astype(int)).sort_values("n")
    to_gene = dict(zip(ann["Ensembl"][::-1], ann["GeneID"][::-1]))  # smallest GeneID per Ensembl ID
    out = counts[counts.index.isin(list(to_gene))].copy()
    out.index = [to_gene[e] for e in out.index]
    out = out[~out.index.duplicated()]
    out.index.name = "GeneID"
    return out


def test_discovered_draft_runs_end_to_end(shared, tmp_path, http_server, monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    sims = simulate_human(shared, tmp_path, {"kd": PLANTED, "oe": PLANTED, "ko": PLANTED}, n_genes=3000)
    alternate = [True, False] * 3  # GSE200001: shMEIS1, shControl, ...
    blocks = [True] * 3 + [False] * 3
    kd = _to_entrez(shared, _as_series(*sims["kd"], "GSE200001", alternate))
    oe = _as_series(*sims["oe"], "GSE200002", blocks)
    oe.index.name = "gene_id"
    ko = to_mouse_ids(_as_series(*sims["ko"], "GSE200003", blocks))
    series.serve(http_server, {"GSE200001": kd, "GSE200002": oe, "GSE200003": ko})
    genes = set().union(*(set(c.index) for c, _ in sims.values()))
    http_server.route("/gene/Homo_sapiens.gene_info.gz", Reply(200, _human_gene_info(shared, genes)))
    human_kegg = shared / "genesets" / "KEGG_2021_Human.txt"
    libs = {"KEGG_2021_Human": human_kegg.read_text(), "KEGG_2019_Mouse": mouse_library_text(human_kegg, one_to_one())}
    for name, text in libs.items():
        http_server.route(
            f"/Enrichr/geneSetLibrary?mode=text&libraryName={name}", Reply(200, text, content_type="text/plain")
        )

    work = tmp_path / "work"
    work.mkdir()
    settings = work / "discover.yaml"
    settings.write_text(
        yaml.safe_dump(
            {
                "study": "meis1_public",
                "out_dir": str(work / "discovery"),
                "libraries": {
                    "KEGG": {"human": {"enrichr": "KEGG_2021_Human"}, "mouse": {"enrichr": "KEGG_2019_Mouse"}}
                },
                # the mouse genes of the test data are in Ensembl's layout (tests/data/organisms/README.md)
                "organisms_config": {"mouse": {"annotation": str(MOUSE_ANNOTATION)}},
                "downloads": {"cache_dir": str(work / "resources" / "downloads"), "retries": 0, "timeout": 10},
                "base_urls": series.base_urls(http_server),
            }
        )
    )
    result = discover.run(settings, min_interval=0)
    assert result["kept"] == 3
    draft = result["draft"]
    rc, out = run_snakemake(work, None, "-n", "--configfile", str(draft))
    assert rc != 0 and "discovery drafts marked `review: true`" in out and "datasets.GSE200003: check" in out

    # the reviewer's part: checks made, flags removed (nothing else changed)
    draft.write_text("".join(ln for ln in draft.read_text().splitlines(True) if ln.strip() != "review: true"))
    # a second config file: fewer permutations and no engine sensitivity (its pydeseq2 DE of the three
    # series: tests/test_engines_e2e.py) for the test's time
    fast = work / "fast.yaml"
    fast.write_text(
        "enrichment: {gsea_permutations: 100}\n'null': {max_permutations: 10, methods: [ora_all]}\n"
        "sensitivity: {engine: false}\n"
        # the per-dataset calibration at its smallest (a mouse dataset's calibrate_dataset job, not the figures)
        "calibration: {null_simulations: 2, planted_simulations: 2, effects: [1]}\n"
    )
    rc, out = run_snakemake(work, None, "--configfile", str(draft), str(fast), cores=2, timeout=900)
    assert rc == 0, out[-4000:]
    res = work / "results" / "meis1_public"
    verdict = pd.read_csv(res / "verdict.tsv", sep="\t")
    assert sorted(set(verdict["dataset"])) == ["GSE200001", "GSE200002", "GSE200003"]
    assert set(verdict["library"]) == {"KEGG"}
    status = verdict[verdict["method"] == "ora_all"].set_index("dataset")["status"].to_dict()
    assert status == {"GSE200001": "on_top", "GSE200002": "on_top", "GSE200003": "on_top"}, status
    mouse = json.loads((res / "GSE200003" / "input" / "prepare.json").read_text())
    assert mouse["id_mapping"]["id_type"] == "ensembl" and mouse["id_mapping"]["mapping_rate"] > 0.99
    genes = pd.read_csv(res / "verdict_genes.tsv", sep="\t")
    assert {"Hmox1", "Vdr"} <= set(genes.loc[genes["dataset"] == "GSE200003", "symbol"])
    assert (work / "resources" / "meis1_public" / "genesets" / "mouse" / "KEGG.gmt").is_file()
    assert "Study:" in out
    # the draft's claim over the three perturbations (human and mouse): one pooled answer
    from pathverdict.judgement import replication

    rep = replication.read_replication(res / "replication.tsv")
    pooled = rep[(rep["claim"] == "perturbation") & (rep["kind"] == "pooled")].iloc[0]
    assert pooled["answer"] == "replicated" and pooled["k"] == 3 and pooled["on_top"] == 3, pooled.to_dict()
    assert 'id="replication-forest"' in (res / "replication.html").read_text()
    assert "Replication across datasets: perturbation replicated (pooled effect" in out
