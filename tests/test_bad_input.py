"""Bad input data: every problem gives a message naming the file (and line, sample or gene)
and the fix, first at the package level (fast), then for a representative subset through a
real ``snakemake`` run, which must fail without leaving the failing rule's outputs behind.

A null dataset (no DE gene at all) is not an error: it runs to a verdict that says so.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathverdict import genesets
from pathverdict.judgement import verdict
from pathverdict.steps.prepare import prepare_dataset
from pathverdict.errors import InputError

PREPARE_OUTPUTS = ["input/counts.tsv.gz", "samples.tsv", "input/gene_ids.tsv", "input/prepare.json"]
# the tiny datasets use real gene IDs from ../shared/data (the test fails when it is absent)
pytestmark = pytest.mark.shared

ORA_OUTPUTS = ["enrichment/ora_up.tsv", "enrichment/ora_down.tsv", "enrichment/ora_all.tsv", "enrichment/ora.json"]


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def prepare(tmp_path, annotation_path):
    """``prepare(ds, **entry_overrides)``: run the prepare step (all input checks) at the package
    level; returns the step's info dict. Outputs go to tmp_path/prepared."""
    out = tmp_path / "prepared"

    def _prepare(ds, **extra):
        return prepare_dataset(
            dataset="tiny",
            dataset_config=ds.config_entry(**extra),
            annotation=str(annotation_path),
            counts=str(ds.counts_path),
            samples=str(ds.samples_path),
            out_counts=str(out / PREPARE_OUTPUTS[0]),
            out_samples=str(out / PREPARE_OUTPUTS[1]),
            out_genes=str(out / PREPARE_OUTPUTS[2]),
            out_info=str(out / PREPARE_OUTPUTS[3]),
        )

    _prepare.out = out
    return _prepare


def prepare_error(prepare, ds, **extra) -> str:
    """The InputError message of the prepare step; checks that it wrote nothing."""
    with pytest.raises(InputError) as info:
        prepare(ds, **extra)
    left = sorted(str(p) for p in prepare.out.rglob("*") if p.is_file()) if prepare.out.exists() else []
    assert not left, f"the failing prepare step left files behind: {left}"
    return str(info.value)


def assert_in(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} is not in the message:\n{message}"


def write_counts(ds, counts: pd.DataFrame) -> None:
    counts.to_csv(ds.counts_path, sep="\t", index_label="gene_id", lineterminator="\n")


def write_samples(ds, samples: pd.DataFrame) -> None:
    samples.to_csv(ds.samples_path, sep="\t", index=False, lineterminator="\n")


def edit_lines(path: Path, edit) -> list[str]:
    """Rewrite a text file line by line: ``edit(lines)`` changes the list of lines in place."""
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")
    return lines


def line_of(ds, row: int) -> int:
    """Editor line of count-matrix row ``row`` (0-based; the header is line 1)."""
    return row + 2


def results_files(workdir: Path) -> list[str]:
    """Files under results/ (every study), but the record of which config a study folder belongs to
    (results/<study>/.pathverdict-run.json, written when a run starts)."""
    res = workdir / "results"
    files = sorted(str(p.relative_to(workdir)) for p in res.rglob("*") if p.is_file()) if res.exists() else []
    return [f for f in files if Path(f).name != ".pathverdict-run.json"]


def assert_failed_cleanly(rc: int, out: str, workdir: Path, parts: list[str], absent: list[str]) -> None:
    """Non-zero exit, the InputError message in the output (without a traceback), and none of
    the failing rule's outputs (nor any temporary file) under results/."""
    assert rc != 0, f"snakemake succeeded although the input is bad:\n{out[-3000:]}"
    for part in parts:
        assert part in out, f"{part!r} is not in snakemake's output:\n{out[-5000:]}"
    assert "Traceback (most recent call last)" not in out, f"an InputError came with a traceback:\n{out[-5000:]}"
    left = [p for p in absent if (workdir / p).exists()]
    assert not left, f"outputs of the failing rule were left behind: {left}"
    tmp = [f for f in results_files(workdir) if f.endswith(".tmp") or Path(f).name.startswith(".")]
    assert not tmp, f"temporary files left behind: {tmp}"


# ----------------------------------------------------------------------------- 1. samples vs columns


