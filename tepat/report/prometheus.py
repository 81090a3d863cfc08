"""``--format prometheus``: metrics for node_exporter's textfile collector.

Write the file into the collector's directory (``--collector.textfile.directory``) with a
``.prom`` name; ``tepat.report.write`` replaces it atomically so node_exporter never scrapes
half a file. Series (one run of 382 courts is about 6,000 series):

- ``tepat_host_compliant{court_id,court_name,pt,timezone}`` 1 compliant, 0 otherwise
- ``tepat_host_reachable{court_id,pt,timezone}`` 1 reached, 0 unreachable
- ``tepat_host_unreachable_reason{court_id,pt,reason}`` 1, for unreachable courts only
- ``tepat_control_status{court_id,pt,control,status}`` 1 for the control's current status
- ``tepat_control_failing_hosts{control}`` courts where the control fails or errors
- ``tepat_hosts{status}`` courts per status; ``tepat_pt_hosts{pt,status}`` the same per PT
- ``tepat_run_complete`` 1 when the run checked every court it meant to
- ``tepat_last_run_timestamp_seconds``, ``tepat_run_duration_seconds``
"""
from __future__ import annotations

from datetime import datetime, timezone

from tepat.controls import CONTROLS
from tepat.report.summary import HOST_STATUSES, by_pt, tally
from tepat.results import RunResult


def _escape(value: str) -> str:
    # The exposition format escapes only these three in label values.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _epoch(iso: str) -> float | None:
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class _Metrics:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        shown = repr(float(value)) if not float(value).is_integer() else str(int(value))
        self.lines.append(f"{name}{_labels(**labels) if labels else ''} {shown}")


def render(run: RunResult, lang: str = "en") -> str:  # noqa: ARG001 (metrics have no language)
    m = _Metrics()
    m.family("tepat_host_compliant", "1 when the court's server passed every control.")
    for h in run.hosts:
        m.sample("tepat_host_compliant", h.status == "compliant", court_id=h.court_id,
                 court_name=h.court_name, pt=h.pt, timezone=h.timezone)
    m.family("tepat_host_reachable", "1 when tepat could connect to the court's server.")
    for h in run.hosts:
        m.sample("tepat_host_reachable", h.status != "unreachable", court_id=h.court_id,
                 pt=h.pt, timezone=h.timezone)
    m.family("tepat_host_unreachable_reason",
             "1 per unreachable court, labelled with why (no_address, auth, host_key, ...).")
    for h in run.hosts:
        if h.status == "unreachable":
            m.sample("tepat_host_unreachable_reason", 1, court_id=h.court_id, pt=h.pt,
                     reason=h.reason or "other")
    m.family("tepat_control_status",
             "1 for each court's control in its current status (pass, fail, skip, error).")
    failing: dict[str, int] = dict.fromkeys(CONTROLS, 0)
    for h in run.hosts:
        for c in h.controls:
            m.sample("tepat_control_status", 1, court_id=h.court_id, pt=h.pt, control=c.id,
                     status=c.status)
            if c.status in ("fail", "error"):
                failing[c.id] = failing.get(c.id, 0) + 1
    m.family("tepat_control_failing_hosts", "Courts where the control fails or errors.")
    for cid, count in failing.items():
        m.sample("tepat_control_failing_hosts", count, control=cid)
    counts = tally(run.hosts)
    m.family("tepat_hosts", "Courts per status in the last run.")
    for status in HOST_STATUSES:
        m.sample("tepat_hosts", getattr(counts, status), status=status)
    m.family("tepat_pt_hosts", "Courts per high court (PT) and status in the last run.")
    for pt, t in by_pt(run):
        for status in HOST_STATUSES:
            m.sample("tepat_pt_hosts", getattr(t, status), pt=pt, status=status)
    m.family("tepat_run_complete", "1 when the last run checked every court it meant to.")
    m.sample("tepat_run_complete", run.complete)
    started, finished = _epoch(run.started_at), _epoch(run.finished_at)
    m.family("tepat_last_run_timestamp_seconds", "When the last run finished, Unix time.")
    m.sample("tepat_last_run_timestamp_seconds", finished or started or 0)
    if started is not None and finished is not None:
        m.family("tepat_run_duration_seconds", "How long the last run took.")
        m.sample("tepat_run_duration_seconds", max(finished - started, 0.0))
    return "\n".join(m.lines) + "\n"
