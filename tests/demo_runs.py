"""The offline demo study (config/demo.yaml) run once per test session and shared by the tests
that need a finished demo run to compare with or to report on (test_slurm, test_report_browser).

The config copy has the ../shared/data paths made absolute (as in test_demo_e2e), a smaller
label-permutation null (``null.max_permutations``) and no engine sensitivity (``sensitivity.engine``:
its pydeseq2 fits would be most of the run's CPU; test_demo_e2e runs the demo with it), which keeps
the run short; everything else, and so the verdict and the claims, is the demo's own.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import REPO, run_snakemake

NULL_PERMUTATIONS = 4
DATASETS = [
    "demo_meis1_overexpression",
    "demo_meis1_knockout",
    "demo_tissue",
    "demo_negative_control",
    "demo_selection_bias",
]
_RUNS: dict[str, Path] = {}


def write_demo_config(path: Path, shared: Path, max_permutations: int = NULL_PERMUTATIONS) -> Path:
    text = (REPO / "config" / "demo.yaml").read_text().replace("../shared/data", str(shared))
    cfg = yaml.safe_load(text)
    cfg["null"]["max_permutations"] = max_permutations
    cfg["sensitivity"] = {**cfg.get("sensitivity", {}), "engine": False}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def local_demo_run(tmp_path_factory, shared: Path) -> Path:
    """Working directory of a finished local run (``--cores 2``) of the demo; made once a session."""
    if "local" not in _RUNS:
        work = tmp_path_factory.mktemp("demo_local")
        cfg = write_demo_config(work / "demo.yaml", shared)
        rc, out = run_snakemake(work, cfg, cores=2, timeout=900)
        (work / "snakemake.out").write_text(out)
        assert rc == 0, f"the local demo run failed:\n{out[-5000:]}"
        _RUNS["local"] = work
    return _RUNS["local"]


def result_files(work: Path) -> list[Path]:
    """The results compared between two runs: verdict, claims and every dataset's DE table."""
    results = work / "results" / "demo"  # the study folder of config/demo.yaml (`study: demo`)
    return [results / "verdict.tsv", results / "claims.tsv"] + [results / ds / "de.tsv" for ds in DATASETS]
