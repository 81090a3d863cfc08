"""Shared fixtures for the unit tests.

``fleet_run`` is the realistic fleet of ``run_fixtures.make_fleet_run`` (see there): twelve
real courts, four zones, every control status, cascades, a 5xx, unreachable hosts.

Keep this file tidy: one section per fixture family; builders live in helper modules.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from run_fixtures import make_fleet_run, make_host
from tepat.results import HostResult, RunResult

# --- RunResult fixtures -----------------------------------------------------------------------


@pytest.fixture
def fleet_run() -> RunResult:
    """A fresh copy per test (tests may mutate it)."""
    return make_fleet_run()


@pytest.fixture
def host_factory() -> Callable[..., HostResult]:
    """``make_host`` for tests that need one particular host."""
    return make_host


@pytest.fixture
def fleet_host(fleet_run: RunResult) -> Callable[[str], HostResult]:
    """The host of ``fleet_run`` with this court id."""
    return lambda court_id: next(h for h in fleet_run.hosts if h.court_id == court_id)
