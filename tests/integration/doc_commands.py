"""The commands a journey page gives, taken word for word, and a way to run them.

``commands(page)`` returns every command of the page's fenced ```sh blocks, in order (a
trailing backslash continues a line; ``#`` comment lines and blank lines are dropped). The
journey tests run exactly these strings with ``bash -c``, from the project root, with the
venv's ``tepat`` first on PATH and the page's placeholders ($INVENTORY, $COURT, ...) set in
the environment, as a reader would have them set in their shell.

``Terminal`` runs a command on a pseudo-terminal (Python's ``pty``; no pexpect needed) so that
prompts (``SSH password:``, ``Continue? [y/N]``) are answered by typing at them, as a person
does, and the answer never appears on any command line.
"""
from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "journeys"
VENV_BIN = str(Path(sys.executable).parent)
_FENCE = re.compile(r"^```(\S*)\s*$")


def blocks(page: Path, lang: str = "sh") -> list[str]:
    """The text of every fenced block tagged ``lang``, in order."""
    return _blocks(page.read_text(encoding="utf-8"), lang)


def _blocks(text: str, lang: str) -> list[str]:
    found: list[str] = []
    inside: str | None = None  # the tag of the open block
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if inside is None:
            fence = _FENCE.match(stripped)
            if fence:
                inside, current = fence.group(1), []
            continue
        if stripped == "```":
            if inside == lang:
                found.append("\n".join(current))
            inside = None
            continue
        current.append(line)
    return found


def commands(page: Path, lang: str = "sh") -> list[str]:
    """Every command of the page's ``lang`` blocks: continuation lines joined, comments dropped."""
    out: list[str] = []
    for block in _blocks(page.read_text(encoding="utf-8"), lang):
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].rstrip() + " "
                continue
            out.append((pending + line.strip()).strip())
            pending = ""
        if pending:
            out.append(pending.strip())
    return out


def environment(values: dict[str, str]) -> dict[str, str]:
    """The reader's shell: this venv's ``tepat`` first on PATH, the placeholders set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEPAT_SSH_PASSWORD")}
    env.pop("TEPAT_SUDO_PASSWORD", None)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env.update(values)
    return env


def run(command: str, values: dict[str, str], cwd: Path = ROOT,
        timeout: float = 900) -> subprocess.CompletedProcess:
    """Run one documented command, word for word, without a terminal (stdin closed)."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=environment(values),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


class Terminal:
    """One command on a pseudo-terminal: read what it prints, type answers at its prompts."""

    def __init__(self, command: str, values: dict[str, str], cwd: Path = ROOT) -> None:
        self.output = ""
        self.status: int | None = None
        pid, fd = pty.fork()
        if pid == 0:  # the child: its stdin/stdout/stderr and controlling tty are the pty
            os.chdir(cwd)
            try:
                os.execvpe("bash", ["bash", "-c", command], environment(values))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        """Wait until the output (since the start) matches ``pattern``; fail with what it said."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.output)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 1.0)) and not regex.search(self.output):
                if left > 0 and self._alive():
                    continue
                raise AssertionError(f"no {pattern!r} in the terminal output:\n{self.output}")

    def send(self, text: str) -> None:
        """Type ``text`` at the terminal (a prompt reads it; with echo off, it is not shown)."""
        os.write(self.fd, text.encode())

    def _alive(self) -> bool:
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = os.waitstatus_to_exitcode(status)
        return False

    def wait(self, timeout: float = 900) -> int:
        """Read to the end and return the exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._read(1.0) and not self._alive():
                break
            if not self._alive():
                while self._read(0.2):  # what is left in the buffer
                    pass
                break
        else:
            os.kill(self.pid, signal.SIGTERM)
            raise AssertionError(f"still running after {timeout}s:\n{self.output}")
        if self.status is None:
            _, status = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(status)
        os.close(self.fd)
        return self.status
