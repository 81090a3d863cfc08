"""JSON report: the ``{"hosts": [...]}`` contract of issue 4, parsed back with ``json``.

Input: the recorded fleet in conftest.py.
"""
from __future__ import annotations

import json

import pytest

from tepat import report
from tepat.report import json_report


def test_every_host_and_control_has_the_contract_keys(fleet_run, tmp_path):
    out = tmp_path / "run.json"
    report.write(fleet_run, "json", str(out))
    data = json.loads(out.read_text())
    assert len(data["hosts"]) == 12
    for host in data["hosts"]:
        assert {"court_id", "address", "status"} <= host.keys()
        assert host["status"] in ("compliant", "non_compliant", "unreachable")
        for control in host["controls"]:
            assert {"id", "status", "detail"} <= control.keys()
            assert control["status"] in ("pass", "fail", "skip", "error")
    assert data["summary"] == {"hosts": 12, "compliant": 2, "non_compliant": 6, "unreachable": 4}
    assert data["started_at"] == "2026-12-04T17:30:00+00:00" and data["complete"] is True


def test_statuses_reasons_and_diagnosis_are_those_of_the_run(fleet_run):
    data = json_report.to_dict(fleet_run, "id")
    by_id = {h["court_id"]: h for h in data["hosts"]}
    assert by_id["pn-manado"]["status"] == "unreachable"
    assert by_id["pn-manado"]["reason"] == "auth"
    assert by_id["pn-manado"]["controls"] == []
    ambon = {c["id"]: c for c in by_id["pn-ambon"]["controls"]}
    assert ambon["NET-01"]["status"] == "fail" and ambon["NET-02"]["root_cause"] == "NET-01"
    assert ambon["NET-01"]["title"].startswith("The host resolves")
    assert by_id["pn-ambon"]["diagnosis"]["findings"][0]["kind"] == "network"
    assert by_id["pn-ambon"]["diagnosis"]["lang"] == "id"
    sampit = {c["id"]: c["status"] for c in by_id["pn-sampit"]["controls"]}
    assert sampit["DB-TZ-01"] == "error"


def test_load_reads_a_report_back_into_the_same_run(fleet_run):
    again = json_report.load(json_report.render(fleet_run))
    assert again == fleet_run


def test_load_accepts_the_plain_result_model(fleet_run):
    assert json_report.load(json.dumps(fleet_run.to_dict())) == fleet_run


@pytest.mark.parametrize("text", ["[]", "{}", "not json", '{"hosts": [{"court_id": 1}]}'])
def test_load_rejects_what_is_not_a_report(text):
    with pytest.raises(ValueError):
        json_report.load(text)


def test_untrusted_text_survives_json_round_trip(host_factory, fleet_run):
    evil = 'date.timezone = "UTC"</script><b>\n\u202e'
    fleet_run.hosts = [host_factory("pn-sleman", {"PHP-TZ-01": ("fail", evil)})]
    data = json.loads(json_report.render(fleet_run))
    assert data["hosts"][0]["controls"][0]["detail"] == evil
