"""Author count tables and gene-set answers in the layouts real tools write (issue 12), at the
package level: featureCounts tables of several BAM files, R write.table tables, htseq-count
--additional-attr files and featureCounts/Rsubread summaries in a RAW.tar, STAR ReadsPerGene
strandedness, Enrichr libraries saved by a spreadsheet, KEGG REST list/link variants.

The same files go through snakemake in tests/test_author_formats_e2e.py.
"""

from __future__ import annotations

import gzip
import io
import logging
import tarfile

import pandas as pd
import pytest

import author_formats as af
from pathverdict import genesets, tables
from pathverdict.errors import InputError
from pathverdict.sources import geo, libraries

from test_bad_input import PREPARE_OUTPUTS, assert_in, prepare, prepare_error  # noqa: F401

pytestmark = pytest.mark.shared  # the tiny dataset is built from real gene IDs of ../shared/data


def make_tar(path, files: dict[str, bytes]):
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def prepared_counts(prepare) -> pd.DataFrame:
    with gzip.open(prepare.out / PREPARE_OUTPUTS[0], "rt") as fh:
        return pd.read_csv(fh, sep="\t", index_col=0)


def prepared_info(prepare) -> dict:
    import json

    return json.loads((prepare.out / PREPARE_OUTPUTS[3]).read_text())


# ----------------------------------------------------------------------------- featureCounts, several BAM files


def test_featurecounts_table_of_several_bams(tiny, prepare, caplog):
    """Failed with 'line 1 has 1 column(s)' (the # Program line was taken for the header)."""
    tiny.counts_path.write_text(af.featurecounts_table(tiny.counts))
    with caplog.at_level(logging.WARNING):
        info = prepare(tiny)
    pd.testing.assert_frame_equal(prepared_counts(prepare), tiny.counts, check_names=False)
    assert info["count_layout"]["layout"] == "featurecounts"
    assert info["count_layout"]["dropped_columns"] == ["Chr", "Start", "End", "Strand", "Length"]
    assert info["column_mapping"][0] == f"{af.bam_path('ctrl1')} -> ctrl1 (its file name)"
    assert_in(
        caplog.text,
        "featureCounts table: skipped 1 comment line(s) and dropped the annotation columns Chr, "
        "Start, End, Strand, Length; 6 count column(s)",
        "count columns named by alignment files were given the sample names",
        "-> trt3 (its file name)",
    )


def test_job_size_estimate_of_a_featurecounts_table(tiny):
    """The memory estimate counts samples, not the # Program line or the annotation columns."""
    tiny.counts_path.write_text(af.featurecounts_table(tiny.counts))
    assert tables.estimate_cells(tiny.counts_path) == tiny.counts.size


def test_featurecounts_columns_named_by_a_sample_sheet_column(tiny, prepare):
    """BAM files named unlike the samples (lane/run IDs): a sample sheet column holding the file names maps them."""
    runs = {s: f"L00{k}_R{k * 7}" for k, s in enumerate(tiny.counts.columns, start=1)}
    tiny.counts_path.write_text(af.featurecounts_table(tiny.counts, bam=lambda s: f"bams/{runs[s]}.bam"))
    tiny.samples.assign(bam=[f"{runs[s]}.bam" for s in tiny.samples["sample"]]).to_csv(
        tiny.samples_path, sep="\t", index=False
    )
    info = prepare(tiny)
    pd.testing.assert_frame_equal(prepared_counts(prepare), tiny.counts, check_names=False)
    assert "bams/L001_R7.bam -> ctrl1 (the sample sheet column 'bam')" in info["column_mapping"]


def test_featurecounts_columns_that_match_no_sample(tiny, prepare):
    tiny.counts_path.write_text(af.featurecounts_table(tiny.counts, bam=lambda s: f"/x/{s}_run2.bam"))
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "sample sheet and count matrix disagree",
        "/x/ctrl1_run2.bam",
        "ctrl1",
        "Columns named by alignment files are matched to samples by the file name",
        "a `bam` column",
    )


def test_featurecounts_two_bams_of_one_sample(tiny, prepare):
    """A re-sequenced sample: /x/ctrl1.bam and /y/ctrl1.bam both map to ctrl1 (and ctrl2 has none)."""
    text = af.featurecounts_table(tiny.counts, bam=lambda s: "/y/ctrl1.bam" if s == "ctrl2" else f"/x/{s}.bam")
    tiny.counts_path.write_text(text)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "dataset tiny",
        "several count columns belong to the same sample: ctrl1: /x/ctrl1.bam, /y/ctrl1.bam",
        "Keep one column per sample",
    )


