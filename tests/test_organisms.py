"""Organisms (issue 23, part 2): a dataset's organism picks its annotation, libraries and claim
genes; a mouse twin of a simulated human dataset gets the same verdict and the same claims answer,
with the claims' genes and gene families given per organism or mapped through an ortholog table."""

from __future__ import annotations


import pandas as pd
import pytest

from organism_twins import MOUSE_ANNOTATION, ORTHOLOGS, mouse_library_text, one_to_one, simulate_human, to_mouse_ids
from pathverdict import genesets, organisms
from pathverdict.config import validate_config
from pathverdict.errors import InputError
from pathverdict.judgement import claim_specs, claims
from pathverdict.sources import annotation
from test_claims_config import grow, vrow


def config(**over) -> dict:
    cfg = {
        "datasets": {
            "hs": {"counts": "hs.tsv", "samples": "s.tsv", "design": "~condition", "contrast": ["condition", "b", "a"]},
            "mm": {
                "counts": "mm.tsv",
                "samples": "s.tsv",
                "design": "~condition",
                "contrast": ["condition", "b", "a"],
                "organism": "mouse",
            },
        },
        "genesets": {
            "KEGG": {"human": {"enrichr": "KEGG_2021_Human"}, "mmu": {"enrichr": "KEGG_2019_Mouse"}},
            "KEGG_current": {"kegg_rest": "hsa"},
        },
        "target_pathway": "Mineral absorption",
        "annotation": {"ncbi_gene_info": "Homo_sapiens.gene_info.gz"},
    }
    cfg.update(over)
    return cfg


def test_each_organism_gets_its_annotation_libraries_and_claim_genes():
    cfg = validate_config(config())
    assert cfg["datasets"]["hs"]["organism"] == "human" and cfg["datasets"]["mm"]["organism"] == "mouse"
    assert cfg["annotations"] == {
        "human": {"ncbi_gene_info": "Homo_sapiens.gene_info.gz"},
        "mouse": {"ncbi_gene_info": "Mus_musculus.gene_info.gz"},
    }
    assert cfg["library_keys"] == {
        "human": {"KEGG": "KEGG", "KEGG_current": "KEGG_current"},
        "mouse": {"KEGG": "mouse/KEGG", "KEGG_current": "mouse/KEGG_current"},
    }
    # a KEGG REST library follows the dataset's organism; an Enrichr one is given per organism
    assert cfg["library_sources"]["mouse/KEGG_current"] == {"kegg_rest": "mmu"}
    assert cfg["library_sources"]["mouse/KEGG"] == {"enrichr": "KEGG_2019_Mouse"}
    assert cfg["verdict"]["genes"]["mouse"] == ["Hmox1", "Vdr"]
    assert cfg["verdict"]["gene_patterns"]["mouse"] == ["^Mt[1-4]$"]
    assert list(cfg["verdict"]["genes"])[0] == "human"  # the study organism first: the default of a setting


def test_a_mouse_study_by_kegg_code_and_a_list_of_genes():
    cfg = config(organism="mmu")
    cfg["datasets"].pop("hs")
    cfg["genesets"] = {"KEGG_current": {"kegg_rest": "mmu"}}
    cfg["verdict"] = {"genes": ["Hmox1"]}
    out = validate_config(cfg)
    assert out["organism"] == "mouse" and out["library_keys"] == {"mouse": {"KEGG_current": "KEGG_current"}}
    assert out["annotations"] == {"mouse": {"ncbi_gene_info": "Homo_sapiens.gene_info.gz"}}  # the study's own
    assert out["verdict"]["genes"]["mouse"] == ["Hmox1"]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c["genesets"].update(KEGG={"enrichr": "KEGG_2021_Human"}),
            "genesets.KEGG has no source for organism mouse",
        ),
        (lambda c: c["datasets"]["mm"].update(organism="martian"), "organism 'martian' is not known"),
        (lambda c: c["datasets"]["mm"].update(organism="dre"), "organism 'dre' is not known"),
        (
            lambda c: (
                c["datasets"]["mm"].update(organism="zebrafish"),
                c.update(organisms={"zebrafish": {"kegg": "dre"}}),
            ),
            "zebrafish, which has no annotation",
        ),
        (
            lambda c: (c["datasets"]["mm"].update(organism="rat"), c["genesets"].pop("KEGG")),
            "verdict.genes has no entry for organism rat",
        ),
        (lambda c: c.update(verdict={"gene_patterns": {"mouse": ["^Mt[1-4"]}}), "is not a regular expression"),
    ],
)
def test_organism_errors_name_the_key_and_the_fix(change, message):
    cfg = config()
    change(cfg)
    with pytest.raises(InputError, match="Fix" if "regular" not in message else "gene_patterns") as err:
        validate_config(cfg)
    assert message in str(err.value)


