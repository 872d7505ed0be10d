#!/usr/bin/env python3
"""Time to the answer: the offline demo (whatever config/demo.yaml holds) end to end.

    python benchmarks/demo_time.py                 # cold once, warm 3 times, --cores 2
    python benchmarks/demo_time.py --cores 1 --warm 1
    python benchmarks/demo_time.py --config config/examples/li2008_lncap.yaml   # another config

In a fresh temporary directory (``../shared/data`` made absolute), with this repository's
Snakefile. Reports, per run: wall time, CPU time (user + system of Snakemake and every job),
the number of jobs and of output lines; for the cold run the CPU by rule (summed over its
jobs; each job's own process, measured from inside it at exit by a ``sitecustomize`` put on
PYTHONPATH for the run only) and the machine's load. Prints a Markdown table; ``--json FILE``
also writes the raw numbers. Targets (issue 11): demo cold <= 60 s CPU and <= 60 s wall on 2
idle cores, warm <= 3 s; the li2008 example <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SITECUSTOMIZE = r"""
import atexit, json, os, resource, sys, time
_start = time.monotonic()
def _pathverdict_job_cpu():
    out = os.environ.get("PATHVERDICT_JOB_CPU")
    if not out:
        return
    ru = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec = {"argv": sys.argv[:2], "cpu": ru.ru_utime + ru.ru_stime + kids.ru_utime + kids.ru_stime,
           "wall": time.monotonic() - _start, "pid": os.getpid()}
    with open(out, "a") as fh:
        fh.write(json.dumps(rec) + "\n")
atexit.register(_pathverdict_job_cpu)
"""


def shared_dir() -> Path:
    env = os.environ.get("PATHVERDICT_SHARED")
    return Path(env).resolve() if env else (REPO / ".." / "shared" / "data").resolve()


def snakemake_exe() -> str:
    exe = Path(sys.executable).with_name("snakemake")
    return str(exe) if exe.exists() else "snakemake"


def load_average() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run(work: Path, config: Path, cores: int, cpu_log: Path | None) -> dict:
    env = dict(os.environ)
    if cpu_log is not None:
        site = work / ".sitecustomize"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env["PYTHONPATH"] = f"{site}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
        env["PATHVERDICT_JOB_CPU"] = str(cpu_log)
    cmd = [
        snakemake_exe(),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        str(cores),
        "--configfile",
        str(config),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    lines = proc.stdout.splitlines()
    jobs = len([ln for ln in lines if ln.startswith("Finished jobid:")])
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "jobs": jobs,
        "lines": len(lines),
        # the run ends with the answer (pathverdict.summary), warm runs too
        "answer": any("pathverdict: is" in ln for ln in lines[-40:]),
        "output": proc.stdout,
    }


def cpu_by_rule(cpu_log: Path) -> dict[str, dict]:
    by_rule: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "cpu": 0.0, "wall": 0.0})
    if not cpu_log.is_file():
        return {}
    for line in cpu_log.read_text().splitlines():
        rec = json.loads(line)
        script = rec["argv"][0] if rec["argv"] else ""
        m = re.search(r"\.snakemake/scripts/tmp[^.]+\.(\w+)\.py$", script)
        rule = (
            m.group(1)
            if m
            else ("snakemake (main process)" if script.endswith("snakemake") else Path(script).name or "?")
        )
        by_rule[rule]["jobs"] += 1
        by_rule[rule]["cpu"] += rec["cpu"]
        by_rule[rule]["wall"] += rec["wall"]
    return dict(sorted(by_rule.items(), key=lambda kv: -kv[1]["cpu"]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "config" / "demo.yaml"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--warm", type=int, default=3, help="warm runs (nothing to redo)")
    ap.add_argument("--json", help="also write the raw numbers here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    src = Path(args.config).resolve()
    text = src.read_text().replace("../shared/data", str(shared_dir()))
    tmp = Path(tempfile.mkdtemp(prefix="pathverdict-demo-time-"))
    config = tmp / src.name
    config.write_text(text)
    cpu_log = tmp / "job_cpu.jsonl"
    load_start = load_average()
    cold = run(tmp, config, args.cores, cpu_log)
    warm = [run(tmp, config, args.cores, None) for _ in range(args.warm)]
    rules = cpu_by_rule(cpu_log)
    load_end = load_average()
    name = src.relative_to(REPO) if src.is_relative_to(REPO) else src
    print(
        f"# {name}, --cores {args.cores}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{os.cpu_count()} cores; load average (1/5/15 min) {load_start} at start, {load_end} at end\n"
    )
    print("| run | wall s | CPU s (user+sys) | jobs | output lines | ends with the answer |")
    print("|---|---|---|---|---|---|")
    yes = {True: "yes", False: "NO"}
    print(
        f"| cold | {cold['wall']:.1f} | {cold['cpu']:.1f} | {cold['jobs']} | {cold['lines']} | {yes[cold['answer']]} |"
    )
    for i, w in enumerate(warm, 1):
        print(f"| warm {i} | {w['wall']:.1f} | {w['cpu']:.1f} | {w['jobs']} | {w['lines']} | {yes[w['answer']]} |")
    if rules:
        main_proc = rules.pop("snakemake (main process)", None)  # its children's CPU included
        jobs_cpu = sum(r["cpu"] for r in rules.values())
        print("\nCPU of the cold run by rule (each job measured in its own process at exit):\n")
        print("| rule | jobs | CPU s | wall s |")
        print("|---|---|---|---|")
        for rule, r in rules.items():
            print(f"| {rule} | {r['jobs']} | {r['cpu']:.1f} | {r['wall']:.1f} |")
        own = cold["cpu"] - jobs_cpu
        print(
            f"| Snakemake itself (DAG, scheduling, job start-up; total − jobs) | 1 | {own:.1f} | "
            f"{main_proc['wall'] if main_proc else cold['wall']:.1f} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "config": str(name),
                    "cores": args.cores,
                    "cold": {k: v for k, v in cold.items() if k != "output"},
                    "warm": [{k: v for k, v in w.items() if k != "output"} for w in warm],
                    "by_rule": rules,
                    "load": [load_start, load_end],
                },
                indent=1,
            )
        )
    if args.keep:
        print(f"\nkept: {tmp}")
    else:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
