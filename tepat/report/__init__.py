"""The reports of a compliance run: terminal, JSON, JUnit XML, Prometheus text file, HTML.

One entry point for ``tepat check``, ``tepat history export`` and the periodic job::

    from tepat import report
    report.write(run, "html", "/var/lib/tepat/report/index.html", lang="id")

Every format renders from the same ``RunResult`` and the same diagnosis, so they never
disagree. A file is written atomically (a temporary file in the same directory, then
rename), so node_exporter, a web server or a mail job never reads half a report.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tepat.diagnosis import LANGS
from tepat.results import RunResult

FORMATS = ("terminal", "json", "junit", "prometheus", "html")


def render(run: RunResult, fmt: str, lang: str = "en") -> str:
    """The report as text (terminal: plain text, no colours)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    # Imported on use: a terminal run should not pay for jinja2, nor JSON for rich.
    if fmt == "terminal":
        from tepat.report import terminal as module
    elif fmt == "json":
        from tepat.report import json_report as module
    elif fmt == "junit":
        from tepat.report import junit as module
    elif fmt == "prometheus":
        from tepat.report import prometheus as module
    else:
        from tepat.report import html as module
    return module.render(run, lang)


def write(run: RunResult, fmt: str, out: str | None = None, lang: str = "en") -> None:
    """Write the report in ``fmt`` to the file ``out``, or to stdout when ``out`` is None.

    On a terminal (stdout is a TTY) the terminal format is drawn with rich; piped, it is
    plain text so mail and logs stay readable.
    """
    if out is None or out == "-":
        if fmt == "terminal" and sys.stdout.isatty():
            from tepat.report import terminal

            terminal.print_rich(run, lang)
            return
        text = render(run, fmt, lang)
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(Path(out), render(run, fmt, lang))


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old or the new file, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # Reports are meant to be read by node_exporter or a web server, not secret.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
