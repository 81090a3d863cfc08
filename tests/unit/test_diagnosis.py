"""Diagnosis follows the letter's steps 1-4, root causes first, in English and Indonesian.

Input: the recorded fleet in conftest.py (control details as the suite words them from real
hosts' command output) and hosts built for one case each.
"""
from __future__ import annotations

import pytest

from tepat.diagnosis import LANGS, control_name, diagnose, status_label


def kinds(d):
    return [f.kind for f in d.findings]


def test_compliant_host_points_at_the_supreme_court_queue_and_its_pt(fleet_host):
    d = diagnose(fleet_host("pn-jakarta-pusat"), "en")
    assert kinds(d) == ["queue"]
    f = d.findings[0]
    assert f.step == "3-4"
    assert "queue at the Supreme Court" in f.action
    assert "Satgas SIPP at PT DKI Jakarta" in f.action
    d_id = diagnose(fleet_host("pn-jakarta-pusat"), "id")
    assert "antrian" in d_id.findings[0].action
    assert "Satgas SIPP PT DKI Jakarta" in d_id.findings[0].action


def test_skips_do_not_make_a_court_fail(fleet_host):
    assert kinds(diagnose(fleet_host("pn-pontianak"))) == ["queue"]


def test_wrong_php_zone_says_fix_with_the_court_name(fleet_host):
    d = diagnose(fleet_host("pn-sleman"), "en")
    assert kinds(d) == ["local_config"]
    f = d.findings[0]
    assert f.step == "1"
    assert f.controls == ["PHP-TZ-01", "SVC-01"]
    assert '`tepat fix --court "PN Sleman"`' in f.action
    # The host's own evidence travels with the finding.
    assert any("www.conf:412" in line for line in f.details)


def test_dns_failure_names_the_layer_and_folds_the_cascade(fleet_host):
    d = diagnose(fleet_host("pn-ambon"), "en")
    assert kinds(d) == ["network"]
    f = d.findings[0]
    assert f.controls == ["NET-01"]
    assert f.folded == ["NET-02", "NET-03", "NET-04"]
    assert "DNS" in f.title and "resolv.conf" in f.action
    assert "network administrator" in f.action


@pytest.mark.parametrize(
    "court, layer, words",
    [("pn-bandung", "NET-02", "TCP 443"), ("pn-sampit", "NET-03", "ca-certificates")],
)
def test_each_network_layer_has_its_own_advice(fleet_host, court, layer, words):
    d = diagnose(fleet_host(court), "en")
    net = next(f for f in d.findings if f.kind == "network")
    assert net.controls == [layer]
    assert words in net.action


def test_cascade_is_folded_even_when_the_suite_names_no_root_cause(host_factory):
    host = host_factory("pn-ambon", {
        "NET-01": ("fail", "no address"),
        "NET-02": ("fail", "skipped: no address"),  # no root_cause given
        "NET-03": ("fail", "skipped: no address"),
    })
    f = diagnose(host).findings[0]
    assert f.controls == ["NET-01"] and f.folded == ["NET-02", "NET-03"]


def test_api_5xx_is_the_supreme_courts_side(fleet_host):
    d = diagnose(fleet_host("pn-denpasar"), "en")
    assert kinds(d) == ["supreme_court"]
    f = d.findings[0]
    assert "HTTP 503" in f.title and "Supreme Court's side" in f.title
    assert "Satgas SIPP at PT Denpasar" in f.action
    d_id = diagnose(fleet_host("pn-denpasar"), "id")
    assert "sisi Mahkamah Agung" in d_id.findings[0].title


def test_api_non_5xx_failure_stays_with_the_courts_network(host_factory):
    host = host_factory("pn-denpasar", {"NET-04": ("fail", "HTTP 407 Proxy Authentication Required")})
    assert kinds(diagnose(host)) == ["network"]


def test_root_causes_in_letter_order_and_check_errors_last(fleet_host):
    d = diagnose(fleet_host("pn-sampit"), "en")
    assert kinds(d) == ["network", "check_error"]
    d = diagnose(fleet_host("pn-makassar"), "en")
    f = d.findings[0]
    assert f.kind == "local_config"
    assert f.controls == ["OS-TZ-01", "OS-TZ-02", "NTP-01", "CLK-01"]
    assert f.folded == ["NTP-02", "NTP-03"]


def test_tls_failure_with_a_wrong_clock_says_fix_the_clock_first(host_factory):
    host = host_factory("pn-manado", {
        "CLK-01": ("fail", "offset +7200 s"),
        "NET-03": ("fail", "certificate is not yet valid"),
        "NET-04": ("fail", "NET-03 failed", "NET-03"),
    })
    d = diagnose(host, "en")
    assert kinds(d) == ["local_config", "network"]
    assert "CLK-01" in d.findings[1].action
    assert "FAKETIME" in d.findings[0].action  # clock wrong while chrony itself is fine


