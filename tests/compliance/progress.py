"""The live progress line of a fleet run, on stderr: courts done, failing, unreachable."""
from __future__ import annotations

import sys
import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class FleetProgress:
    """Two phases on one bar: collecting (one round trip per host), then judging controls."""

    def __init__(self, total: int, enabled: bool | None = None) -> None:
        console = Console(stderr=True)
        self.enabled = console.is_terminal if enabled is None else enabled
        self.total = total
        self.collected = self.unreachable = self.checked = self.failing = 0
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
            console=console, transient=False, disable=not self.enabled,
        )
        self._task = self._progress.add_task("collecting", total=total, counts="")

    def __enter__(self) -> "FleetProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._progress.stop()

    def _counts(self) -> str:
        return (f"[red]{self.failing} failing[/]  [yellow]{self.unreachable} unreachable[/]")

    def host_collected(self, unreachable: bool) -> None:
        with self._lock:
            self.collected += 1
            self.unreachable += unreachable
            self._progress.update(self._task, advance=1, counts=self._counts())

    def start_checking(self) -> None:
        self._progress.update(self._task, description="checking", completed=0, counts=self._counts())

    def host_checked(self, failing: bool) -> None:
        with self._lock:
            self.checked += 1
            self.failing += failing
            self._progress.update(self._task, advance=1, counts=self._counts())
            if self.checked >= self.total:
                self._progress.update(self._task, description="done")


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