def test_featurecounts_line_numbers_count_the_comment(tiny, prepare):
    c = tiny.counts.astype(object)
    c.iloc[4, 2] = "-7"
    tiny.counts_path.write_text(af.featurecounts_table(c))
    msg = prepare_error(prepare, tiny)
    # line 1 = # Program, line 2 = header, gene 5 on line 7
    assert_in(msg, "line 7", f"gene {tiny.counts.index[4]}", f"sample {af.bam_path('ctrl3')}", "negative count -7")


# ----------------------------------------------------------------------------- R write.table


def test_r_write_table_with_row_names(tiny, prepare, caplog):
    """Took the first sample for the gene IDs: 'duplicated gene IDs: 4 (lines 2, 20, ...)'."""
    tiny.counts_path.write_text(af.r_write_table(tiny.counts))
    with caplog.at_level(logging.WARNING):
        info = prepare(tiny)
    pd.testing.assert_frame_equal(prepared_counts(prepare), tiny.counts, check_names=False)
    assert info["count_layout"]["layout"] == "r_row_names"
    assert_in(caplog.text, "R write.table layout (row names without a header cell)")


def test_r_write_table_csv(tiny, prepare):
    path = tiny.dir / "counts.csv"
    path.write_text(af.r_write_table(tiny.counts).replace("\t", ","))
    raw, layout = tables.read_count_table(path)
    assert layout["layout"] == "r_row_names" and list(raw.columns) == ["gene_id"] + list(tiny.counts.columns)
    assert tables.read_counts(path).counts.equals(tiny.counts.rename_axis("gene_id"))


def test_trailing_tab_is_not_a_row_name_column(tiny):
    text = "".join(line + "\t\n" for line in tiny.counts.to_csv(sep="\t", lineterminator="\n").splitlines()[1:])
    path = tiny.dir / "trailing.tsv"
    path.write_text("gene_id\t" + "\t".join(tiny.counts.columns) + "\n" + text)
    assert tables.read_count_table(path)[1]["layout"] == "plain"
    assert tables.read_counts(path).counts.equals(tiny.counts.rename_axis("gene_id"))


def test_a_sample_taken_for_gene_ids_says_why(tiny, prepare):
    """A table saved without its gene IDs (header and rows lack them): the first sample's counts are taken for
    gene IDs and repeat; the message says that column holds numbers and how an R table differs."""
    tiny.counts.reset_index(drop=True).to_csv(tiny.counts_path, sep="\t", index=False)
    msg = prepare_error(prepare, tiny)
    assert_in(msg, "duplicated gene IDs", "holds numbers, not gene IDs", "R write.table")


# ----------------------------------------------------------------------------- RAW.tar members


def test_htseq_additional_attr_and_quoted_rsubread_summary(tiny, tmp_path, caplog):
    """Both were 'not a count file this workflow reads'."""
    c = tiny.counts
    files = {}
    for k, s in enumerate(c.columns, start=1):
        files[f"GSM90{k:05d}_{s}.htseq.counts.txt"] = af.htseq_additional_attr(
            c[s], tiny.symbols, padded=k % 2 == 0
        ).encode()
    files["GSM9000001_featureCounts_stat.txt"] = af.featurecounts_summary(["ctrl1.bam"], quoted=True).encode()
    files["GSM9000002_ctrl2.counts.summary"] = af.featurecounts_summary(["ctrl2.bam"]).encode()
    tar = make_tar(tmp_path / "GSE9_RAW.tar", files)
    with caplog.at_level(logging.INFO):
        merged = geo.read_raw_tar_counts(tar)
    assert list(merged.counts.index) == list(c.index)
    assert merged.counts["GSM9000003"].tolist() == c["ctrl3"].tolist()
    assert merged.special.loc["no_feature", "GSM9000002"] == 120345
    assert sorted(merged.skipped) == ["GSM9000001_featureCounts_stat.txt", "GSM9000002_ctrl2.counts.summary"]
    assert merged.summary()["htseq_attribute_columns_dropped"] == 1
    assert_in(caplog.text, "skipped 2 featureCounts summary file(s)", "1 attribute column(s) (--additional-attr)")


def test_htseq_additional_attr_with_a_short_line(tiny):
    text = af.htseq_additional_attr(tiny.counts["ctrl1"], tiny.symbols).splitlines()
    text[3] = text[3].split("\t")[0] + "\t12"
    with pytest.raises(InputError) as info:
        geo.parse_count_lines(text, "x.txt")
    assert_in(
        str(info.value), "x.txt: line 4 has 2 tab-separated fields", "of this file have 3 (gene, attributes, count)"
    )


