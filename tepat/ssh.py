"""OpenSSH client configuration for a run, and why a host could not be reached.

tepat talks to hosts through the system ``ssh`` client (testinfra's ssh backend), never
through paramiko, which accepts any host key. One ssh_config per run pins everything per
host: the host key must already be in the known_hosts file (``StrictHostKeyChecking yes``),
no password prompt can block a fleet run (``BatchMode yes``), a bastion is a ``ProxyJump``.

A target gets no master connection: the collector visits each host once, and a master would
be one more ssh process per host, lingering after it is done (on a 382-court run that was
most of the controller's memory). A bastion does get one (``ControlMaster auto``): every
target behind it then jumps through one login to the bastion instead of one each.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tepat.results import UnreachableReason

CONNECT_TIMEOUT_S = 10  # a healthy link to Papua (150 ms RTT) logs in within ~1 s
CONTROL_PERSIST_S = 30  # a bastion's master outlives the gaps between its targets' jumps


def host_alias(name: str) -> str:
    """The ``Host`` name of a target in the generated config (court ids are already safe)."""
    return "tepat-" + re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _quote(value: str) -> str:
    if re.search(r'[\s"]', value):
        return '"' + value.replace('"', '') + '"'
    return value


@dataclass
class SshHost:
    name: str
    address: str
    port: int = 22
    user: str | None = None
    key: str | None = None
    known_hosts: str | None = None
    bastion: str | None = None  # [user@]host[:port]


def _bastion_block(spec: str, known_hosts: str | None, key: str | None,
                   control_dir: str) -> tuple[str, list[str]]:
    user, _, rest = spec.rpartition("@")
    host, port = rest, "22"
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] or "22"
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    alias = host_alias("bastion-" + spec)
    lines = [f"Host {alias}", f"  HostName {host}", f"  Port {port}"]
    if user:
        lines.append(f"  User {user}")
    if key:
        lines += [f"  IdentityFile {_quote(key)}", "  IdentitiesOnly yes"]
    if known_hosts:
        lines.append(f"  UserKnownHostsFile {_quote(known_hosts)}")
    # %C: a hash, so the socket path stays short.
    lines += ["  ControlMaster auto", f"  ControlPath {control_dir}/%C", f"  ControlPersist {CONTROL_PERSIST_S}s"]
    return alias, lines


def render_config(hosts: list[SshHost], control_dir: str) -> str:
    """The text of an ssh_config for these hosts (pure: unit-tested)."""
    out: list[str] = []
    bastions: dict[str, str] = {}
    for h in hosts:
        lines = [f"Host {host_alias(h.name)}", f"  HostName {h.address}", f"  Port {h.port}"]
        if h.user:
            lines.append(f"  User {h.user}")
        if h.key:
            lines += [f"  IdentityFile {_quote(h.key)}", "  IdentitiesOnly yes"]
        if h.known_hosts:
            lines.append(f"  UserKnownHostsFile {_quote(h.known_hosts)}")
        if h.bastion:
            if h.bastion not in bastions:
                alias, block = _bastion_block(h.bastion, h.known_hosts, h.key, control_dir)
                bastions[h.bastion] = alias
                out += block + [""]
            lines.append(f"  ProxyJump {bastions[h.bastion]}")
        out += lines + [""]
    # Defaults for every block above (ssh takes the first value it finds for each option).
    out += [
        "Host *",
        "  StrictHostKeyChecking yes",  # never trust an unknown or changed host key
        "  BatchMode yes",  # no password or passphrase prompt can hang a fleet run
        "  PasswordAuthentication no",
        "  KbdInteractiveAuthentication no",
        f"  ConnectTimeout {CONNECT_TIMEOUT_S}",
        "  ServerAliveInterval 10",
        "  ServerAliveCountMax 3",
        "  ControlMaster no",  # only the bastions above have a master
        "  LogLevel ERROR",  # keep warnings out of command output; errors still classified
        "  HashKnownHosts no",
        "  UpdateHostKeys no",  # a check run never writes known_hosts
        "",
    ]
    return "\n".join(out)


# `tepat check --ask-pass` puts the typed password here, in its own environment (as
# `sshpass -e` does): ssh gets it from the askpass helper below, never from a command line.
PASSWORD_ENV = "TEPAT_SSH_PASSWORD"
_ASKPASS = '#!/bin/sh\nprintf "%s\\n" "$TEPAT_SSH_PASSWORD"\n'


def password_options() -> list[str]:
    """ssh_config lines for a run with a password: one attempt, then fail as ``auth``."""
    return ["  BatchMode no", "  PasswordAuthentication yes", "  KbdInteractiveAuthentication yes",
            "  NumberOfPasswordPrompts 1", "  PreferredAuthentications publickey,password,keyboard-interactive"]


class SshConfig:
    """A private directory with the run's ssh_config and its control sockets (and, when the
    run has a password, the askpass helper that hands it to ssh)."""

    def __init__(self, hosts: list[SshHost]) -> None:
        self.dir = tempfile.mkdtemp(prefix="tepat-ssh-")
        os.chmod(self.dir, 0o700)
        self.path = str(Path(self.dir) / "ssh_config")
        text = render_config(hosts, self.dir)
        self.bastions = sorted({host_alias("bastion-" + h.bastion) for h in hosts if h.bastion})
        self._env: dict[str, str | None] = {}
        if os.environ.get(PASSWORD_ENV):
            helper = Path(self.dir) / "askpass"
            helper.write_text(_ASKPASS, encoding="utf-8")
            helper.chmod(0o700)
            # First in the `Host *` block: these win over its defaults (ssh keeps the first value).
            text = text.replace("Host *\n", "Host *\n" + "\n".join(password_options()) + "\n", 1)
            for key, value in (("SSH_ASKPASS", str(helper)), ("SSH_ASKPASS_REQUIRE", "force")):
                self._env[key] = os.environ.get(key)
                os.environ[key] = value  # testinfra's ssh processes inherit it
        Path(self.path).write_text(text, encoding="utf-8")

    def cleanup(self) -> None:
        """Close the bastions' masters (rather than leave them for ControlPersist), restore the
        environment, remove the directory."""
        for alias in self.bastions:
            try:
                subprocess.run(["ssh", "-F", self.path, "-O", "exit", alias], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=10)
            except (OSError, subprocess.SubprocessError):
                pass  # no master (never connected): nothing to close
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for entry in Path(self.dir).iterdir():
            try:
                entry.unlink()
            except OSError:
                pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


# ssh's own messages (OpenSSH 7-9) -> why the host is unreachable. Order matters: a changed
# host key also says "verification failed"; a refused bastion also says "closed".
_REASONS: list[tuple[UnreachableReason, re.Pattern[str]]] = [
    ("host_key", re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed"
                            r"|No (?:\S+ )?host key is known|host key for .* has changed"
                            r"|Host key for .* has changed", re.I)),
    ("auth", re.compile(r"Permission denied|Too many authentication failures"
                        r"|no supported authentication methods|Authentication failed", re.I)),
    ("refused", re.compile(r"Connection refused", re.I)),
    ("no_route", re.compile(r"No route to host|Network is unreachable|Could not resolve hostname"
                            r"|Name or service not known|Temporary failure in name resolution", re.I)),
    ("timeout", re.compile(r"timed out|Connection timeout|Operation timed out", re.I)),
]


def classify(stderr: str) -> UnreachableReason:
    """Why ssh could not run the command, from what it printed (exit status 255)."""
    for reason, pattern in _REASONS:
        if pattern.search(stderr):
            return reason
    return "other"


def summary(stderr: str) -> str:
    """ssh's most telling line, for the report (one line, no warnings banner)."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip() and not set(l.strip()) <= set("@")]
    for line in lines:
        if any(p.search(line) for _, p in _REASONS):
            return line[:300]
    return (lines[-1] if lines else "ssh failed without a message")[:300]
