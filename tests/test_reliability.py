"""Reliability (issue 12) at the package level: how results are written (mode, atomicity,
a full disk, temporary files of a killed run), identifiers kept as text, resource estimates
that never read a whole file, config keys YAML does not read as text, degenerate data,
silent-wrong-result guards (huge counts, counting-tool rows, tiny gene-set overlap, mixed IDs)
and messages that point the right way (BOM, confounded or numeric design columns, hyphens).

The snakemake-level cases are in tests/test_bad_input.py.
"""

from __future__ import annotations

import errno
import gzip
import io
import logging
import os
import stat
import subprocess
import sys
import tarfile
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pathverdict.sources import annotation
from pathverdict import genesets, smk, tables, util
from pathverdict.io import read_de
from pathverdict.steps.de import run_de
from pathverdict.config import validate_config
from pathverdict.errors import DiskFullError, InputError

from test_bad_input import PREPARE_OUTPUTS, assert_in, prepare, prepare_error, write_counts, write_samples  # noqa: F401

# most cases use the tiny dataset built from real gene IDs of ../shared/data
pytestmark = pytest.mark.shared


@pytest.fixture
def umask():
    """``umask(value)`` sets the process umask for the test; the old one is restored after."""
    old = os.umask(0o022)
    os.umask(old)

    def _set(value: int) -> None:
        os.umask(value)

    yield _set
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def ours(directory) -> list[str]:
    return sorted(p.name for p in directory.rglob(f"{util.TEMP_PREFIX}*"))


# ----------------------------------------------------------------------------- file mode (umask)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_results_get_the_normal_mode_of_the_umask(tmp_path, umask, mask):
    """mkstemp made every result 0600: colleagues on a shared cluster could not read de.tsv."""
    umask(mask)
    expected = 0o666 & ~mask
    util.write_tsv(pd.DataFrame({"gene_id": ["A"], "padj": [0.1]}), tmp_path / "de.tsv")
    util.write_json({"a": 1}, tmp_path / "x.json")
    with util.atomic_write(tmp_path / "n.tsv.gz") as fh:
        fh.write("gene_id\n")
    for name in ("de.tsv", "x.json", "n.tsv.gz"):
        assert mode(tmp_path / name) == expected, (name, oct(mode(tmp_path / name)))
    assert ours(tmp_path) == []


def test_every_writer_uses_the_umask(tmp_path, umask):
    """Figures, downloads' sidecars and files extracted from a GEO RAW.tar: the same mode."""
    from pathverdict.report import plots
    from pathverdict.sources import download, geo

    umask(0o002)
    plots.ma_plot(
        pd.DataFrame(
            {"gene_id": ["a", "b"], "baseMean": [10.0, 20.0], "log2FoldChange": [1.0, -1.0], "padj": [0.01, 0.5]}
        ),
        0.05,
        tmp_path / "ma.png",
        title="t",
    )
    (tmp_path / "f").write_bytes(b"placed by hand\n")  # adopted in offline mode: its sidecar is written
    download.fetch("https://example.org/f", tmp_path / "f", cache_dir=None, offline=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"gene\tcount\nA\t1\n"
        info = tarfile.TarInfo("GSM1_counts.txt")
        info.size = len(data)
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "raw.tar").write_bytes(buf.getvalue())
    out = geo.safe_extract(tmp_path / "raw.tar", tmp_path / "x")
    for path in [tmp_path / "ma.png", tmp_path / "f.source.json", *out]:
        assert mode(path) == 0o664, (path, oct(mode(path)))
    assert ours(tmp_path) == []


# ----------------------------------------------------------------------------- disk full