def test_any_organism_with_a_kegg_code():
    cfg = config(organisms={"zebrafish": {"kegg": "dre", "annotation": "Danio_rerio.gene_info.gz"}})
    cfg["datasets"]["mm"]["organism"] = "dre"
    cfg["genesets"]["KEGG"]["zebrafish"] = "KEGG_dre.gmt"
    cfg["verdict"] = {"genes": {"zebrafish": ["hmox1a"]}, "gene_patterns": {"zebrafish": ["^mt2$"]}}
    out = validate_config(cfg)
    assert out["datasets"]["mm"]["organism"] == "zebrafish"
    assert out["library_sources"]["zebrafish/KEGG_current"] == {"kegg_rest": "dre"}
    assert out["annotations"]["zebrafish"] == {"file": "Danio_rerio.gene_info.gz"}
    assert out["library_sources"]["zebrafish/KEGG"] == {"file": "KEGG_dre.gmt"}


def test_a_draft_is_refused_with_what_to_check():
    cfg = config()
    cfg["datasets"]["mm"].update(review=True, review_checks=["the groups are the knockout and its control"])
    with pytest.raises(InputError) as err:
        validate_config(cfg, source="draft.yaml")
    msg = str(err.value)
    assert "datasets.mm: check the groups are the knockout and its control" in msg
    assert "remove `review: true`" in msg and "datasets.hs" not in msg
    assert validate_config(cfg, allow_review=True)["datasets"]["mm"]["review"] is True


def test_target_by_kegg_id_of_another_organism(tmp_path):
    gmt = tmp_path / "mmu.gmt"
    gmt.write_text("Mineral absorption\tmmu04978\tHmox1\tVdr\nApoptosis\tmmu04210\tCasp3\n")
    lib = genesets.read_library(gmt, "KEGG_mmu")
    assert lib.find("hsa04978") == "Mineral absorption" and lib.ids["Mineral absorption"] == "mmu04978"
    enrichr = tmp_path / "KEGG_2019_Mouse.txt"
    enrichr.write_text("Mineral absorption Mus musculus mmu04978\t\tHmox1\tVdr\n")
    lib = genesets.read_library(enrichr, "KEGG_2019_Mouse")
    assert list(lib.sets) == ["Mineral absorption"] and lib.find("map04978") == "Mineral absorption"


def test_mouse_annotation_in_ensembl_biomart_layout():
    ann = annotation.load_annotation(MOUSE_ANNOTATION)
    assert ann.ensembl_to_symbol["ENSMUSG00000005413"] == "Hmox1"
    assert ann.ensembl_to_symbol["ENSMUSG00000022479"] == "Vdr"
    result = annotation.map_ids(["ENSMUSG00000005413.7", "ENSMUSG00000020160", "ENSMUSG99999999999"], ann)
    assert result.id_type == "ensembl" and list(result.table["symbol"][:2]) == ["Hmox1", "Meis1"]
    with pytest.raises(
        InputError, match=r"prefix ENSG are.*annotation's start with ENSMUSG.*set the dataset's `organism`"
    ):
        annotation.map_ids(["ENSG00000100292", "ENSG00000111424"], ann, "ensembl")