def test_database_failure_needs_a_maintenance_window(host_factory):
    d = diagnose(host_factory("pn-medan", {"DB-TZ-01": ("fail", "NOW() is UTC")}), "en")
    assert kinds(d) == ["database"]
    assert "--restart-database" in d.findings[0].action


@pytest.mark.parametrize(
    "reason, en, id_",
    [
        ("no_address", "production.hosts.yaml", "production.hosts.yaml"),
        ("auth", "authorized_keys", "autentikasi gagal"),
        ("host_key", "Do not connect", "Jangan terhubung"),
        ("no_route", "No network route", "Tidak ada rute"),
        ("timeout", "timed out", "batas waktu"),
        ("refused", "refused", "menolak"),
        ("other", "could not be checked", "tidak dapat diperiksa"),
    ],
)
def test_unreachable_reasons(host_factory, reason, en, id_):
    host = host_factory("pn-jayapura", status="unreachable", reason=reason, error="ssh said so")
    d_en, d_id = diagnose(host, "en"), diagnose(host, "id")
    assert kinds(d_en) == ["unreachable"]
    assert en in d_en.findings[0].title + d_en.findings[0].action
    assert id_ in d_id.findings[0].title + d_id.findings[0].action
    assert d_en.findings[0].details == ["ssh said so"]


def test_no_address_names_the_court_to_add(fleet_host):
    d = diagnose(fleet_host("pn-merauke"), "en")
    assert "pn-merauke" in d.findings[0].action


def test_every_fleet_host_gets_different_text_per_language(fleet_run):
    for host in fleet_run.hosts:
        en, id_ = diagnose(host, "en"), diagnose(host, "id")
        assert en.findings and len(en.findings) == len(id_.findings)
        for a, b in zip(en.findings, id_.findings):
            assert a.kind == b.kind and a.title != b.title and a.action != b.action


def test_text_lists_findings_with_their_details(fleet_host):
    text = diagnose(fleet_host("pn-ambon"), "id").text()
    assert text.startswith("1. Server tidak dapat menemukan alamat")
    assert "NET-02 (akibat NET-01)" in text


def test_labels_and_unknown_language():
    assert status_label("non_compliant", "id") == "tidak sesuai"
    assert control_name("NTP-03", "en") == "NTP synchronisation"
    assert LANGS == ("en", "id")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        diagnose(None, "fr")  # type: ignore[arg-type]


def test_long_error_output_is_clipped_in_the_finding(host_factory):
    blob = "CommandResult(exit_status=255, stdout=" + "x" * 5000 + ")"
    d = diagnose(host_factory("pn-jayapura", status="unreachable", reason="other", error=blob))
    assert len(d.findings[0].details[0]) == 400 and d.findings[0].details[0].endswith("…")


def test_reason_labels():
    from tepat.diagnosis import reason_label

    assert reason_label("host_key", "id") == "kunci host berubah"
    assert reason_label(None, "en") == "other error"


@pytest.mark.parametrize("inventory, command", [
    (None, 'tepat fix --court "PN Sleman"'),
    ("local", 'tepat fix --court "PN Sleman"'),
    ("inventories/production.py", 'tepat fix -i inventories/production.py --court "PN Sleman"'),
    ("host tepat@10.20.30.40:2222", 'tepat fix --court "PN Sleman" --host tepat@10.20.30.40:2222'),
])
def test_fix_command_follows_how_the_check_was_run(fleet_host, inventory, command):
    f = diagnose(fleet_host("pn-sleman"), "en", inventory).findings[0]
    assert f"`{command}`" in f.action


def test_docs_diagnosis_page_matches_the_code():
    from pathlib import Path

    from tepat.diagnosis_doc import markdown

    page = Path(__file__).resolve().parents[2] / "docs" / "diagnosis.md"
    assert page.read_text(encoding="utf-8") == markdown(), (
        "docs/diagnosis.md is stale: run .venv/bin/python -m tepat.diagnosis_doc > docs/diagnosis.md")
    text = markdown()
    for kind in ("local_config", "database", "network", "supreme_court", "check_error", "queue"):
        assert f"(`{kind}`)" in text
    assert text.count("| `") == 7  # every unreachable reason


def test_wrong_password_by_address_points_at_the_credentials_not_the_hosts_file():
    from tepat.diagnosis import diagnose
    from tepat.results import HostResult

    host = HostResult("pn-sleman", "PN Sleman", "PT Yogyakarta", "Asia/Jakarta", "10.20.30.40",
                      "unreachable", reason="auth", error="Permission denied")
    laptop = diagnose(host, "en", inventory="host technician@10.20.30.40")
    text = " ".join(f.action for f in laptop.findings)
    assert "password" in text and "production.hosts.yaml" not in text
    fleet = diagnose(host, "en", inventory="inventories/production.py")
    assert "production.hosts.yaml" in " ".join(f.action for f in fleet.findings)