class _FullDisk(io.RawIOBase):
    """A file that takes ``room`` bytes and then fails like a full disk (ENOSPC)."""

    def __init__(self, real, room: int):
        self.real, self.room, self.name = real, room, real.name

    def writable(self):
        return True

    def write(self, b):
        if len(b) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(b)
        return self.real.write(b)

    def close(self):
        self.real.close()
        super().close()


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic write gets ``room`` bytes, then ENOSPC."""

    def _fill(room: int = 100):
        real_open = open

        def fake_open(path, mode="r", *args, **kwargs):
            fh = real_open(path, mode, *args, **kwargs)
            return _FullDisk(fh, room) if "x" in mode else fh

        monkeypatch.setattr(util, "open", fake_open, raising=False)

    return _fill


@pytest.mark.parametrize("name", ["de.tsv", "counts.tsv.gz"])
def test_disk_full_is_one_message_and_leaves_nothing(tmp_path, full_disk, name):
    full_disk(100)
    table = pd.DataFrame({"gene_id": [f"ENSG{i:011d}" for i in range(1000)], "padj": np.linspace(0, 1, 1000)})
    with pytest.raises(DiskFullError) as info:
        util.write_tsv(table, tmp_path / name)
    assert_in(
        str(info.value),
        "no space left on device while writing",
        str(tmp_path / name),
        "free on the file system",
        "Nothing partial was kept",
        "Free some space",
        "run the same command again",
    )
    assert list(tmp_path.iterdir()) == [], "a partial or temporary file was left behind"


def test_disk_full_in_a_step_is_reported_without_a_traceback(tmp_path, full_disk, capsys):
    full_disk(10)
    log = tmp_path / "logs" / "deseq2.log"
    sm = types.SimpleNamespace(log=[str(log)], rule="deseq2", output=[str(tmp_path / "de.tsv")])
    with pytest.raises(SystemExit) as info:
        smk.run_step(sm, lambda: util.write_tsv(pd.DataFrame({"gene_id": ["x"] * 100}), tmp_path / "de.tsv"))
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert_in(err, "rule deseq2: no space left on device while writing", str(tmp_path / "de.tsv"))
    assert "Traceback" not in err and "Logging error" not in err
    assert "rule deseq2: no space left on device" in log.read_text()
    assert not (tmp_path / "de.tsv").exists() and ours(tmp_path) == []


def test_disk_full_outside_our_writes_is_the_same_message(tmp_path, capsys):
    sm = types.SimpleNamespace(log=[str(tmp_path / "x.log")], rule="gsea", output=[str(tmp_path / "gsea.tsv")])

    def step():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "scratch.bin"))

    with pytest.raises(SystemExit):
        smk.run_step(sm, step)
    err = capsys.readouterr().err
    assert_in(err, "rule gsea: no space left on device while writing", str(tmp_path / "scratch.bin"))
    assert "Traceback" not in err


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_read_only_output_folder_is_one_message(tmp_path, capsys, code):
    out = tmp_path / "results" / "de.tsv"
    sm = types.SimpleNamespace(log=[str(tmp_path / "x.log")], rule="deseq2", output=[str(out)])

    def step():
        raise OSError(code, os.strerror(code), str(out.parent / ".pathverdict-tmp.1.ab.de.tsv"))

    with pytest.raises(SystemExit):
        smk.run_step(sm, step)
    err = capsys.readouterr().err
    assert_in(
        err,
        "rule deseq2: cannot write",
        f"the folder {out.parent} is read-only",
        "chmod u+w",
        "run the same command again",
    )
    assert "Traceback" not in err


def test_other_os_errors_still_raise(tmp_path):
    sm = types.SimpleNamespace(log=[str(tmp_path / "x.log")], rule="gsea", output=[])

    def step():
        raise PermissionError(errno.EACCES, "Permission denied", "/x")

    with pytest.raises(PermissionError):
        smk.run_step(sm, step)


# ----------------------------------------------------------------------------- temporary files of a killed run


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_stale_temporary_files_are_removed_and_only_ours(tmp_path):
    res = tmp_path / "results" / "ds"
    res.mkdir(parents=True)
    dead = _dead_pid()
    stale = [
        res / f"{util.TEMP_PREFIX}{dead}.0a1b2c3d.de.tsv",
        tmp_path / "results" / f"{util.TEMP_PREFIX}{dead}.ff.x.png",
    ]
    alive = res / f"{util.TEMP_PREFIX}{os.getppid()}.0a1b2c3d.vst.tsv.gz"  # a live writer: kept
    foreign = [res / ".de.tsv.abc.tmp", res / ".hidden", res / "de.tsv", res / f"{util.TEMP_PREFIX}notapid.x"]
    for p in stale + [alive] + foreign:
        p.write_text("x")
    removed = util.remove_stale_temp_files(tmp_path / "results", tmp_path / "resources")
    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale)
    assert alive.exists() and all(p.exists() for p in foreign)


def test_a_zombie_writer_is_gone(tmp_path):
    """Right after kill -9 of snakemake and its jobs, a killed job can still be an unreaped zombie (its
    parent is dead; an init that does not reap, as in some containers, keeps it): it writes nothing,
    so its temporary file is removed (issue 24: it was kept in 2 of 4 kill -9 runs)."""
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "pass"])  # never waited for: a zombie once it exits
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.05)
        tmp = tmp_path / "results" / f"{util.TEMP_PREFIX}{child.pid}.0a1b2c3d.de.tsv"
        tmp.parent.mkdir()
        tmp.write_text("partial")
        assert util.remove_stale_temp_files(tmp_path / "results") == [tmp] and not tmp.exists()
    finally:
        child.wait()


def test_a_process_that_started_after_the_write_is_not_the_writer(tmp_path):
    """pid reuse: the pid in a temporary file's name now belongs to a process that started after the
    file was last written -- not its writer, which has ended: the file is removed. The writer itself
    (started before) keeps it."""
    import psutil

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(other.pid).create_time()
        res = tmp_path / "results"
        res.mkdir()
        reused = res / f"{util.TEMP_PREFIX}{other.pid}.0a1b2c3d.de.tsv"
        reused.write_text("partial")
        os.utime(reused, (started - 60, started - 60))  # written a minute before that process started
        writing = res / f"{util.TEMP_PREFIX}{other.pid}.0a1b2c3e.vst.tsv.gz"
        writing.write_text("partial")  # written now, by a process that started before: its writer
        assert util.remove_stale_temp_files(res) == [reused]
        assert not reused.exists() and writing.exists()
    finally:
        other.kill()
        other.wait()


def test_a_killed_writer_leaves_a_temp_file_that_the_next_run_removes(tmp_path):
    """kill -9 during a write: the temporary file stays, the destination is never partial."""
    code = (
        "import sys, os, signal; sys.path.insert(0, sys.argv[2]); from pathverdict.util import atomic_write\n"
        "with atomic_write(sys.argv[1]) as fh:\n"
        "    fh.write('partial'); fh.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    src = str(util.Path(util.__file__).parents[1])
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "results" / "de.tsv"), src])
    assert proc.returncode == -9
    assert not (tmp_path / "results" / "de.tsv").exists()
    assert len(ours(tmp_path)) == 1
    util.remove_stale_temp_files(tmp_path / "results")
    assert ours(tmp_path) == []


# ----------------------------------------------------------------------------- identifiers stay text


def test_read_tsv_keeps_identifiers_that_look_missing(tmp_path):
    path = tmp_path / "de.tsv"
    path.write_text("gene_id\tsymbol\tbaseMean\tpadj\nNA\tNA\t1.5\tNA\nNULL\t\t2\t0.01\nnan\tNULL\t3\t\n")
    df = util.read_tsv(path)
    assert df["gene_id"].tolist() == ["NA", "NULL", "nan"]
    assert df["symbol"].iloc[0] == "NA" and pd.isna(df["symbol"].iloc[1]) and df["symbol"].iloc[2] == "NULL"
    assert df["padj"].isna().tolist() == [True, False, True] and df["baseMean"].dtype == float
    indexed = util.read_tsv(path, index_col=0)
    assert indexed.index.tolist() == ["NA", "NULL", "nan"]


def test_de_of_genes_named_na_and_null(tiny, prepare, tmp_path):
    """Gene IDs NA/NULL became NaN in the DE step and DESeq2 failed on duplicate labels."""
    c = tiny.counts.copy()
    ids = list(c.index)
    ids[-3:] = ["NA", "NULL", "nan"]
    c.index = ids
    write_counts(tiny, c)
    prepare(tiny)
    out = tmp_path / "de"
    cfg = {
        "de": {
            "alpha": 0.05,
            "prefilter": {"min_count": 10, "min_samples": None},
            "independent_filtering": True,
            "cooks_filter": True,
            "shrinkage": False,
        }
    }
    run_de(
        dataset="tiny",
        dataset_config=tiny.config_entry(),
        de=cfg["de"],
        counts=str(prepare.out / PREPARE_OUTPUTS[0]),
        samples=str(prepare.out / PREPARE_OUTPUTS[1]),
        genes=str(prepare.out / PREPARE_OUTPUTS[2]),
        out_de=str(out / "de.tsv"),
        out_normalized=str(out / "n.tsv.gz"),
        out_vst=str(out / "v.tsv.gz"),
        out_summary=str(out / "s.json"),
    )
    de = read_de(str(out / "de.tsv"))
    assert {"NA", "NULL", "nan"} <= set(de["gene_id"])
    assert de["gene_id"].notna().all()


# ----------------------------------------------------------------------------- resource estimates


def _matrix(genes: int, samples: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    counts = rng.negative_binomial(2, 0.01, size=(genes, samples))
    lines = ["gene_id\t" + "\t".join(f"s{j}" for j in range(samples))]
    lines += [f"ENSG{i:011d}\t" + "\t".join(map(str, row)) for i, row in enumerate(counts)]
    return "\n".join(lines) + "\n"


def test_estimate_cells_is_exact_for_small_files(tmp_path):
    (tmp_path / "c.tsv").write_text(_matrix(50, 4))
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(_matrix(50, 4).replace("\t", ",").encode()))
    assert tables.estimate_cells(tmp_path / "c.tsv") == 200
    assert tables.estimate_cells(tmp_path / "c.csv.gz") == 200


@pytest.mark.parametrize("gz", [False, True])
def test_estimate_cells_of_a_large_file_from_its_first_megabyte(tmp_path, gz):
    text = _matrix(60_000, 12)
    path = tmp_path / ("c.tsv.gz" if gz else "c.tsv")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    est = tables.estimate_cells(path, sample_bytes=1 << 18)
    assert abs(est - 60_000 * 12) / (60_000 * 12) < 0.1, est


def test_estimate_cells_never_fails_on_a_bad_file(tmp_path):
    full = gzip.compress(_matrix(60_000, 12).encode())
    truncated = tmp_path / "truncated.tsv.gz"
    truncated.write_bytes(full[: len(full) // 2])  # reading it whole raises EOFError
    est = tables.estimate_cells(truncated, sample_bytes=1 << 18)
    assert est is not None and est > 0  # estimated from its readable start
    corrupt = tmp_path / "corrupt.tsv.gz"
    corrupt.write_bytes(b"\x1f\x8b" + os.urandom(5000))
    assert tables.estimate_cells(corrupt) is None
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    assert tables.estimate_cells(empty) is None
    with pytest.raises(FileNotFoundError):
        tables.estimate_cells(tmp_path / "absent.tsv")


# ----------------------------------------------------------------------------- config keys YAML does not read as text

CONFIG_TEXT = """
datasets:
  {key}:
    counts: a.tsv
    samples: b.tsv
    design: "~condition"
    contrast: [condition, A, B]