def test_human_symbols_and_patterns_to_mouse_orthologs():
    pairs = organisms.ortholog_pairs(pd.read_csv(ORTHOLOGS, sep="\t", dtype=str, keep_default_na=False))
    got = organisms.orthologous_symbols(["HMOX1", "VDR", "NOTAGENE"], pairs)
    assert got == {"HMOX1": ["Hmox1"], "VDR": ["Vdr"], "NOTAGENE": []}
    mts = organisms.orthologous_symbols(None, pairs, pattern=r"^MT1[A-Z0-9]*$|^MT2A$")
    assert mts["MT1A"] == ["Mt1"] and mts["MT2A"] == ["Mt2"]
    assert set(sum(mts.values(), [])) <= {"Mt1", "Mt2", "Mt3", "Mt4"}
    mouse = sorted(set(sum(mts.values(), [])))
    assert organisms.symbols_pattern(mouse) == "^(Mt1|Mt2)$"
    # one-to-one only: MT1A shares Mt1 with other MT1 genes
    strict = organisms.orthologous_symbols(["MT1A", "HMOX1"], pairs, one_to_one=True)
    assert strict["HMOX1"] == ["Hmox1"] and strict["MT1A"] == []


# --------------------------------------------------------------------------- the twin


def _analyse(tmp, name, counts, sheet, ann_path, lib_text, lib_key, organism, cfg):
    from pathverdict.steps.de import run_de
    from pathverdict.steps.enrichment import run_camera, run_gsea, run_ora
    from pathverdict.steps.prepare import prepare_dataset, prepare_genesets

    d = tmp / name
    (d / "in").mkdir(parents=True)
    counts.to_csv(d / "in" / "counts.tsv", sep="\t")
    sheet.to_csv(d / "in" / "samples.tsv", sep="\t", index=False)
    (d / "lib.txt").write_text(lib_text)
    gmt = tmp / "genesets" / f"{lib_key}.gmt"
    gmt.parent.mkdir(parents=True, exist_ok=True)
    prepare_genesets(
        library=str(d / "lib.txt"),
        library_name="KEGG",
        out_gmt=str(gmt),
        out_info=str(d / "lib.json"),
        target="Mineral absorption",
    )
    ds_cfg = cfg["datasets"][name]
    p = {k: str(d / f) for k, f in (("c", "counts.tsv.gz"), ("s", "samples.tsv"), ("g", "gene_ids.tsv"))}
    prepare_dataset(
        dataset=name,
        dataset_config=ds_cfg,
        counts=str(d / "in" / "counts.tsv"),
        samples=str(d / "in" / "samples.tsv"),
        annotation=str(ann_path),
        out_counts=p["c"],
        out_samples=p["s"],
        out_genes=p["g"],
        out_info=str(d / "prep.json"),
    )
    out = {k: str(d / f"{k}.tsv") for k in ("de", "norm", "vst", "up", "down", "all", "camera", "gsea")}
    run_de(
        dataset=name,
        dataset_config=ds_cfg,
        de=cfg["de"],
        counts=p["c"],
        samples=p["s"],
        genes=p["g"],
        out_de=out["de"],
        out_normalized=out["norm"],
        out_vst=out["vst"],
        out_summary=str(d / "de.json"),
    )
    common = dict(dataset=name, de=out["de"], gmts=[str(gmt)], libraries=["KEGG"], enrichment=cfg["enrichment"])
    run_ora(**common, out_up=out["up"], out_down=out["down"], out_all=out["all"], out_info=str(d / "ora.json"))
    run_camera(**common, dataset_config=ds_cfg, vst=out["vst"], samples=p["s"], out_camera=out["camera"])
    run_gsea(**common, out_gsea=out["gsea"])
    return {**out, "info": str(d / "ora.json"), "genes": p["g"], "gmt": str(gmt)}


# the reference study's cells and metallothionein claims, their genes and families per organism
CLAIMS_PER_ORGANISM = {
    "cells": {
        "sentence": "{target} is on top, with {genes} DE.",
        "roles": ["cells"],
        "tests": ["on_top", {"kind": "genes_de", "genes": {"human": ["HMOX1", "VDR"], "mouse": ["Hmox1", "Vdr"]}}],
    },
    "metallothioneins": {
        "sentence": "Metallothionein genes are dysregulated.",
        "roles": ["cells"],
        "tests": [
            {
                "kind": "family_de",
                "name": "metallothionein",
                "pattern": {"human": ["^MT1[A-Z0-9]*$", "^MT2A$", "^MT3$", "^MT4$"], "mouse": "^Mt[1-4]$"},
            }
        ],
    },
}


