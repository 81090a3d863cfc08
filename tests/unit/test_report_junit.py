"""JUnit XML report, parsed with xml.etree and with junitparser (what CI tools read).

Input: the recorded fleet in conftest.py.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import junitparser

from tepat import report


def test_one_suite_per_pt_and_one_case_per_host_and_control(fleet_run, tmp_path):
    out = tmp_path / "junit.xml"
    report.write(fleet_run, "junit", str(out))
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert len(suites) == 11  # PT Jayapura holds two courts
    # 8 reachable hosts x 14 controls + 4 unreachable hosts x 1 "connect" case
    assert int(root.get("tests")) == 8 * 14 + 4
    ambon = suites["PT Ambon"]
    cases = {c.get("name").split()[0]: c for c in ambon.iter("testcase")}
    assert len(cases) == 14 and {c.get("classname") for c in ambon.iter("testcase")} == {"pn-ambon"}
    assert cases["NET-01"].find("failure") is not None
    assert "root cause: NET-01" in cases["NET-02"].find("failure").text
    assert cases["PHP-TZ-01"].find("failure") is None
    assert "resolv.conf" in ambon.find("system-out").text  # the diagnosis travels along


def test_counts_match_statuses(fleet_run):
    root = ET.fromstring(report.render(fleet_run, "junit"))
    for suite in root.iter("testsuite"):
        cases = list(suite.iter("testcase"))
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
    assert root.get("failures") == "18" and root.get("errors") == "5" and root.get("skipped") == "2"


def test_junitparser_reads_results(fleet_run, tmp_path):
    out = tmp_path / "junit.xml"
    report.write(fleet_run, "junit", str(out))
    xml = junitparser.JUnitXml.fromfile(str(out))
    results = {}
    for suite in xml:
        for case in suite:
            kinds = [type(r).__name__ for r in case.result]
            results[(case.classname, case.name.split()[0])] = kinds[0] if kinds else "pass"
    assert results[("pn-jayapura", "connect")] == "Error"
    assert results[("pn-sampit", "DB-TZ-01")] == "Error"
    assert results[("pn-makassar", "DB-TZ-01")] == "Skipped"
    assert results[("pn-denpasar", "NET-04")] == "Failure"
    assert results[("pn-jakarta-pusat", "NET-04")] == "pass"
    unreachable = next(
        case for suite in xml for case in suite if case.classname == "pn-medan"
    )
    assert unreachable.result[0].type == "unreachable.host_key"


def test_markup_in_details_is_escaped(host_factory, fleet_run):
    fleet_run.hosts = [host_factory("pn-sleman", {"PHP-TZ-01": ("fail", '<x a="1">&amp; ]]>')})]
    root = ET.fromstring(report.render(fleet_run, "junit"))
    failure = next(root.iter("failure"))
    assert failure.get("message") == '<x a="1">&amp; ]]>'


def test_element_order_follows_the_junit_schema(fleet_run):
    """Jenkins' junit-10.xsd: a suite holds test cases, then at most one system-out; a test
    case at most one failure, error or skipped; every count attribute is an integer."""
    root = ET.fromstring(report.render(fleet_run, "junit"))
    for suite in root.iter("testsuite"):
        tags = [child.tag for child in suite]
        assert set(tags) <= {"testcase", "system-out"}
        assert tags.count("system-out") <= 1
        assert "system-out" not in tags or tags[-1] == "system-out"
        for key in ("tests", "failures", "errors", "skipped"):
            int(suite.get(key))
        float(suite.get("time"))
        for case in suite.iter("testcase"):
            outcome = [c.tag for c in case]
            assert len(outcome) <= 1 and set(outcome) <= {"failure", "error", "skipped"}
            assert case.get("classname") and case.get("name")
