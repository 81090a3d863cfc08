"""The lab's fault registry, the reproducible mix and the ground truth it yields (no root)."""
from __future__ import annotations

import pytest

from tepat.controls import CONTROLS, dependents
from tepat.lab.faults import FAULTS, MAX_FAULTS_PER_HOST, compatible, expected_failures, plan_mix
from tepat.lab.sampler import sample

ISSUE_FAULTS = {  # issue 3 §5, one registry entry each
    "php-ini-wrong-zone", "php-no-timezone", "php-confd-override", "php-fpm-pool-override",
    "os-zone-wrong", "os-timezone-file-mismatch", "hwclock-local", "chrony-missing",
    "chrony-stopped", "ntp-unapproved", "ntp-unreachable", "time-daemon-competing",
    "clock-skew-hours", "clock-skew-90s", "db-wrong-timezone", "php-fpm-stale", "api-no-dns",
    "api-dead-address", "ca-untrusted", "api-5xx", "host-down", "ssh-auth-broken", "slow-link",
}


def test_registry_has_every_fault_of_the_issue_with_real_control_ids():
    assert set(FAULTS) == ISSUE_FAULTS
    for f in FAULTS.values():
        assert f.description and f.applied
        assert set(f.direct) <= set(CONTROLS)
        if f.reachable and not f.slow_link:
            assert f.direct, f"{f.name} must trip a control"


@pytest.mark.parametrize("name, database, expected", [
    ("api-no-dns", True, ["NET-01", "NET-02", "NET-03", "NET-04"]),
    ("ca-untrusted", True, ["NET-03", "NET-04"]),
    ("chrony-missing", False, ["NTP-01", "NTP-02", "NTP-03"]),
    ("os-zone-wrong", True, ["DB-TZ-01", "OS-TZ-01", "OS-TZ-02"]),
    ("os-zone-wrong", False, ["OS-TZ-01", "OS-TZ-02"]),
    ("php-fpm-stale", True, ["SVC-01"]),
    ("slow-link", True, []),
])
def test_expected_failures_include_the_cascade(name, database, expected):
    assert expected_failures([name], database) == expected


def test_unreachable_hosts_expect_no_control_results():
    assert expected_failures(["host-down"], True) == []
    assert expected_failures(["ssh-auth-broken"], True) == []


def test_combined_faults_union_their_cascades():
    got = expected_failures(["clock-skew-hours", "api-dead-address"], True)
    assert got == sorted(dependents({"CLK-01", "NET-02"}))


def test_incompatible_combinations_are_named():
    assert "change the same thing" in compatible(["chrony-missing", "chrony-stopped"])
    assert "hides" in compatible(["host-down", "hwclock-local"])
    assert compatible(["hwclock-local", "api-5xx", "slow-link"]) is None


def _mix(count: int, seed: int):
    hosts = sample(count, seed)
    return hosts, plan_mix(hosts, seed, {h.court_id for h in hosts})


def test_mix_of_20_covers_every_fault_with_a_third_clean_and_an_unreachable_host():
    hosts, plan = _mix(20, 7)
    assert set(plan) == {h.court_id for h in hosts}
    used = [n for names in plan.values() for n in names]
    assert set(used) == set(FAULTS)
    clean = [c for c, names in plan.items() if not names]
    assert len(clean) == round(20 / 3)
    assert any(not FAULTS[n].reachable for names in plan.values() for n in names)
    for names in plan.values():
        assert compatible(names) is None and len(names) <= MAX_FAULTS_PER_HOST


@pytest.mark.parametrize("seed", range(10))
def test_mix_is_reproducible_and_valid_for_any_seed(seed):
    assert _mix(20, seed)[1] == _mix(20, seed)[1]
    _, plan = _mix(20, seed)
    assert {n for names in plan.values() for n in names} == set(FAULTS)


@pytest.mark.parametrize("count", [2, 3, 5, 9, 50, 382])
def test_mix_at_other_sizes_keeps_its_promises(count):
    hosts, plan = _mix(count, 1)
    faulty = [c for c, names in plan.items() if names]
    assert abs((count - len(faulty)) - count / 3) <= 1
    assert any(not FAULTS[n].reachable for names in plan.values() for n in names)
    for names in plan.values():
        assert compatible(names) is None


def test_database_faults_land_only_on_database_hosts():
    hosts = sample(60, 2)
    databases = {h.court_id for h in hosts[::3]}
    plan = plan_mix(hosts, 2, databases)
    for court_id, names in plan.items():
        if "db-wrong-timezone" in names:
            assert court_id in databases
