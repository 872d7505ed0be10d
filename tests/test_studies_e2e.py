"""Issue 11, one study, one results folder: two studies run one after the other in the same
working directory each keep their own complete results (results/<study>/), gene sets and data made
from their config (resources/<study>/) and logs (logs/<study>/), even when they use the same dataset
and library names for different data; a second config that names an existing study is refused,
and `--report` of a study without results says so with the command that makes them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import TARGET, run_snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

STUDY_FILES = [
    "verdict.tsv",
    "verdict_genes.tsv",
    "verdict.md",
    "verdict.html",
    "claims.tsv",
    "claims.html",
    "calibration.tsv",
    "null.tsv",
    "null.html",
    "robustness.tsv",
    "robustness.png",
    "provenance.json",
    "provenance.html",
    "target_heatmap.png",
    "sensitivity.tsv",
    "samples.html",
    "samples_qc.tsv",
    "confounding.tsv",
]
DATASET_FILES = ["de.tsv", "samples.tsv", "enrichment/ora_all.tsv", "enrichment/gsea.tsv", "plots/pca.png"]


def snapshot(work: Path, study: str) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file of a study: its results, resources and logs."""
    out = {}
    for top in ("results", "resources", "logs"):
        folder = work / top / study
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(work))] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


def assert_complete(work: Path, study: str, datasets: list[str]) -> None:
    res = work / "results" / study
    missing = [f for f in STUDY_FILES if not (res / f).is_file()]
    missing += [f"{d}/{f}" for d in datasets for f in DATASET_FILES if not (res / d / f).is_file()]
    assert not missing, f"study {study} is missing: {missing}"
    verdict = pd.read_csv(res / "verdict.tsv", sep="\t", keep_default_na=False)
    assert sorted(set(verdict["dataset"])) == sorted(datasets)
    claims = pd.read_csv(res / "claims.tsv", sep="\t", keep_default_na=False)
    assert set(claims["dataset"]) - {""} <= set(datasets)
    assert sorted(p.name for p in res.iterdir() if p.is_dir()) == sorted(datasets)


