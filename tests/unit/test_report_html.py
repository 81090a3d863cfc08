"""HTML report structure and escaping, read with html.parser (the browser test renders it).

Input: the recorded fleet in conftest.py.
"""
from __future__ import annotations

from html.parser import HTMLParser

from tepat import report


class Page(HTMLParser):
    """Collects tags with their attributes, and whether anything points off the page."""

    def __init__(self, text):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def test_every_court_grouped_by_zone_and_pt(fleet_run):
    page = Page(report.render(fleet_run, "html", "en"))
    courts = page.all("article")
    assert len(courts) == 12
    assert {c["data-court"] for c in courts} == {h.court_id for h in fleet_run.hosts}
    sleman = next(c for c in courts if c["data-court"] == "pn-sleman")
    assert sleman["data-status"] == "non_compliant"
    assert sleman["data-pt"] == "PT Yogyakarta" and sleman["data-zone"] == "Asia/Jakarta"
    zones = [s["data-zone"] for s in page.all("section", **{"class": "zone"})]
    assert zones == ["Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"]
    assert len(page.all("section", **{"class": "pt-group"})) == 11
    # Filters: status, PT, zone, text.
    assert {s["id"] for s in page.all("select")} == {"f-status", "f-pt", "f-zone"}
    assert page.all("input", id="f-q")


def test_self_contained(fleet_run):
    text = report.render(fleet_run, "html", "en")
    page = Page(text)
    assert not page.all("link") and not page.all("img") and not page.all("iframe")
    assert all("src" not in a for a in page.all("script"))
    assert "http://" not in text and "https://" not in text


def test_failing_courts_show_diagnosis_and_controls(fleet_run):
    text = report.render(fleet_run, "html", "id")
    assert '<html lang="id">' in text
    assert "Server tidak dapat menemukan alamat apis.mahkamahagung.go.id" in text
    assert "<code>tepat fix -i inventories/production.py --court &#34;PN Sleman&#34;</code>" in text
    assert "php_admin_value[date.timezone] = UTC" in text


def test_untrusted_court_data_is_escaped(fleet_run, host_factory):
    host = host_factory("pn-sleman", {
        "PHP-TZ-01": ("fail", '<script>alert(1)</script><img src=x onerror="alert(2)">'),
    })
    host.court_name = 'PN "><svg onload=alert(3)>'
    host.address = "10.0.0.1`<b>`"
    fleet_run.hosts = [host]
    text = report.render(fleet_run, "html", "en")
    page = Page(text)
    assert len(page.all("script")) == 1  # only the page's own
    assert not page.all("img") and not page.all("svg") and not page.all("b")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    article = page.all("article")[0]
    assert article["data-search"].startswith('pn "><svg onload=alert(3)>')  # attribute value, intact


def test_incomplete_run_is_flagged_and_language_follows(fleet_run):
    fleet_run.complete = False
    en = report.render(fleet_run, "html", "en")
    assert 'id="incomplete"' in en and "INCOMPLETE RUN" in en
    id_ = report.render(fleet_run, "html", "id")
    assert "PEMERIKSAAN TIDAK LENGKAP" in id_ and "Menampilkan 12 dari 12 pengadilan" in id_
    fleet_run.complete = True
    assert 'id="incomplete"' not in report.render(fleet_run, "html", "en")
