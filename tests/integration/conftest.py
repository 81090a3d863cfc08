"""The lab, shared by every integration test of the session.

``lab`` (session scope) brings ``tepat lab up --courts 20 --faults mix --seed 7`` up once
(reusing a lab already running with those parameters: ``up`` reconciles) and tears it down at
the end of the session unless ``TEPAT_KEEP_LAB=1``. It is the parsed ground truth
(``tepat lab status --json``: ``lab["hosts"]``) plus helpers:

    lab.host("pn-ambon")                 # one host's ground-truth entry
    lab.with_fault("chrony-stopped")     # entries carrying that fault
    lab.clean()                          # reachable entries without faults
    lab.ssh("pn-ambon", "date +%s")      # real ssh, pinned host key; root by default
    lab.reset()                          # destructive tests: fresh overlays, same faults
    with lab.exclusive(changed): ...     # hold the lab lock; re-create `changed` hosts after
    lab.reset(["pn-ambon"], clean=True)  # ... or without faults
    lab.fault("pn-ambon", "hwclock-local")

``pristine_lab`` (module scope) is the same lab guaranteed to match its ground truth: hosts
are re-created first if tests of another module used the lab before (they may have fixed or
broken hosts) or if the lab was already running before this session. Tests that change hosts
and leave them changed should say so, or call ``lab.reset()`` when done.

Needs root (the lab is containers, overlays and a bridge); without root the lab tests are
skipped with that reason.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

LAB_PARAMS = {"courts": 20, "seed": 7, "faults": "mix"}
# Tests that take the lab down run last, whatever their file is called.
LAST_MARK = "lab_teardown"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{LAST_MARK}: takes the lab down; run after all others")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker(LAST_MARK) is not None)


def tepat(*args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run the tepat command line (this checkout's) and return its result."""
    result = subprocess.run([sys.executable, "-m", "tepat.cli", *args], capture_output=True,
                            text=True, timeout=timeout, cwd=Path(__file__).resolve().parents[2])
    if check and result.returncode != 0:
        raise AssertionError(f"tepat {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


class LabHandle(dict):
    """The lab's ground truth (a dict: ``lab["hosts"]``) with helpers to reach its hosts."""

    @staticmethod
    def cli(*args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
        """Run ``tepat ARGS`` (this checkout's command line)."""
        return tepat(*args, check=check, timeout=timeout)

    def refresh(self) -> "LabHandle":
        self.clear()
        self.update(json.loads(tepat("lab", "status", "--json").stdout))
        return self

    @property
    def hosts(self) -> list[dict]:
        return self["hosts"]

    @property
    def info(self) -> dict:
        return self["lab"]

    def host(self, court_id: str) -> dict:
        for entry in self["hosts"]:
            if entry["court_id"] == court_id:
                return entry
        raise KeyError(f"{court_id} is not a lab host")

    def with_fault(self, name: str) -> list[dict]:
        return [h for h in self["hosts"] if name in h["faults"]]

    def clean(self) -> list[dict]:
        return [h for h in self["hosts"] if not h["faults"]]

    def reachable(self) -> list[dict]:
        return [h for h in self["hosts"] if h["reachable"]]

    def ssh_argv(self, court_id: str, command: str | None = None, user: str = "root",
                 direct: bool = False) -> list[str]:
        """ssh command line to a host, host key checked against the lab's known_hosts.

        ``direct`` goes to the container's own address even when the inventory points at a
        slow-link relay.
        """
        from tepat.lab.remote import ssh_argv
        entry = self.host(court_id)
        address, port = ((entry["direct_address"], 22) if direct
                         else (entry["address"], entry["ssh_port"]))
        return ssh_argv(address, port, user, entry["ssh_key"], entry["known_hosts"], command)

    def ssh(self, court_id: str, command: str, user: str = "root", direct: bool = False,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run ``command`` on a lab host over real SSH; returns the CompletedProcess."""
        return subprocess.run(self.ssh_argv(court_id, command, user, direct), capture_output=True,
                              text=True, timeout=timeout)

    def reset(self, court_ids: list[str] | None = None, clean: bool = False) -> "LabHandle":
        """Re-create hosts from fresh overlays (all by default), with their faults or none."""
        tepat("lab", "reset", *(court_ids or []), *(["--clean"] if clean else []))
        return self.refresh()

    def fault(self, court_id: str, *names: str) -> "LabHandle":
        tepat("lab", "fault", court_id, *names)
        return self.refresh()

    @contextmanager
    def exclusive(self, changed: set[str] | list[str]):
        """Hold the lab's lock while tests change hosts, with every reachable host answering;
        afterwards re-create the hosts named in ``changed`` (with their faults) and empty it,
        so the next module finds the ground truth."""
        from tepat.lab.lab import LabPaths, hold_lock, state_dir_from_env

        with hold_lock(LabPaths(state_dir_from_env()).lock, 900):
            self.refresh()
            waiting, deadline = list(self.reachable()), time.monotonic() + 180
            while waiting and time.monotonic() < deadline:  # hosts another test re-created
                waiting = [h for h in waiting
                           if self.ssh(h["court_id"], "true", timeout=20).returncode]
                if waiting:
                    time.sleep(3)
            if waiting:
                pytest.fail(f"lab hosts not answering SSH: {[h['court_id'] for h in waiting]}")
            yield self
        # After the lock is released: `tepat lab reset` takes it itself.
        if changed:
            try:
                self.reset(sorted(set(changed)))
            except AssertionError:  # a host slow to boot on a loaded machine: once more
                self.reset(sorted(set(changed)))
            changed.clear()

    def up(self) -> "LabHandle":
        result = tepat("lab", "up", "--courts", str(LAB_PARAMS["courts"]),
                       "--seed", str(LAB_PARAMS["seed"]), "--faults", LAB_PARAMS["faults"])
        # Hosts kept from a lab that ran before may have been changed by anyone since.
        self.inherited = "kept" in result.stderr
        return self.refresh()


_MODULES_USING_LAB: set[str] = set()


@pytest.fixture(autouse=True)
def _track_lab_use(request: pytest.FixtureRequest):
    if "lab" in request.fixturenames:
        _MODULES_USING_LAB.add(request.module.__name__)
    yield


@pytest.fixture(scope="module")
def pristine_lab(lab: LabHandle, request: pytest.FixtureRequest) -> LabHandle:
    """The lab exactly as its ground truth says, for tests that look at faults."""
    if lab.inherited or _MODULES_USING_LAB - {request.module.__name__}:
        lab.reset()
        lab.inherited = False
    return lab


@pytest.fixture(scope="session")
def lab() -> LabHandle:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (systemd-nspawn containers, overlays, a bridge)")
    handle = LabHandle().up()
    yield handle
    if os.environ.get("TEPAT_KEEP_LAB") != "1":
        tepat("lab", "down")