def test_two_studies_in_one_directory_keep_their_own_results(
    make_dataset, tmp_path, annotation_path, kegg_path, write_config
):
    work = tmp_path / "work"
    work.mkdir()
    settings = dict(
        null={"max_permutations": 3, "methods": ["ora_all"]},
        sensitivity={"gsea": False},
    )
    # study "alpha": named after its config file (no `study:` key)
    alpha_tiny = make_dataset("alpha_tiny", seed=7)
    alpha = write_config({"tiny": alpha_tiny}, path=tmp_path / "alpha.yaml", **settings)
    # study "beta": its own name, the same dataset name for other data, one more dataset, and a
    # library of the same name made from another file (a part of KEGG_2021_Human)
    beta_tiny, second = make_dataset("beta_tiny", seed=11), make_dataset("second", seed=3)
    lines = kegg_path.read_text().splitlines(keepends=True)
    part = tmp_path / "kegg_part.txt"
    part.write_text("".join(ln for i, ln in enumerate(lines) if i % 2 == 0 or ln.startswith(TARGET + "\t")))
    beta = write_config(
        {"tiny": beta_tiny, "beta_only": second},
        path=tmp_path / "other.yaml",
        genesets={"KEGG_2021_Human": str(part)},
        study="beta",
        **settings,
    )

    rc, out = run_snakemake(work, alpha, cores=2, timeout=900)
    assert rc == 0, out[-5000:]
    assert_complete(work, "alpha", ["tiny"])
    assert "Details: results/alpha/claims.html (claims), results/alpha/verdict.html" in out
    before = snapshot(work, "alpha")
    assert any(k.startswith("resources/alpha/genesets/") for k in before)
    assert any(k.startswith("logs/alpha/tiny/") for k in before)

    rc, out = run_snakemake(work, beta, cores=2, timeout=900)
    assert rc == 0, out[-5000:]
    assert_complete(work, "beta", ["tiny", "beta_only"])
    assert "Details: results/beta/claims.html (claims), results/beta/verdict.html" in out
    # the first study is untouched: same files, same bytes, same times
    assert snapshot(work, "alpha") == before
    assert_complete(work, "alpha", ["tiny"])
    # nothing at the top of results/, resources/ (but the shared download cache) or logs/
    assert sorted(p.name for p in (work / "results").iterdir()) == ["alpha", "beta"]
    assert {p.name for p in (work / "resources").iterdir()} <= {"alpha", "beta", "downloads"}
    assert sorted(p.name for p in (work / "logs").iterdir()) == ["alpha", "beta"]
    # the same dataset and library names, different data: each study has its own
    gmt = "genesets/KEGG_2021_Human.gmt"
    alpha_gmt, beta_gmt = (work / "resources/alpha" / gmt).read_text(), (work / "resources/beta" / gmt).read_text()
    assert len(beta_gmt.splitlines()) < len(alpha_gmt.splitlines()) == len(lines)
    de_alpha = pd.read_csv(work / "results/alpha/tiny/de.tsv", sep="\t")
    de_beta = pd.read_csv(work / "results/beta/tiny/de.tsv", sep="\t")
    assert (
        not de_alpha["gene_id"]
        .sort_values()
        .reset_index(drop=True)
        .equals(de_beta["gene_id"].sort_values().reset_index(drop=True))
    )
    # each run recorded its own config
    assert '"configfiles": [\n    "' + str(alpha) in (work / "results/alpha/.pathverdict-run.json").read_text()

    # the first study is still up to date: nothing to redo
    rc, out = run_snakemake(work, alpha, "-n", timeout=300)
    assert rc == 0 and "Nothing to be done" in out, out[-3000:]

    # another config file that names an existing study is refused, before anything is done
    (tmp_path / "copy").mkdir()
    intruder = write_config({"other": second}, path=tmp_path / "copy" / "alpha.yaml")
    rc, out = run_snakemake(work, intruder, timeout=300)
    assert rc != 0, out[-3000:]
    assert f"results/alpha/ holds the results of study 'alpha' made with {alpha}; {intruder} names the same" in out
    assert "Fix: give this config its own name (e.g. `study: alpha_2`" in out
    assert "Traceback (most recent call last)" not in out
    assert snapshot(work, "alpha") == before

    # a report of a study that has not run: says so, with the commands
    delta = tmp_path / "delta.yaml"
    delta.write_text(yaml.safe_dump({**yaml.safe_load(alpha.read_text()), "study": "delta"}))
    rc, out = run_snakemake(work, delta, "--report", "delta.html", timeout=300)
    assert rc != 0, out[-3000:]
    assert "Study 'delta' has no results yet: results/delta/verdict.tsv does not exist." in out
    assert f"Run it first (./run.sh --configfile {delta}), then build its report" in out
    assert not (work / "delta.html").exists() and not (work / "results/delta").exists()

    # the report of the first study, after the second ran: its own datasets only
    rc, out = run_snakemake(work, alpha, "--report", "alpha.html", timeout=600)
    assert rc == 0, out[-3000:]
    report = (work / "alpha.html").read_text()
    assert "results/alpha/tiny/de.tsv" in report and "results/beta" not in report and "beta_only" not in report


def test_results_of_a_version_before_study_folders_are_named(tmp_path, tiny, write_config):
    """results/verdict.tsv of an older version (one results/ for every config) is left alone and named
    as such; the run plans its study folder (a dry run)."""
    work = tmp_path / "work"
    (work / "results").mkdir(parents=True)
    (work / "results" / "verdict.tsv").write_text("dataset\n")
    config = write_config({"tiny": tiny})
    rc, out = run_snakemake(work, config, "-n", "--quiet", "host", timeout=300)
    assert rc == 0, out[-3000:]
    assert (
        "note: results/verdict.tsv and the files beside it come from a version of pathverdict before one folder "
        "per study; this run writes to results/config/ (remove the old files when no longer needed)"
    ) in out
    assert "results/config/tiny/de.tsv" in out
    assert (work / "results" / "verdict.tsv").read_text() == "dataset\n"
