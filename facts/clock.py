"""CLK-01: is the clock faked for every session (libfaketime in /etc/environment)?

chrony keeps the kernel clock right, but a ``LD_PRELOAD`` of libfaketime with ``FAKETIME`` in
``/etc/environment`` (read by PAM for every login and sudo) makes every program started from a
session, cron job or SIPP worker see another time. The lines are listed with their numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase

ENVIRONMENT = "/etc/environment"
PATTERN = r"^[[:space:]]*(export[[:space:]]+)?(FAKETIME[A-Z_]*=|LD_PRELOAD=.*faketime)"

SCRIPT = rf"""
[ -f {ENVIRONMENT} ] && grep -nE '{PATTERN}' {ENVIRONMENT} | sed 's/^/fake /'
true
"""


@dataclass
class FakedClock:
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    @property
    def faked(self) -> bool:
        return bool(self.lines)


def parse(lines: list[str]) -> FakedClock:
    state = FakedClock()
    for line in lines:
        tag, _, rest = line.partition(" ")
        number, _, text = rest.partition(":")
        if tag == "fake" and number.isdigit():
            state.lines.append((int(number), text))
    return state


class FakedClockFact(FactBase):
    """Lines of /etc/environment that fake the clock for every session (CLK-01).

    Example:

    .. code:: python

        faked = host.get_fact(FakedClockFact)
        if faked.faked:
            ...
    """

    def command(self) -> str:
        return SCRIPT

    def process(self, output: list[str]) -> FakedClock:
        return parse(output)
