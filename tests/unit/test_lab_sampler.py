"""Which courts the lab samples (no root, no containers: pure functions over courts.csv)."""
from __future__ import annotations

import ipaddress

import pytest

from tepat.courts import read_courts
from tepat.lab.sampler import parse_count, sample
from tepat.zones import INDONESIA_ZONES

COURTS = read_courts()


def test_same_seed_same_courts_other_seed_other_courts():
    assert [h.court_id for h in sample(20, 7)] == [h.court_id for h in sample(20, 7)]
    assert [h.court_id for h in sample(20, 7)] != [h.court_id for h in sample(20, 8)]


@pytest.mark.parametrize("count", [4, 5, 20, 34, 50])
def test_all_zones_then_as_many_pts_as_the_count_allows(count):
    hosts = sample(count, 3)
    assert len(hosts) == count == len({h.court_id for h in hosts})
    assert {h.court.timezone for h in hosts} == set(INDONESIA_ZONES)
    all_pts = {c.pt for c in COURTS}
    assert len({h.court.pt for h in hosts}) == min(count, len(all_pts))


def test_fewer_than_four_courts_take_distinct_zones():
    assert len({h.court.timezone for h in sample(3, 1)}) == 3


def test_all_is_every_court_with_unique_addresses_and_machine_names():
    hosts = sample(parse_count("all", len(COURTS)), 1)
    assert len(hosts) == len(COURTS) == 382
    assert len({h.address for h in hosts}) == 382
    assert len({h.machine for h in hosts}) == 382
    net = ipaddress.ip_network("10.77.0.0/16")
    for h in hosts:
        address = ipaddress.ip_address(h.address)
        assert address in net and not h.address.startswith("10.77.0.")
        assert len("vb-" + h.machine) <= 15  # the veth nspawn names after the machine


def test_a_court_keeps_its_address_whatever_the_sample():
    small = {h.court_id: h.address for h in sample(20, 7)}
    every = {h.court_id: h.address for h in sample(382, 7)}
    assert all(every[c] == a for c, a in small.items())


@pytest.mark.parametrize("value", ["0", "383", "-1", "twenty", ""])
def test_bad_counts_are_refused_with_the_value(value):
    with pytest.raises(ValueError, match="--courts"):
        parse_count(value, 382)
