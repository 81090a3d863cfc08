"""The HTML report in a real headless Chromium (Debian's ``chromium`` package).

The page is loaded from file:// (no network), the browser runs its script, and the DOM it
dumps afterwards shows which courts the filter left visible. A screenshot is taken of the
full fleet view. Input: the recorded fleet of tests/unit/run_fixtures.py plus a court whose
data tries to inject markup. No lab needed; chromium must be installed
(``./bootstrap --dev`` does it).
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tepat import report

_spec = importlib.util.spec_from_file_location(
    "tepat_run_fixtures", Path(__file__).resolve().parent.parent / "unit" / "run_fixtures.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
make_fleet_run, make_host = _fixtures.make_fleet_run, _fixtures.make_host

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EVIL = '<img src=x onerror="document.title=\'pwned\'">'


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run ./bootstrap --dev (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    run = make_fleet_run()
    evil = make_host("pn-sleman", {"PHP-TZ-01": ("fail", EVIL)})
    evil.court_id, evil.court_name = "pn-evil", 'PN "Evil"<script>document.title="pwned"</script>'
    run.hosts.append(evil)
    out = tmp_path_factory.mktemp("html") / "report.html"
    report.write(run, "html", str(out), lang="en")
    return out


def _browser(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


class Dom(HTMLParser):
    """Courts in the dumped DOM, and whether each is hidden."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.courts: dict[str, bool] = {}  # court id -> visible
        self.body: dict[str, str] = {}
        self.title = ""
        self.scripts = 0
        self.injected: list[str] = []
        self._in_title = False
        self.count_text = ""
        self._in_count = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = {k: v or "" for k, v in a.items()}
        elif tag == "article":
            self.courts[a["data-court"]] = "hidden" not in a
        elif tag == "script":
            self.scripts += 1
        elif tag in ("img", "svg", "iframe"):
            self.injected.append(tag)
        elif tag == "title":
            self._in_title = True
        elif a.get("id") == "count":
            self._in_count = True

    def handle_endtag(self, tag):
        self._in_title = False
        self._in_count = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_count:
            self.count_text += data

    def visible(self) -> set[str]:
        return {c for c, shown in self.courts.items() if shown}


def dump(chromium: str, page: Path, tmp: Path, **query: str) -> Dom:
    url = page.as_uri() + ("?" + urlencode(query, quote_via=quote) if query else "")
    result = _browser(chromium, tmp, "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<article" in result.stdout, result.stderr[-2000:]
    return Dom(result.stdout)


def test_screenshot_of_the_full_report(chromium, page, tmp_path):
    shot = page.parent / "report.png"
    result = _browser(chromium, tmp_path, "--hide-scrollbars", "--window-size=1280,2400",
                      f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2400)
    assert len(data) > 50_000  # a rendered page, not a blank canvas (a blank PNG is ~10 kB)


def test_without_filter_every_court_is_shown(chromium, page, tmp_path):
    dom = dump(chromium, page, tmp_path)
    assert len(dom.courts) == 13 and dom.visible() == set(dom.courts)
    assert dom.body["data-visible"] == "13"
    assert dom.count_text == "Showing 13 of 13 courts"  # written by the script


def test_status_filter_from_the_query_string(chromium, page, tmp_path):
    dom = dump(chromium, page, tmp_path, status="unreachable")
    assert dom.visible() == {"pn-jayapura", "pn-merauke", "pn-manado", "pn-medan"}
    assert dom.body["data-visible"] == "4"
    assert dom.body["data-filter"].startswith("status=unreachable&")
    dom = dump(chromium, page, tmp_path, status="problems")
    assert dom.visible() == set(dom.courts) - {"pn-jakarta-pusat", "pn-pontianak"}


def test_pt_zone_and_text_filters_combine(chromium, page, tmp_path):
    dom = dump(chromium, page, tmp_path, pt="PT Jayapura")
    assert dom.visible() == {"pn-jayapura", "pn-merauke"}
    dom = dump(chromium, page, tmp_path, zone="Asia/Makassar", status="non_compliant")
    assert dom.visible() == {"pn-denpasar", "pn-makassar"}
    # Free text matches names, ids, addresses, controls and diagnosis, accent- and case-blind.
    assert dump(chromium, page, tmp_path, q="RESOLVE").visible() == {"pn-ambon"}
    assert dump(chromium, page, tmp_path, q="Slémàn").visible() == {"pn-sleman"}
    assert dump(chromium, page, tmp_path, q="net-02 bandung").visible() == {"pn-bandung"}
    empty = dump(chromium, page, tmp_path, q="no such court")
    assert empty.visible() == set() and empty.body["data-visible"] == "0"


def test_a_bogus_filter_value_is_ignored(chromium, page, tmp_path):
    dom = dump(chromium, page, tmp_path, status="<script>", pt="PT Nowhere")
    assert dom.visible() == set(dom.courts)


def test_injected_markup_stays_text(chromium, page, tmp_path):
    dom = dump(chromium, page, tmp_path, q="evil")
    assert dom.visible() == {"pn-evil"}
    assert dom.scripts == 1  # the page's own
    assert dom.injected == []
    assert "pwned" not in dom.title
