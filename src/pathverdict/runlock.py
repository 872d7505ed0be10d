"""Snakemake's directory lock after a run was killed (kill -9, the OOM killer, a lost node).

Snakemake locks a working directory while it runs (``.snakemake/locks/``) and removes the lock
when it ends, also after Ctrl-C. A run killed with SIGKILL cannot: the next run then stops with
"Directory cannot be locked ... --unlock", although nothing runs any more. Each run records who
holds the lock (:func:`record_owner`, host, process ID and start time, written once Snakemake has
locked); the next run removes the lock (:func:`release_stale_lock`, before Snakemake checks it)
only when all of these hold:

* the owner record names this host (on a cluster's shared file system another host's run is
  never second-guessed: Snakemake's own message and ``--unlock`` stay the way);
* that process is gone (or its PID now belongs to a process started later);
* no other process of this host works in this directory with Snakemake (the killed run's jobs
  may still be running: they write the outputs of the run, so the lock stays until they end);
* the killed run ran its jobs on this host (jobs submitted to a cluster may still run there:
  the message says to check the queue and use ``--unlock``).

Two runs started in one directory are therefore still refused by Snakemake's lock.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from .util import write_json

OWNER = "pathverdict-lock-owner.json"


def _start_time(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 - gone, or no permission
        return None


def record_owner(snakemake_dir: str | Path = ".snakemake", local_jobs: bool = True) -> None:
    """Write who holds the lock now (called when the run starts, after Snakemake locked).
    ``local_jobs``: the jobs run on this host (not submitted to a cluster)."""
    d = Path(snakemake_dir)
    d.mkdir(parents=True, exist_ok=True)
    info = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _start_time(os.getpid()),
        "cwd": str(Path.cwd()),
        "local_jobs": bool(local_jobs),
    }
    write_json(info, d / OWNER)


def _other_snakemake_processes(workdir: Path) -> list[str]:
    """Processes of this host, other than this one and its ancestors, that run Snakemake or a
    Snakemake job in ``workdir``."""
    try:
        import psutil
    except ImportError:  # cannot tell: assume something may run
        return ["(cannot list processes: psutil is not installed)"]
    me = psutil.Process()
    skip = {me.pid} | {p.pid for p in me.parents()}
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "status"]):
        info = proc.info
        if info["pid"] in skip or info["status"] == psutil.STATUS_ZOMBIE or not info["cwd"]:
            continue
        cmd = " ".join(info["cmdline"] or [])
        if "snakemake" not in cmd:
            continue
        try:
            same = Path(info["cwd"]).resolve() == workdir
        except OSError:
            continue
        if same:
            found.append(f"{info['pid']} ({cmd[:100]})")
    return found


def release_stale_lock(snakemake_dir: str | Path = ".snakemake") -> str | None:
    """Remove the lock left by a killed run (see the module text); returns what was done, for
    the user, or None when there was no lock or it is not known to be stale."""
    d = Path(snakemake_dir)
    locks = d / "locks"
    lock_files = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not lock_files:
        return None
    try:
        owner = json.loads((d / OWNER).read_text())
    except (OSError, ValueError):
        return None
    if owner.get("host") != socket.gethostname():
        return None
    pid = owner.get("pid")
    if isinstance(pid, int) and pid > 0:
        started = _start_time(pid)
        if started is not None and (owner.get("started") is None or abs(started - owner["started"]) < 1):
            return None  # the owner still runs
    if not owner.get("local_jobs", True):
        return (
            f"the lock of this directory belongs to run {pid}, which has ended; its jobs were submitted to a "
            "cluster and may still run there. Check the cluster's queue (squeue -u $USER); when none of them runs "
            "any more, remove the lock with --unlock and run again."
        )
    others = _other_snakemake_processes(d.resolve().parent)
    if others:
        return (
            f"the lock of this directory belongs to run {pid}, which has ended, but Snakemake processes still work "
            f"here: {'; '.join(others[:3])}. They are jobs of the killed run (or another run): wait until they "
            "end, or stop them, then run again."
        )
    for f in lock_files:
        try:
            f.unlink()
        except FileNotFoundError:
            pass
    return (
        f"removed the lock left by run {pid} on {owner['host']}, which was killed (the process is gone and no "
        "Snakemake job of it runs any more); its unfinished jobs are run again"
    )
