"""Config errors: each message names the config file and key and says how to fix it
(package level via pathverdict.config.validate_config), the same message from a snakemake
run, a target pathway missing from the library, and ``--configfile`` isolation."""

from __future__ import annotations

import copy

import pytest
import yaml

from pathverdict import genesets
from pathverdict.config import validate_config
from pathverdict.errors import InputError

DEFAULT_DATASETS = ["meis1_overexpression_hek293", "meis1_knockout_sknsh", "rls_thalamus"]

BASE = {
    "datasets": {
        "tiny": {
            "counts": "data/counts.tsv",
            "samples": "data/samples.tsv",
            "design": "~condition",
            "contrast": ["condition", "Treated", "Control"],
        },
    },
    "genesets": "genesets/KEGG_2021_Human.txt",
    "target_pathway": "Mineral absorption",
    "annotation": "annotation/human_gene_info.tsv.gz",
}


def config_error(change) -> str:
    cfg = copy.deepcopy(BASE)
    change(cfg)
    with pytest.raises(InputError) as info:
        validate_config(cfg, source="my_config.yaml")
    return str(info.value)


def assert_in(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} is not in the message:\n{message}"


def test_base_config_is_valid_and_gets_defaults():
    cfg = validate_config(copy.deepcopy(BASE))
    assert cfg["genesets"] == {"KEGG_2021_Human": {"file": BASE["genesets"]}}
    assert cfg["annotation"] == {"file": BASE["annotation"]}
    assert cfg["downloads"]["offline"] is False and cfg["base_urls"]["eutils"].startswith("https://")
    assert cfg["de"]["alpha"] == 0.05 and cfg["verdict"]["primary"] == "ora_all"
    assert cfg["datasets"]["tiny"]["gene_id_type"] == "auto" and cfg["datasets"]["tiny"]["round_counts"] is False
    assert cfg["study"] == "config"  # the name of the default config file, config/config.yaml


@pytest.mark.parametrize(
    "configfiles, study",
    [
        (["config/demo.yaml"], "demo"),
        (["config/examples/li2008_lncap.yaml"], "li2008_lncap"),
        (["/abs/my study.v2.YML", "local.yaml"], "my_study.v2"),  # the first file names the study
        (["settings.json"], "settings"),
    ],
)
def test_study_defaults_to_the_first_config_files_name(configfiles, study):
    assert validate_config(copy.deepcopy(BASE), configfiles=configfiles)["study"] == study
    named = validate_config({**copy.deepcopy(BASE), "study": "sarayloo2019"}, configfiles=configfiles)
    assert named["study"] == "sarayloo2019"


def test_shipped_configs_name_their_study(repo_root):
    names = {}
    for path in sorted((repo_root / "config").rglob("*.yaml")):
        if "schemas" not in path.parts:
            names[str(path.relative_to(repo_root))] = yaml.safe_load(path.read_text()).get("study")
    assert names == {
        "config/config.yaml": "sarayloo2019",
        "config/demo.yaml": "demo",
        # discovery settings (./run.sh discover) name the study of the draft config they write
        "config/discover/meis1.yaml": "meis1_replication",
        "config/examples/li2008_lncap.yaml": "li2008_lncap",
        "config/examples/marioni2008_liver.yaml": "marioni2008_liver",
        "config/examples/marioni2008_liver_tables.yaml": "marioni2008_liver_tables",
        "config/examples/shared_counts.yaml": "shared_counts",
    }


@pytest.mark.parametrize("name", ["a/b", "../x", ".hidden", "", "my study", "downloads", "ci", "x" * 65, "-x"])
def test_study_must_be_a_safe_folder_name(name):
    msg = config_error(lambda c: c.update(study=name))
    assert_in(
        msg,
        "my_config.yaml is not valid",
        f"study: {name!r} is not allowed. Fix: the study's name, which names its folders (results/<study>/,",
        "e.g. `study: sarayloo2019`",
    )


def test_study_must_be_text():
    msg = config_error(lambda c: c.update(study=2019))
    assert_in(msg, "study: expected string, got 2019.", "Fix: the study's name")