def mismatched_sheet(ds) -> None:
    """Sample sheet lists ctrl4 (no such column) and lacks trt3 (a column of the matrix)."""
    s = ds.samples[ds.samples["sample"] != "trt3"]
    s = pd.concat([s, pd.DataFrame({"sample": ["ctrl4"], "condition": ["Control"]})], ignore_index=True)
    write_samples(ds, s)


def test_sample_sheet_and_count_columns_disagree(tiny, prepare):
    mismatched_sheet(tiny)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "dataset tiny",
        str(tiny.samples_path),
        str(tiny.counts_path),
        "disagree",
        "ctrl4",
        "trt3",
        "Make the `sample` column list exactly the count matrix's sample columns",
    )
    # which name is on which side
    assert re.search(r"sample sheet [^:]*without a column in [^:]*: ctrl4\.", msg), msg
    assert re.search(r"Columns of [^:]* not in the sample sheet [^:]*: trt3\.", msg), msg


# ----------------------------------------------------------------------------- 2. non-integer counts


def fractional(ds) -> tuple[str, str, int]:
    """Make two counts fractional; returns (gene, sample, line) of the first."""
    c = ds.counts.astype(float)
    c.iloc[4, 2] = 12.5
    c.iloc[9, 0] = 7.25
    write_counts(ds, c)
    return ds.counts.index[4], ds.counts.columns[2], line_of(ds, 4)


def test_non_integer_counts_are_refused_with_round_counts_hint(tiny, prepare):
    gene, sample, line = fractional(tiny)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.counts_path),
        f"line {line}",
        f"gene {gene}",
        f"sample {sample}",
        "12.5",
        "not an integer",
        "2 non-integer value(s)",
        "`round_counts: true`",
    )


def test_round_counts_accepts_and_rounds(tiny, prepare):
    fractional(tiny)
    info = prepare(tiny, round_counts=True)
    assert info["rounded_values"] == 2
    with gzip.open(prepare.out / PREPARE_OUTPUTS[0], "rt") as fh:
        got = pd.read_csv(fh, sep="\t", index_col=0)
    expected = tiny.counts.copy()
    expected.iloc[4, 2] = 12  # round half to even
    expected.iloc[9, 0] = 7
    pd.testing.assert_frame_equal(got, expected, check_names=False)
    assert all(dt == np.int64 for dt in got.dtypes)


# ----------------------------------------------------------------------------- 3. negative / missing counts


@pytest.mark.parametrize(
    "value, expected",
    [
        ("-3", ["negative count -3", "cannot be negative", "raw (not normalised or log-transformed) count table"]),
        ("", ["the count is missing", "fill in or remove the gene"]),
        ("NA", ["the count is missing", "fill in or remove the gene"]),
    ],
    ids=["negative", "empty-cell", "NA"],
)
def test_negative_or_missing_count(tiny, prepare, value, expected):
    c = tiny.counts.astype(object)
    c.iloc[6, 3] = value
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.counts_path),
        f"line {line_of(tiny, 6)}",
        f"gene {tiny.counts.index[6]}",
        f"sample {tiny.counts.columns[3]}",
        *expected,
    )


def test_short_line_is_a_missing_count(tiny, prepare):
    def drop_last_count(lines):  # of the 5th gene
        lines[5] = "\t".join(lines[5].split("\t")[:-1])

    edit_lines(tiny.counts_path, drop_last_count)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.counts_path),
        "line 6",
        f"gene {tiny.counts.index[4]}",
        f"sample {tiny.counts.columns[-1]}",
        "missing",
    )


# ----------------------------------------------------------------------------- 4. duplicated gene IDs


def test_duplicated_gene_ids_list_their_lines(tiny, prepare):
    c = pd.concat([tiny.counts, tiny.counts.iloc[[3, 10]]])
    write_counts(tiny, c)
    n = len(tiny.counts)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.counts_path),
        "duplicated gene IDs",
        f"{tiny.counts.index[3]} (lines {line_of(tiny, 3)}, {n + 2})",
        f"{tiny.counts.index[10]} (lines {line_of(tiny, 10)}, {n + 3})",
        "sum or drop the duplicated rows",
    )


# ----------------------------------------------------------------------------- 5. design / contrast


def test_contrast_level_absent_lists_levels(tiny, prepare):
    msg = prepare_error(prepare, tiny, contrast=["condition", "treated", "Control"])
    assert_in(
        msg,
        "dataset tiny",
        str(tiny.samples_path),
        "contrast level 'treated'",
        "column 'condition'",
        "levels there: Control, Treated",
        "Fix `contrast`",
        "case-sensitive",
    )


