"""Shared test fixtures: repo paths, the shared public data, a tiny synthetic dataset and a
helper that runs the workflow with snakemake in a subprocess.

The shared data (``../shared/data`` beside the repo, or ``$PATHVERDICT_SHARED``) is
required: tests that need it FAIL with a message saying where it was looked for.

Optional tools (one mechanism, ``pytest_runtest_setup`` below): a test marked ``fidelity``
(``@pytest.mark.fidelity("limma")``: the R packages it runs; default DESeq2), ``slurm`` or
``browser`` is SKIPPED, with the reason and the Debian package to install, when its tool is
missing -- and FAILS instead in CI (environment variable ``CI`` set, e.g. ``CI=true``:
``.ci/run`` installs every tool, so a missing one there is an error, not a skip).
"""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
TARGET = "Mineral absorption"
SHARED_ENV = "PATHVERDICT_SHARED"


# ------------------------------------------------------------------------------------ optional tools

CI_ENV = "CI"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def in_ci() -> bool:
    """True when the environment variable CI is set to anything but empty/0/false/no."""
    return os.environ.get(CI_ENV, "").strip().lower() not in ("", "0", "false", "no")


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


R_DEBIAN = {
    "locfit": "r-cran-locfit",
    "metafor": "r-cran-metafor",
}  # R package -> Debian package, when not r-bioc-<name>


