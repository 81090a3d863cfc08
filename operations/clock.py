"""CLK-01: stop faking the clock for every session.

chrony's part of CLK-01 (``makestep``, ``chronyc makestep``) is in ``operations/chrony.py``.
Here: libfaketime lines in ``/etc/environment`` (``LD_PRELOAD=...libfaketime...``,
``FAKETIME=...``) are commented out with ``#tepat CLK-01: `` (kept, not deleted), so new
sessions, cron jobs and restarted services see the real clock again.
"""
from __future__ import annotations

from pyinfra.api import operation

from facts.clock import ENVIRONMENT, FakedClock
from operations import safety

MARK = "#tepat CLK-01: "


def sed_script(state: FakedClock) -> str:
    return "\n".join(f"{n}{{/^[[:space:]]*#/!s/^/{MARK}/;}}" for n, _text in state.lines)


@operation(is_idempotent=True)
def unfake(state: FakedClock, run: str):
    """Comment out the libfaketime lines of /etc/environment (backed up, written atomically).

    Example:

    .. code:: python

        clock.unfake(name="CLK-01 /etc/environment: stop faking the clock",
                     state=snap.clock, run=safety.run_id())
    """
    if state.faked:
        yield safety.edit_command(ENVIRONMENT, sed_script(state), run)
