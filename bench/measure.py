"""Time one command and record the memory of its whole process tree.

Wall time is ``time.monotonic`` around the process. Memory, three ways:
- ``cgroup_peak_mb``: the command runs in a memory cgroup of its own (cgroup v1
  ``memory.max_usage_in_bytes``, or v2 ``memory.peak``): the peak of the memory charged to it
  and every process it starts, each page counted once, as a systemd service's MemoryPeak.
  None where no memory cgroup can be made.
- ``tree_rss_mb``: the peak, over samples every ``interval`` s, of the summed RSS of the
  command and every process it started (ssh clients, their ControlMaster children). Shared
  pages (libc, the Python binary) are counted once per process, so this is an upper bound.
- ``max_rss_mb``: the largest single process of the tree (``wait4``'s ``ru_maxrss``, which the
  kernel takes over the child and every descendant it waited for).

CPU: ``cpu_s`` is the command's own CPU and its waited-for descendants' (its ssh clients),
from ``wait4``; ``cgroup_cpu_s`` reads what a cgroup (the lab's hosts) used meanwhile. On a
lab machine both share the same cores, so the split says whose work a wall time is.

Descendants are found by reading each new pid's parent once (the pid is above the command's,
which it is unless pids wrap during a run): cheap even with thousands of container
processes on the machine, so the sampler does not slow what it measures.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    seconds: float
    returncode: int
    tree_rss_mb: float
    max_rss_mb: float
    processes: int  # processes seen in the tree
    cgroup_peak_mb: float | None = None
    cpu_s: float = 0.0  # user + system CPU of the command and the descendants it waited for
    group_cpu_s: float | None = None  # CPU of run()'s ``cpu_group`` meanwhile (the lab's hosts)


class MemoryCgroup:
    """A memory cgroup for one measured command (removed afterwards)."""

    V1 = Path("/sys/fs/cgroup/memory")
    V2 = Path("/sys/fs/cgroup")

    def __init__(self, name: str) -> None:
        self.path: Path | None = None
        self.peak_file = ""
        if (self.V1 / "memory.usage_in_bytes").exists():
            base, self.peak_file = self.V1, "memory.max_usage_in_bytes"
        elif (self.V2 / "cgroup.controllers").exists():  # v2: memory.peak (kernel >= 5.19)
            base, self.peak_file = self.V2, "memory.peak"
        else:
            return
        try:
            group = base / "tepat-bench"
            group.mkdir(exist_ok=True)
            if base == self.V2:
                (group / "cgroup.subtree_control").write_text("+memory")
            (group / name).mkdir()
            self.path = group / name
        except OSError:
            self.path = None

    def enter(self) -> None:
        """In the child, before exec: join the cgroup."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def peak_mb(self) -> float | None:
        try:
            return int((self.path / self.peak_file).read_text()) / 2**20 if self.path else None
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        """Move what still runs in it (idle ssh masters) to the parent group, then remove it."""
        if self.path is None:
            return
        parent = self.path.parent.parent
        try:
            for pid in (self.path / "cgroup.procs").read_text().split():
                try:
                    (parent / "cgroup.procs").write_text(pid)
                except OSError:
                    pass
            self.path.rmdir()
        except OSError:
            pass


def cgroup_cpu_s(group: str | None) -> float | None:
    """CPU seconds used so far by every process in cgroup ``group`` (``cpu.stat`` of cgroup v2,
    mounted at /sys/fs/cgroup/unified on a hybrid host), None when there is no such group."""
    if not group:
        return None
    for base in (MemoryCgroup.V2 / "unified", MemoryCgroup.V2):
        try:
            for line in (base / group / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
        except (OSError, ValueError):
            continue
    return None


def cgroup_cpu_since(group: str | None, before: float | None) -> float | None:
    """CPU seconds ``group`` used since the reading ``before`` (None if either is missing)."""
    after = cgroup_cpu_s(group)
    return None if before is None or after is None else after - before


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields after the last ')' are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _rss_pages(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler(threading.Thread):
    def __init__(self, root: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.tree: set[int] = {root}
        self.seen: set[int] = set()
        self.peak_pages = 0
        self.stop_event = threading.Event()

    def sample(self) -> None:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid <= self.root or pid in self.seen:
                continue
            self.seen.add(pid)
            parent = _ppid(pid)
            if parent in self.tree:
                self.tree.add(pid)
        self.peak_pages = max(self.peak_pages, sum(_rss_pages(p) for p in self.tree))

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)


def run(argv: list[str], log_path: str | None = None, env: dict[str, str] | None = None,
        interval: float = 0.5, timeout: float | None = None,
        stdout_path: str | None = None, cpu_group: str | None = None) -> Measurement:
    """Run ``argv`` (stdout and stderr to ``log_path``, or stdout alone to ``stdout_path``),
    timed, its tree's memory sampled, and the CPU ``cpu_group`` used meanwhile."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    stdout = open(stdout_path, "wb") if stdout_path else None
    try:
        if log_path:
            out.write(f"\n$ {' '.join(argv)}\n".encode())
            out.flush()
        cgroup = MemoryCgroup(f"run-{os.getpid()}-{time.monotonic_ns()}")
        group_cpu = cgroup_cpu_s(cpu_group)
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=stdout or out,
                                stderr=out if stdout else subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, preexec_fn=cgroup.enter)
        sampler = TreeSampler(proc.pid, interval)
        sampler.start()
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.01)
        seconds = time.monotonic() - started
        group_cpu = cgroup_cpu_since(cpu_group, group_cpu)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop_event.set()
        sampler.join()
        cgroup_peak = cgroup.peak_mb()
        cgroup.remove()
        if log_path:
            out.write(f"# exit {proc.returncode} in {seconds:.2f} s\n".encode())
    finally:
        if log_path:
            out.close()
        if stdout:
            stdout.close()
    return Measurement(seconds, proc.returncode, sampler.peak_pages * PAGE / 2**20,
                       usage.ru_maxrss / 1024, len(sampler.tree), cgroup_peak,
                       usage.ru_utime + usage.ru_stime, group_cpu)
