"""The control registry: ids, cascades, and the docs generated from it (no hosts)."""
import re
from pathlib import Path

from tepat import PROJECT_ROOT
from tepat.controls import CONTROLS, dependents
from tepat.controls_doc import markdown


def test_ids_are_well_formed_and_dependencies_exist():
    for cid, c in CONTROLS.items():
        assert re.fullmatch(r"[A-Z]+(-[A-Z]+)?-\d\d", cid)
        assert 0 < c.impact <= 1
        assert all(d in CONTROLS and d != cid for d in c.depends_on)


def test_failures_cascade_along_dependencies():
    assert dependents({"NET-01"}) == {"NET-01", "NET-02", "NET-03", "NET-04"}
    assert dependents({"NET-03"}) == {"NET-03", "NET-04"}
    assert dependents({"NTP-01"}) == {"NTP-01", "NTP-02", "NTP-03"}
    assert dependents({"PHP-TZ-01"}) == {"PHP-TZ-01"}


def test_docs_controls_page_is_generated_from_the_registry():
    page = (PROJECT_ROOT / "docs" / "controls.md").read_text()
    assert page == markdown(), "run: tepat controls --markdown > docs/controls.md"
    for cid in CONTROLS:
        assert f"## {cid}" in page