def test_contrast_variable_not_in_design(tiny, prepare):
    s = tiny.samples.assign(batch=["b1", "b2", "b1", "b2", "b1", "b2"])
    write_samples(tiny, s)
    msg = prepare_error(prepare, tiny, contrast=["batch", "b2", "b1"])
    assert_in(
        msg,
        "dataset tiny",
        "contrast variable 'batch' is not in the design '~condition'",
        "Add it to the design or pick one of condition",
    )


def test_design_variable_not_a_column(tiny, prepare):
    msg = prepare_error(prepare, tiny, design="~batch + condition")
    assert_in(
        msg,
        "dataset tiny",
        "design '~batch + condition' uses batch",
        str(tiny.samples_path),
        "columns: condition",
        "Fix `design` or add the column",
    )


# ----------------------------------------------------------------------------- 6. replicates


def test_compared_group_with_one_replicate(tiny, prepare):
    s = tiny.samples.copy()
    s.loc[s["sample"].isin(["trt2", "trt3"]), "condition"] = "Other"
    write_samples(tiny, s)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "dataset tiny",
        str(tiny.samples_path),
        "group condition=Treated has 1 sample",
        "at least 2 replicates",
        "Add replicates",
    )


# ----------------------------------------------------------------------------- 7. gene IDs


def test_affymetrix_probe_ids_are_not_recognised(tiny, prepare):
    c = tiny.counts.copy()
    c.index = [f"{1007 + i}_s_at" for i in range(len(c))]
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "dataset tiny",
        str(tiny.counts_path),
        "cannot tell which kind of gene IDs",
        "1007_s_at",
        "Affymetrix probe set IDs",
        "Set `gene_id_type`",
    )


def test_mouse_ensembl_ids_with_auto_type(tiny, prepare):
    c = tiny.counts.copy()
    c.index = [f"ENSMUSG{i:011d}" for i in range(len(c))]
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny, gene_id_type="auto")
    assert_in(
        msg,
        "dataset tiny",
        str(tiny.counts_path),
        f"only 0 of {len(c)} gene IDs",
        "as ensembl IDs",
        "at least 25% must map",
        "prefix ENSMUSG",
        "another species",
        "Fix `gene_id_type` / `annotation`",
    )


def test_declared_type_mapping_under_a_quarter(tiny, prepare):
    # 20% real human Ensembl IDs, 80% well-formed IDs unknown to the annotation
    c = tiny.counts.copy()
    n = len(c)
    keep = n // 5
    c.index = list(c.index[:keep]) + [f"ENSG99{i:09d}" for i in range(n - keep)]
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny, gene_id_type="ensembl")
    assert_in(
        msg,
        "dataset tiny",
        str(tiny.counts_path),
        f"only {keep} of {n} gene IDs (20.0%)",
        "at least 25% must map",
        "Fix `gene_id_type`",
    )


def test_declared_type_that_does_not_fit(tiny, prepare):
    msg = prepare_error(prepare, tiny, gene_id_type="entrez")
    assert_in(
        msg, str(tiny.counts_path), f"only 0 of {len(tiny.counts)} gene IDs", "as entrez IDs", "Wrong `gene_id_type`"
    )


# ----------------------------------------------------------------------------- 8. gene sets


def made_up_gmt(path: Path) -> Path:
    """A library of made-up genes; it has a term named like the target, so only the overlap check fails."""
    names = ["Mineral absorption"] + [f"FAKE_SET_{k}" for k in range(1, 5)]
    path.write_text(
        "".join(
            f"{name}\tmade up\t" + "\t".join(f"NOTAGENE{k}_{i}" for i in range(20)) + "\n"
            for k, name in enumerate(names)
        )
    )
    return path


def test_gene_set_library_without_overlap(tiny, tmp_path):
    lib = genesets.read_library(made_up_gmt(tmp_path / "fake.gmt"), "fake")
    with pytest.raises(InputError) as info:
        genesets.check_overlap(lib, set(tiny.symbols.values()), "tiny")
    assert_in(
        str(info.value),
        "dataset tiny",
        "none of the",
        "gene-set library fake",
        str(tmp_path / "fake.gmt"),
        "NOTAGENE",
        "Check the organism of the library",
    )


