"""tepat.lab.procs: processes that exit while being read.

Unit tests: /proc reads are made to fail as the kernel makes them fail for a process that is
exiting (ESRCH, ProcessLookupError), which systemd-nspawn's helper processes do while it
starts a container (seen once re-creating 46 hosts on a loaded machine).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tepat.lab import procs


def test_a_live_process_is_seen_with_its_children():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in procs.children(os.getpid())
        assert procs.alive(procs.ref(child.pid))
    finally:
        child.kill()
        child.wait()
    assert not procs.alive(procs.ref(child.pid))  # gone: no start time, not alive


def test_a_process_exiting_while_read_is_gone_not_an_error(monkeypatch):
    real = Path.read_text

    def exiting(self, *args, **kwargs):
        if str(self).startswith("/proc/4242/"):
            raise ProcessLookupError(3, "No such process")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", exiting)
    assert procs.children(4242) == []
    assert procs.alive({"pid": 4242, "start": None}) is False
    assert procs.is_namespace_init(4242) is False
