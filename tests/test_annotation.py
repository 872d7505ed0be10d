"""Gene ID detection and mapping to symbols."""

import gzip

import pytest

from pathverdict.sources import annotation
from pathverdict.errors import InputError


@pytest.fixture()
def simple_table(tmp_path):
    p = tmp_path / "genes.tsv"
    p.write_text(
        "GeneID\tSymbol\tGeneType\tEnsembl\n"
        "7\tGENEA\tprotein-coding\tENSG00000000007\n"
        "3\tGENEB\tprotein-coding\tENSG00000000003;ENSG00000000033\n"
        "5\tGENEC\tprotein-coding\tENSG00000000003\n"  # shares an Ensembl ID with GeneID 3
        "9\tGENED\tncRNA\t\n"
    )
    return annotation.load_annotation(p)


def test_simple_layout(simple_table):
    assert simple_table.entrez_to_symbol == {"3": "GENEB", "5": "GENEC", "7": "GENEA", "9": "GENED"}
    # an Ensembl ID under two Entrez genes takes the smallest GeneID's symbol
    assert simple_table.ensembl_to_symbol["ENSG00000000003"] == "GENEB"
    assert simple_table.ensembl_to_symbol["ENSG00000000033"] == "GENEB"


def test_ncbi_gene_info_layout(tmp_path):
    p = tmp_path / "Homo_sapiens.gene_info.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(
            "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\n"
            "9606\t3162\tHMOX1\t-\tHO-1|HMOX1D\tMIM:141250|HGNC:HGNC:5013|Ensembl:ENSG00000100292\t22\n"
            "9606\t7421\tVDR\t-\tNR1I1\tMIM:601769|HGNC:HGNC:12679|Ensembl:ENSG00000111424\t12\n"
        )
    ann = annotation.load_annotation(p)
    assert ann.ensembl_to_symbol == {"ENSG00000100292": "HMOX1", "ENSG00000111424": "VDR"}
    assert ann.entrez_to_symbol["7421"] == "VDR"


def test_detect_and_map_ensembl_with_versions(simple_table):
    ids = ["ENSG00000000007.4", "ENSG00000000003.12", "ENSG00000000999.1"]
    res = annotation.map_ids(ids, simple_table)
    assert res.id_type == "ensembl" and res.detected
    assert list(res.table["symbol"].fillna("-")) == ["GENEA", "GENEB", "-"]
    assert res.n_mapped == 2 and res.summary()["mapping_rate"] == round(2 / 3, 4)


def test_detect_entrez_and_symbols(simple_table):
    assert annotation.map_ids(["3", "5", "7", "9"], simple_table).id_type == "entrez"
    res = annotation.map_ids(["GENEA", "GENEB", "NOVEL1"], simple_table)
    assert res.id_type == "symbol"
    # unknown symbols keep their name but count as unmapped
    assert list(res.table["symbol"]) == ["GENEA", "GENEB", "NOVEL1"]
    assert res.n_mapped == 2


def test_many_to_one_is_reported(simple_table):
    res = annotation.map_ids(["ENSG00000000003", "ENSG00000000033", "ENSG00000000007"], simple_table)
    assert res.summary()["ids_sharing_a_symbol"] == 2
    assert res.summary()["unique_symbols"] == 2


def test_unknown_id_type(simple_table):
    with pytest.raises(InputError, match=r"cannot tell which kind of gene IDs.*1007_s_at.*gene_id_type"):
        annotation.map_ids(["1007_s_at", "1053_at", "117_at"], simple_table)


def test_declared_type_that_does_not_map(simple_table):
    with pytest.raises(InputError, match=r"only 0 of 3 gene IDs \(0.0%\) map.*as entrez"):
        annotation.map_ids(["101", "102", "103"], simple_table, "entrez", where="dataset x: ")


def test_shared_annotation_maps_real_ids(shared):
    ann = annotation.load_annotation(shared / "annotation" / "human_gene_info.tsv.gz")
    res = annotation.map_ids(["ENSG00000100292.17", "ENSG00000111424", "ENSG00000125148"], ann)
    assert list(res.table["symbol"]) == ["HMOX1", "VDR", "MT2A"]


