"""The offline demo study (config/demo.yaml) run once per test session and shared by the tests
that read a finished demo run (test_demo_e2e, test_report_browser, test_engines_e2e: the ``demo_run``
fixture of conftest.py). Under pytest-xdist their modules are one unit of work (conftest.XDIST_UNITS),
so the run is made once, on one worker.

The config copy is config/demo.yaml as shipped with the ../shared/data paths made absolute, so the
run is the demo a user gets (its null, sensitivity and sample checks included).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import REPO, smallest_calibration, run_snakemake

DATASETS = [
    "demo_meis1_overexpression",
    "demo_meis1_knockout",
    "demo_tissue",
    "demo_negative_control",
    "demo_selection_bias",
]
_RUNS: dict[str, Path] = {}


def write_demo_config(path: Path, shared: Path, max_permutations: int | None = None) -> Path:
    """config/demo.yaml with the ../shared/data paths made absolute; ``max_permutations`` (a test that
    changes the demo anyway) makes its label-permutation null smaller."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (REPO / "config" / "demo.yaml").read_text().replace("../shared/data", str(shared))
    if max_permutations is not None:
        cfg = yaml.safe_load(text)
        cfg["null"]["max_permutations"] = max_permutations
        text = yaml.safe_dump(cfg, sort_keys=False)
    path.write_text(text)
    return path


# The datasets of the small demo (write_small_demo_config): the two cell lines (the claims name both
# roles) and a tissue cohort selected by expression (its extra rules: prepare_unselected,
# selection_analyses).
SMALL_DATASETS = ["demo_meis1_overexpression", "demo_meis1_knockout", "demo_tissue"]


def write_small_demo_config(path: Path, shared: Path) -> Path:
    """config/demo.yaml made small for a test about how the workflow runs (e.g. through SLURM), not
    about its answer: three of its datasets (SMALL_DATASETS) of 1,000 simulated genes, every step of
    the demo's DAG kept (null, sensitivity with leaving one sample out, calibration, selection
    analyses) at its smallest size, the other DE engine off (pydeseq2: tests/test_engines_e2e.py)."""
    write_demo_config(path, shared)
    cfg = yaml.safe_load(path.read_text())
    cfg["simulation"]["n_genes"] = 1000
    cfg["simulation"]["datasets"] = {k: v for k, v in cfg["simulation"]["datasets"].items() if k in SMALL_DATASETS}
    cfg["datasets"] = {k: v for k, v in cfg["datasets"].items() if k in SMALL_DATASETS}
    cfg["null"]["max_permutations"] = 2
    cfg["enrichment"] = {**cfg.get("enrichment", {}), "gsea_permutations": 50}
    cfg["sensitivity"] = {**cfg.get("sensitivity", {}), "engine": False, "leave_one_sample_out": {"max_removals": 1}}
    cfg["calibration"] = smallest_calibration()
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def local_demo_run(tmp_path_factory, shared: Path) -> Path:
    """Working directory of a finished local run (``--cores 2``) of the demo, with its terminal output
    (snakemake.out) and report (report.html); made once a session."""
    if "local" not in _RUNS:
        work = tmp_path_factory.mktemp("demo")
        cfg = write_demo_config(work / "demo.yaml", shared)
        rc, out = run_snakemake(work, cfg, cores=2, timeout=900)
        (work / "snakemake.out").write_text(out)
        assert rc == 0, f"the local demo run failed:\n{out[-5000:]}"
        rc, out = run_snakemake(work, cfg, "--report", "report.html", timeout=300)
        assert rc == 0, f"the demo's report failed:\n{out[-3000:]}"
        _RUNS["local"] = work
    return _RUNS["local"]


def result_files(work: Path, datasets: list[str] = DATASETS) -> list[Path]:
    """The results compared between two runs: verdict, claims and every dataset's DE table."""
    results = work / "results" / "demo"  # the study folder of config/demo.yaml (`study: demo`)
    return [results / "verdict.tsv", results / "claims.tsv"] + [results / ds / "de.tsv" for ds in datasets]
