"""A throw-away single-node Slurm cluster on loopback, for tests.

Usage as a context manager::

    from support.slurm_cluster import SlurmCluster, SlurmUnavailable

    with SlurmCluster() as cluster:
        cluster.run(["sbatch", "--wait", "--wrap", "echo hi"])

or as a pytest fixture (see :func:`slurm_cluster_fixture`)::

    slurm_cluster = slurm_cluster_fixture(scope="module")

What it does
------------
* If ``slurmctld``/``slurmd``/``munged``/``sbatch`` are missing, installs
  Debian's ``slurm-wlm`` and ``munge`` with ``apt-get`` (root only; while
  installing, a temporary ``/usr/sbin/policy-rc.d`` stops the packages from
  starting their system-wide services, unless one already exists).  Anything
  that makes this impossible (not root, no apt-get, apt failure) raises
  :class:`SlurmUnavailable`, which the pytest fixture turns into a skip.
* Writes its *own* munge key, ``slurm.conf`` and an empty ``plugstack.conf``
  into a fresh temporary directory; nothing under ``/etc`` is read or
  changed.  ``cgroup.conf`` is not needed: ``ProctrackType=proctrack/linuxproc``
  and ``TaskPlugin=task/none`` do not load any cgroup plugin.
* Starts a private ``munged`` (socket in the temp dir, pointed to via
  ``AuthInfo=socket=...``), ``slurmctld`` and ``slurmd`` in the foreground
  (``-D``) as children of this process.  Ports are picked free on
  127.0.0.1, the node's address is 127.0.0.1 and
  ``CommunicationParameters=NoCtldInAddrAny,NoInAddrAny`` makes the daemons
  bind to that address instead of 0.0.0.0.
* The node is this host (``hostname -s``) with the CPUs/RealMemory that
  ``slurmd -C`` reports; one partition (default name ``debug``) holds it.
* No accounting (``AccountingStorageType=accounting_storage/none``), so
  ``sacct`` does not work; job state is visible with ``squeue`` for
  ``MinJobAge`` seconds (300 by default) after a job ends.
* Waits until ``sinfo`` reports the node ``idle``.
* Sets ``SLURM_CONF`` in ``os.environ`` while running (restored on stop)
  and offers :attr:`SlurmCluster.env` for child processes, whose PATH starts
  with ``<tmp>/bin``: wrappers for srun/sbatch/squeue/... that restore
  ``SLURM_CONF`` when a caller has stripped it (the slurm-jobstep plugin
  does, for the ``srun`` inside each job; see ``_write_client_wrappers``).
* On stop: cancels remaining jobs, kills leftover ``slurmstepd`` processes
  that belong to *this* cluster (identified by ``SLURM_CONF`` in their
  environment), then stops slurmd, slurmctld and munged by pid, and removes
  the temp dir (kept if ``SLURM_TEST_KEEP=1``, or after a failed start if
  ``SLURM_TEST_KEEP_ON_FAILURE=1``).  An atexit hook does the same if the
  caller never stops the cluster.

No GPUs: the node has no GRES.  (Tried and dropped: with Slurm 22.05 a
count-only ``Name=gpu Count=N`` gres.conf is reported by slurmd as 0 GPUs,
which sets the node INVAL, and ``File=/dev/null`` is fatal for the gpu
plugin; so ``--gpus``/``--cpus-per-gpu`` cannot be exercised without real
GPU device files.)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRED_BINARIES = ("slurmctld", "slurmd", "munged", "sbatch", "srun", "squeue", "sinfo", "scontrol")
APT_PACKAGES = ("slurm-wlm", "munge")
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


class SlurmUnavailable(RuntimeError):
    """Raised when a Slurm test cluster cannot be provided on this machine."""


class SlurmStartError(RuntimeError):
    """Raised when the daemons were installed but did not come up."""


# --------------------------------------------------------------------------
# installation
# --------------------------------------------------------------------------


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN_DIRS:
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if _which(b) is None]


def ensure_slurm_installed(timeout: float = 900) -> None:
    """Install slurm-wlm and munge via apt-get if any daemon/client is missing.

    Raises SlurmUnavailable with a clear reason if that is not possible.
    """
    missing = missing_binaries()
    if not missing:
        return
    if os.name != "posix" or os.geteuid() != 0:
        raise SlurmUnavailable(
            f"Slurm binaries missing ({', '.join(missing)}) and not running as "
            "root, so slurm-wlm/munge cannot be installed with apt-get"
        )
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable(
            f"Slurm binaries missing ({', '.join(missing)}) and apt-get is not "
            "available to install slurm-wlm/munge"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    policy = Path("/usr/sbin/policy-rc.d")
    created_policy = False
    if not policy.exists():
        # Keep the packages' postinst from starting system-wide munge/slurm
        # services; we start our own private daemons.
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        created_policy = True
    try:
        for cmd in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES],
        ):
            try:
                proc = subprocess.run(
                    cmd, env=env, capture_output=True, text=True, timeout=timeout
                )
            except subprocess.TimeoutExpired:
                raise SlurmUnavailable(f"'{' '.join(cmd)}' timed out after {timeout}s")
            if proc.returncode != 0:
                raise SlurmUnavailable(
                    f"'{' '.join(cmd)}' failed (rc={proc.returncode}): "
                    f"{(proc.stderr or proc.stdout)[-2000:]}"
                )
    finally:
        if created_policy:
            policy.unlink(missing_ok=True)
    still_missing = missing_binaries()
    if still_missing:
        raise SlurmUnavailable(
            f"after installing {' '.join(APT_PACKAGES)}, still missing: "
            f"{', '.join(still_missing)}"
        )


def slurm_version() -> str:
    out = subprocess.run(
        [_which("slurmctld") or "slurmctld", "-V"], capture_output=True, text=True
    ).stdout.strip()
    return out  # e.g. "slurm-wlm 22.05.8"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """Return n distinct TCP ports that are currently free on host."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)  # keep bound until all are chosen -> distinct
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def short_hostname() -> str:
    return socket.gethostname().split(".")[0]


