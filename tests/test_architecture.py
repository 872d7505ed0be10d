"""The package's layers point one way (scripts -> steps -> science -> io/util), and every rule's
script is a thin adapter whose step function needs nothing its rule does not declare."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "pathverdict"

# lowest layer first; a module may import its own layer or a lower one, never a higher one. The science
# is in folders that read as the data flows: sources -> de -> enrichment -> (simulation) -> judgement -> report
LAYERS = {
    "io": [
        "errors", "util", "io", "organisms", "config", "configfiles", "render", "tables", "design", "genesets",
        "runlock",
        "__init__",
    ],
    "sources": ["sources"],
    "de": ["de"],
    "enrichment": ["enrichment"],
    "simulation": ["simulation"],
    "judgement": ["judgement"],
    "report": ["report"],
    "workflow": ["steps", "smk", "summary", "sources.steps", "discover"],
}  # fmt: skip
RANK = {mod: i for i, mods in enumerate(LAYERS.values()) for mod in mods}
MAX_LINES = 650  # "no file of the package over ~600 lines"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"] or ["__init__"]
    return ".".join(parts)


def _layer(module: str) -> int:
    """The layer of ``pathverdict.<module>``: the longest listed prefix decides (sources.steps)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in RANK:
            return RANK[key]
    raise AssertionError(f"pathverdict.{module} is in no layer of tests/test_architecture.py: add it to LAYERS")


def _imports(path: Path, text: str | None = None) -> set[str]:
    """Every pathverdict module ``path`` imports (also inside functions), relative to the package."""
    me = _module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [p for p in base if p != "__init__"] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("pathverdict"):
                target = node.module.split(".")[1:]
            else:
                continue
            names = [a.name for a in node.names]
            for name in names:  # `from . import verdict` imports the module pathverdict.judgement.verdict
                sub = ".".join(target + [name])
                if (PKG / Path(*sub.split("."))).with_suffix(".py").is_file() or (PKG / Path(*sub.split("."))).is_dir():
                    out.add(sub)
                elif target:
                    out.add(".".join(target))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("pathverdict."):
                    out.add(a.name.split(".", 1)[1])
    return out


def _files():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_layers_are_defined_as_in_the_architecture_notes():
    assert _layer("steps.enrichment") > _layer("enrichment") > _layer("io")
    assert _layer("sources.steps") == _layer("steps") > _layer("sources.geo")
    flow = ["sources.geo", "de.rcompat.glm", "enrichment.camera", "judgement.verdict", "report.plots.de"]
    assert [_layer(m) for m in flow] == sorted({_layer(m) for m in flow})


def test_every_science_module_is_in_a_flow_folder():
    """Nothing of the science lies loose at the top of the package: only the io layer does."""
    loose = sorted(p.stem for p in PKG.glob("*.py") if p.stem not in LAYERS["io"] + LAYERS["workflow"])
    assert not loose, f"modules at the top of src/pathverdict outside the io layer: {loose}; put each in its folder"


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_imports_a_higher_layer(path):
    me = _module_name(path)
    upward = sorted(m for m in _imports(path) if _layer(m) > _layer(me))
    assert not upward, f"pathverdict.{me} (layer {_layer(me)}) imports a higher layer: {upward}"


