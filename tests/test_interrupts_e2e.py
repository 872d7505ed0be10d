"""Interrupted and concurrent runs (issue 12, reliability): Ctrl-C (SIGINT) of snakemake, SIGKILL
of snakemake and of its whole job tree (a lost node, the OOM killer), two runs started in one
directory, and a results folder that cannot be written. Each run must stop cleanly (bounded
time, no process left, no partial output taken for a finished one) and a plain rerun must
finish with the same results as an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import SNAKEFILE, base_config, make_tiny_dataset, run_snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

# the study is named after the config file, config.yaml
TARGETS = [
    "results/config/tiny/de.tsv",
    "results/config/tiny/enrichment/ora_all.tsv",
    "results/config/tiny/enrichment/gsea.tsv",
]
COMPARED = [
    "results/config/tiny/de.tsv",
    "results/config/tiny/enrichment/ora_all.tsv",
    "results/config/tiny/enrichment/gsea.tsv",
    "results/config/tiny/input/counts.tsv.gz",
]


def start(work: Path, config: Path, *args: str) -> subprocess.Popen:
    """snakemake in its own session (process group), so that its whole job tree can be signalled and reaped."""
    exe = Path(sys.executable).with_name("snakemake")
    log = open(work / f"snakemake.{time.monotonic_ns()}.out", "w")
    cmd = [
        str(exe),
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(work),
        "--cores",
        "1",
        "--nocolor",
        *args,
        "--configfile",
        str(config),
    ]
    proc = subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log.name
    log.close()
    return proc


def output(proc) -> str:
    return Path(proc.log_path).read_text()


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) != sid:
                    continue
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (ProcessLookupError, PermissionError, FileNotFoundError):
                continue
            if state != "Z":
                pids.append(int(entry.name))
    return pids


def wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def sessions():
    """Sessions started by the test; whatever is left of them is killed at the end."""
    started = []
    yield started
    for sid in started:
        for pid in session_pids(sid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def read(work: Path, rel: str) -> pd.DataFrame:
    return pd.read_csv(work / rel, sep="\t", keep_default_na=False, dtype=str)


def assert_same_results(work: Path, reference: Path) -> None:
    for rel in COMPARED:
        pd.testing.assert_frame_equal(read(work, rel), read(reference, rel), obj=rel)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, gene_pool, annotation_path, kegg_path):
    """One tiny dataset, its config and the results of an uninterrupted run, shared by the tests of
    this module (none of them changes the inputs)."""
    import yaml

    base = tmp_path_factory.mktemp("interrupts")
    tiny = make_tiny_dataset(base / "data" / "tiny", gene_pool)
    config = base / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            base_config(
                {"tiny": tiny.config_entry()},
                annotation_path,
                kegg_path,
                robustness={"enabled": False},
                null={"enabled": False},
            )
        )
    )
    work = base / "reference"
    work.mkdir()
    rc, out = run_snakemake(work, config, *TARGETS)
    assert rc == 0, out[-3000:]
    return config, work


def new_workdir(tmp_path, name: str) -> Path:
    work = tmp_path / name
    work.mkdir()
    return work


def running_job(work: Path) -> bool:
    """A job of the run is under way: deseq2 has started (its log exists)."""
    return (work / "logs/config/tiny/deseq2.log").exists()


def marked_incomplete(work: Path, rel: str) -> bool:
    """Snakemake's mark of an output whose job did not finish (rerun by the next run: rerun-incomplete)."""
    import base64

    return (work / ".snakemake/incomplete" / base64.b64encode(rel.encode()).decode()).exists()


def assert_stopped_cleanly(proc, work: Path, timeout: float = 60) -> None:
    proc.wait(timeout)
    assert proc.returncode != 0, output(proc)[-3000:]
    wait_for(lambda: not session_pids(proc.pid), 30, "every process of the run to end")
    # the output of the interrupted job is absent, or marked unfinished (never taken for a finished one)
    de = "results/config/tiny/de.tsv"
    assert not (work / de).exists() or marked_incomplete(work, de), output(proc)[-3000:]


def rerun_matches(work: Path, config: Path, reference: Path) -> str:
    rc, out = run_snakemake(work, config, *TARGETS)
    assert rc == 0, out[-4000:]
    assert_same_results(work, reference)
    assert not list((work / "results").rglob(".pathverdict-tmp.*")), "temporary files left behind"
    return out


def start_until_deseq2(tmp_path, name, config, sessions):
    """A run in a new working directory, started in its own session (killed at the end of the
    test) and running until its deseq2 job has started: (workdir, process)."""
    work = new_workdir(tmp_path, name)
    proc = start(work, config, *TARGETS)
    sessions.append(proc.pid)
    wait_for(lambda: running_job(work), 120, "deseq2 to start")
    return work, proc