def node_hardware() -> dict[str, str]:
    """CPU/memory layout as slurmd itself detects it (``slurmd -C``)."""
    hw: dict[str, str] = {}
    try:
        out = subprocess.run(
            [_which("slurmd") or "slurmd", "-C"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        first = out.splitlines()[0] if out else ""
        for key, value in re.findall(r"(\w+)=(\S+)", first):
            if key in (
                "CPUs",
                "Boards",
                "SocketsPerBoard",
                "CoresPerSocket",
                "ThreadsPerCore",
                "RealMemory",
            ):
                hw[key] = value
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    if "CPUs" not in hw or "RealMemory" not in hw:
        hw = {"CPUs": str(os.cpu_count() or 1)}
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    hw["RealMemory"] = str(int(line.split()[1]) // 1024)
                    break
    return hw


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still "exists"; treat it as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------


class SlurmCluster:
    """Single-node Slurm cluster (munged + slurmctld + slurmd) on 127.0.0.1."""

    def __init__(
        self,
        *,
        partition: str = "debug",
        cluster_name: str = "snaketest",
        min_job_age: int = 300,
        base_dir: str | os.PathLike | None = None,
        install: bool = True,
        start_timeout: float = 90,
        keep: bool | None = None,
    ):
        self.partition = partition
        self.cluster_name = cluster_name
        self.min_job_age = min_job_age
        self._base_parent = base_dir
        self.install = install
        self.start_timeout = start_timeout
        self.keep = (
            os.environ.get("SLURM_TEST_KEEP") == "1" if keep is None else keep
        )
        self.nodename = short_hostname()
        self.dir: Path | None = None
        self.conf: Path | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}
        self._saved_slurm_conf: str | None = None
        self._env_set = False
        self.hardware: dict[str, str] = {}
        self.ports: dict[str, int] = {}

    # ---- public API -----------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """os.environ plus SLURM_CONF pointing at this cluster."""
        env = dict(os.environ)
        path = env.get("PATH", "")
        if self.conf is not None:
            env["SLURM_CONF"] = str(self.conf)
            # client wrappers that re-add SLURM_CONF (see _write_client_wrappers)
            path = str(self.conf.parent / "bin") + os.pathsep + path
        # sbin is not always on PATH for non-login shells
        for d in SBIN_DIRS:
            if d not in path.split(os.pathsep):
                path = path + os.pathsep + d
        env["PATH"] = path
        return env

    def run(self, cmd, *, check: bool = True, timeout: float = 120, **kw):
        """subprocess.run with this cluster's environment; text output."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(cmd, env=self.env, check=check, timeout=timeout, **kw)

    def log_tail(self, n: int = 40) -> str:
        parts = []
        for name, path in self._logs.items():
            try:
                lines = path.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                continue
            parts.append(f"----- {name} ({path}) -----\n" + "\n".join(lines))
        return "\n".join(parts)

    def __enter__(self) -> "SlurmCluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- start ------------------------------------------------------------

    def start(self) -> "SlurmCluster":
        if self.install:
            ensure_slurm_installed()
        else:
            missing = missing_binaries()
            if missing:
                raise SlurmUnavailable(f"Slurm binaries missing: {', '.join(missing)}")
        if os.geteuid() != 0:
            # slurmd must run as root to launch jobs (and we run SlurmUser=root)
            raise SlurmUnavailable("a private Slurm cluster needs root (slurmd)")
        atexit.register(self.stop)  # safety net if the caller never stops us
        try:
            self._prepare_dir()
            self._write_config()
            self._set_environ()
            self._start_munged()
            self._start_slurmctld()
            self._start_slurmd()
            self._wait_node_idle()
        except BaseException:
            self.stop(failed=True)
            raise
        return self

    def _prepare_dir(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="slurm-test-", dir=self._base_parent))
        # munged insists that every directory on the socket path is
        # world-executable.
        self.dir.chmod(0o755)
        for sub in ("state", "spool", "log", "run"):
            (self.dir / sub).mkdir()
            (self.dir / sub).chmod(0o755)

    def _write_config(self) -> None:
        d = self.dir
        assert d is not None
        # munge key: private to this cluster (munged wants it 0600, owned by us)
        key = d / "munge.key"
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(1024))
        self.munge_socket = d / "run" / "munge.socket"

        self.hardware = node_hardware()
        ctld_port, slurmd_port = free_ports(2)
        self.ports = {"slurmctld": ctld_port, "slurmd": slurmd_port}
        hw = " ".join(f"{k}={v}" for k, v in self.hardware.items())
        (d / "plugstack.conf").write_text("")  # do not read /etc/slurm/plugstack.conf

        self._logs = {
            "munged": d / "log" / "munged.log",
            "slurmctld": d / "log" / "slurmctld.log",
            "slurmd": d / "log" / "slurmd.log",
        }
        conf = f"""\
# Single-node test cluster written by tests/support/slurm_cluster.py
ClusterName={self.cluster_name}
SlurmctldHost={self.nodename}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d / "state"}
SlurmdSpoolDir={d / "spool"}
SlurmctldPidFile={d / "run" / "slurmctld.pid"}
SlurmdPidFile={d / "run" / "slurmd.pid"}
SlurmctldLogFile={self._logs["slurmctld"]}
SlurmdLogFile={self._logs["slurmd"]}
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={d / "plugstack.conf"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge={self.min_job_age}
KillWait=5
InactiveLimit=0
SlurmdParameters=config_overrides
NodeName={self.nodename} NodeAddr=127.0.0.1 NodeHostname={self.nodename} {hw} State=UNKNOWN
PartitionName={self.partition} Nodes={self.nodename} Default=YES MaxTime=INFINITE State=UP
"""
        self.conf = d / "slurm.conf"
        self.conf.write_text(conf)
        self._write_client_wrappers()

    def _write_client_wrappers(self) -> None:
        """Put SLURM_CONF-restoring wrappers for the client commands in <dir>/bin.

        This cluster's configuration is only reachable through SLURM_CONF
        (nothing is written to /etc/slurm, and 22.05's configless lookup would
        need a system-wide /run/slurm/conf).  snakemake-executor-plugin-slurm-
        jobstep removes every SLURM_* variable except the job's identity from
        the environment of the `srun` it runs inside the batch job, so that
        srun would find no configuration ("Could not establish a configuration
        source").  On a real cluster the config sits at /etc/slurm/slurm.conf
        or comes configless from slurmd, so this only concerns the test
        cluster.  The wrappers set SLURM_CONF only when it is unset and then
        exec the real command; :attr:`env` puts them first on PATH, and
        sbatch --export=ALL carries that PATH into the jobs.
        """
        bindir = self.dir / "bin"
        bindir.mkdir(exist_ok=True)
        for name in ("srun", "sbatch", "squeue", "scancel", "scontrol", "sinfo", "sacct"):
            real = _which(name)
            if real is None:
                continue
            w = bindir / name
            w.write_text(
                "#!/bin/sh\n"
                "# written by tests/support/slurm_cluster.py: restore SLURM_CONF, which the\n"
                "# slurm-jobstep plugin strips before its nested srun\n"
                f': "${{SLURM_CONF:={self.conf}}}"\n'
                "export SLURM_CONF\n"
                f'exec {real} "$@"\n'
            )
            w.chmod(0o755)

    def _set_environ(self) -> None:
        self._saved_slurm_conf = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(self.conf)
        self._env_set = True

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        out = open(self.dir / "log" / f"{name}.out", "ab")
        self._logs.setdefault(f"{name} stdout/stderr", self.dir / "log" / f"{name}.out")
        try:
            proc = subprocess.Popen(
                cmd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal does not hit them
            )
        finally:
            out.close()
        self.procs[name] = proc
        return proc

    def _wait_for(self, what: str, predicate, proc: subprocess.Popen | None = None):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if proc is not None and proc.poll() is not None:
                raise SlurmStartError(
                    f"{what}: process exited with rc={proc.returncode}\n{self.log_tail()}"
                )
            time.sleep(0.5)
        raise SlurmStartError(f"timed out waiting for {what}\n{self.log_tail()}")

    def _start_munged(self) -> None:
        d = self.dir
        proc = self._spawn(
            "munged",
            [
                _which("munged"),
                "--foreground",
                f"--socket={self.munge_socket}",
                f"--key-file={d / 'munge.key'}",
                f"--log-file={self._logs['munged']}",
                f"--pid-file={d / 'run' / 'munged.pid'}",
                f"--seed-file={d / 'run' / 'munged.seed'}",
            ],
        )

        def munge_ok() -> bool:
            if not self.munge_socket.exists():
                return False
            enc = subprocess.run(
                [_which("munge") or "munge", "-n", "-S", str(self.munge_socket)],
                capture_output=True,
            )
            if enc.returncode != 0:
                return False
            dec = subprocess.run(
                [_which("unmunge") or "unmunge", "-S", str(self.munge_socket)],
                input=enc.stdout,
                capture_output=True,
            )
            return dec.returncode == 0

        self._wait_for("munged", munge_ok, proc)

    def _start_slurmctld(self) -> None:
        proc = self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])

        def ctld_up() -> bool:
            r = subprocess.run(
                ["scontrol", "ping"], env=self.env, capture_output=True, text=True
            )
            return r.returncode == 0 and "UP" in r.stdout

        self._wait_for("slurmctld (scontrol ping)", ctld_up, proc)

    def _start_slurmd(self) -> None:
        self._spawn(
            "slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.nodename]
        )

    def node_state(self) -> str:
        r = subprocess.run(
            ["sinfo", "-h", "-N", "-n", self.nodename, "-o", "%t"],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return r.stdout.strip() if r.returncode == 0 else f"<sinfo rc={r.returncode}: {r.stderr.strip()}>"

    def _wait_node_idle(self) -> None:
        self._wait_for(
            f"node {self.nodename} to become idle in sinfo",
            lambda: self.node_state() == "idle",
            self.procs["slurmd"],
        )

    # ---- stop ---------------------------------------------------------------

    def _our_stepds(self) -> list[int]:
        """pids of slurmstepd processes whose environment names our slurm.conf."""
        if self.conf is None:
            return []
        marker = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (entry / "comm").read_text().strip() != "slurmstepd":
                    continue
                env = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in env:
                pids.append(int(entry.name))
        return pids

    def _cancel_jobs(self) -> None:
        if "slurmctld" not in self.procs or self.procs["slurmctld"].poll() is not None:
            return
        with contextlib.suppress(Exception):
            jobs = subprocess.run(
                ["squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S,CF"],
                env=self.env, capture_output=True, text=True, timeout=20,
            ).stdout.split()
            if jobs:
                subprocess.run(["scancel", *jobs], env=self.env, capture_output=True, timeout=20)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    left = subprocess.run(
                        ["squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S,CF"],
                        env=self.env, capture_output=True, text=True, timeout=20,
                    ).stdout.split()
                    if not left:
                        break
                    time.sleep(1)

    @staticmethod
    def _terminate(pid: int, timeout: float = 15) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.2)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self, failed: bool = False) -> None:
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        self._cancel_jobs()
        for pid in self._our_stepds():
            self._terminate(pid, timeout=5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                self._terminate(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self._env_set:
            if self._saved_slurm_conf is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = self._saved_slurm_conf
            self._env_set = False
        if self.dir is not None and not (self.keep or (failed and os.environ.get("SLURM_TEST_KEEP_ON_FAILURE") == "1")):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            self.conf = None


def slurm_cluster_fixture(scope: str = "module", **cluster_kwargs):
    """Return a pytest fixture that yields a running SlurmCluster.

    Daemons that were installed but fail to start are a test failure, with their logs.  When
    the cluster cannot be provided here (not root, apt-get unavailable or failing) the test
    fails if the Slurm tests were asked for explicitly ($UNITCLUST_TEST_SLURM=1, set by
    ``--run-slurm``), so CI cannot pass without proving the Slurm path, and skips otherwise.
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _slurm_cluster():
        cluster = SlurmCluster(**cluster_kwargs)
        try:
            cluster.start()
        except SlurmUnavailable as e:
            if os.environ.get("UNITCLUST_TEST_SLURM") == "1":
                pytest.fail(f"the Slurm tests were asked for, but no Slurm test cluster: {e}")
            pytest.skip(f"no Slurm test cluster: {e}")
        try:
            yield cluster
        finally:
            cluster.stop()

    return _slurm_cluster