def human_only(section: dict) -> dict:
    """The claims with every gene and pattern in human symbols only (a list: the study organism's)."""
    out = {}
    for cid, c in section.items():
        tests = [
            {**t, **{k: t[k]["human"] for k in ("genes", "pattern") if k in t}} if isinstance(t, dict) else t
            for t in c["tests"]
        ]
        out[cid] = {**c, "tests": tests}
    return out


def _verdict_and_claims(tmp, runs, raw, orthologs=()):
    """verdict_genes.tsv and claims.tsv of the twins (hs, mm) with the claims of ``raw`` (validated)."""
    from pathverdict.steps.verdict import make_claims, make_verdict

    cfg = validate_config(raw)
    specs = claim_specs.from_config(cfg)
    assert [c.id for c in specs] == ["cells", "metallothioneins"]
    organisms_ = {d: cfg["datasets"][d]["organism"] for d in ("hs", "mm")}
    orth = dict(
        study_organism=cfg["organism"],
        organisms=organisms_,
        orthologs=[str(p) for p in orthologs],
        ortholog_organisms=["mouse"] if orthologs else [],
    )
    make_verdict(
        datasets=["hs", "mm"],
        **{k: [r[k] for r in runs] for k in ("de", "gsea", "camera")},
        ora_up=[r["up"] for r in runs],
        ora_down=[r["down"] for r in runs],
        ora_all=[r["all"] for r in runs],
        ora_info=[r["info"] for r in runs],
        gene_ids=[r["genes"] for r in runs],
        gmts=[r["gmt"] for r in runs],
        libraries=["KEGG", "mouse/KEGG"],
        target="Mineral absorption",
        verdict_settings=cfg["verdict"],
        alpha=0.05,
        out_tsv=str(tmp / "verdict.tsv"),
        out_genes=str(tmp / "genes.tsv"),
        out_md=str(tmp / "v.md"),
        out_html=str(tmp / "v.html"),
        dataset_libraries={"hs": {"KEGG": "KEGG"}, "mm": {"KEGG": "mouse/KEGG"}},
        claims_settings=cfg.get("claims"),
        **orth,
    )
    table = make_claims(
        verdict=str(tmp / "verdict.tsv"),
        genes=str(tmp / "genes.tsv"),
        roles={"hs": "cells", "mm": "cells"},
        target="Mineral absorption",
        verdict_settings=cfg["verdict"],
        alpha=0.05,
        out_tsv=str(tmp / "claims.tsv"),
        out_html=str(tmp / "claims.html"),
        claims_settings=cfg.get("claims"),
        library="KEGG",
        **orth,
    )
    return pd.read_csv(tmp / "genes.tsv", sep="\t"), table.set_index(["claim", "dataset"])


