"""``--format junit``: JUnit XML for CI dashboards (Jenkins, GitLab, GitHub test reports).

One ``<testsuite>`` per high court (PT), one ``<testcase>`` per court x control:
``classname`` is the court id, ``name`` the control id and title; the suite's
``<system-out>`` holds the diagnosis of its non-compliant courts. fail -> ``<failure>``,
error -> ``<error>``, skip -> ``<skipped>``. An unreachable court has one test case,
``connect``, with an ``<error>`` naming the reason: its controls were never run, and
counting them as failures would overstate what was found.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from tepat.controls import CONTROLS
from tepat.diagnosis import diagnose
from tepat.results import HostResult, RunResult


def _case(suite: ET.Element, host: HostResult, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(suite, "testcase", {
        "classname": host.court_id, "name": name, "time": f"{seconds:.3f}",
    })


def render(run: RunResult, lang: str = "en") -> str:
    root = ET.Element("testsuites", {"name": "tepat compliance"})
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    by_pt: dict[str, list[HostResult]] = {}
    for h in run.hosts:
        by_pt.setdefault(h.pt, []).append(h)
    for pt in sorted(by_pt):
        hosts = by_pt[pt]
        suite = ET.SubElement(root, "testsuite", {"name": pt, "timestamp": run.started_at})
        counts = dict.fromkeys(totals, 0)
        seconds = 0.0
        diagnoses: list[str] = []
        for h in hosts:
            seconds += h.duration_s
            if h.status == "unreachable":
                case = _case(suite, h, "connect", h.duration_s)
                d = diagnose(h, lang, run.inventory)
                ET.SubElement(case, "error", {
                    "type": f"unreachable.{h.reason or 'other'}",
                    "message": d.headline,
                }).text = "\n".join(filter(None, [h.error, d.findings[0].action]))
                counts["tests"] += 1
                counts["errors"] += 1
                continue
            # A control's share of the host's time: JUnit wants one, the suite measures per host.
            per = h.duration_s / max(len(h.controls), 1)
            for c in h.controls:
                meta = CONTROLS.get(c.id)
                case = _case(suite, h, f"{c.id} {meta.title}" if meta else c.id, per)
                counts["tests"] += 1
                if c.status == "fail":
                    counts["failures"] += 1
                    el = ET.SubElement(case, "failure", {"type": c.id, "message": c.detail})
                    el.text = _body(c.detail, c.root_cause, meta)
                elif c.status == "error":
                    counts["errors"] += 1
                    el = ET.SubElement(case, "error", {"type": c.id, "message": c.detail})
                    el.text = c.detail
                elif c.status == "skip":
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", {"message": c.detail})
            if h.status == "non_compliant":
                diagnoses.append(
                    f"{h.court_name} ({h.court_id}, {h.address}):\n" + diagnose(h, lang, run.inventory).text()
                )
        if diagnoses:
            # The schema allows one system-out per suite, after its test cases.
            ET.SubElement(suite, "system-out").text = "\n\n".join(diagnoses)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{seconds:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _body(detail: str, root_cause: str | None, meta) -> str:
    lines = [detail]
    if root_cause:
        # The root cause's own test case carries the remediation that matters.
        lines.append(f"root cause: {root_cause}")
    elif meta:
        lines.append(f"remediation: {meta.remediation}")
    return "\n".join(lines)
