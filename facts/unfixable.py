"""What ``tepat fix`` reports but does not change: the route to the API and MariaDB's zone.

- NET-01..04: one ``curl`` to ``https://<api_host>/`` with the system trust store; its exit
  status and HTTP code name the first layer that fails (name resolution, TCP, TLS, HTTP 5xx).
  A blocked route costs at most ``CONNECT_TIMEOUT_S`` inside the one snapshot command.
- DB-TZ-01: a ``default-time-zone`` set in the MariaDB/MySQL configuration.

These are for the court's network admin or a maintenance window (letter steps 2-4), not for
an automated fix; the compliance suite (``tepat check``) is what judges them.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from pyinfra.api import FactBase

CONNECT_TIMEOUT_S = 3
MAX_TIME_S = 6
DB_CONFIG = "/etc/mysql /etc/my.cnf /etc/my.cnf.d"

# curl exit statuses: https://curl.se/libcurl/c/libcurl-errors.html
_DNS = {6}
_TCP = {7, 28}
_TLS = {35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91}
CURL_ERRORS = {
    6: "could not resolve the name", 7: "could not connect", 28: "timed out",
    35: "TLS handshake failed", 51: "certificate does not match the name",
    60: "certificate not trusted (unknown issuer)", 77: "CA bundle unreadable",
}


def script(api_host: str) -> str:
    url = shlex.quote(f"https://{api_host}/")
    return rf"""
if command -v curl >/dev/null 2>&1; then
  c=$(curl -s -o /dev/null -w '%{{http_code}}' --connect-timeout {CONNECT_TIMEOUT_S} \
      --max-time {MAX_TIME_S} {url} 2>/dev/null); r=$?
  echo "api $r $c"
fi
grep -rsHiE '^[[:space:]]*default[-_]time[-_]zone[[:space:]]*=' {DB_CONFIG} | sed 's/^/db /'
true
"""


@dataclass
class Unfixable:
    api_exit: int | None = None  # None: curl not installed
    api_http: int = 0
    api_error: str = ""
    db_settings: list[str] = field(default_factory=list)  # "file:line" of default-time-zone

    def problems(self, api_host: str) -> list[tuple[str, str]]:
        """(control id, what is wrong and who can fix it), first failing layer only."""
        found: list[tuple[str, str]] = []
        code, err = self.api_exit, self.api_error.strip()
        if code is not None and code != 0:
            if code in _DNS:
                found.append(("NET-01", f"{api_host} does not resolve ({err}): court network "
                                        "admin: check /etc/resolv.conf and the DNS servers"))
            elif code in _TCP:
                found.append(("NET-02", f"no TCP connection to {api_host}:443 ({err}): court "
                                        "network admin: check the firewall, route or proxy"))
            elif code in _TLS:
                found.append(("NET-03", f"TLS to {api_host} fails ({err}): update "
                                        "ca-certificates, remove any intercepting proxy"))
            else:
                found.append(("NET-04", f"request to {api_host} failed (curl exit {code}: {err})"))
        elif code == 0 and self.api_http >= 500:
            found.append(("NET-04", f"{api_host} answers HTTP {self.api_http}: trouble on the "
                                    "Supreme Court's side; escalate through the PT's Satgas SIPP"))
        for setting in self.db_settings:
            found.append(("DB-TZ-01", f"MariaDB/MySQL sets its own zone ({setting}): set "
                                      "default-time-zone = SYSTEM and restart it in a maintenance "
                                      "window"))
        return found


def parse(lines: list[str]) -> Unfixable:
    state = Unfixable()
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "api":
            code, _, http = rest.partition(" ")
            if not code.isdigit():
                continue
            state.api_exit = int(code)
            state.api_http = int(http) if http.strip().isdigit() else 0
            state.api_error = CURL_ERRORS.get(state.api_exit, f"curl exit {state.api_exit}")
        elif tag == "db":
            file, _, text = rest.partition(":")
            state.db_settings.append(f"{file}: {text.strip()}")
    return state


class UnfixableFact(FactBase):
    """The API route and MariaDB's zone, reported by tepat fix (NET-01..04, DB-TZ-01).

    Example:

    .. code:: python

        state = host.get_fact(UnfixableFact, api_host="apis.mahkamahagung.go.id")
        for control, why in state.problems("apis.mahkamahagung.go.id"):
            print(control, why)
    """

    def command(self, api_host: str) -> str:
        return script(api_host)

    def process(self, output: list[str]) -> Unfixable:
        return parse(output)
