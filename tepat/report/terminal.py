"""The terminal summary: counts per PT and per zone, then the courts that need action.

``render`` is plain text (pipes, mail, logs); ``print_rich`` draws the same content with
rich on a TTY. Court data is untrusted text: rich gets it as ``Text``, never as markup.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tepat.diagnosis import diagnose, reason_label, status_label
from tepat.report.labels import label, n_courts
from tepat.report.summary import Tally, by_pt, by_zone, needing_action, tally, zone_short
from tepat.results import HostResult, RunResult

_COLOURS = {"compliant": "green", "non_compliant": "red", "unreachable": "yellow"}


def _header(run: RunResult, lang: str) -> list[str]:
    t = tally(run.hosts)
    lines = [
        f"tepat: {label('title', lang)}",
        f"{label('started', lang)} {run.started_at}  {label('finished', lang)} "
        f"{run.finished_at or '-'}  {label('inventory', lang)} {run.inventory or 'local'}",
    ]
    if not run.complete:
        lines.append(label("incomplete", lang))
    lines.append(
        f"{n_courts(t.total, lang)}: {t.compliant} {label('compliant', lang)}, "
        f"{t.non_compliant} {label('non_compliant', lang)}, {t.unreachable} "
        f"{label('unreachable', lang)}"
    )
    return lines


def _columns(lang: str) -> list[str]:
    return [label(k, lang) for k in ("compliant", "non_compliant", "unreachable", "total")]


def _counts(t: Tally) -> list[str]:
    return [str(t.compliant), str(t.non_compliant), str(t.unreachable), str(t.total)]


def _zone_name(zone: str) -> str:
    return f"{zone_short(zone)} {zone}"


def _host_line(h: HostResult, lang: str) -> str:
    status = status_label(h.status, lang)
    if h.status == "unreachable":
        status += f" ({reason_label(h.reason, lang)})"
    facts = [f for f in (h.court_id, h.pt, h.timezone, h.address) if f and f != h.court_name]
    return f"{h.court_name} ({', '.join(facts) or '-'}): {status}"


def _table(title: str, rows: list[tuple[str, Tally]], lang: str) -> list[str]:
    head = [title, *_columns(lang)]
    body = [[name, *_counts(t)] for name, t in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def fmt(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:]))]
        return "  ".join(cells).rstrip()

    return [fmt(head), *(fmt(r) for r in body)]


def _one_court(run: RunResult) -> bool:
    """A technician's run of one court: its own result is the whole story, no tables."""
    return len(run.hosts) == 1


def render(run: RunResult, lang: str = "en") -> str:
    lines = _header(run, lang)
    if _one_court(run):
        h = run.hosts[0]
        lines += ["", _host_line(h, lang), diagnose(h, lang, run.inventory).text(indent="  ")]
        return "\n".join(lines) + "\n"
    lines += ["", *_table(label("by_pt", lang), by_pt(run), lang)]
    lines += ["", *_table(label("by_zone", lang),
                          [(_zone_name(z), t) for z, t in by_zone(run)], lang)]
    lines += ["", label("failing_courts", lang)]
    failing = needing_action(run)
    if not failing:
        lines.append(label("none_failing", lang))
    for h in failing:
        lines += ["", _host_line(h, lang), diagnose(h, lang, run.inventory).text(indent="  ")]
    lines += ["", label("queue_note", lang)]
    return "\n".join(lines) + "\n"


def _rich_table(title: str, rows: list[tuple[str, Tally]], lang: str) -> Table:
    table = Table(header_style="bold")
    table.add_column(title)
    for name in _columns(lang):
        table.add_column(name, justify="right")
    for name, t in rows:
        # Colour only what is there: a column of red zeros reads as an alarm.
        cells = [Text(str(n), style=colour if n else "dim") for n, colour in (
            (t.compliant, "green"), (t.non_compliant, "bold red"), (t.unreachable, "bold yellow"),
            (t.total, ""))]
        table.add_row(Text(name), *cells)
    return table


def print_rich(run: RunResult, lang: str = "en", console: Console | None = None) -> None:
    """The report drawn with rich (colours, tables) on ``console`` (default: stdout)."""
    console = console or Console()
    header = _header(run, lang)
    console.print(Text(header[0], style="bold"))
    for line in header[1:]:
        console.print(Text(line, style="bold red" if line == label("incomplete", lang) else ""))
    if _one_court(run):
        h = run.hosts[0]
        console.print()
        console.print(Text(_host_line(h, lang), style=f"bold {_COLOURS[h.status]}"))
        console.print(Text(diagnose(h, lang, run.inventory).text(indent="  ")))
        return
    console.print(_rich_table(label("by_pt", lang), by_pt(run), lang))
    console.print(_rich_table(label("by_zone", lang),
                              [(_zone_name(z), t) for z, t in by_zone(run)], lang))
    console.print(Text(label("failing_courts", lang), style="bold underline"))
    failing = needing_action(run)
    if not failing:
        console.print(Text(label("none_failing", lang), style="green"))
    for h in failing:
        console.print()
        console.print(Text(_host_line(h, lang), style=f"bold {_COLOURS[h.status]}"))
        console.print(Text(diagnose(h, lang, run.inventory).text(indent="  ")))
    console.print()
    console.print(Text(label("queue_note", lang), style="dim"))