@pytest.mark.shared
def test_a_mouse_twin_gets_the_same_verdict_as_its_human_original(shared, tmp_path):
    """Counts simulated from real fitted parameters (li2008; half the pathway planted at |log2FC| 1, background
    DE); the twin has the same counts under the mouse orthologs' Ensembl IDs, a mouse annotation and the mouse
    version of the library: same target status, rank, p and FDR in every method, same key genes, and the same
    claims answer with the claims' genes and families given per organism, or in human symbols mapped through
    the ortholog table; without a table the mouse gene tests are not tested, with the reason."""
    sims = simulate_human(
        shared,
        tmp_path,
        {
            "oe": {
                "n_per_group": 3,
                "effect": True,
                "log2fc": 1.0,
                "fraction": 0.5,
                "background": {"fraction": 0.1, "log2fc_sd": 0.8},
            }
        },
        n_genes=3000,
    )
    counts, sheet = sims["oe"]
    pairs = one_to_one()
    human_lib = (tmp_path / "KEGG_human_1to1.txt").read_text()
    mouse_lib = mouse_library_text(tmp_path / "KEGG_human_1to1.txt", pairs)
    raw = config(claims=CLAIMS_PER_ORGANISM)
    for n in ("hs", "mm"):
        raw["datasets"][n]["contrast"] = ["condition", "treated", "control"]
        raw["datasets"][n]["role"] = "cells"
    raw["enrichment"] = {"gsea_permutations": 100}
    cfg = validate_config(raw)
    hs = _analyse(
        tmp_path, "hs", counts, sheet, shared / "annotation/human_gene_info.tsv.gz", human_lib, "KEGG", "human", cfg
    )
    mm = _analyse(tmp_path, "mm", to_mouse_ids(counts), sheet, MOUSE_ANNOTATION, mouse_lib, "mouse/KEGG", "mouse", cfg)
    runs = [hs, mm]
    g, answer = _verdict_and_claims(tmp_path, runs, raw)
    v = pd.read_csv(tmp_path / "verdict.tsv", sep="\t").set_index(["dataset", "method"])
    assert set(v["library"]) == {"KEGG"}
    h, m = v.loc["hs"], v.loc["mm"]
    assert h.loc["ora_all", "status"] == "on_top"  # the planted effect is found at all
    assert list(h["status"]) == list(m["status"])
    exact = ["ora_all", "ora_up", "ora_down", "camera"]
    assert list(h.loc[exact, "rank"]) == list(m.loc[exact, "rank"])
    for col in ("pvalue", "fdr"):
        pd.testing.assert_series_equal(h.loc[exact, col], m.loc[exact, col], rtol=1e-9, check_names=False)
    # the key genes, by each organism's symbols: HMOX1/Hmox1 and VDR/Vdr with the same numbers
    key = {"hs": ["HMOX1", "VDR"], "mm": ["Hmox1", "Vdr"]}
    rows = {d: g[(g["dataset"] == d) & g["symbol"].isin(key[d])].set_index("symbol").loc[key[d]] for d in key}
    assert len(rows["hs"]) == 2
    for col in ("log2FoldChange", "padj"):
        assert list(rows["hs"][col].round(12)) == list(rows["mm"][col].round(12))
    assert list(rows["hs"]["status"]) == list(rows["mm"]["status"]) == ["up", "up"]
    # the metallothioneins by each organism's pattern: MT2A and its one-to-one ortholog Mt2
    mts = g[g["reason"] == "pattern"].groupby("dataset")["symbol"].apply(list).to_dict()
    assert mts == {"hs": ["MT2A"], "mm": ["Mt2"]}

    # the claims: the same answer in the mouse twin as in its human original, by each organism's genes
    for cid in ("cells", "metallothioneins"):
        assert answer.loc[(cid, "mm"), "holds"] == answer.loc[(cid, "hs"), "holds"], cid
    assert answer.loc[("cells", "hs"), "holds"] == "yes"
    assert (
        "Hmox1 up" in answer.loc[("cells", "mm"), "evidence"] and "HMOX1 up" in answer.loc[("cells", "hs"), "evidence"]
    )
    mt = answer.loc[("metallothioneins", "mm"), "evidence"]
    assert "Mt2" in mt and "MT2A" in answer.loc[("metallothioneins", "hs"), "evidence"]

    # human symbols only: without an ortholog table the mouse twin's gene tests are not tested, with the
    # reason and the fix (never a guessed name); the pathway part alone does not make the claim hold
    (tmp_path / "alone").mkdir()
    _, alone = _verdict_and_claims(tmp_path / "alone", runs, {**raw, "claims": human_only(CLAIMS_PER_ORGANISM)})
    assert alone.loc[("cells", "hs"), "holds"] == "yes"
    assert alone.loc[("cells", "mm"), "holds"] == "inconclusive"
    assert "no genes given for organism mouse; give genes: {mouse: [...]}" in alone.loc[("cells", "mm"), "evidence"]
    assert alone.loc[("metallothioneins", "mm"), "holds"] == "not tested"
    assert (
        "no metallothionein gene pattern given for organism mouse" in alone.loc[("metallothioneins", "mm"), "evidence"]
    )
    assert "Hmox1" not in alone.loc[("cells", "mm"), "evidence"]

    # ... and with the HCOP ortholog table: the mouse orthologs, the same answer as given per organism
    raw_orth = {**raw, "claims": human_only(CLAIMS_PER_ORGANISM), "organisms": {"mouse": {"orthologs": str(ORTHOLOGS)}}}
    (tmp_path / "orth").mkdir()
    g2, mapped = _verdict_and_claims(tmp_path / "orth", runs, raw_orth, orthologs=[ORTHOLOGS])
    for key_ in answer.index:
        assert mapped.loc[key_, "holds"] == answer.loc[key_, "holds"], key_
    assert (
        "mouse orthologs (organisms.mouse.orthologs): HMOX1 -> Hmox1, VDR -> Vdr"
        in mapped.loc[("cells", "mm"), "evidence"]
    )
    assert set(g2.loc[g2["dataset"] == "mm", "symbol"]) >= {"Hmox1", "Vdr", "Mt2"}


