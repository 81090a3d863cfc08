"""CLK-01: the host's clock agrees with two references, measured from outside the host.

1. The controller's clock: the host's timestamp, taken by collect.sh, must fall between the
   controller's timestamps taken just before the command was sent and just after its answer
   came back; the offset is how far outside that bracket it lies (so round-trip time and
   load widen the bracket instead of counting as skew).
2. The API's ``Date`` header (the Supreme Court's clock, and what its TLS checks use): the
   host's timestamps before and after its request must overlap [Date, Date + 1 s) (the header
   has whole seconds).
"""
from __future__ import annotations

# Threshold: 5 s beyond the brackets. Measurement error is already excluded by the brackets
# (the Date header's 1 s resolution, the round trip), and a chrony-synchronised host is within
# milliseconds; 5 s leaves room for a controller that is itself slightly off. It is far below
# the harm threshold: SIPP records events to the second and the sync orders them, and a skew
# of a minute and a half (the lab's fault) or hours must fail.
MAX_SKEW_S = 5.0


def bracket_offset(t: float, low: float, high: float) -> float:
    """How far ``t`` lies outside [low, high]: 0 inside, negative before, positive after."""
    if t < low:
        return t - low
    if t > high:
        return t - high
    return 0.0


def test_CLK_01(facts, verdict):
    """CLK-01: the host's clock agrees with the controller's clock and the API's Date header."""
    if facts.host_time is None:
        verdict.cannot("the host did not report its time")
    ctrl = bracket_offset(facts.host_time, facts.ctrl_before, facts.ctrl_after)
    rtt = facts.ctrl_after - facts.ctrl_before
    seen = [f"{ctrl:+.1f} s from the controller (window {rtt:.2f} s)"]
    bad = abs(ctrl) > MAX_SKEW_S
    http = facts.net.http
    if http and http.date and http.before is not None and http.after is not None:
        d = http.date.timestamp()
        # The host's interval [before, after] against the API's [d, d + 1).
        api = bracket_offset(d, http.before - 1.0, http.after)
        api = 0.0 - api  # positive: the host is ahead of the API (and no "-0.0")
        seen.append(f"{api:+.1f} s from the API's Date header")
        bad = bad or abs(api) > MAX_SKEW_S
    else:
        seen.append("no Date header from the API (see NET-0x)")
    if bad:
        verdict.fail(f"clock off by more than {MAX_SKEW_S:.0f} s: " + "; ".join(seen))
    verdict.ok("; ".join(seen))