def test_gene_type_is_carried_into_the_id_map(simple_table, tmp_path):
    res = annotation.map_ids(["ENSG00000000007", "ENSG00000000003", "ENSG99999999999"], simple_table, "ensembl")
    t = res.table.set_index("gene_id")
    assert t.loc["ENSG00000000007", "gene_type"] == "protein-coding"
    assert t.loc["ENSG99999999999", "gene_type"] == ""  # unmapped
    assert simple_table.has_gene_type and simple_table.symbol_to_type["GENED"] == "ncRNA"
    # NCBI gene_info calls the column type_of_gene; a table without any type says so
    p = tmp_path / "gi.tsv"
    p.write_text(
        "#tax_id\tGeneID\tSymbol\tdbXrefs\ttype_of_gene\n9606\t4501\tMT1X\tEnsembl:ENSG00000187193\t"
        "protein-coding\n9606\t4504\tMT1P3\t-\tpseudo\n"
    )
    assert annotation.load_annotation(p).symbol_to_type == {"MT1X": "protein-coding", "MT1P3": "pseudo"}
    q = tmp_path / "plain.tsv"
    q.write_text("GeneID\tSymbol\n4501\tMT1X\n")
    plain = annotation.load_annotation(q)
    assert not plain.has_gene_type
    assert annotation.map_ids(["4501"], plain, "entrez").table["gene_type"].tolist() == [""]


def test_real_annotation_marks_metallothionein_pseudogenes(annotation_path):
    ann = annotation.load_annotation(annotation_path)
    assert ann.symbol_to_type["MT2A"] == "protein-coding" and ann.symbol_to_type["MT1P3"] == "pseudo"
    assert ann.symbol_to_type["MT1L"] == "pseudo"


def test_table_quirks_keep_their_meaning(tmp_path):
    """Separators ; | , (with spaces), "-" placeholders, version suffixes, padded gene types, a repeated
    GeneID (the later row's symbol), numeric GeneIDs written as 2.0 or 1e1 (sorted as numbers), rows
    without a numeric GeneID or a symbol (dropped)."""
    p = tmp_path / "quirks.tsv"
    p.write_text(
        "GeneID\tSymbol\tGeneType\tEnsembl\n"
        "7\tGENEA\tprotein-coding\tENSG00000000007\n"
        "3\tGENEB\t protein-coding \tENSG00000000003; ENSG00000000033\n"
        "5\tGENEC\t-\tENSG00000000003|ENSG1.5 , -\n"
        "9\tGENED\tncRNA\t\n"
        "x\tBAD\tncRNA\tENSG9\n"
        "3\tGENEB2\t\t ENSG00000000044.2\n"
        "10\t-\tpseudo\tENSG10\n"
        "11\t\tpseudo\tENSG11\n"
        "2.0\tGENEF\tpseudo\tENSG00000000003\n"
        "1e1\tGENEG\t\tENSG77\n"
    )
    ann = annotation.load_annotation(p)
    assert ann.entrez_to_symbol == {
        "2.0": "GENEF",
        "3": "GENEB2",
        "5": "GENEC",
        "7": "GENEA",
        "9": "GENED",
        "1e1": "GENEG",
    }
    assert ann.ensembl_to_symbol == {
        "ENSG00000000003": "GENEF",  # GeneID 2.0 sorts first
        "ENSG00000000033": "GENEB",
        "ENSG00000000044": "GENEB2",
        "ENSG1": "GENEC",
        "ENSG00000000007": "GENEA",
        "ENSG77": "GENEG",
    }
    assert ann.symbols == {"GENEA", "GENEB", "GENEB2", "GENEC", "GENED", "GENEF", "GENEG"}
    assert ann.symbol_to_type == {
        "GENEF": "pseudo",
        "GENEB": "protein-coding",
        "GENEA": "protein-coding",
        "GENED": "ncRNA",
    }
