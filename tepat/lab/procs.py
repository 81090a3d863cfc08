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


def start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[19])


def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
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
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # ESRCH: it exited while we read
        return False
    return state[state.rfind(")") + 2:].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except (FileNotFoundError, ProcessLookupError):  # ESRCH: it exited while we read
        return []
    return [int(p) for p in text.split()]


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