@pytest.mark.parametrize("configfile", ["___.yaml", "downloads.yaml", "ci.yaml"])
def test_a_config_file_name_that_makes_no_study_name(configfile):
    with pytest.raises(InputError) as info:
        validate_config(copy.deepcopy(BASE), source=configfile, configfiles=[configfile])
    assert_in(
        str(info.value),
        f"{configfile}: no study name can be made from the config file name '{configfile}'.",
        "Fix: give the study a name in the config, e.g. `study: my_study`",
    )


def test_download_cache_inside_the_studys_resources():
    msg = config_error(lambda c: c.update(study="s1", downloads={"cache_dir": "resources/s1/cache"}))
    assert_in(msg, "downloads.cache_dir (resources/s1/cache) is inside resources/s1/", "Fix: keep the shared cache")
    cfg = validate_config({**copy.deepcopy(BASE), "study": "s1", "downloads": {"cache_dir": "resources/s10"}})
    assert cfg["downloads"]["cache_dir"] == "resources/s10"


@pytest.mark.parametrize("key", ["datasets", "genesets", "target_pathway", "annotation"])
def test_missing_required_key(key):
    msg = config_error(lambda c: c.pop(key))
    assert_in(msg, "my_config.yaml is not valid", f"required key `{key}` is missing", "Fix:")


def test_missing_dataset_key():
    msg = config_error(lambda c: c["datasets"]["tiny"].pop("contrast"))
    assert_in(
        msg,
        "my_config.yaml",
        "datasets.tiny: required key `contrast` is missing",
        "[variable, tested level, reference level]",
    )


@pytest.mark.parametrize(
    "change, where, wrong, meant",
    [
        (lambda c: c.update(target_pathways="x"), "(top level)", "target_pathways", "target_pathway"),
        (lambda c: c.update(de={"alpah": 0.1}), "de", "alpah", "alpha"),
        (lambda c: c["datasets"]["tiny"].update(contrasts=["a", "b", "c"]), "datasets.tiny", "contrasts", "contrast"),
        (
            lambda c: c.update(enrichment={"gsea_permutation": 10}),
            "enrichment",
            "gsea_permutation",
            "gsea_permutations",
        ),
    ],
    ids=["top", "de", "dataset", "enrichment"],
)
def test_unknown_key_suggests_the_known_one(change, where, wrong, meant):
    msg = config_error(change)
    assert_in(msg, "my_config.yaml", f"{where}: unknown key(s) `{wrong}` (did you mean `{meant}`?)", "Allowed here:")


def test_unknown_key_without_a_close_match_lists_allowed_keys():
    msg = config_error(lambda c: c.update(zzz=1))
    assert "did you mean" not in msg
    assert_in(
        msg,
        "unknown key(s) `zzz`",
        "Allowed here: annotation, base_urls, calibration, claims, datasets, de, downloads, enrichment, genesets",
    )


def test_dataset_name_with_a_space():
    msg = config_error(lambda c: c["datasets"].update({"my data": c["datasets"].pop("tiny")}))
    assert_in(msg, "my_config.yaml", "datasets: name 'my data' is not allowed", "only letters, digits, _ and -")


def test_library_name_with_a_space():
    msg = config_error(lambda c: c.update(genesets={"my lib": "x.gmt"}))
    assert_in(msg, "genesets: name 'my lib' is not allowed", "library names may contain only")


def test_contrast_with_two_items():
    msg = config_error(lambda c: c["datasets"]["tiny"].update(contrast=["Treated", "Control"]))
    assert_in(
        msg,
        "datasets.tiny.contrast: has 2 item(s): ['Treated', 'Control']",
        "Fix: [variable, tested level, reference level], e.g. [condition, Treated, Control]",
    )


def test_contrast_comparing_a_level_with_itself():
    msg = config_error(lambda c: c["datasets"]["tiny"].update(contrast=["condition", "A", "A"]))
    assert_in(msg, "my_config.yaml", "datasets.tiny.contrast compares 'A' with itself")