def test_a_library_in_capitals_is_matched_to_the_mouse_annotation(tmp_path):
    """Libraries that write every organism's genes in capitals (HMOX1 for mouse Hmox1) are renamed to the
    annotation's symbols when prepared for a mouse dataset; a gene two symbols share but for case is left."""
    from pathverdict.steps.prepare import prepare_genesets

    lib = tmp_path / "KEGG_2019_Mouse.txt"
    lib.write_text("Mineral absorption\t\tHMOX1\tVDR\tMT1\tNOTAMOUSEGENE\nOther\t\tMEIS1\tHmox1\n")
    gmt = tmp_path / "out.gmt"
    info = prepare_genesets(
        library=str(lib),
        library_name="KEGG",
        out_gmt=str(gmt),
        out_info=str(tmp_path / "out.json"),
        target="Mineral absorption",
        annotation=str(MOUSE_ANNOTATION),
    )
    lines = gmt.read_text().splitlines()
    assert lines == ["Mineral absorption\t\tHmox1\tVdr\tMt1\tNOTAMOUSEGENE", "Other\t\tMeis1\tHmox1"]
    assert info["genes_renamed_to_annotation_case"] == 4
    ambiguous = genesets.GeneSetLibrary("x", {"T": ["abc", "Hmox1"]})
    same, n = genesets.align_case(ambiguous, {"Abc", "ABC", "Hmox1"})
    assert n == 0 and same.sets == {"T": ["abc", "Hmox1"]}


# --------------------------------------------------------------------------- claim genes per organism


def _claims_config(tests: list, **over) -> dict:
    cfg = config(claims={"c": {"sentence": "{target} is on top.", "roles": ["cells"], "tests": tests}}, **over)
    for ds in cfg["datasets"].values():
        ds["role"] = "cells"
    return cfg


def test_claim_genes_per_organism_by_name_or_kegg_code():
    cfg = validate_config(_claims_config([{"kind": "genes_de", "genes": {"hsa": ["HMOX1"], "mmu": ["Hmox1"]}}]))
    assert cfg["claims"]["c"]["tests"][0]["genes"] == {"human": ["HMOX1"], "mouse": ["Hmox1"]}
    (test,) = claim_specs.from_config(cfg)[0].tests
    assert test.genes == ("HMOX1",) and dict(test.given) == {"human": ("HMOX1",), "mouse": ("Hmox1",)}
    # the sentence's {genes}: the study organism's
    assert claim_specs.Claim("c", "{genes}", ("cells",), (), (test,)).text("T") == "HMOX1"


@pytest.mark.parametrize(
    "tests, where, message",
    [
        # an organism that no dataset has: a claim naming genes for nothing
        (
            [{"kind": "genes_de", "genes": {"human": ["HMOX1"], "rat": ["Hmox1"]}}],
            "claims",
            "claims.c.tests[0].genes: organism rat has no dataset in this study (the datasets' organisms: human, "
            "mouse), so claim 'c' names rat genes for nothing. Fix: give the entry for the organism of the datasets",
        ),
        (
            [{"kind": "family_de", "pattern": {"zebrafish": "^mt2$"}}],
            "config",
            "claims.c.tests[0].pattern.zebrafish: organism 'zebrafish' is not known. Fix:",
        ),
        ([{"kind": "genes_de", "genes": {"mouse": "Hmox1"}}], "config", "claims.c.tests.0.genes.mouse: expected array"),
        ([{"kind": "genes_de", "genes": {"mouse": []}}], "config", "claims.c.tests.0.genes.mouse: has 0 item(s)"),
        (
            [{"kind": "family_de", "pattern": {"human": "^MT2A$", "mouse": "^Mt[1-4"}}],
            "claims",
            "the gene pattern '^Mt[1-4' of claim 'c' is not a valid regular expression",
        ),
    ],
)
def test_claim_genes_per_organism_errors_name_the_key_and_the_fix(tests, where, message):
    raw = _claims_config(tests)
    with pytest.raises(InputError) as err:
        claim_specs.from_config(validate_config(raw))
    assert message in str(err.value)
    assert ("the claims are not valid" in str(err.value)) == (where == "claims")


