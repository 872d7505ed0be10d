"""The software environments agree: every rule names a conda env file that exists, and the
versions pinned for pip (requirements.txt, constraints.txt, pyproject.toml) and for conda
(envs/*.yaml) are the same for every package pinned in more than one of them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_snakemake

# conda-forge names of the same packages as on PyPI
CONDA_TO_PIP = {"matplotlib-base": "matplotlib"}
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]


def norm(name: str) -> str:
    """PEP 503 name: PyYAML == pyyaml, formulaic_contrasts == formulaic-contrasts."""
    name = re.sub(r"[-_.]+", "-", name.strip()).lower()
    return CONDA_TO_PIP.get(name, name)


def pip_pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*==\s*([^\s;,]+)", line)
        assert m, f"not an exact pin (name==version): {line!r}"
        pins[norm(m.group(1))] = m.group(3)
    return pins


def requirements() -> dict[str, str]:
    return pip_pins((REPO / "requirements.txt").read_text().splitlines())


def conda_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):  # a pip: section is pinned like requirements.txt
            pins.update(pip_pins(dep.get("pip", [])))
            continue
        m = re.fullmatch(r"(?:[\w-]+::)?([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==?\s*([^\s=]+))?", dep.strip())
        assert m, f"{path.name}: cannot read the dependency {dep!r}"
        assert m.group(2), f"{path.name}: {dep!r} is not pinned to a version (name=version)"
        pins[norm(m.group(1))] = m.group(2)
    return pins


def rule_envs() -> dict[str, tuple[Path, str | None]]:
    """rule name -> (file it is defined in, its conda: path or None), from the rule files' text."""
    rules = {}
    for path in RULE_FILES:
        blocks = re.split(r"^(?=(?:local)?rule \w+:)", path.read_text(), flags=re.M)
        for block in blocks:
            m = re.match(r"(?:local)?rule (\w+):", block)
            if not m:
                continue
            conda = re.search(r"^\s+conda:\s*\n\s+[\"']([^\"']+)[\"']", block, flags=re.M) or re.search(
                r"^\s+conda:\s*[\"']([^\"']+)[\"']", block, flags=re.M
            )
            rules[m.group(1)] = (path, conda.group(1) if conda else None)
    return rules


def test_every_rule_names_an_env_file_that_exists():
    rules = rule_envs()
    assert len(rules) >= 15, sorted(rules)
    for name, (path, env) in rules.items():
        if name == "all":  # a target rule: no job runs
            continue
        assert env, f"rule {name} ({path.relative_to(REPO)}) has no conda: directive"
        env_file = (path.parent / env).resolve()
        assert env_file.is_file(), f"rule {name} ({path.relative_to(REPO)}) names {env}, which does not exist"
        assert env_file.parent == REPO / "envs", f"rule {name}: {env} is not under envs/"


@pytest.mark.shared
def test_rule_scan_matches_snakemake_list_rules(tmp_path, shared):
    """The text scan above sees exactly the rules Snakemake knows (none missed, none extra)."""
    cfg = tmp_path / "demo.yaml"
    cfg.write_text((REPO / "config" / "demo.yaml").read_text().replace("../shared/data", str(shared)))
    rc, out = run_snakemake(tmp_path, cfg, "--list-rules")
    assert rc == 0, out[-3000:]
    listed = {line.strip() for line in out.splitlines() if re.fullmatch(r"\s*\w+\s*", line)}
    scanned = set(rule_envs())
    assert listed == scanned, f"only listed by Snakemake: {listed - scanned}; only scanned: {scanned - listed}"


def test_conda_envs_pin_what_requirements_pin():
    req = requirements()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        pins = conda_pins(env)
        common = sorted(set(pins) & set(req))
        assert {"pydeseq2", "gseapy", "pandas", "numpy"} <= set(common), f"{env.name} lacks the core packages"
        differ = {n: (req[n], pins[n]) for n in common if pins[n] != req[n]}
        assert not differ, f"requirements.txt and envs/{env.name} pin different versions (pip, conda): {differ}"


def test_pyproject_dependencies_pin_what_requirements_pin():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = pip_pins(deps)
    req = requirements()
    missing = sorted(set(pins) - set(req))
    assert not missing, f"pyproject.toml depends on {missing}, which requirements.txt does not pin"
    differ = {n: (req[n], pins[n]) for n in pins if pins[n] != req[n]}
    assert not differ, f"requirements.txt and pyproject.toml pin different versions: {differ}"


def test_constraints_agree_with_requirements():
    constraints = pip_pins((REPO / "constraints.txt").read_text().splitlines())
    req = requirements()
    differ = {n: (req[n], constraints[n]) for n in set(req) & set(constraints) if req[n] != constraints[n]}
    assert not differ, f"requirements.txt and constraints.txt pin different versions: {differ}"


def test_the_download_plumbing_is_pinned_everywhere():
    """sources.download imports requests, urllib3 (its Retry) and filelock directly: each is pinned,
    to one version, for pip (requirements.txt, pyproject.toml) and for conda (every env file)."""
    req = requirements()
    deps = pip_pins(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    for name in ("requests", "urllib3", "filelock"):
        assert name in req, f"requirements.txt does not pin {name}"
        assert deps.get(name) == req[name], f"pyproject.toml does not depend on {name}=={req[name]}"
        for env in sorted((REPO / "envs").glob("*.yaml")):
            assert conda_pins(env).get(name) == req[name], f"envs/{env.name} does not pin {name}={req[name]}"