def test_design_must_be_a_formula():
    msg = config_error(lambda c: c["datasets"]["tiny"].update(design="condition"))
    assert_in(msg, "datasets.tiny.design", "'condition'", 'e.g. "~condition"')


def test_wrong_type():
    msg = config_error(lambda c: c.update(de={"alpha": "high"}))
    assert_in(msg, "my_config.yaml is not valid", "de.alpha: expected number, got 'high'", "Fix: FDR level", "0.05")


def test_enum():
    msg = config_error(lambda c: c.update(verdict={"primary": "foo"}))
    assert_in(msg, "verdict.primary: 'foo' is not one of ora_all, ora_up, ora_down, gsea", "Fix: the enrichment method")


@pytest.mark.parametrize("kind", ["ora", "gsea"])
def test_min_size_larger_than_max_size(kind):
    msg = config_error(lambda c: c.update(enrichment={f"{kind}_min_size": 50, f"{kind}_max_size": 20}))
    assert_in(
        msg,
        "my_config.yaml",
        f"enrichment.{kind}_min_size (50) is larger than enrichment.{kind}_max_size (20)",
        "swap or correct them",
    )


def test_several_problems_are_reported_together():
    msg = config_error(lambda c: (c.pop("annotation"), c.update(de={"alpha": "high"})))
    assert_in(msg, "(2 problem(s))", "required key `annotation`", "de.alpha")


def test_empty_config():
    with pytest.raises(InputError) as info:
        validate_config({}, source="empty.yaml")
    assert_in(str(info.value), "empty.yaml", "the configuration is empty", "--configfile")


# ----------------------------------------------------------------------------- target pathway


@pytest.mark.shared
def test_target_pathway_not_in_library_lists_close_names(kegg_path):
    lib = genesets.read_library(kegg_path, "KEGG_2021_Human")
    assert lib.find("mineral absorption") == "Mineral absorption"  # case-insensitive
    with pytest.raises(InputError) as info:
        lib.find("Mineral absorbtion")
    assert_in(
        str(info.value),
        "target pathway 'Mineral absorbtion' is not in gene-set library KEGG_2021_Human",
        str(kegg_path),
        "320 terms",
        "Closest names: Mineral absorption",
        "Fix `target_pathway`",
    )


@pytest.mark.shared
def test_target_pathway_by_kegg_id(shared):
    lib = genesets.read_library(shared / "genesets" / "KEGG_2016.gmt", "KEGG_2016")
    assert lib.find("hsa04978") == "Mineral absorption"


# ----------------------------------------------------------------------------- through snakemake


@pytest.mark.e2e
def test_snakemake_shows_the_config_message(tmp_path, snakemake_run):
    cfg = copy.deepcopy(BASE)
    cfg["target_pathways"] = cfg.pop("target_pathway")
    path = tmp_path / "bad config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    rc, out = snakemake_run(path, "-n")
    assert rc != 0, out
    assert_in(
        out,
        str(path),
        "is not valid",
        "unknown key(s) `target_pathways` (did you mean `target_pathway`?)",
        "required key `target_pathway` is missing",
    )
    assert "Traceback (most recent call last)" not in out
    assert not (snakemake_run.workdir / "results").exists()


@pytest.mark.e2e
@pytest.mark.shared
def test_snakemake_target_pathway_not_in_library(tiny, write_config, snakemake_run):
    config = write_config({"tiny": tiny}, target_pathway="Mineral absorbtion")
    rc, out = snakemake_run(config, "results/config/verdict.tsv")
    work = snakemake_run.workdir
    assert rc != 0, out[-3000:]
    # checked when the library is prepared, before any DE or enrichment is spent on it
    assert "rule prepare_genesets: " in out, out[-3000:]
    assert_in(
        out,
        "target pathway 'Mineral absorbtion' is not in gene-set library KEGG_2021_Human",
        "KEGG_2021_Human.txt",
        "Closest names: Mineral absorption",
        "Fix `target_pathway`",
    )
    assert "Traceback (most recent call last)" not in out
    for name in ["verdict.tsv", "verdict_genes.tsv", "verdict.md", "verdict.html"]:
        assert not (work / "results/config" / name).exists(), f"results/config/{name} left behind"
    for name in ["KEGG_2021_Human.gmt", "KEGG_2021_Human.json"]:
        assert not (work / "resources/config/genesets" / name).exists(), f"resources/config/genesets/{name} left behind"


