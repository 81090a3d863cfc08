"""What deploy.py planned on each host, kept for ``tepat fix``'s per-host report.

deploy.py runs once per host in the same process as ``tepat fix`` (programmatic pyinfra) and
files one entry per change it asks for: the control, the file or service, the action, a diff
for ``--diff``, and the operation's result object, whose ``did_change()`` says after the run
whether it happened. Notes are things reported but deliberately not done (a database that
needs a restart), and ``WAITS`` holds the operation that waited for NTP sync (its output is
the sync result). Under plain ``pyinfra`` nothing reads this; it costs nothing.
"""
from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass
class Change:
    control: str  # PHP-TZ-01, OS-TZ-01, ... or "tepat"
    target: str  # a file path or a unit
    action: str
    meta: Any  # pyinfra OperationMeta
    diff: str = ""

    @property
    def name(self) -> str:
        return f"{self.control} {self.target}: {self.action}"


PLANNED: dict[str, list[Change]] = defaultdict(list)
NOTES: dict[str, list[str]] = defaultdict(list)
WAITS: dict[str, Any] = {}
UNFIXABLE: dict[str, list[tuple[str, str]]] = defaultdict(list)  # (control, why) per host


def reset() -> None:
    """Forget everything (a new run, or a new wave)."""
    PLANNED.clear()
    NOTES.clear()
    WAITS.clear()
    UNFIXABLE.clear()


def note(host_name: str, text: str) -> None:
    NOTES[host_name].append(text)


def unified(path: str, before: str | None, after: str | None) -> str:
    """A unified diff of one file, as ``diff -u`` shows it."""
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
        fromfile=f"a{path}" if before is not None else "/dev/null",
        tofile=f"b{path}" if after is not None else "/dev/null",
    )
    return "".join(x if x.endswith("\n") else x + "\n" for x in lines)


def line_diff(path: str, lines: list[tuple[int, str, str]], append: str = "") -> str:
    """A diff of single-line edits: ``(line number, before, after)``, then appended text."""
    out = [f"--- a{path}\n", f"+++ b{path}\n"]
    for number, before, after in lines:
        out += [f"@@ -{number} +{number} @@\n", f"-{before}\n", f"+{after}\n"]
    if append:
        out.append("@@ end of file @@\n")
        out += [f"+{x}\n" for x in append.splitlines()]
    return "".join(out)
