"""``de.engine: pydeseq2`` runs every shipped example (config/examples/*.yaml) end to end and writes
the outputs of the default engine; the engine sensitivity then runs the other engine, r_exact.

pydeseq2 fits gene by gene (3-4 ms of CPU per gene, 12-39x our r_exact fit on the real sets): the
real count sets of the examples are cut to about 600 evenly spaced genes plus the target pathway's
(the same files, designs, contrasts and sample sheets otherwise; null and GSEA permutations reduced,
one thread per job); leaving one sample out refits once per dataset instead of up to 6 times; the
calibration (r_exact whatever the engine) at its smallest size.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, smallest_calibration, read_enrichr_set, run_snakemake
from test_engines_e2e import DE_FILES, _assert_pydeseq2_outputs

pytestmark = [pytest.mark.e2e, pytest.mark.shared]
SHIPPED = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((REPO / "config" / "examples").glob("*.yaml"))}
# the examples with a count matrix; one given only as published DE tables runs no DE engine (its
# `engine:` sensitivity rows say "not tested" with the reason: tests/test_de_tables_e2e.py)
EXAMPLES = [name for name, cfg in SHIPPED.items() if any("counts" in ds for ds in cfg["datasets"].values())]


def _cut(src: Path, dst: Path, keep_ids: set[str], genes: int = 600) -> None:
    """About ``genes`` genes of a count matrix, evenly spaced, and the genes of ``keep_ids``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(src, "rt") as fh:
        header, *lines = fh.readlines()
    every = max(1, len(lines) // genes)
    with gzip.open(dst, "wt") as out:
        out.write(header)
        out.writelines(line for i, line in enumerate(lines) if i % every == 0 or line.split("\t", 1)[0] in keep_ids)


def test_every_example_with_counts_is_run():
    assert EXAMPLES == ["li2008_lncap", "marioni2008_liver", "shared_counts"]
    tables = set(SHIPPED) - set(EXAMPLES)
    assert tables == {"marioni2008_liver_tables"}
    assert all("de_table" in ds for name in tables for ds in SHIPPED[name]["datasets"].values())


@pytest.mark.parametrize("example", EXAMPLES)
def test_pydeseq2_runs_every_shipped_example(tmp_path, shared, example):
    cfg = yaml.safe_load(
        (REPO / "config" / "examples" / f"{example}.yaml").read_text().replace("../shared/data", str(shared))
    )
    ann = pd.read_csv(shared / "annotation" / "human_gene_info.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    target = set(read_enrichr_set(shared / "genesets" / "KEGG_2021_Human.txt", cfg["target_pathway"]))
    keep = set(ann.loc[ann["Symbol"].isin(target), "Ensembl"].str.split(";").explode())
    for name, ds in cfg["datasets"].items():
        small = tmp_path / "data" / name / "counts.tsv.gz"
        _cut(Path(ds["counts"]), small, keep)
        ds["counts"] = str(small)
    cfg["de"] = {**cfg.get("de", {}), "engine": "pydeseq2"}
    cfg["null"] = {**cfg.get("null", {}), "max_permutations": 1}
    cfg["enrichment"] = {**cfg.get("enrichment", {}), "gsea_permutations": 100}
    cfg["sensitivity"] = {**cfg.get("sensitivity", {}), "leave_one_sample_out": {"max_removals": 1}}
    cfg["calibration"] = smallest_calibration()
    # one thread: pydeseq2 fits in the job's process (its worker processes, tested in
    # test_pydeseq2_engine.py, cost ~6 s of start-up per job: most of a job on 600 genes)
    cfg["threads"] = {"deseq2": 1, "gsea": 1}
    path = tmp_path / f"{example}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    work = tmp_path / "work"
    work.mkdir()
    rc, out = run_snakemake(work, path, cores=2, timeout=1500)
    assert rc == 0, out[-5000:]
    results = work / "results" / cfg["study"]
    _assert_pydeseq2_outputs(results, list(cfg["datasets"]), gsea_rerun=cfg["sensitivity"].get("gsea", True))
    for ds in cfg["datasets"]:
        assert {f for f in DE_FILES if (results / ds / f).is_file()} == set(DE_FILES)
        assert {f for f in DE_FILES if (results / ds / "engine_r_exact" / f).is_file()} == set(DE_FILES)