@pytest.mark.parametrize(
    "text",
    [
        af.featurecounts_summary(["/b/s1.bam"], quoted=True),
        af.featurecounts_summary(["/b/s1.bam"]),
        # write.table(fc$stat) with the default row.names = TRUE: "1" "Assigned" ...
        '"Status"\t"s1.bam"\n' + "".join(f'"{i}"\t"{r}"\t{i}\n' for i, r in enumerate(af.SUMMARY_ROWS, 1)),
        "".join(f"{r}\t{i}\n" for i, r in enumerate(af.SUMMARY_ROWS)),  # no header line
    ],
)
def test_summaries_are_recognised(text):
    assert geo.detect_format(text.splitlines(keepends=True)) == "featurecounts-summary"


# ----------------------------------------------------------------------------- STAR strandedness


def star_tar(tmp_path, tiny, library: str, name: str = "star.tar"):
    files = {
        f"GSM80{k:05d}_{s}_ReadsPerGene.out.tab.gz": gzip.compress(
            af.star_reads_per_gene(tiny.counts[s], library, seed=k).encode()
        )
        for k, s in enumerate(tiny.counts.columns, start=1)
    }
    return make_tar(tmp_path / name, files)


@pytest.mark.parametrize("library, column", [("reverse", 4), ("forward", 3), ("unstranded", 2)])
def test_star_strandedness_is_inferred(tiny, tmp_path, caplog, library, column):
    tar = star_tar(tmp_path, tiny, library)
    with caplog.at_level(logging.WARNING):
        merged = geo.read_raw_tar_counts(tar)
    info = merged.strandedness
    assert info["chosen"] == library and info["column"] == column and info["source"] == "inferred from N_noFeature"
    s1 = info["samples"]["GSM8000001"]
    assert set(s1["N_noFeature"]) == {"unstranded", "forward", "reverse"} and s1["inferred"] == library
    if library != "unstranded":
        assert merged.counts["GSM8000002"].tolist() == tiny.counts["ctrl2"].tolist()
        assert s1["ratio"] < 0.3
    else:
        assert merged.counts["GSM8000002"].tolist() == tiny.counts["ctrl2"].tolist() and s1["ratio"] > 0.9
    nf = s1["N_noFeature"]
    assert_in(
        caplog.text,
        f"strandedness inferred as {library} (column {column}) from N_noFeature",
        f"GSM8000001: unstranded {nf['unstranded']} / forward {nf['forward']} / reverse {nf['reverse']}",
        "Set `strandedness` in the config to override",
    )
    assert merged.summary()["strandedness"]["chosen"] == library


def test_star_strandedness_from_the_config_wins_and_is_recorded(tiny, tmp_path, caplog):
    tar = star_tar(tmp_path, tiny, "reverse")
    with caplog.at_level(logging.WARNING):
        merged = geo.read_raw_tar_counts(tar, strandedness="unstranded")
    assert merged.strandedness["chosen"] == "unstranded" and merged.strandedness["source"] == "config"
    assert merged.strandedness["inferred"] == "reverse"
    assert merged.strandedness["note"] == "the config's unstranded overrides the inferred reverse"
    assert_in(caplog.text, "strandedness unstranded is set in the config, but the N_noFeature counts point to reverse")
    assert merged.special.loc["N_noFeature", "GSM8000001"] == tiny.counts["ctrl1"].sum() // 5  # column 2's


def test_star_strandedness_that_cannot_be_told(tiny, tmp_path):
    tar = star_tar(tmp_path, tiny, "unclear")
    with pytest.raises(InputError) as info:
        geo.read_raw_tar_counts(tar)
    assert_in(
        str(info.value),
        "cannot tell the strandedness",
        "unclear: GSM8000001",
        "GSM8000001: unstranded 900000 / forward 1000000 / reverse 1250000 (ratio 0.80)",
        "Set `strandedness` to unstranded (column 2)",
    )
    assert geo.read_raw_tar_counts(tar, strandedness="forward").strandedness["chosen"] == "forward"


def test_star_samples_that_disagree(tiny, tmp_path):
    files = {
        f"GSM80{k:05d}_{s}_ReadsPerGene.out.tab": af.star_reads_per_gene(
            tiny.counts[s], "reverse" if k != 3 else "forward"
        ).encode()
        for k, s in enumerate(tiny.counts.columns, 1)
    }
    with pytest.raises(InputError) as info:
        geo.read_raw_tar_counts(make_tar(tmp_path / "mixed.tar", files))
    assert_in(str(info.value), "reverse: GSM8000001, GSM8000002, GSM8000004", "forward: GSM8000003")


