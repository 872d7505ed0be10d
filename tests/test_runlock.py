"""pathverdict.runlock: the lock of a killed run is removed only when that run is known to be gone."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from pathverdict import runlock


def dead_pid() -> int:
    return int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )


@pytest.fixture
def workdir(tmp_path):
    d = tmp_path / "work" / ".snakemake"
    (d / "locks").mkdir(parents=True)
    for name in ("0.input.lock", "0.output.lock"):
        (d / "locks" / name).write_text("results/x/de.tsv\n")
    return d


def owner(d, **kw):
    info = {"host": socket.gethostname(), "pid": dead_pid(), "started": 1.0, **kw}
    (d / runlock.OWNER).write_text(json.dumps(info))


def locks(d):
    return sorted(p.name for p in (d / "locks").glob("*.lock"))


def test_no_lock_nothing_to_do(tmp_path):
    assert runlock.release_stale_lock(tmp_path / ".snakemake") is None


def test_lock_of_a_killed_run_is_removed(workdir):
    owner(workdir)
    msg = runlock.release_stale_lock(workdir)
    assert "removed the lock left by run" in msg and "which was killed" in msg
    assert locks(workdir) == []


def test_lock_of_a_running_run_stays(workdir):
    runlock.record_owner(workdir)  # this process: alive
    assert runlock.release_stale_lock(workdir) is None
    assert locks(workdir) == ["0.input.lock", "0.output.lock"]


def test_lock_without_owner_or_of_another_host_stays(workdir):
    assert runlock.release_stale_lock(workdir) is None
    owner(workdir, host="node-that-is-not-" + socket.gethostname())
    assert runlock.release_stale_lock(workdir) is None
    assert len(locks(workdir)) == 2


def test_lock_stays_while_a_job_of_the_killed_run_works_there(workdir):
    owner(workdir)
    job = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", ".snakemake/scripts/tmpab.deseq2.py"], cwd=workdir.parent
    )
    try:
        import time

        time.sleep(0.3)
        msg = runlock.release_stale_lock(workdir)
        assert "Snakemake processes still work here" in msg and str(job.pid) in msg
        assert len(locks(workdir)) == 2
    finally:
        job.kill()
        job.wait()
    assert "removed the lock" in runlock.release_stale_lock(workdir)


def test_lock_of_a_cluster_run_stays(workdir):
    owner(workdir, local_jobs=False)
    msg = runlock.release_stale_lock(workdir)
    assert "submitted to a cluster" in msg and "--unlock" in msg
    assert len(locks(workdir)) == 2
