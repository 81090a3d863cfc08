"""NTP-01..03, CLK-01: is chrony installed, where is its config and what is in it, is it synced.

The config is read whole (a few hundred bytes) so ``tepat fix --diff`` can show the exact
change; ``chronyc -c tracking`` is read only when chronyd runs (it would wait for a reply
otherwise) and bounded by ``timeout``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase

CONFIG_PATHS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf")  # Debian, RHEL

SCRIPT = r"""
{ command -v chronyd || [ -x /usr/sbin/chronyd ]; } >/dev/null 2>&1 && echo "chronyd yes"
for m in apt-get dnf yum; do command -v $m >/dev/null 2>&1 && echo "pm $m"; done
for f in /etc/chrony/chrony.conf /etc/chrony.conf; do
  [ -f $f ] && { echo "conf $f"; sed 's/^/| /' $f; }
done
grep -HsE '^[[:space:]]*(server|pool|peer)[[:space:]]' /etc/chrony/conf.d/*.conf \
  /etc/chrony/sources.d/*.sources /etc/chrony.d/*.conf /run/chrony-dhcp/*.sources \
  | sed 's/^/extra /'
if pidof chronyd >/dev/null 2>&1; then
  echo "running yes"
  timeout 5 chronyc -n -c tracking 2>/dev/null | sed 's/^/tracking /'
fi
true
"""


@dataclass
class Tracking:
    """``chronyc -c tracking``: the selected source, the offset, the leap status."""

    ref_id: str
    source: str
    stratum: int
    offset_s: float  # system time offset from the source (sign ignored by the checks here)
    leap: str

    @property
    def synced(self) -> bool:
        return self.ref_id not in ("", "00000000", "7F7F0101") and self.leap == "Normal"


@dataclass
class Chrony:
    installed: bool = False
    running: bool = False
    package_managers: list[str] = field(default_factory=list)
    configs: dict[str, str] = field(default_factory=dict)  # path -> content
    tracking: Tracking | None = None
    extra: dict[str, list[str]] = field(default_factory=dict)  # included file -> source lines

    def sources(self, path: str) -> set[str]:
        """The servers/pools the config at ``path`` uses, with those of the directories it
        includes (``confdir``, ``sourcedir``)."""
        found: set[str] = set()
        dirs: set[str] = set()
        for line in self.configs.get(path, "").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("server", "pool", "peer"):
                found.add(words[1])
            elif len(words) >= 2 and words[0] in ("confdir", "sourcedir"):
                dirs.update(words[1:])
        for file, lines in self.extra.items():
            if file.rsplit("/", 1)[0] in dirs:
                found.update(x.split()[1] for x in lines if len(x.split()) >= 2)
        return found

    def has_makestep(self, path: str) -> bool:
        return any(line.split()[:1] == ["makestep"]
                   for line in self.configs.get(path, "").splitlines())


def parse_tracking(csv: str) -> Tracking | None:
    parts = csv.split(",")
    if len(parts) < 14:
        return None
    try:
        return Tracking(parts[0], parts[1], int(parts[2]), float(parts[4]), parts[13].strip())
    except ValueError:
        return None


def parse(lines: list[str]) -> Chrony:
    state = Chrony()
    current: str | None = None
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "|" and current is not None:
            state.configs[current] += rest + "\n"
            continue
        current = None
        if tag == "chronyd":
            state.installed = True
        elif tag == "pm":
            state.package_managers.append(rest)
        elif tag == "conf":
            current = rest
            state.configs[rest] = ""
        elif tag == "running":
            state.running = True
        elif tag == "extra":
            file, _, text = rest.partition(":")
            state.extra.setdefault(file, []).append(text)
        elif tag == "tracking":
            state.tracking = parse_tracking(rest)
    return state


class ChronyFact(FactBase):
    """chrony's installation, config and sync state (NTP-01..03).

    Example:

    .. code:: python

        chrony = host.get_fact(ChronyFact)
        if not chrony.installed:
            ...
    """

    def command(self) -> str:
        return SCRIPT

    def process(self, output: list[str]) -> Chrony:
        return parse(output)
