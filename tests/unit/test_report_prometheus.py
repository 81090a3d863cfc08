"""Prometheus text file for node_exporter, parsed with prometheus_client's own parser.

Input: the recorded fleet in conftest.py.
"""
from __future__ import annotations

import os

from prometheus_client.parser import text_string_to_metric_families

from tepat import report


def samples(text):
    out = {}
    for family in text_string_to_metric_families(text):
        assert family.documentation, family.name  # every family has # HELP
        assert family.type == "gauge"
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_host_and_fleet_series(fleet_run):
    m = samples(report.render(fleet_run, "prometheus"))
    compliant = {l["court_id"]: v for l, v in m["tepat_host_compliant"]}
    assert compliant["pn-jakarta-pusat"] == 1 and compliant["pn-sleman"] == 0
    assert compliant["pn-merauke"] == 0 and len(compliant) == 12
    labels = next(l for l, _ in m["tepat_host_compliant"] if l["court_id"] == "pn-sampit")
    assert labels == {"court_id": "pn-sampit", "court_name": "PN Sampit",
                      "pt": "PT Palangkaraya", "timezone": "Asia/Pontianak"}
    hosts = {l["status"]: v for l, v in m["tepat_hosts"]}
    assert hosts == {"compliant": 2, "non_compliant": 6, "unreachable": 4}
    reasons = {l["court_id"]: l["reason"] for l, _ in m["tepat_host_unreachable_reason"]}
    assert reasons == {"pn-jayapura": "timeout", "pn-merauke": "no_address",
                       "pn-manado": "auth", "pn-medan": "host_key"}
    assert m["tepat_run_duration_seconds"][0][1] == 72
    assert m["tepat_last_run_timestamp_seconds"][0][1] == 1796405472  # 2026-12-04T17:31:12Z
    assert m["tepat_run_complete"][0][1] == 1


def test_control_series(fleet_run):
    m = samples(report.render(fleet_run, "prometheus"))
    status = {(l["court_id"], l["control"]): l["status"] for l, _ in m["tepat_control_status"]}
    assert status[("pn-ambon", "NET-01")] == "fail"
    assert status[("pn-sampit", "DB-TZ-01")] == "error"
    assert status[("pn-makassar", "DB-TZ-01")] == "skip"
    assert status[("pn-jakarta-pusat", "CLK-01")] == "pass"
    assert len(status) == 8 * 14
    failing = {l["control"]: v for l, v in m["tepat_control_failing_hosts"]}
    assert failing["NET-04"] == 4 and failing["PHP-TZ-01"] == 1 and failing["OS-TZ-03"] == 0
    pt = {(l["pt"], l["status"]): v for l, v in m["tepat_pt_hosts"]}
    assert pt[("PT Jayapura", "unreachable")] == 2


def test_label_values_with_quotes_backslashes_and_newlines(host_factory, fleet_run):
    host = host_factory("pn-sleman")
    host.court_name = 'PN "Sleman"\\\nDIY'
    fleet_run.hosts = [host]
    m = samples(report.render(fleet_run, "prometheus"))
    assert m["tepat_host_compliant"][0][0]["court_name"] == 'PN "Sleman"\\\nDIY'


def test_incomplete_run_and_missing_finish_time(fleet_run):
    fleet_run.complete = False
    fleet_run.finished_at = ""
    m = samples(report.render(fleet_run, "prometheus"))
    assert m["tepat_run_complete"][0][1] == 0
    assert "tepat_run_duration_seconds" not in m
    assert m["tepat_last_run_timestamp_seconds"][0][1] == 1796405400  # falls back to the start


def test_file_is_replaced_atomically(fleet_run, tmp_path):
    out = tmp_path / "textfile" / "tepat.prom"
    report.write(fleet_run, "prometheus", str(out))
    first = out.stat().st_ino
    report.write(fleet_run, "prometheus", str(out))
    assert out.stat().st_ino != first  # a new file renamed over the old, not rewritten in place
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in out.parent.iterdir()] == ["tepat.prom"]  # no temporary left
    assert os.path.getsize(out) > 0


def test_alert_rules_in_the_docs_use_metrics_we_write(fleet_run):
    """docs/monitoring.md's example rules (checked once with `promtool check rules` and
    `promtool test rules`) must only name series this report writes."""
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "monitoring.md").read_text()
    rules = yaml.safe_load(re.search(r"```yaml\n(.*?)```", doc, re.S).group(1))
    written = set(samples(report.render(fleet_run, "prometheus")))
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert len(exprs) == 4
    for expr in exprs:
        for name in re.findall(r"\btepat_[a-z_]+", expr):
            assert name in written, (name, expr)