def test_ctrl_c_stops_the_run_and_a_rerun_finishes(reference, tmp_path, sessions):
    config, ref = reference
    work, proc = start_until_deseq2(tmp_path, "sigint", config, sessions)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: snakemake and its jobs get it
    assert_stopped_cleanly(proc, work)
    assert "Terminating processes on user request" in output(proc) or "KeyboardInterrupt" in output(proc)
    assert not (work / ".snakemake/locks").exists() or not list((work / ".snakemake/locks").glob("*.lock"))
    out = rerun_matches(work, config, ref)
    assert "removed the lock" not in out


def test_sigkill_of_the_whole_job_tree_then_rerun(reference, tmp_path, sessions):
    """kill -9 of snakemake and its jobs (the OOM killer, a lost node): the lock is left behind; the next run
    removes it (its run is gone) and redoes the unfinished job."""
    config, ref = reference
    work, proc = start_until_deseq2(tmp_path, "killtree", config, sessions)
    os.killpg(proc.pid, signal.SIGKILL)
    assert_stopped_cleanly(proc, work)
    assert list((work / ".snakemake/locks").glob("*.lock")), "expected the lock of the killed run"
    out = rerun_matches(work, config, ref)
    assert "removed the lock left by run" in out and "which was killed" in out


def test_sigkill_of_snakemake_only_waits_for_its_jobs(reference, tmp_path, sessions):
    """kill -9 of snakemake alone: its running job goes on and finishes by itself. A rerun while it runs is
    refused (the lock stays, the message says why); once it has ended, the rerun finishes."""
    config, ref = reference
    work, proc = start_until_deseq2(tmp_path, "killsnakemake", config, sessions)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    outs = []
    if session_pids(proc.pid):  # the orphaned job still runs: a rerun now must not start a second writer
        rc, out = run_snakemake(work, config, *TARGETS)
        outs.append(out)
        if rc != 0:  # (unless the job ended while the rerun started: then the rerun took over)
            assert_in_out = "Snakemake processes still work here" in out and "Directory cannot be locked" in out
            assert assert_in_out, out[-3000:]
    wait_for(lambda: not session_pids(proc.pid), 120, "the orphaned job to end")
    outs.append(rerun_matches(work, config, ref))
    assert any("removed the lock left by run" in o for o in outs), outs[-1][-3000:]


def test_two_runs_in_one_directory(reference, tmp_path, sessions):
    config, ref = reference
    work, first = start_until_deseq2(tmp_path, "two", config, sessions)
    rc, out = run_snakemake(work, config, *TARGETS)
    assert rc != 0 and "Directory cannot be locked" in out, out[-3000:]
    assert "removed the lock" not in out
    first.wait(300)
    assert first.returncode == 0, output(first)[-3000:]
    assert_same_results(work, ref)
    rc, out = run_snakemake(work, config, *TARGETS)
    assert rc == 0 and "Nothing to be done" in out, out[-3000:]


def make_read_only(path: Path) -> bool:
    """Make a folder read-only, also for root (chattr +i); False when this machine cannot."""
    if os.geteuid() != 0:
        path.chmod(0o555)
    else:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            return False
    probe = path / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return True
    probe.unlink()
    return False


def make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755)


def test_read_only_results_folder(reference, tmp_path):
    config, ref = reference
    work = new_workdir(tmp_path, "readonly")
    rc, out = run_snakemake(work, config, "results/config/tiny/input/prepare.json")
    assert rc == 0, out[-3000:]
    folder = work / "results/config/tiny"
    if not make_read_only(folder):
        pytest.skip("cannot make a folder read-only on this machine (root without chattr)")
    try:
        rc, out = run_snakemake(work, config, *TARGETS, timeout=300)
        assert rc != 0, out[-3000:]
        assert "Traceback (most recent call last)" not in out, out[-5000:]
        assert (
            "rule deseq2: cannot write results/config/tiny/" in out
            and "the folder results/config/tiny is read-only" in out
        ), out[-3000:]
        assert "run the same command again" in out
        assert not (folder / "de.tsv").exists()
    finally:
        make_writable(folder)
    rerun_matches(work, config, ref)


def test_read_only_results_root(reference, tmp_path):
    """results/ itself read-only (a read-only mount): one message naming the folder when the run starts
    (the record of which config the study folder belongs to is its first write), no job run, nothing
    written (issue 24: an OSError traceback from rules/common.smk)."""
    config, _ = reference
    work = new_workdir(tmp_path, "readonly_root")
    (work / "results").mkdir()
    if not make_read_only(work / "results"):
        pytest.skip("cannot make a folder read-only on this machine (root without chattr)")
    try:
        rc, out = run_snakemake(work, config, *TARGETS, timeout=300)
        assert rc != 0, out[-3000:]
        assert "Traceback (most recent call last)" not in out and "PermissionError" not in out, out[-5000:]
        assert "cannot write results/config/.pathverdict-run.json in results:" in out, out[-3000:]
        assert "the folder results is read-only" in out and "the run cannot start: nothing was run" in out
        assert "chmod u+w results" in out and "run the same command again" in out
        assert not list((work / "results").iterdir()) and not (work / "logs").exists()
    finally:
        make_writable(work / "results")
