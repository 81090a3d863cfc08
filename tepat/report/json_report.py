"""``--format json``: ``{"hosts": [...]}`` with the run's metadata beside it.

Every host has ``court_id``, ``address``, ``status`` (compliant / non_compliant /
unreachable) and every control ``id``, ``status`` (pass / fail / skip / error) and
``detail``: the contract of issue 4. Extra keys help people and tools: ``court_name``,
``pt``, ``timezone``, ``reason`` and ``error`` when unreachable, the ``diagnosis``, and per
control its ``title``, ``impact`` and ``root_cause``. ``load`` reads it back into a
``RunResult`` (extra keys ignored), so history can import a report.
"""
from __future__ import annotations

import json
from dataclasses import fields

from tepat import __version__
from tepat.controls import CONTROLS
from tepat.diagnosis import diagnose
from tepat.report.summary import tally
from tepat.results import ControlResult, HostResult, RunResult


def to_dict(run: RunResult, lang: str = "en") -> dict:
    counts = tally(run.hosts)
    hosts = []
    for h in run.hosts:
        controls = []
        for c in h.controls:
            meta = CONTROLS.get(c.id)
            controls.append({
                "id": c.id, "status": c.status, "detail": c.detail, "root_cause": c.root_cause,
                "title": meta.title if meta else "", "impact": meta.impact if meta else None,
            })
        hosts.append({
            "court_id": h.court_id, "court_name": h.court_name, "pt": h.pt,
            "timezone": h.timezone, "address": h.address, "status": h.status,
            "reason": h.reason, "error": h.error, "duration_s": h.duration_s,
            "controls": controls,
            "diagnosis": diagnose(h, lang, run.inventory).to_dict(),
        })
    return {
        "tool": "tepat", "version": __version__, "lang": lang,
        "started_at": run.started_at, "finished_at": run.finished_at,
        "inventory": run.inventory, "complete": run.complete,
        "summary": {"hosts": counts.total, "compliant": counts.compliant,
                    "non_compliant": counts.non_compliant, "unreachable": counts.unreachable},
        "hosts": hosts,
    }


def render(run: RunResult, lang: str = "en") -> str:
    return json.dumps(to_dict(run, lang), ensure_ascii=False, indent=2) + "\n"


def _known(cls, data: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def load(text: str) -> RunResult:
    """A ``RunResult`` from this report (or from ``RunResult.to_dict``); ValueError if not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), list):
        raise ValueError('not a tepat report: no "hosts" list')
    try:
        hosts = [
            HostResult(**{
                **_known(HostResult, h),
                "controls": [ControlResult(**_known(ControlResult, c)) for c in h.get("controls", [])],
            })
            for h in data["hosts"]
        ]
        meta = _known(RunResult, data)
        meta.pop("hosts", None)
        return RunResult(**meta, hosts=hosts)
    except TypeError as exc:
        raise ValueError(f"not a tepat report: {exc}") from None