def test_gene_set_line_with_too_few_fields(tmp_path):
    gmt = tmp_path / "short.gmt"
    gmt.write_text("SET_A\tdesc\tVDR\tHMOX1\nSET_B\tVDR\n")
    with pytest.raises(InputError) as info:
        genesets.read_library(gmt)
    assert_in(
        str(info.value), str(gmt), "line 2 has 2 tab-separated field(s)", "name, description (may be empty), then genes"
    )


# ----------------------------------------------------------------------------- 9. no DE genes


def test_no_de_genes_is_not_an_error_in_the_verdict():
    table = pd.DataFrame(
        columns=["library", "term", "rank", "pvalue", "padj", "overlap_size", "set_size", "overlap_genes"]
    )
    row = verdict.judge_method(table, "ora_all", "Mineral absorption", verdict.VerdictSettings(), 0)
    assert row["on_top"] == "no" and row["status"] == "inconclusive"
    assert "no DE genes" in row["note"]


# ----------------------------------------------------------------------------- 10. malformed files


def test_empty_counts_file(tiny, prepare):
    tiny.counts_path.write_text("")
    msg = prepare_error(prepare, tiny)
    assert_in(msg, str(tiny.counts_path), "the file is empty", "header line")


def test_counts_file_with_only_a_header(tiny, prepare):
    tiny.counts_path.write_text("gene_id\t" + "\t".join(tiny.counts.columns) + "\n")
    msg = prepare_error(prepare, tiny)
    assert_in(msg, str(tiny.counts_path), "no gene lines")


def test_sample_sheet_without_sample_column(tiny, prepare):
    write_samples(tiny, tiny.samples.rename(columns={"sample": "Sample"}))
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.samples_path),
        "line 1 has no `sample` column",
        "found: Sample, condition",
        "Name the column holding the sample names",
    )


def test_sample_sheet_without_samples(tiny, prepare):
    tiny.samples_path.write_text("sample\tcondition\n")
    msg = prepare_error(prepare, tiny)
    assert_in(msg, str(tiny.samples_path), "no sample lines")


def test_duplicated_sample_names(tiny, prepare):
    s = tiny.samples.copy()
    s.loc[1, "sample"] = "ctrl1"
    write_samples(tiny, s)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.samples_path),
        "sample names must be unique",
        "ctrl1 (line 2)",
        "ctrl1 (line 3)",
        "Give each sample its own name",
    )


def test_sample_name_with_a_space(tiny, prepare):
    s = tiny.samples.copy()
    s.loc[2, "sample"] = "ctrl 3"
    write_samples(tiny, s)
    c = tiny.counts.rename(columns={"ctrl3": "ctrl 3"})
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.samples_path),
        "line 4, column sample",
        "'ctrl 3' is not valid",
        "only letters, digits",
        "rename the sample here and in the count matrix header",
    )


def test_duplicated_sample_columns_in_counts(tiny, prepare):
    lines = tiny.counts_path.read_text().splitlines()
    lines[0] = lines[0].replace("trt1", "trt2")
    tiny.counts_path.write_text("\n".join(lines) + "\n")
    msg = prepare_error(prepare, tiny)
    assert_in(msg, str(tiny.counts_path), "line 1", "more than once: trt2")


# ----------------------------------------------------------------------------- through snakemake

PREPARE_FAILURES = {
    "sheet-vs-columns": (
        lambda ds: mismatched_sheet(ds),
        {},
        lambda ds: ["disagree", "ctrl4", "trt3", str(ds.samples_path), "Make the `sample` column list exactly"],
    ),
    "non-integer": (
        lambda ds: fractional(ds),
        {},
        lambda ds: [
            str(ds.counts_path),
            f"line {line_of(ds, 4)}",
            f"gene {ds.counts.index[4]}",
            "sample ctrl3",
            "`round_counts: true`",
        ],
    ),
    "contrast-level-absent": (
        lambda ds: None,
        {"contrast": ["condition", "treated", "Control"]},
        lambda ds: ["contrast level 'treated'", "levels there: Control, Treated", str(ds.samples_path)],
    ),
    "unknown-id-type": (
        lambda ds: write_counts(ds, ds.counts.set_axis([f"{1007 + i}_s_at" for i in range(len(ds.counts))], axis=0)),
        {},
        lambda ds: [str(ds.counts_path), "cannot tell which kind of gene IDs", "1007_s_at", "Set `gene_id_type`"],
    ),
    # issue 12: a sample without reads reached DESeq2's "all gene-wise dispersion estimates are within 2 orders
    # of magnitude"; a confounded batch failed in rule deseq2 with "Singular matrix"; a truncated counts.tsv.gz
    # crashed the memory estimate at DAG time (EOFError, no file named)
    "sample-without-reads": (
        lambda ds: write_counts(ds, ds.counts.assign(trt2=0)),
        {},
        lambda ds: [
            "dataset tiny",
            "sample(s) trt2 have no reads at all",
            str(ds.counts_path),
            "remove it from the sample sheet",
        ],
    ),
    "confounded-batch": (
        lambda ds: write_samples(ds, ds.samples.assign(batch=["b1"] * 3 + ["b2"] * 3)),
        {"design": "~batch + condition"},
        lambda ds: [
            "'batch' and 'condition'",
            "batch=b1 only with condition=Control",
            "confounded",
            "Remove one of them from the design",
        ],
    ),
    "truncated-gzip": (
        lambda ds: truncated_gzip(ds),
        {"counts": "TRUNCATED"},
        lambda ds: [str(ds.dir / "counts.tsv.gz"), "truncated or corrupt", "Re-download or re-export"],
    ),
}


