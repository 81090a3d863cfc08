"""The live progress line of a fleet run, on stderr: courts done, failing, unreachable."""
from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class FleetProgress:
    """Courts checked (the bar), how many have answered, how many fail or are unreachable.

    Collection (one round trip per host, in threads) and judging (the tests, in the main
    thread) overlap, so both counts move together.
    """

    def __init__(self, total: int, enabled: bool | None = None) -> None:
        console = Console(stderr=True)
        self.enabled = console.is_terminal if enabled is None else enabled
        self.total = total
        self.answered = self.unreachable = self.checked = self.failing = 0
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("courts checked"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
            console=console, transient=False, disable=not self.enabled,
        )
        self._task = self._progress.add_task("check", total=total, counts=self._counts())

    def __enter__(self) -> "FleetProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._progress.stop()

    def _counts(self) -> str:
        return (f"answered {self.answered}/{self.total}  [red]{self.failing} failing[/]  "
                f"[yellow]{self.unreachable} unreachable[/]")

    def host_collected(self, unreachable: bool) -> None:
        with self._lock:
            self.answered += 1
            self.unreachable += unreachable
            self._progress.update(self._task, counts=self._counts())

    def host_checked(self, failing: bool) -> None:
        with self._lock:
            self.checked += 1
            self.failing += failing
            self._progress.update(self._task, completed=self.checked, counts=self._counts())
