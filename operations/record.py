"""What deploy.py planned on each host, kept for ``tepat fix``'s per-host report.

deploy.py runs once per host in the same process as ``tepat fix`` (programmatic pyinfra), and
files here one entry per change it asked for: the description ("PHP-TZ-01 /etc/php/8.2/fpm/
php.ini: comment out line 978 ...") with the operation's result object, whose ``did_change()``
says after the run whether it happened. Notes are things reported but deliberately not done
(a database that needs a restart) and the outcome of waiting for NTP sync.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

PLANNED: dict[str, list[tuple[str, Any]]] = defaultdict(list)
NOTES: dict[str, list[str]] = defaultdict(list)
WAITS: dict[str, Any] = {}  # host name -> the wait_sync operation's result


def reset() -> None:
    """Forget everything (a new run, or a new wave)."""
    PLANNED.clear()
    NOTES.clear()
    WAITS.clear()


def change(host_name: str, description: str, op_meta: Any) -> None:
    PLANNED[host_name].append((description, op_meta))


def note(host_name: str, text: str) -> None:
    NOTES[host_name].append(text)