def _evaluate(section: dict, genes: list[dict], orthologs=None):
    roles = {"hs": "cells", "mm": "cells"}
    specs = claim_specs.parse_claims(section, roles, organisms={"hs": "human", "mm": "mouse"})
    v = pd.DataFrame([vrow("hs"), vrow("mm")])
    t = claims.evaluate(
        v,
        pd.DataFrame(genes),
        roles,
        target="T",
        claims=specs,
        organisms={"hs": "human", "mm": "mouse"},
        organism="human",
        orthologs=orthologs,
    )
    return t.set_index(["claim", "dataset"])


GENE_CLAIMS = {
    "genes": {"sentence": "s", "roles": ["cells"], "tests": [{"kind": "genes_de", "genes": ["HMOX1", "VDR"]}]},
    "family": {
        "sentence": "s",
        "roles": ["cells"],
        "tests": [{"kind": "family_de", "name": "metallothionein", "pattern": ["^MT1[A-Z0-9]*$", "^MT2A$"]}],
    },
}
GENES = [
    grow("hs", "HMOX1", "up"),
    grow("hs", "VDR", "up"),
    grow("hs", "MT2A", "down", reason="pattern"),
    grow("mm", "Hmox1", "up"),
    grow("mm", "Vdr", "up"),
    grow("mm", "Mt2", "down", reason="pattern"),
    grow("mm", "Abcb1a", "up"),
]


def test_a_mouse_dataset_with_human_only_claim_genes_and_no_ortholog_table_is_not_tested():
    t = _evaluate(GENE_CLAIMS, GENES)
    assert t.loc[("genes", "hs"), "holds"] == "yes" and t.loc[("family", "hs"), "holds"] == "yes"
    assert t.loc[("genes", "mm"), "holds"] == "not tested"
    assert t.loc[("genes", "mm"), "evidence"] == (
        "no genes given for organism mouse; give genes: {mouse: [...]} or an ortholog table organisms.mouse.orthologs"
    )
    assert t.loc[("family", "mm"), "holds"] == "not tested"
    assert "no metallothionein gene pattern given for organism mouse" in t.loc[("family", "mm"), "evidence"]
    # a per-organism claim without the mouse entry: the same, even with a table (nothing of the study's to map)
    only_rat = {"g": {"sentence": "s", "roles": ["cells"], "tests": [{"kind": "genes_de", "genes": {"mouse": ["X"]}}]}}
    assert _evaluate(only_rat, GENES).loc[("g", "hs"), "evidence"].startswith("no genes given for organism human")


def test_human_only_claim_genes_through_the_ortholog_table():
    pairs = organisms.read_orthologs(str(ORTHOLOGS), "human", "mouse")
    t = _evaluate(GENE_CLAIMS, GENES, {"mouse": pairs})
    assert t.loc[("genes", "mm"), "holds"] == "yes"
    assert t.loc[("genes", "mm"), "evidence"].startswith(
        "mouse orthologs (organisms.mouse.orthologs): HMOX1 -> Hmox1, VDR -> Vdr; Hmox1 up"
    )
    assert t.loc[("family", "mm"), "holds"] == "yes" and "Mt2 down" in t.loc[("family", "mm"), "evidence"]
    assert "mouse orthologs of the human metallothionein genes" in t.loc[("family", "mm"), "evidence"]
    # a gene with no ortholog, or with several, is untested and said so: never a guessed name
    section = {"g": {"sentence": "s", "roles": ["cells"], "tests": [{"kind": "genes_de", "genes": ["HMOX1", "ABCB1"]}]}}
    g = _evaluate(section, GENES, {"mouse": pairs}).loc[("g", "mm")]
    assert g["holds"] == "inconclusive"  # HMOX1's ortholog is DE; ABCB1's cannot be tested
    assert "ABCB1: 2 mouse orthologs in organisms.mouse.orthologs (Abcb1a, Abcb1b), none chosen" in g["evidence"]
    section["g"]["tests"][0]["genes"] = ["NOTAGENE"]
    g = _evaluate(section, GENES, {"mouse": pairs}).loc[("g", "mm")]
    assert (
        g["holds"] == "not tested"
        and g["evidence"] == "NOTAGENE: no mouse ortholog in organisms.mouse.orthologs: not tested"
    )