@functools.lru_cache(maxsize=None)
def r_package_missing(package: str) -> str | None:
    """None when ``Rscript`` can load the R package ``package``, else why not, with the Debian
    package to install (e.g. r-bioc-deseq2)."""
    debian = R_DEBIAN.get(package, f"r-bioc-{package.lower()}")
    rscript = shutil.which("Rscript")
    if rscript is None:
        return f"Rscript is not on PATH (apt-get install --no-install-recommends r-base-core {debian})"
    try:
        proc = subprocess.run(
            [rscript, "-e", f"suppressMessages(library({package}))"], capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Rscript could not be run ({exc})"
    if proc.returncode != 0:
        return f"the R package {package} is not installed (apt-get install --no-install-recommends {debian})"
    return None


def _fidelity_missing(packages: tuple[str, ...]) -> str | None:
    reasons = [r for r in (r_package_missing(p) for p in packages or ("DESeq2",)) if r]
    return "; ".join(dict.fromkeys(reasons)) or None


def _slurm_missing(_args) -> str | None:
    from slurm_cluster import missing_programs

    missing = missing_programs()
    if missing:
        return f"SLURM is not installed (missing: {', '.join(missing)}; apt-get install slurm-wlm munge)"
    return None


def _browser_missing(_args) -> str | None:
    return None if find_chromium() else "Chromium is not installed (apt-get install chromium)"


# marker -> (what the tests of that marker do with the tool, function(marker args) -> None or why missing)
OPTIONAL_TOOLS = {
    "fidelity": ("run R to check the stored R results in tests/data/r_expected/", _fidelity_missing),
    "slurm": ("bring up a real single-node SLURM cluster", _slurm_missing),
    "browser": ("render the report in headless Chromium", _browser_missing),
}


def missing_tool(item) -> str | None:
    """Why a tool that ``item``'s markers need is missing (None when everything is there)."""
    for marker, (purpose, check) in OPTIONAL_TOOLS.items():
        mark = item.get_closest_marker(marker)
        if mark is not None:
            reason = check(tuple(mark.args))
            if reason:
                return f"{reason}: needed to {purpose} (marker `{marker}`)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip (fail in CI) a test whose optional tool is missing, before its fixtures run."""
    reason = missing_tool(item)
    if reason is None:
        return
    if in_ci():
        pytest.fail(
            f"{reason}. {CI_ENV}={os.environ.get(CI_ENV)}: in CI every tool must be installed (.ci/run installs "
            f"them), so this is an error, not a skip.",
            pytrace=False,
        )
    pytest.skip(reason)


# ------------------------------------------------------------------------------------ pytest-xdist

# `./test.sh --all` runs the tests on 2 workers (pytest-xdist, `-n 2 --dist loadfile`), refined here:
# a unit of work is a test module (so a module-scoped run is made once), or a group of modules that
# share a session-scoped run (XDIST_UNITS: "demo", the readers of conftest.demo_run), and the units run
# in collection order, sorted so that the demo unit and the SLURM one come first (the longest), then
# those with an end-to-end run, live R or a browser, and the unit tests fill the end on both workers.
# test_engines_e2e compares its pydeseq2 run's layout with the demo run's: in the unit, it reuses the
# session's run instead of making a second one on the other worker (~250 CPU s; CI 2026-12-07)
XDIST_UNITS = {"test_demo_e2e": "demo", "test_report_browser": "demo", "test_engines_e2e": "demo"}
HEAVY_MARKS = ("e2e", "fidelity", "slurm", "browser")


def xdist_unit(nodeid: str) -> str:
    stem = Path(nodeid.split("::", 1)[0]).stem
    return XDIST_UNITS.get(stem, stem)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile, with the units of XDIST_UNITS and in the workers' (sorted) collection order."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    config.option.loadscopereorder = False  # keep the order sorted by pytest_collection_modifyitems
    return UnitScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (on its workers): the tests of a unit together, the heavy units first."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    ranks: dict[str, int] = {}
    for item in items:
        unit = xdist_unit(item.nodeid)
        first = unit == "demo" or item.get_closest_marker("slurm")  # the longest units
        rank = 0 if first else 1 if any(map(item.get_closest_marker, HEAVY_MARKS)) else 2
        ranks[unit] = min(ranks.get(unit, rank), rank)
    first = {unit: i for i, unit in enumerate(ranks)}
    items.sort(key=lambda item: (ranks[xdist_unit(item.nodeid)], first[xdist_unit(item.nodeid)]))


# ------------------------------------------------------------------------------------ shared data


def shared_data_dir() -> Path:
    """``$PATHVERDICT_SHARED`` if set, else ``../shared/data`` relative to the repo root."""
    env = os.environ.get(SHARED_ENV)
    return Path(env).resolve() if env else (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared public data directory; fails (does not skip) when it is missing."""
    path = shared_data_dir()
    needed = [path / "annotation" / "human_gene_info.tsv.gz", path / "genesets" / "KEGG_2021_Human.txt"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        pytest.fail(
            f"shared test data not found: {', '.join(missing)}. The tests read the public reference data from "
            f"../shared/data relative to the repo root ({REPO}); put it there or set {SHARED_ENV}=/path/to/data.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, shared) -> Path:
    """Working directory of one finished local run of the offline demo (config/demo.yaml as shipped;
    snakemake.out, report.html), made once a session (tests/demo_runs.py) and shared by the tests that
    only read it (their modules are one pytest-xdist unit: XDIST_UNITS). A test that changes the run
    works on a copy."""
    from demo_runs import local_demo_run

    return local_demo_run(tmp_path_factory, shared)


@pytest.fixture(scope="session")
def annotation_path(shared) -> Path:
    return shared / "annotation" / "human_gene_info.tsv.gz"


@pytest.fixture(scope="session")
def kegg_path(shared) -> Path:
    return shared / "genesets" / "KEGG_2021_Human.txt"


def read_enrichr_set(path: Path, term: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == term:
                return [g.split(",")[0] for g in fields[2:] if g]
    raise KeyError(f"{term!r} not in {path}")


@pytest.fixture(scope="session")
def gene_pool(annotation_path, kegg_path) -> dict:
    """Real human genes with an unambiguous Ensembl ID <-> symbol pair, split into the
    KEGG 'Mineral absorption' genes and the other protein-coding genes."""
    with gzip.open(annotation_path, "rt") as fh:
        ann = pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False)
    ann = ann[ann["Ensembl"].str.match(r"^ENSG\d{11}$") & (ann["Symbol"] != "")]
    ann = ann[~ann["Ensembl"].duplicated(keep=False) & ~ann["Symbol"].duplicated(keep=False)]
    mineral = set(read_enrichr_set(kegg_path, TARGET))
    target = ann[ann["Symbol"].isin(mineral)].sort_values("Symbol")
    others = ann[(ann["GeneType"] == "protein-coding") & ~ann["Symbol"].isin(mineral)].sort_values("Ensembl")
    return {
        "target": target[["Ensembl", "Symbol"]].to_numpy().tolist(),
        "others": others[["Ensembl", "Symbol"]].to_numpy().tolist(),
    }


@dataclass
class TinyDataset:
    """A synthetic dataset on disk: ``counts.tsv`` and ``samples.tsv`` in ``dir``."""

    dir: Path
    counts: pd.DataFrame  # genes x samples, index gene_id
    samples: pd.DataFrame  # columns sample, condition
    symbols: dict[str, str]  # gene_id -> symbol
    target_genes: list[str]  # gene IDs of the target pathway genes included
    up: list[str] = field(default_factory=list)  # gene IDs planted up in Treated
    down: list[str] = field(default_factory=list)  # gene IDs planted down in Treated

    @property
    def counts_path(self) -> Path:
        return self.dir / "counts.tsv"

    @property
    def samples_path(self) -> Path:
        return self.dir / "samples.tsv"

    def write(self) -> TinyDataset:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.counts.to_csv(self.counts_path, sep="\t", index_label="gene_id", lineterminator="\n")
        self.samples.to_csv(self.samples_path, sep="\t", index=False, lineterminator="\n")
        return self

    def config_entry(self, **extra) -> dict:
        entry = {
            "counts": str(self.counts_path),
            "samples": str(self.samples_path),
            "design": "~condition",
            "contrast": ["condition", "Treated", "Control"],
        }
        entry.update(extra)
        return entry


def make_tiny_dataset(
    directory: Path,
    pool: dict,
    n_genes: int = 300,
    reps: int = 3,
    effect: bool = True,
    identical_groups: bool = False,
    seed: int = 7,
) -> TinyDataset:
    """Negative-binomial counts for Control vs Treated (``reps`` each) over real human genes.

    With ``effect`` about two thirds of the target pathway genes are planted 4x up in
    Treated and 20 other genes 4x down. With ``identical_groups`` the Treated columns are
    copies of the Control columns (a null dataset with no DE gene at all).
    """
    rng = np.random.default_rng(seed)
    target = pool["target"]
    idx = rng.choice(len(pool["others"]), size=n_genes - len(target), replace=False)
    genes = target + [pool["others"][i] for i in sorted(idx)]
    ids = [g[0] for g in genes]
    symbols = dict((g[0], g[1]) for g in genes)
    target_ids = [g[0] for g in target]
    mean = np.exp(rng.normal(5.5, 1.0, size=len(ids)))
    fold = np.ones(len(ids))
    up, down = [], []
    if effect and not identical_groups:
        up_idx = rng.choice(len(target), size=(2 * len(target)) // 3, replace=False)
        down_idx = len(target) + rng.choice(len(ids) - len(target), size=20, replace=False)
        fold[up_idx] = 4.0
        fold[down_idx] = 0.25
        up, down = sorted(ids[i] for i in up_idx), sorted(ids[i] for i in down_idx)
    dispersion = 0.05
    names = [f"ctrl{i + 1}" for i in range(reps)] + [f"trt{i + 1}" for i in range(reps)]
    cols = []
    for j in range(2 * reps):
        treated = j >= reps
        if treated and identical_groups:
            cols.append(cols[j - reps])
            continue
        mu = mean * (fold if treated else 1.0) * rng.uniform(0.8, 1.25)
        # NB(mean mu, dispersion a): n = 1/a, p = n / (n + mu)
        n = 1.0 / dispersion
        cols.append(rng.negative_binomial(n, n / (n + mu)))
    counts = pd.DataFrame(np.column_stack(cols).astype(np.int64), index=pd.Index(ids, name="gene_id"), columns=names)
    samples = pd.DataFrame({"sample": names, "condition": ["Control"] * reps + ["Treated"] * reps})
    return TinyDataset(directory, counts, samples, symbols, target_ids, up, down).write()


@pytest.fixture
def make_dataset(tmp_path, gene_pool):
    """Factory: ``make_dataset(name="tiny", **kwargs)`` writes a tiny dataset under tmp_path/data/<name>."""

    def _make(name: str = "tiny", **kwargs) -> TinyDataset:
        return make_tiny_dataset(tmp_path / "data" / name, gene_pool, **kwargs)

    return _make


@pytest.fixture
def tiny(make_dataset) -> TinyDataset:
    """The default tiny dataset (planted effect), written to tmp_path/data/tiny."""
    return make_dataset()


@functools.lru_cache(maxsize=None)
def _defaults() -> dict:
    from pathverdict import config

    minimal = {
        "datasets": {"x": {"counts": "c.tsv", "samples": "s.tsv", "design": "~condition", "contrast": ["c", "a", "b"]}},
        "genesets": "x.gmt",
        "target_pathway": TARGET,
        "annotation": "x.tsv.gz",
    }
    return config.validate_config(minimal, "test defaults")


def config_defaults(section: str, **changes) -> dict:
    """A section of the config with the schema's defaults (a copy), with ``changes``."""
    import copy

    return {**copy.deepcopy(_defaults()[section]), **changes}


# Config overrides for an end-to-end test about one feature (downloads, bad input, the report, ...):
# `write_config(datasets, **CORE_ONLY)` or `cfg.update(CORE_ONLY)` switches off the steps it does not
# check, the label-permutation null, the sensitivity (with its leave-one-sample-out DE fits: most of a
# run's CPU) and the robustness grid. Those run end to end on the demo (test_demo_e2e, via the `demo_run`
# fixture) and on real data (test_example_study_e2e).
CORE_ONLY = {"null": {"enabled": False}, "sensitivity": {"enabled": False}, "robustness": {"enabled": False}}


def smallest_calibration() -> dict:
    """The per-dataset calibration at its smallest (a new dict each time), for a test about the rows and
    the power rule, not the figures."""
    return {"null_simulations": 2, "planted_simulations": 2, "effects": [1]}


def base_config(datasets: dict, annotation: Path, genesets, **overrides) -> dict:
    """A complete, fast config (few GSEA permutations, one thread) for ``datasets``; without the engine
    sensitivity (its pydeseq2 fit costs 12-39x the r_exact one: tests/test_engines_e2e.py and the demo's
    tests run it)."""
    cfg = {
        "datasets": datasets,
        "genesets": {"KEGG_2021_Human": str(genesets)} if isinstance(genesets, (str, Path)) else genesets,
        "target_pathway": TARGET,
        "annotation": str(annotation),
        "enrichment": {"gsea_permutations": 50, "seed": 1},
        "threads": {"deseq2": 1, "gsea": 1},
        # the per-dataset calibration, at its smallest (the rows and the power rule, not the figures)
        "calibration": smallest_calibration(),
        "sensitivity": {"engine": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


@pytest.fixture
def write_config(tmp_path, annotation_path, kegg_path):
    """Factory: ``write_config(datasets, path=None, genesets=None, **overrides)`` writes a
    config YAML (absolute paths) and returns its path. ``datasets`` maps name -> TinyDataset
    or a config dict."""

    def _write(datasets: dict, path: Path | None = None, genesets=None, **overrides) -> Path:
        entries = {n: d.config_entry() if isinstance(d, TinyDataset) else d for n, d in datasets.items()}
        cfg = base_config(entries, annotation_path, genesets or kegg_path, **overrides)
        path = Path(path or tmp_path / "config.yaml")
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    return _write


def run_snakemake(
    workdir: Path, configfile: Path | None, *args: str, cores: int = 1, timeout: int = 300
) -> tuple[int, str]:
    """Run the workflow (this repo's Snakefile) in ``workdir``; returns (returncode, stdout+stderr)."""
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [
        str(exe) if exe.exists() else "snakemake",
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--cores",
        str(cores),
        "--nocolor",
        *args,
    ]
    if configfile is not None:
        # last, so that --configfile (which takes several values) does not swallow targets
        cmd += ["--configfile", str(configfile)]
    proc = subprocess.run(
        cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
    )
    return proc.returncode, proc.stdout


@pytest.fixture
def snakemake_run(tmp_path):
    """``snakemake_run(configfile, *args)``: run snakemake with --directory tmp_path/work."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)

    def _run(configfile: Path | None, *args: str, **kwargs) -> tuple[int, str]:
        return run_snakemake(work, configfile, *args, **kwargs)

    _run.workdir = work
    return _run