@pytest.fixture
def default_config_in_workdir(snakemake_run, shared, repo_root):
    """config/config.yaml copied into the snakemake working directory (shared data paths made
    absolute), so that it *would* be picked up there if --configfile did not replace it."""
    cfg_dir = snakemake_run.workdir / "config"
    cfg_dir.mkdir()
    text = (repo_root / "config" / "config.yaml").read_text().replace("../shared/data", str(shared))
    (cfg_dir / "config.yaml").write_text(text)
    return cfg_dir / "config.yaml"


@pytest.mark.e2e
@pytest.mark.shared
def test_configfile_analyses_exactly_its_datasets(
    default_config_in_workdir, make_dataset, write_config, snakemake_run, tmp_path
):
    # control: without --configfile the default config's datasets are planned
    rc, out = snakemake_run(None, "-n", "--quiet", "host")
    assert rc == 0, out[-3000:]
    for name in DEFAULT_DATASETS:
        assert f"dataset={name}" in out, f"{name} missing from the default dry run:\n{out[-3000:]}"

    other = write_config(
        {"other_a": make_dataset("a"), "other_b": make_dataset("b", seed=3)}, path=tmp_path / "other.yaml"
    )
    rc, out = snakemake_run(other, "-n", "--quiet", "host")
    assert rc == 0, out[-3000:]
    for name in ["other_a", "other_b"]:
        assert f"dataset={name}" in out and f"results/other/{name}/de.tsv" in out, out[-3000:]
    leaked = [name for name in DEFAULT_DATASETS if name in out]
    assert not leaked, f"datasets of config/config.yaml leaked into a --configfile run: {leaked}"
    assert not (snakemake_run.workdir / "results").exists(), "a dry run must not write results"


@pytest.mark.e2e
def test_snakemake_dataset_name_yaml_reads_as_a_number(tmp_path, snakemake_run):
    """`2019:` as a dataset name crashed rules/common.smk with a TypeError."""
    text = yaml.safe_dump(copy.deepcopy(BASE))
    name = next(iter(BASE["datasets"]))
    path = tmp_path / "numbers.yaml"
    path.write_text(text.replace(f"  {name}:", "  2019:", 1))
    assert 2019 in yaml.safe_load(path.read_text())["datasets"]
    rc, out = snakemake_run(path, "-n")
    assert rc != 0, out
    assert_in(
        out,
        str(path),
        "is not valid",
        "datasets: the dataset name 2019 was read by YAML as a number",
        'Fix: put it in quotes, e.g. "2019":',
    )
    assert "Traceback (most recent call last)" not in out and "TypeError" not in out


@pytest.mark.e2e
def test_snakemake_shows_the_study_name_message(tmp_path, snakemake_run):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(copy.deepcopy(BASE)))
    rc, out = snakemake_run(path, "-n", "--config", "study=../elsewhere")
    assert rc != 0, out
    assert_in(out, str(path), "is not valid", "study: '../elsewhere' is not allowed. Fix: the study's name")
    assert "Traceback (most recent call last)" not in out
    assert not (snakemake_run.workdir / "results").exists()


def test_de_engine_and_the_engine_sensitivity():
    """``de.engine`` names the two engines and the fix; ``sensitivity.engine`` is a switch (default on)."""
    cfg = validate_config(copy.deepcopy(BASE), source="my_config.yaml")
    assert cfg["de"]["engine"] == "r_exact" and cfg["sensitivity"]["engine"] is True
    msg = config_error(lambda c: c.update(de={"engine": "edgeR"}))
    assert "my_config.yaml" in msg and "de.engine: 'edgeR' is not one of r_exact, pydeseq2" in msg
    assert "docs/fidelity.md" in msg
    msg = config_error(lambda c: c.update(sensitivity={"engine": "pydeseq2"}))
    assert "sensitivity.engine" in msg and "the other de.engine" in msg