def truncated_gzip(ds) -> None:
    """counts.tsv.gz cut in the middle (an interrupted copy); big enough that reading it whole takes a while."""
    big = pd.concat([ds.counts] + [ds.counts.set_axis([f"{g}_{k}" for g in ds.counts.index]) for k in range(200)])
    data = gzip.compress(big.to_csv(sep="\t", index_label="gene_id", lineterminator="\n").encode())
    (ds.dir / "counts.tsv.gz").write_bytes(data[: len(data) // 2])


@pytest.mark.e2e
@pytest.mark.parametrize("case", list(PREPARE_FAILURES))
def test_snakemake_stops_at_bad_input(case, tiny, write_config, snakemake_run):
    damage, entry, expected = PREPARE_FAILURES[case]
    damage(tiny)
    if entry.get("counts") == "TRUNCATED":
        entry = {**entry, "counts": str(tiny.dir / "counts.tsv.gz")}
    config = write_config({"tiny": tiny.config_entry(**entry)})
    rc, out = snakemake_run(config)
    work = snakemake_run.workdir
    assert "rule prepare_dataset: " in out, out[-3000:]
    assert_failed_cleanly(rc, out, work, expected(tiny), [f"results/config/tiny/{p}" for p in PREPARE_OUTPUTS])
    assert results_files(work) == [], "nothing downstream of prepare_dataset may exist"
    # only the record of which config the study folder belongs to (a run that did not finish: no datasets)
    record = json.loads((work / "results/config/.pathverdict-run.json").read_text())
    assert record == {"study": "config", "configfiles": [str(config)]}


@pytest.mark.e2e
def test_snakemake_ora_fails_on_gene_sets_without_overlap(tiny, tmp_path, write_config, snakemake_run):
    gmt = made_up_gmt(tmp_path / "fake_library.gmt")
    config = write_config({"tiny": tiny}, genesets={"fake_library": str(gmt)})
    rc, out = snakemake_run(config, "results/config/tiny/enrichment/ora_all.tsv")
    work = snakemake_run.workdir
    assert "rule enrichment: " in out, out[-3000:]
    assert_failed_cleanly(
        rc,
        out,
        work,
        [
            "dataset tiny",
            "none of the",
            "gene-set library fake_library",
            "NOTAGENE",
            "Check the organism of the library",
        ],
        [f"results/config/tiny/{p}" for p in ORA_OUTPUTS],
    )
    assert (work / "results/config/tiny/de.tsv").is_file(), "the DE step before the enrichment should have finished"
    assert not (work / "results/config/tiny/enrichment").exists() or not any(
        (work / "results/config/tiny/enrichment").iterdir()
    )


@pytest.mark.e2e
def test_snakemake_null_dataset_runs_to_a_verdict(make_dataset, write_config, snakemake_run):
    null = make_dataset("null", identical_groups=True)
    config = write_config({"null": null})
    rc, out = snakemake_run(config, "results/config/verdict.tsv")
    assert rc == 0, out[-5000:]
    work = snakemake_run.workdir
    v = pd.read_csv(work / "results/config/verdict.tsv", sep="\t", keep_default_na=False)
    assert set(v["dataset"]) == {"null"}
    ora = v[v["method"].str.startswith("ora_")]
    assert sorted(ora["method"]) == ["ora_all", "ora_down", "ora_up"]
    assert (ora["on_top"] == "no").all(), ora
    assert ora["note"].str.contains("no DE genes").all(), ora[["method", "note"]]
    assert (ora["de_genes"].astype(int) == 0).all()
    # the headline (primary) method says the same
    head = v[v["primary"].astype(str) == "True"]
    assert len(head) == 1 and head["on_top"].iloc[0] == "no"
    assert not [f for f in results_files(work) if Path(f).name.startswith(".pathverdict-tmp.")]


@pytest.mark.e2e
def test_a_broken_input_after_a_good_run_fails_every_time_until_fixed(
    tiny, tmp_path, kegg_path, write_config, snakemake_run
):
    """Issue 12: after a good run, one negative count made the next run fail, but the run after that
    exited 0 with results/ showing the old verdict (Snakemake saw de.tsv present and the prepared
    files, removed with the failed job, as intermediates). Also: temporary files left by a killed
    run are removed at the next start (only ours), and results get the umask's normal mode."""
    import os
    import stat
    import time

    from pathverdict.util import TEMP_PREFIX

    library = tmp_path / "KEGG_2021_Human.txt"
    library.write_bytes(kegg_path.read_bytes())
    config = write_config(
        {"tiny": tiny},
        genesets={"KEGG_2021_Human": str(library)},
        robustness={"enabled": False},
        null={"enabled": False},
    )
    work = snakemake_run.workdir
    old_mask = os.umask(0o002)  # inherited by snakemake and its jobs
    try:
        rc, out = snakemake_run(config)
    finally:
        os.umask(old_mask)
    assert rc == 0, out[-5000:]
    verdict_before = (work / "results/config/verdict.tsv").stat().st_mtime_ns
    for f in [
        "results/config/tiny/de.tsv",
        "results/config/verdict.html",
        "results/config/tiny/plots/pca.png",
        "results/config/provenance.json",
    ]:
        assert stat.S_IMODE((work / f).stat().st_mode) == 0o664, (f, oct((work / f).stat().st_mode))

    time.sleep(1.1)  # a newer mtime for the changed input
    broken = tiny.counts.astype(object)
    broken.iloc[6, 3] = "-3"
    write_counts(tiny, broken)
    message = [str(tiny.counts_path), f"line {line_of(tiny, 6)}", "negative count -3"]
    for attempt in (1, 2, 3):
        rc, out = snakemake_run(config)
        assert rc != 0, f"run {attempt} with the broken input exited 0:\n{out[-3000:]}"
        assert_in(out, "rule prepare_dataset: ", *message)
        assert "Traceback (most recent call last)" not in out
        assert not (work / "results/config/tiny/input/counts.tsv.gz").exists()
    assert (work / "results/config/verdict.tsv").stat().st_mtime_ns == verdict_before

    # a run killed with -9 during writes left temporary files (ours: removed; others': kept)
    dead = subprocess_pid()
    stale = [
        work / f"results/config/tiny/{TEMP_PREFIX}{dead}.0a1b2c3d.de.tsv",
        work / f"resources/config/genesets/{TEMP_PREFIX}{dead}.0a1b2c3d.KEGG_2021_Human.gmt",
    ]
    foreign = work / "results/config/tiny/.notes.tmp"
    for p in stale + [foreign]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("partial")
    write_counts(tiny, tiny.counts)  # fixed
    rc, out = snakemake_run(config)
    assert rc == 0, out[-5000:]
    assert (work / "results/config/verdict.tsv").stat().st_mtime_ns > verdict_before
    assert (work / "results/config/tiny/input/counts.tsv.gz").is_file()
    assert not [p for p in stale if p.exists()], out[-3000:]
    assert "a temporary file left by an interrupted run" in out
    assert foreign.exists()

    # the same for a gene-set library that no longer has the target pathway (prepare_genesets fails)
    time.sleep(1.1)
    library.write_text(kegg_path.read_text().replace("Mineral absorption\t", "Mineral uptake\t"))
    for attempt in (1, 2):
        rc, out = snakemake_run(config)
        assert rc != 0, f"run {attempt} with the broken library exited 0:\n{out[-3000:]}"
        assert_in(
            out,
            "rule prepare_genesets: ",
            "target pathway 'Mineral absorption' is not in gene-set library KEGG_2021_Human",
            "Mineral uptake",
        )


def subprocess_pid() -> int:
    """The process ID of a process that has ended."""
    import subprocess
    import sys

    return int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