genesets: {{{lib}: lib.gmt}}
target_pathway: Mineral absorption
annotation: ann.tsv
"""


@pytest.mark.parametrize(
    "key, shown, what, quoted",
    [
        ("2019", "2019", "a number", '"2019":'),
        ("null", "null", "no value", '"null":'),
        ("~", "null", "no value", '"null":'),
        ("yes", "true", "a boolean", '"yes":'),
        ("off", "false", "a boolean", '"no":'),
        ("1", "1", "a number", '"1":'),
        ("1.5", "1.5", "a number", '"1.5":'),
        ("2019-01-02", "2019-01-02", "a date", '"2019-01-02":'),
    ],
)
def test_dataset_names_yaml_does_not_read_as_text(key, shown, what, quoted):
    cfg = yaml.safe_load(CONFIG_TEXT.format(key=key, lib="KEGG"))
    with pytest.raises(InputError) as info:
        validate_config(cfg, "my.yaml")
    assert_in(
        str(info.value),
        "my.yaml is not valid",
        f"datasets: the dataset name {shown} was read by YAML as {what}",
        "not as text",
        f"Fix: put it in quotes, e.g. {quoted}",
    )


def test_library_names_yaml_does_not_read_as_text():
    cfg = yaml.safe_load(CONFIG_TEXT.format(key="ok", lib="2021"))
    with pytest.raises(InputError) as info:
        validate_config(cfg, "my.yaml")
    assert_in(str(info.value), "genesets: the gene-set library name 2021 was read by YAML as a number", 'e.g. "2021":')


def test_quoted_names_are_fine():
    cfg = yaml.safe_load(CONFIG_TEXT.format(key='"2019"', lib='"yes"'))
    out = validate_config(cfg, "my.yaml")
    assert list(out["datasets"]) == ["2019"] and list(out["genesets"]) == ["yes"]


# ----------------------------------------------------------------------------- degenerate data


def test_all_zero_matrix(tiny, prepare):
    write_counts(tiny, tiny.counts * 0)
    msg = prepare_error(prepare, tiny)
    assert_in(msg, "dataset tiny", "every count in", str(tiny.counts_path), "is 0", "holds no reads", "right file")
    assert "pre-filter" not in msg and "min_count" not in msg


def test_a_sample_without_reads(tiny, prepare):
    c = tiny.counts.copy()
    c["trt2"] = 0
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "dataset tiny",
        "sample(s) trt2 have no reads at all",
        str(tiny.counts_path),
        "remove it from the sample sheet and the count matrix",
    )
    assert "dispersion" not in msg


@pytest.mark.parametrize("expressed", [1, 99])
def test_too_few_expressed_genes(tiny, prepare, expressed):
    c = tiny.counts.copy()
    c.iloc[expressed:, 0] = 0  # only the first `expressed` genes have reads in every sample
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        "dataset tiny",
        f"only {expressed} of the {len(c)} genes",
        "have reads in every sample",
        f"at least {tables.MIN_EXPRESSED_GENES}",
        "genome-wide",
        "reads per sample: ctrl1",
    )
    assert "min_count" not in msg


def test_enough_expressed_genes_pass(tiny, prepare):
    c = tiny.counts.copy()
    c.iloc[tables.MIN_EXPRESSED_GENES :, 0] = 0
    write_counts(tiny, c)
    assert prepare(tiny)["genes"] == len(c)


# ----------------------------------------------------------------------------- silent wrong results


@pytest.mark.parametrize("value", ["100000000000000000000", "1e20", str(2**31)])
def test_huge_count_is_refused_not_wrapped(tiny, prepare, value):
    c = tiny.counts.astype(object)
    c.iloc[7, 1] = value
    write_counts(tiny, c)
    msg = prepare_error(prepare, tiny)
    assert_in(
        msg,
        str(tiny.counts_path),
        "line 9",
        f"gene {tiny.counts.index[7]}",
        f"sample {tiny.counts.columns[1]}",
        f"count {value} is larger than 2,147,483,647",
        "raw read counts",
    )


def test_largest_accepted_count(tiny, prepare):
    c = tiny.counts.copy()
    c.iloc[7, 1] = 2**31 - 1
    write_counts(tiny, c)
    prepare(tiny)
    with gzip.open(prepare.out / PREPARE_OUTPUTS[0], "rt") as fh:
        got = pd.read_csv(fh, sep="\t", index_col=0)
    assert got.iloc[7, 1] == 2**31 - 1


def test_htseq_summary_rows_are_not_genes(tiny, prepare, caplog):
    extra = pd.DataFrame(
        [[5, 6, 7, 8, 9, 10]] * 5,
        columns=tiny.counts.columns,
        index=["__no_feature", "__ambiguous", "__too_low_aQual", "__not_aligned", "__alignment_not_unique"],
    )
    write_counts(tiny, pd.concat([tiny.counts, extra]))
    with caplog.at_level(logging.WARNING):
        info = prepare(tiny)
    assert info["genes"] == len(tiny.counts)
    with gzip.open(prepare.out / PREPARE_OUTPUTS[0], "rt") as fh:
        got = pd.read_csv(fh, sep="\t", index_col=0)
    assert not got.index.str.startswith("__").any()
    assert_in(caplog.text, "removed 5 line(s) of counting-tool statistics", "__no_feature", "not tested")


def test_star_rows_are_not_genes_and_line_numbers_stay_right(tiny, prepare, caplog):
    star = pd.DataFrame(
        [[1, 2, 3, 4, 5, 6]] * 4,
        columns=tiny.counts.columns,
        index=["N_unmapped", "N_multimapping", "N_noFeature", "N_ambiguous"],
    )
    c = pd.concat([star, tiny.counts]).astype(object)
    c.iloc[4 + 2, 0] = "-1"  # a negative count in the 3rd gene, on line 1 + 4 + 3
    write_counts(tiny, c)
    with caplog.at_level(logging.WARNING):
        msg = prepare_error(prepare, tiny)
    assert_in(msg, "line 8", f"gene {tiny.counts.index[2]}", "negative count -1")
    assert "N_unmapped" in caplog.text


def test_gene_set_library_sharing_one_gene(tiny, tmp_path):
    lib = genesets.read_library(_mouse_like_gmt(tmp_path, tiny, shared=1), "mouse")
    with pytest.raises(InputError) as info:
        genesets.check_overlap(lib, set(tiny.symbols.values()), "tiny")
    assert_in(
        str(info.value),
        "dataset tiny",
        "only 1 of the 300 tested genes (0.3%)",
        "gene-set library mouse",
        "at least 10 genes",
        "Check the organism of the library",
    )


def test_gene_set_library_of_another_organism(tmp_path, kegg_path):
    """Mouse-style symbols against the human library: a few genes match by chance (C2, F10, ...)."""
    human = genesets.read_library(kegg_path, "KEGG_2021_Human")
    universe = {g.capitalize() for g in sorted(human.genes())} | {f"Gm{i}" for i in range(5000)}
    with pytest.raises(InputError) as info:
        genesets.check_overlap(human, universe, "mouse_data")
    assert_in(
        str(info.value),
        "dataset mouse_data",
        "only",
        "tested genes",
        "2% of the tested genes",
        "Check the organism of the library",
    )


def test_small_overlap_warns_with_numbers(tiny, kegg_path, caplog):
    human = genesets.read_library(kegg_path, "KEGG_2021_Human")
    with caplog.at_level(logging.WARNING):
        n = genesets.check_overlap(human, set(tiny.symbols.values()), "tiny")
    assert n > 10
    assert_in(
        caplog.text,
        "dataset tiny: only",
        f"{n} of the 300 tested genes",
        "KEGG_2021_Human",
        f"has {len(human.genes())} genes",
        "ranked on the part of their genes that is in the data",
    )


def test_genome_wide_overlap_does_not_warn(kegg_path, caplog):
    human = genesets.read_library(kegg_path, "KEGG_2021_Human")
    universe = set(sorted(human.genes())[:4000]) | {f"LINC{i:05d}" for i in range(5000)}
    with caplog.at_level(logging.WARNING):
        genesets.check_overlap(human, universe, "big")
    assert caplog.text == ""


def _mouse_like_gmt(tmp_path, tiny, shared: int):
    human = sorted(set(tiny.symbols.values()))[:shared]
    genes = human + [f"Mouse{i}" for i in range(200)]
    path = tmp_path / "mouse.gmt"
    path.write_text("".join(f"SET_{k}\t\t" + "\t".join(genes[k::3]) + "\n" for k in range(3)))
    return path


def test_ids_of_mixed_kinds_warn_with_numbers(tiny, annotation_path, caplog):
    ann = annotation.load_annotation(annotation_path)
    ids = list(tiny.counts.index)
    n = len(ids)
    mixed = ids[: int(n * 0.43)] + [tiny.symbols[i] for i in ids[int(n * 0.43) :]]  # 43% Ensembl, the rest symbols
    with caplog.at_level(logging.WARNING):
        result = annotation.map_ids(mixed, ann, "ensembl", where="dataset tiny: counts.tsv: ")
    assert 0.4 < result.rate < 0.45
    assert_in(
        caplog.text,
        "dataset tiny: counts.tsv: only",
        f"of {n} gene IDs (4",
        "as ensembl IDs",
        f"{n - int(n * 0.43)} look like symbol IDs",
        "mixed kinds",
    )


def test_well_mapped_ids_do_not_warn(tiny, annotation_path, caplog):
    ann = annotation.load_annotation(annotation_path)
    with caplog.at_level(logging.WARNING):
        annotation.map_ids(list(tiny.counts.index), ann, "auto")
    assert caplog.text == ""


# ----------------------------------------------------------------------------- messages that point the right way


@pytest.mark.parametrize("which", ["samples", "counts"])
def test_excel_byte_order_mark_is_ignored(tiny, prepare, which):
    path = tiny.samples_path if which == "samples" else tiny.counts_path
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    info = prepare(tiny)
    assert info["samples"] == 6
    assert (prepare.out / "samples.tsv").read_text().startswith("sample\t")


def test_confounded_batch_names_the_columns(tiny, prepare):
    write_samples(tiny, tiny.samples.assign(batch=["b1"] * 3 + ["b2"] * 3))
    msg = prepare_error(prepare, tiny, design="~batch + condition")
    assert_in(
        msg,
        "dataset tiny",
        "'batch' and 'condition'",
        "batch=b1 only with condition=Control",
        "batch=b2 only with condition=Treated",
        "confounded",
        "Remove one of them from the design",
    )
    assert "Singular" not in msg


def test_numeric_covariate_says_it_is_used_as_groups(tiny, prepare):
    write_samples(tiny, tiny.samples.assign(age=["21", "35", "48", "52", "63", "70"]))
    msg = prepare_error(prepare, tiny, design="~age + condition")
    assert_in(
        msg,
        "dataset tiny",
        "Column 'age' holds numbers",
        "used as groups",
        "6 distinct values make 5 coefficients",
        "into a few ranges",
    )


def test_design_with_as_many_coefficients_as_samples(tiny, prepare):
    write_samples(
        tiny, tiny.samples.assign(pair=["p1", "p2", "p3", "p1", "p2", "p3"], extra=["x", "y", "x", "z", "x", "y"])
    )
    msg = prepare_error(prepare, tiny, design="~pair + extra + condition")
    assert_in(msg, "dataset tiny", "coefficients for 6 samples", "Simplify the design")


def test_unconfounded_batch_passes(tiny, prepare):
    write_samples(tiny, tiny.samples.assign(batch=["b1", "b2", "b1", "b2", "b1", "b2"]))
    assert prepare(tiny, design="~batch + condition")["samples"] == 6


def test_design_column_with_a_hyphen(tiny, prepare):
    write_samples(tiny, tiny.samples.assign(**{"cell-line": ["a", "b", "a", "b", "a", "b"]}))
    msg = prepare_error(prepare, tiny, design="~cell-line + condition")
    assert_in(
        msg,
        "dataset tiny",
        "uses column cell-line",
        "a '-' reads as minus",
        "read as cell, line",
        "'cell-line' -> 'cell_line'",
    )
    assert "not a column" not in msg


def test_repeated_warnings_are_counted_once_at_the_end_of_the_step(tmp_path, capsys):
    """A warning repeated per relabeling reaches the terminal once; the repeats are counted when
    the step ends (not at interpreter exit, where it would land after a test runner's summary)."""
    import logging

    from pathverdict.util import report_dropped_warnings, setup_logging

    setup_logging(tmp_path / "step.log")
    log = logging.getLogger("pathverdict.test")
    for k in range(3):
        log.warning("permutation %d failed", k)
    report_dropped_warnings()
    err = capsys.readouterr().err
    assert err.count("permutation") == 1 and "... and 2 more warning(s) like the above" in err
    assert str(tmp_path / "step.log") in err
    report_dropped_warnings()  # counted once
    assert "more warning" not in capsys.readouterr().err
    assert (tmp_path / "step.log").read_text().count("failed") == 3


# ----------------------------------------------------------------------------- end of a job's process

JOB = """
import atexit, logging, sys, types
from pathverdict import smk, util
from pathverdict.errors import InputError
out, log, marker, fail = sys.argv[1:5]
atexit.register(lambda: open(marker, "w").write("atexit ran"))
sm = types.SimpleNamespace(log=[log], rule="demo", output=[out], input=[], params=[], wildcards=[], threads=1)

def step():
    logging.getLogger("pathverdict").info("step logged this")
    print("printed by the step")  # stdout is a pipe here: block-buffered until flushed
    if fail == "1":
        raise InputError("the input is wrong")
    with util.atomic_write(out) as fh:
        fh.write("done")

smk.run_job(sm, step)
print("never printed: run_job ends the process")
"""


@pytest.mark.parametrize("fail", [False, True])
def test_a_job_ends_with_its_output_log_and_exit_handlers_flushed(tmp_path, fail):
    """run_job ends the process without Python's teardown (os._exit), after the atexit handlers
    (logging's among them) and flushing stdout/stderr; a failed step exits 1 with its message."""
    script = tmp_path / "job.py"
    script.write_text(JOB)
    out, log, marker = tmp_path / "out.txt", tmp_path / "logs" / "demo.log", tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(Path(smk.__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, str(script), str(out), str(log), str(marker), "1" if fail else "0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "printed by the step" in proc.stdout and "never printed" not in proc.stdout
    assert "step logged this" in log.read_text()
    assert marker.read_text() == "atexit ran"
    if fail:
        assert proc.returncode == 1
        assert "rule demo: the input is wrong" in proc.stderr and "Traceback" not in proc.stderr
        assert not out.exists()
    else:
        assert proc.returncode == 0, proc.stderr
        assert out.read_text() == "done"
