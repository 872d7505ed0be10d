"""Gene-set library parsing and target lookup."""

import pytest

from pathverdict import genesets
from pathverdict.errors import InputError


def test_enrichr_text_and_gmt(tmp_path):
    enr = tmp_path / "lib.txt"
    enr.write_text("Mineral absorption\t\tHMOX1\tVDR,1.0\tMT2A\t\nIron uptake\t\tTF\tTFRC\n")
    lib = genesets.read_library(enr, "lib")
    assert lib.sets == {"Mineral absorption": ["HMOX1", "VDR", "MT2A"], "Iron uptake": ["TF", "TFRC"]}
    gmt = tmp_path / "kegg.gmt"
    gmt.write_text("Mineral absorption Homo sapiens hsa04978\t\tHMOX1\tVDR\n")
    lib = genesets.read_library(gmt, "kegg")
    assert list(lib.sets) == ["Mineral absorption"]
    assert lib.ids["Mineral absorption"] == "hsa04978"
    assert lib.find("mineral ABSORPTION") == "Mineral absorption"
    assert lib.find("hsa04978") == "Mineral absorption"
    assert len(lib.sha256) == 64


def test_target_missing_names_close_terms(tmp_path):
    p = tmp_path / "lib.txt"
    p.write_text("Mineral absorption\t\tA\tB\nProtein digestion and absorption\t\tC\n")
    with pytest.raises(
        InputError,
        match=r"'Mineral absorbtion' is not in gene-set library lib.*Closest names: "
        r"Mineral absorption.*target_pathway",
    ):
        genesets.read_library(p, "lib").find("Mineral absorbtion")


def test_duplicated_term_is_an_error(tmp_path):
    p = tmp_path / "lib.gmt"
    p.write_text("A\t\tX\tY\nB\t\tZ\nA\t\tW\n")
    with pytest.raises(InputError, match=r"line 3: gene set 'A' already defined on line 1"):
        genesets.read_library(p)


def test_gmt_round_trip(tmp_path):
    p = tmp_path / "lib.gmt"
    p.write_text("Mineral absorption Homo sapiens hsa04978\turl\tHMOX1\tVDR\n")
    lib = genesets.read_library(p, "x")
    out = tmp_path / "out.gmt"
    genesets.write_gmt(lib, out)
    assert out.read_text() == "Mineral absorption\thsa04978\tHMOX1\tVDR\n"


def test_shared_kegg_libraries(shared):
    d = shared / "genesets"
    k21 = genesets.read_library(d / "KEGG_2021_Human.txt", "KEGG_2021_Human")
    k16 = genesets.read_library(d / "KEGG_2016.gmt", "KEGG_2016")
    assert len(k21) == 320 and len(k16) == 293
    assert k21.sha256 == "70576fe499ece65a2f342e5ca9a4e63b5d53f91aee3ab87f7c96123e2f19c594"
    t21, t16 = k21.find("Mineral absorption"), k16.find("Mineral absorption")
    assert len(k21.sets[t21]) == 60 and len(k16.sets[t16]) == 51
    assert k16.ids[t16] == "hsa04978"
    for g in ("HMOX1", "VDR", "MT2A", "MT1X"):
        assert g in k21.sets[t21] and g in k16.sets[t16]