@pytest.mark.parametrize(
    "nf, expected",
    [
        ({"forward": 4_100_000, "reverse": 160_000}, "reverse"),
        ({"forward": 160_000, "reverse": 4_100_000}, "forward"),
        ({"forward": 2_000_000, "reverse": 2_050_000}, "unstranded"),
        ({"forward": 975_000, "reverse": 525_000}, "reverse"),  # half the reads without a feature, 95% specificity
        ({"forward": 1_000_000, "reverse": 800_000}, None),
        ({"forward": 0, "reverse": 0}, None),
    ],
)
def test_infer_strandedness_rule(nf, expected):
    assert geo.infer_strandedness(nf)[0] == expected


# ----------------------------------------------------------------------------- Enrichr through a spreadsheet


def test_enrichr_library_saved_by_a_spreadsheet(tmp_path, caplog):
    """CR-only line endings, and lines with a single tab after the term: the first gene was taken for the
    description and silently lost."""
    sets = {
        "Mineral absorption": ["HMOX1", "VDR", "MT2A", "SLC40A1"],
        "Glycolysis / Gluconeogenesis": ["GAPDH", "PKM"],
        "Ferroptosis": ["HMOX1", "SLC40A1", "GPX4"],
        "Citrate cycle (TCA cycle)": ["CS", "ACO2", "IDH3A"],
        "Pentose phosphate pathway": ["G6PD", "PGD", "TKT"],
    }
    path = tmp_path / "KEGG_from_excel.txt"
    path.write_bytes(af.enrichr_from_spreadsheet(sets, single_tab={"Ferroptosis", "Mineral absorption"}))
    assert b"\n" not in path.read_bytes()
    with caplog.at_level(logging.WARNING):
        lib = genesets.read_library(path, "x")
    assert {t: g for t, g in lib.sets.items()} == sets
    assert_in(caplog.text, "2 line(s) have no description field", "line(s) 1, 3", "(HMOX1, HMOX1)", "kept as one")


def test_gmt_descriptions_are_not_taken_for_genes(tmp_path, caplog):
    path = tmp_path / "lib.gmt"
    path.write_text(
        "Mineral absorption\thsa04978\tHMOX1\tVDR\nSET_B\thttp://x.org/b\tVDR\tGAPDH\nSET_C\tNA\tGAPDH\tPKM\n"
    )
    with caplog.at_level(logging.WARNING):
        lib = genesets.read_library(path, "x")
    assert lib.sets["Mineral absorption"] == ["HMOX1", "VDR"] and lib.ids["Mineral absorption"] == "hsa04978"
    assert lib.sets["SET_C"] == ["GAPDH", "PKM"]
    assert "no description field" not in caplog.text


def test_quoted_term_names_from_a_spreadsheet(tmp_path):
    path = tmp_path / "lib.txt"
    path.write_bytes(b'"Glycine, serine and threonine metabolism"\t\tPHGDH\tPSAT1\r')
    assert genesets.read_library(path, "x").sets == {"Glycine, serine and threonine metabolism": ["PHGDH", "PSAT1"]}


# ----------------------------------------------------------------------------- KEGG REST variants


def test_kegg_gene_with_a_name_and_no_description():
    text = (
        "hsa:3162\tCDS\t22:35381067..35394207\tHMOX1, HO-1, HMOX1D; heme oxygenase 1\n"
        "hsa:102466751\tmisc_RNA\t1:17369..17436\tMIR6859-1\n"
        "hsa:100\tCDS\t1:1..2\tuncharacterized LOC100\n"
        "hsa:4514\tMT-CO3, COIII\n"
    )
    assert libraries.parse_kegg_genes(text, "hsa") == {"3162": "HMOX1", "102466751": "MIR6859-1", "4514": "MT-CO3"}


def test_kegg_link_with_a_third_column():
    text = "path:hsa00010\thsa:10327\treverse\npath:hsa00010\thsa:124\nhsa:3162\tpath:hsa04978\toriginal\n"
    assert libraries.parse_kegg_links(text, "hsa") == {"hsa00010": ["10327", "124"], "hsa04978": ["3162"]}
    with pytest.raises(InputError, match="line 1 is not 'pathway<TAB>gene'"):
        libraries.parse_kegg_links("path:hsa00010\n", "hsa")
