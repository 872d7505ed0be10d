"""benchmarks/demo_time.py attributes each job's CPU to its rule (from the script name
Snakemake gives it) and measures jobs from inside their own process."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from conftest import REPO


def load():
    spec = importlib.util.spec_from_file_location("demo_time", REPO / "benchmarks" / "demo_time.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cpu_by_rule(tmp_path):
    mod = load()
    log = tmp_path / "cpu.jsonl"
    recs = [
        {"argv": ["/w/.snakemake/scripts/tmpab12_x.deseq2.py"], "cpu": 2.0, "wall": 3.0},
        {"argv": ["/w/.snakemake/scripts/tmpzz9.deseq2.py"], "cpu": 1.5, "wall": 2.0},
        {"argv": ["/w/.snakemake/scripts/tmpq.null_permutations.py"], "cpu": 4.0, "wall": 5.0},
        {"argv": ["/venv/bin/snakemake", "--snakefile"], "cpu": 9.0, "wall": 10.0},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in recs))
    by = mod.cpu_by_rule(log)
    assert list(by)[0] == "snakemake (main process)"
    assert by["deseq2"] == {"jobs": 2, "cpu": 3.5, "wall": 5.0}
    assert by["null_permutations"]["jobs"] == 1


def test_sitecustomize_measures_a_process(tmp_path):
    mod = load()
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(mod.SITECUSTOMIZE)
    out = tmp_path / "cpu.jsonl"
    env = {"PYTHONPATH": str(site), "PATHVERDICT_JOB_CPU": str(out), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(200000))"], env=env, check=True)
    rec = json.loads(out.read_text().splitlines()[-1])
    assert rec["cpu"] > 0 and rec["wall"] > 0 and rec["argv"] == ["-c"]
