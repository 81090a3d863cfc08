"""Time one command and record the memory of its whole process tree.

Wall time is ``time.monotonic`` around the process. Memory, two ways:
- ``tree_rss_mb``: the peak, over samples every ``interval`` s, of the summed RSS of the
  command and every process it started (ssh clients, their ControlMaster children). Shared
  pages (libc, the Python binary) are counted once per process, so this is an upper bound.
- ``max_rss_mb``: the largest single process of the tree (``wait4``'s ``ru_maxrss``, which the
  kernel takes over the child and every descendant it waited for).

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
        interval: float = 0.2, timeout: float | None = None,
        stdout_path: str | None = None) -> Measurement:
    """Run ``argv`` (stdout and stderr to ``log_path``, or stdout alone to ``stdout_path``),
    timed, its tree's memory sampled."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    stdout = open(stdout_path, "wb") if stdout_path else None
    try:
        if log_path:
            out.write(f"\n$ {' '.join(argv)}\n".encode())
            out.flush()
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=stdout or out,
                                stderr=out if stdout else subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
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
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop_event.set()
        sampler.join()
        if log_path:
            out.write(f"# exit {proc.returncode} in {seconds:.2f} s\n".encode())
    finally:
        if log_path:
            out.close()
        if stdout:
            stdout.close()
    return Measurement(seconds, proc.returncode, sampler.peak_pages * PAGE / 2**20,
                       usage.ru_maxrss / 1024, len(sampler.tree))