def test_an_ortholog_table_is_checked(tmp_path):
    cfg = validate_config(config(organisms={"mouse": {"orthologs": str(tmp_path / "absent.tsv")}}))
    assert cfg["orthologs"] == {"mouse": str(tmp_path / "absent.tsv")}
    from pathverdict.config import missing_local_files

    assert f"organisms.mouse.orthologs: {tmp_path / 'absent.tsv'}" in missing_local_files(cfg)
    bad = tmp_path / "bad.tsv"
    bad.write_text("human\tmouse\nHMOX1\tHmox1\n")
    with pytest.raises(InputError, match=r"bad.tsv \(organisms.mouse.orthologs\): needs the columns human_symbol"):
        organisms.read_orthologs(str(bad), "human", "mouse")


# --------------------------------------------------------------------------- select_by_expression's default gene


def _selecting(claims=None, orthologs=None) -> dict:
    """Both datasets select their patients by expression without naming the gene (perturbed_gene MEIS1)."""
    cfg = config(perturbed_gene="MEIS1")
    for ds in cfg["datasets"].values():
        ds["select_by_expression"] = {"group": "b"}
        ds["role"] = "tissue"
    if claims is not None:
        cfg["claims"] = {"t": {"sentence": "{target} is enriched.", "roles": ["tissue"], "tests": claims}}
    if orthologs is not None:
        cfg["organisms"] = {"mouse": {"orthologs": orthologs}}
    return cfg


def test_select_by_expression_defaults_to_the_perturbed_gene_of_each_organism():
    """In a mouse dataset the default gene is MEIS1's mouse symbol -- from the claims' genes per organism, or
    from the ortholog table -- never MEIS1 itself; without either, the run stops asking for `gene:`."""
    by_claims = validate_config(
        _selecting(
            claims=["enriched", {"kind": "genes_de", "genes": {"hsa": ["HMOX1", "MEIS1"], "mmu": ["Hmox1", "Meis1"]}}]
        )
    )
    assert by_claims["datasets"]["hs"]["select_by_expression"]["gene"] == "MEIS1"
    assert by_claims["datasets"]["mm"]["select_by_expression"] == {
        "gene": "Meis1",
        "group": "b",
        "rule": "below_reference_median",
    }
    by_table = validate_config(_selecting(orthologs=str(ORTHOLOGS)))
    assert by_table["datasets"]["mm"]["select_by_expression"]["gene"] == "Meis1"
    with pytest.raises(InputError) as err:
        validate_config(_selecting(), source="study.yaml")
    msg = str(err.value)
    assert msg.startswith(
        "study.yaml: datasets.mm.select_by_expression names no `gene`, and the study's perturbed_gene MEIS1 is a "
        "human symbol while mm is a mouse dataset: neither the claims' genes per organism"
    ), msg
    assert "organisms.mouse.orthologs" in msg and "Fix: give the gene in mouse symbols" in msg
    # claims that disagree are not guessed between
    with pytest.raises(InputError, match="several mouse genes at the place of MEIS1: Meis1, Meis2"):
        validate_config(
            _selecting(
                claims=[
                    {"kind": "genes_de", "genes": {"human": ["MEIS1"], "mouse": ["Meis1"]}},
                    {"kind": "genes_de", "genes": {"human": ["MEIS1"], "mouse": ["Meis2"]}},
                ]
            )
        )
    # a gene given is kept as it is
    cfg = _selecting()
    cfg["datasets"]["mm"]["select_by_expression"]["gene"] = "Meis1"
    assert validate_config(cfg)["datasets"]["mm"]["select_by_expression"]["gene"] == "Meis1"