def test_the_import_check_sees_an_upward_edge():
    """The check itself can fail: a science module importing a step is an upward edge."""
    path = PKG / "judgement" / "robustness.py"
    edges = _imports(path, path.read_text() + "\n\ndef f():\n    from ..steps.de import run_de\n")
    assert "steps.de" in edges and _layer("steps.de") > _layer("judgement.robustness")
    assert {"enrichment", "judgement.verdict"} <= _imports(path)
    # and a step back against the flow: the DE importing the judgement
    path = PKG / "de" / "__init__.py"
    edges = _imports(path, path.read_text() + "\n\ndef f():\n    from ..judgement import verdict\n")
    assert "judgement.verdict" in edges and _layer("judgement.verdict") > _layer("de")


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_is_over_the_size_limit(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it by concern"


# ----------------------------------------------------------------------------- scripts and rules


def _rules() -> dict[str, dict]:
    """rule name -> {script, input, output, params, wildcards} from rules/*.smk (names only)."""
    rules = {}
    unpacked = {  # the names the input functions of rules/common.smk return
        "dataset_inputs": {"counts", "samples", "source"},
        "null_inputs": {"counts", "samples", "genes"},
        "library_inputs": {"library", "download"},
        "de_table_inputs": {"table", "source", "background"},
        "count_outputs": {"counts", "vst", "samples", "summary", "record"},
    }
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n(?=rule \w+:)", text):
            m = re.match(r"rule (\w+):", block)
            if not m:
                continue
            rule = {"input": set(), "output": set(), "params": set(), "script": None}
            section = None
            for line in block.splitlines()[1:]:
                head = re.match(r"    (\w+):\s*(.*)$", line)
                if head:
                    section = head.group(1)
                    if section == "script":
                        rule["script"] = head.group(2).strip('"') or None
                    continue
                script = re.match(r'\s+"(\.\./scripts/\w+\.py)"', line)
                if section == "script" and script:
                    rule["script"] = script.group(1)
                if section in ("input", "output", "params"):
                    item = re.match(r"        (\w+)=", line)
                    if item:
                        rule[section].add(item.group(1))
                    un = re.match(r"        unpack\((\w+)\)", line)
                    if un:
                        rule[section] |= unpacked[un.group(1)]
            rule["wildcards"] = set(re.findall(r"\{(\w+)\}", block.split("    log:")[0]))
            rules[m.group(1)] = rule
    return rules


RULES = {name: r for name, r in _rules().items() if r["script"]}


def test_every_rule_has_a_script():
    names = {m for smk in (ROOT / "rules").glob("*.smk") for m in re.findall(r"^rule (\w+):", smk.read_text(), re.M)}
    assert len(names) >= 15 and set(RULES) == names - {"all"}  # the parser above found every rule
    assert all(r["script"].startswith("../scripts/") for r in RULES.values())


@pytest.mark.parametrize("rule", sorted(RULES))
def test_script_is_a_thin_adapter_of_declared_names(rule):
    """The script is a docstring, two imports and ``run_job(snakemake, step)``; the step function
    takes keyword-only parameters, and each one without a default is declared by the rule (an
    input X as X, an output X as out_X, a param X as X, a wildcard, or threads)."""
    r = RULES[rule]
    script = ROOT / "rules" / r["script"]
    tree = ast.parse(script.read_text())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert len(body) == 3, f"{script.name}: more than two imports and one call"
    first, second, call = body
    assert isinstance(first, ast.ImportFrom) and first.module == "pathverdict.smk"
    assert isinstance(second, ast.ImportFrom) and second.module.startswith("pathverdict.steps.")
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    assert ast.unparse(call.value) == f"run_job(snakemake, {second.names[0].name})"
    assert "snakemake." not in script.read_text(), f"{script.name} reads the snakemake object itself"
    step = getattr(importlib.import_module(second.module), second.names[0].name)
    declared = r["input"] | {f"out_{o}" for o in r["output"]} | r["params"] | r["wildcards"] | {"threads"}
    for name, p in inspect.signature(step).parameters.items():
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{step.__qualname__}: {name} is not keyword-only"
        if p.default is inspect.Parameter.empty:
            assert name in declared, f"rule {rule}: step {step.__qualname__} needs {name!r}, not declared"
    clash = (r["input"] & r["params"]) | ({f"out_{o}" for o in r["output"]} & (r["input"] | r["params"]))
    assert not clash, f"rule {rule}: {clash} declared twice"


# ----------------------------------------------------------------------------- the generic adapter


def _snakemake(input=None, output=None, params=None, wildcards=None, threads=2):
    """A job's ``snakemake`` object as a script sees it (Snakemake's own containers)."""
    from types import SimpleNamespace

    from snakemake.iocontainers import InputFiles, OutputFiles, Params, Wildcards

    def named(cls, items):
        out = cls()
        for name, value in (items or {}).items():
            start = len(out)
            if isinstance(value, list):
                out.extend(value)
                out._set_name(name, start, end=len(out))
            else:
                out.append(value)
                out._set_name(name, start)
        return out

    return SimpleNamespace(
        rule="r",
        input=named(InputFiles, input),
        output=named(OutputFiles, output),
        params=named(Params, params),
        wildcards=named(Wildcards, wildcards),
        threads=threads,
        log=[],
    )


def test_step_arguments_come_from_the_rules_declarations():
    from pathverdict.smk import step_arguments

    def step(*, de, gmts, empty, out_tsv, enrichment, dataset, library, threads, optional="kept"):
        pass

    sm = _snakemake(
        input={"de": "a/de.tsv", "gmts": ["x.gmt", "y.gmt"], "empty": [], "library": "lib.txt"},
        output={"tsv": "out.tsv"},
        params={"enrichment": {"padj": 0.05}},
        wildcards={"dataset": "d1", "library": "wild"},
    )
    args = step_arguments(sm, step)
    assert args == {
        "de": "a/de.tsv",
        "gmts": ["x.gmt", "y.gmt"],
        "empty": [],
        "out_tsv": "out.tsv",
        "enrichment": {"padj": 0.05},
        "dataset": "d1",
        "library": "lib.txt",  # a declared input wins over the wildcard of the same name
        "threads": 2,
    }
    assert all(type(v) is str for v in (args["de"], args["out_tsv"], *args["gmts"]))


def test_step_arguments_refuse_what_the_rule_does_not_declare():
    from pathverdict.smk import step_arguments

    def needs_more(*, de, vst):
        pass

    with pytest.raises(TypeError, match=r"rule r: step .*needs_more needs 'vst', which the rule does not declare"):
        step_arguments(_snakemake(input={"de": "de.tsv"}), needs_more)

    def positional(de):
        pass

    with pytest.raises(TypeError, match="must be keyword-only"):
        step_arguments(_snakemake(input={"de": "de.tsv"}), positional)

    def any_step(*, x=None):
        pass

    with pytest.raises(TypeError, match="rule r: 'de' is declared both in input and in params"):
        step_arguments(_snakemake(input={"de": "de.tsv"}, params={"de": {}}), any_step)
