"""A real single-node SLURM cluster on 127.0.0.1 for tests, from Debian's packages
(``apt-get install slurm-wlm munge``): munged, slurmctld and slurmd in the foreground as
children of this process, everything (key, sockets, state, spool, logs) under one temporary
directory, torn down by the PIDs started here.

    with SlurmCluster(tmp_path / "slurm") as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env)
        cluster.submitted_jobs()        # job ids from the slurmctld log
        cluster.completed_jobs()        # the jobcomp/filetxt records (state, time limit, TRES)

The config is also written to /etc/slurm/slurm.conf while the cluster is up (the previous file,
if any, is put back afterwards): inside a job, the SLURM executor's jobstep plugin clears every
``SLURM_*`` variable, SLURM_CONF included, before calling ``srun``, which then only finds the
default path. There is no accounting database: ``sacct`` answers "accounting storage is
disabled", so jobs' states are queried with ``squeue`` (MinJobAge keeps finished jobs listed for
5 minutes) and every finished job is recorded by jobcomp/filetxt. Two clusters cannot share
/etc/slurm/slurm.conf: a lock file makes a second one wait until the first is down.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "apt-get update && apt-get install -y slurm-wlm munge"
PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "srun", "scancel"]
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
LOCK = Path("/tmp/pathverdict-slurm-test.lock")


class ClusterError(RuntimeError):
    """A daemon did not start or the cluster did not become ready (with the logs' tails)."""


def missing_programs() -> list[str]:
    return [p for p in PROGRAMS if shutil.which(p) is None]


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return f"  ({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("  " + line for line in text) or "  (empty)"


def node_line() -> tuple[str, str]:
    """(hostname, NodeName=... line) for this machine: what `slurmd -C` reports, at
    127.0.0.1, with RealMemory lowered by a margin so that slurmd never reports less."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
    first = next((line for line in out.splitlines() if line.startswith("NodeName=")), "")
    fields = dict(f.split("=", 1) for f in first.split())
    host = socket.gethostname().split(".")[0]
    mem = int(fields.get("RealMemory", "2048"))
    mem = max(mem - max(1024, mem // 10), 512)
    keep = ["CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore"]
    hw = " ".join(f"{k}={fields[k]}" for k in keep if k in fields) or f"CPUs={os.cpu_count()}"
    return host, f"NodeName={host} NodeAddr=127.0.0.1 {hw} RealMemory={mem} State=UNKNOWN"


class SlurmCluster:
    def __init__(self, root: Path, min_job_age: int = 300, ready_timeout: float = 60):
        self.root = Path(root)
        self.min_job_age = min_job_age
        self.ready_timeout = ready_timeout
        self.procs: dict[str, subprocess.Popen] = {}
        self.timings: dict[str, float] = {}
        self.conf = self.root / "slurm.conf"
        self.logs = self.root / "log"
        self.jobcomp = self.logs / "jobcomp.log"
        self._lock_fh = None
        self._saved_conf: bytes | None = None
        self._wrote_system_conf = False
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        self.host = ""
        self.memory_mb = 0
        self.run: Path | None = None

    # ------------------------------------------------------------------ bring-up
    def start(self) -> SlurmCluster:
        missing = missing_programs()
        if missing:
            raise ClusterError(
                f"SLURM is not installed (missing: {', '.join(missing)}). Install it with: {INSTALL_HINT}"
            )
        t0 = time.monotonic()
        self._lock_fh = open(LOCK, "w")
        fcntl.flock(self._lock_fh, fcntl.LOCK_EX)  # one test cluster at a time owns /etc/slurm/slurm.conf
        self.timings["lock_wait"] = time.monotonic() - t0
        t0 = time.monotonic()
        try:
            self._write_files()
            self._start_munge()
            self._start("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
            self._start("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.timings["bring_up"] = time.monotonic() - t0
        return self

    def _write_files(self):
        for d in ["munge", "state", "spool", "log"]:
            (self.root / d).mkdir(parents=True, exist_ok=True)
        # munged wants its key private and every directory above its socket searchable by all,
        # which a test's tmp_path is not: sockets and PID files go to a directory of their own
        self.run = Path(tempfile.mkdtemp(prefix="pathverdict-slurm-"))
        os.chmod(self.run, 0o755)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        self.host, node = node_line()
        self.memory_mb = int(re.search(r"RealMemory=(\d+)", node).group(1))
        ctld_port, slurmd_port = _free_ports(2)
        r = self.root
        self.conf.write_text(f"""\
# single-node test cluster written by tests/slurm_cluster.py
ClusterName=pathverdict-test
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.run}/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={self.run}/slurmctld.pid
SlurmdPidFile={self.run}/slurmd.pid
SlurmctldLogFile={self.logs}/slurmctld.log
SlurmdLogFile={self.logs}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
ReturnToService=2
MinJobAge={self.min_job_age}
SlurmctldTimeout=30
SlurmdTimeout=30
{node}
PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        if SYSTEM_CONF.exists():
            self._saved_conf = SYSTEM_CONF.read_bytes()
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.conf, SYSTEM_CONF)
        self._wrote_system_conf = True

    def _start(self, name: str, cmd: list[str]):
        out = open(self.logs / f"{name}.out", "wb")
        self.procs[name] = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True
        )
        out.close()
        time.sleep(0.3)
        if self.procs[name].poll() is not None:
            raise ClusterError(
                f"{name} exited at once with code {self.procs[name].returncode}.\n"
                f"{self.logs / (name + '.out')}:\n{_tail(self.logs / (name + '.out'))}\n"
                f"{self.logs / (name + '.log')}:\n{_tail(self.logs / (name + '.log'))}"
            )

    def _start_munge(self):
        r, sock = self.root, self.run / "munge.socket"
        self._start(
            "munged",
            [
                "munged",
                "-F",
                f"--socket={sock}",
                f"--key-file={r}/munge/munge.key",
                f"--log-file={self.logs}/munged.log",
                f"--pid-file={self.run}/munged.pid",
                f"--seed-file={r}/munge/munged.seed",
            ],
        )
        deadline = time.monotonic() + 15
        while not sock.exists():
            if self.procs["munged"].poll() is not None or time.monotonic() > deadline:
                raise ClusterError(
                    f"munged did not start (its socket {sock} never appeared).\n"
                    f"{self.logs / 'munged.out'}:\n{_tail(self.logs / 'munged.out')}"
                )
            time.sleep(0.1)

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        state = ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ClusterError(
                        f"{name} died (exit code {proc.returncode}) while the cluster came up.\n" + self.describe()
                    )
            res = subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env, timeout=30
            )
            state = (res.stdout or res.stderr).strip()
            if res.returncode == 0 and state.rstrip("*") in {"idle", "mixed", "allocated"}:
                return
            time.sleep(0.3)
        raise ClusterError(
            f"the node did not become idle within {self.ready_timeout:.0f} s (sinfo: {state!r}).\n" + self.describe()
        )

    # ------------------------------------------------------------------ inspection
    def describe(self, lines: int = 30) -> str:
        parts = []
        for name in ["munged", "slurmctld", "slurmd"]:
            for suffix in (".out", ".log"):
                path = self.logs / (name + suffix)
                if path.exists():
                    parts.append(f"{path}:\n{_tail(path, lines)}")
        return "\n".join(parts)

    def submitted_jobs(self) -> list[int]:
        """Ids of every job submitted with sbatch, in order (from the slurmctld log)."""
        text = (self.logs / "slurmctld.log").read_text(errors="replace")
        return [int(j) for j in re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", text)]

    def completed_jobs(self) -> list[dict]:
        """The jobcomp records of the finished jobs: JobId, Name, JobState, TimeLimit, Tres, WorkDir..."""
        if not self.jobcomp.exists():
            return []
        rows = []
        for line in self.jobcomp.read_text(errors="replace").splitlines():
            rows.append(dict(re.findall(r"(\w+)=(\S*)", line)))
        return rows

    def queue(self) -> list[str]:
        res = subprocess.run(
            ["squeue", "-h", "-o", "%i %T %j"], capture_output=True, text=True, env=self.env, timeout=30
        )
        return [line for line in res.stdout.splitlines() if line.strip()]

    # ------------------------------------------------------------------ tear-down
    def stop(self):
        t0 = time.monotonic()
        try:
            if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
                # our own cluster: cancel whatever is left of the test's jobs
                subprocess.run(["scancel", "--full", "--user", "root"], env=self.env, capture_output=True, timeout=30)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and any(
                    " RUNNING " in f" {q} " or " COMPLETING " in f" {q} " for q in self.queue()
                ):
                    time.sleep(0.5)
            for name in ["slurmd", "slurmctld", "munged"]:
                proc = self.procs.get(name)
                if proc is None or proc.poll() is not None:
                    continue
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        finally:
            if self._wrote_system_conf:
                if self._saved_conf is not None:
                    SYSTEM_CONF.write_bytes(self._saved_conf)
                else:
                    SYSTEM_CONF.unlink(missing_ok=True)
                self._wrote_system_conf = False
            if self.run is not None:
                shutil.rmtree(self.run, ignore_errors=True)
                self.run = None
            if self._lock_fh is not None:
                self._lock_fh.close()
                self._lock_fh = None
            self.timings["tear_down"] = time.monotonic() - t0

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
