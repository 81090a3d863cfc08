"""How the collector starts ssh (tests/compliance/fleet.py): unit tests, no host contacted.

The backend below stands in for testinfra's ssh backend only for the three helpers
``run_local`` uses; the processes started are real (``sh -c``), as in a fleet run.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

SUITE = Path(__file__).resolve().parents[1] / "compliance"
sys.path.insert(0, str(SUITE))  # the suite's own modules, as its conftest has them

import fleet  # noqa: E402


def backend() -> SimpleNamespace:
    return SimpleNamespace(quote=lambda command, *args: command, encode=lambda cmd: cmd,
                           result=lambda rc, cmd, out, err: (rc, out, err))


def test_child_gets_the_environment_as_it_was_when_started(monkeypatch):
    monkeypatch.setenv("TEPAT_FLEET_PROBE", "one")
    rc, out, _ = fleet._run_local(backend())('printf %s "$TEPAT_FLEET_PROBE"; exit 3')
    assert (rc, out) == (3, b"one")


def test_a_failed_start_is_retried_once_then_reported(monkeypatch):
    real, calls = subprocess.Popen, []

    def flaky(*args, **kwargs):
        calls.append(kwargs.get("env"))
        if len(calls) == 1:
            raise OSError(14, "Bad address", "/bin/sh")
        return real(*args, **kwargs)

    monkeypatch.setattr(fleet.subprocess, "Popen", flaky)
    assert fleet._run_local(backend())("echo ok")[:2] == (0, b"ok\n")
    assert len(calls) == 2 and all(env == dict(os.environ) for env in calls)

    monkeypatch.setattr(fleet.subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(OSError(14, "Bad address")))
    with pytest.raises(OSError):
        fleet._run_local(backend())("echo never")
