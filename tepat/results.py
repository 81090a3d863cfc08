"""What a compliance run found: the model every report format and the history read.

The JSON form (``RunResult.to_dict``) is the contract of ``tepat check --format json``:
``{"hosts": [{"court_id", "address", "status", "controls": [{"id", "status", "detail"}]}]}``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

ControlStatus = Literal["pass", "fail", "skip", "error"]
HostStatus = Literal["compliant", "non_compliant", "unreachable"]
# Why a host could not be checked; the diagnosis tells the technician what to look at.
UnreachableReason = Literal["no_address", "auth", "host_key", "no_route", "timeout", "refused", "other"]


@dataclass
class ControlResult:
    id: str
    status: ControlStatus
    detail: str = ""
    root_cause: str | None = None  # id of the failing control this failure follows from


@dataclass
class HostResult:
    court_id: str
    court_name: str
    pt: str
    timezone: str
    address: str
    status: HostStatus
    controls: list[ControlResult] = field(default_factory=list)
    reason: UnreachableReason | None = None  # set when status == "unreachable"
    error: str = ""  # what the connection said, when unreachable
    duration_s: float = 0.0

    def failing(self) -> list[ControlResult]:
        return [c for c in self.controls if c.status in ("fail", "error")]


@dataclass
class RunResult:
    started_at: str  # ISO 8601, UTC
    finished_at: str = ""
    inventory: str = ""  # path of the inventory file, or "local"
    complete: bool = True  # False when the run was interrupted
    hosts: list[HostResult] = field(default_factory=list)

    def exit_status(self) -> int:
        """0 when every host is compliant, 1 otherwise (2 is for runs that never started)."""
        return 0 if self.hosts and all(h.status == "compliant" for h in self.hosts) else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunResult":
        hosts = [
            HostResult(**{**h, "controls": [ControlResult(**c) for c in h.get("controls", [])]})
            for h in data.get("hosts", [])
        ]
        return cls(**{**data, "hosts": hosts})
