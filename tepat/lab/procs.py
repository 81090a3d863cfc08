"""Processes the lab started, tracked by pid *and* start time.

A pid alone can be reused by an unrelated process after a crash or reboot; the start time
(field 22 of /proc/PID/stat) makes a record match only the process we started, so `down`
never signals anything else.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _read(path: str) -> str | None:
    """A /proc file of a process, or None if the process is gone. A process exiting while it
    is read gives ESRCH rather than ENOENT (systemd-nspawn's short-lived helpers do that
    while it starts a container)."""
    try:
        return Path(path).read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if it is gone."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[19])


def parent_pid(pid: int) -> int | None:
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    return int(stat[stat.rfind(")") + 2:].split()[1])


def ref(pid: int) -> dict:
    """A record of a running process: ``{"pid": ..., "start": ...}``."""
    return {"pid": pid, "start": start_time(pid)}


def alive(record: dict | None) -> bool:
    """True if the recorded process still runs (same pid, same start time, not a zombie)."""
    if not record or not record.get("pid"):
        return False
    pid = record["pid"]
    if start_time(pid) != record.get("start"):
        return False
    state = _read(f"/proc/{pid}/stat")
    if state is None:
        return False
    return state[state.rfind(")") + 2:].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    return [int(p) for p in (_read(f"/proc/{pid}/task/{pid}/children") or "").split()]


def is_namespace_init(pid: int) -> bool:
    """True if ``pid`` is PID 1 of its own pid namespace (a container's systemd)."""
    for line in (_read(f"/proc/{pid}/status") or "").splitlines():
        if line.startswith("NSpid:"):
            ids = line.split()[1:]
            return len(ids) > 1 and ids[-1] == "1"
    return False


def spawn(cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Start ``cmd`` in its own session (it outlives tepat), output to ``log``; its record."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env=env,
        )
    # Reap it in the background if it dies while we still run (no zombie to confuse alive()).
    _children.append(proc)
    return ref(proc.pid)


_children: list[subprocess.Popen] = []


def reap() -> None:
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)


def stop(record: dict | None, timeout: float = 5.0, sig: int = signal.SIGTERM) -> None:
    """Signal the recorded process (if it is still ours), then SIGKILL it after ``timeout``."""
    if not alive(record):
        return
    pid = record["pid"]
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if not alive(record):
            return
        time.sleep(0.05)
    if alive(record):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while alive(record) and time.monotonic() < deadline:
        reap()
        time.sleep(0.05)
