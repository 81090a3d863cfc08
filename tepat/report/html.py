"""``--format html``: one self-contained page for central IT and the PTs' Satgas SIPP.

Everything (CSS, JavaScript) is inline and nothing is fetched, so the page opens from a
file share, a mail attachment or a laptop without network. Courts are grouped by zone and
high court, problems first; a filter bar narrows by status, PT, zone and free text, and
keeps its state in the query string (``report.html?status=unreachable&pt=PT+Ambon&q=dns``)
so a link can point at one view. Court data is untrusted text: Jinja2 autoescapes all of
it, and it reaches the script only through escaped ``data-`` attributes.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from tepat import __version__
from tepat.diagnosis import Diagnosis, control_name, diagnose, reason_label, status_label
from tepat.report.labels import label, n_courts
from tepat.report.summary import Tally, by_pt, by_zone, tally, zone_key, zone_short
from tepat.results import HostResult, RunResult
from tepat.zones import canonical, utc_offset

TEMPLATES = Path(__file__).parent / "templates"
_STATUS_ORDER = {"non_compliant": 0, "unreachable": 1, "compliant": 2}


def _code(text: str) -> Markup:
    """Escape ``text``, then show `backticked` commands as <code>."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _fold(text: str) -> str:
    """What the search box compares: no accents, lower case (the script does the same)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@dataclass
class _Court:
    host: HostResult
    diagnosis: Diagnosis
    zone: str
    search: str


@dataclass
class _Group:
    name: str
    tally: Tally
    courts: list[_Court]


@dataclass
class _Zone:
    zone: str
    short: str
    offset: str
    tally: Tally
    pts: list[_Group]


def _zones(run: RunResult, lang: str) -> list[_Zone]:
    zones: dict[str, dict[str, list[_Court]]] = {}
    for h in run.hosts:
        zone = canonical(h.timezone)
        d = diagnose(h, lang, run.inventory)
        words = [h.court_name, h.court_id, h.address, h.pt, zone, zone_short(zone),
                 status_label(h.status, lang), h.reason or "",
                 reason_label(h.reason, lang) if h.reason else "", h.error]
        words += [c.id for c in h.failing()] + [f.title for f in d.findings]
        court = _Court(h, d, zone, _fold(" ".join(words)))
        zones.setdefault(zone, {}).setdefault(h.pt, []).append(court)
    result = []
    for zone in sorted(zones, key=zone_key):
        groups = []
        for pt in sorted(zones[zone]):
            courts = sorted(zones[zone][pt], key=lambda c: (_STATUS_ORDER[c.host.status],
                                                            c.host.court_name))
            groups.append(_Group(pt, tally(c.host for c in courts), courts))
        try:
            offset = utc_offset(zone)
        except Exception:  # a zone the tz database does not know: still show the courts
            offset = ""
        result.append(_Zone(zone, zone_short(zone), offset,
                            tally(c.host for g in groups for c in g.courts), groups))
    return result


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["code"] = _code
    return env


def render(run: RunResult, lang: str = "en") -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=run, lang=lang, version=__version__,
        t=lambda key, **fmt: label(key, lang, **fmt),
        n_courts=lambda n: n_courts(n, lang),
        status=lambda s: status_label(s, lang),
        control=lambda cid: control_name(cid, lang),
        reason=lambda r: reason_label(r, lang),
        counts=tally(run.hosts),
        pt_rows=by_pt(run),
        zone_rows=[(z, zone_short(z), t) for z, t in by_zone(run)],
        zones=_zones(run, lang),
    )
