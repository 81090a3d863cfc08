"""Many slow links in one process: the lab's delaying relay, once per host, on the loopback.

The lab's ``slow-link`` fault puts one relay process (``tepat.lab.relay``) in front of one
host. To give *every* host a 150 ms round trip without re-creating hosts, the benchmark runs
the same relay coroutine for each host in a few processes (one per ``--part``), listening on
127.0.0.1 and forwarding to the host's own address on the lab bridge.

    python -m bench.relays PLAN.json --delay-ms 75 --part 0/2

PLAN.json: [[court_id, listen_port, target_address, target_port], ...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bench.inventories import RELAY_ADDRESS
from tepat.lab.relay import _serve  # the lab's relay itself, so both slow links behave alike


async def _serve_all(plan: list[list], delay_s: float) -> None:
    await asyncio.gather(*(_serve((RELAY_ADDRESS, port), (address, tport), delay_s)
                           for _, port, address, tport in plan))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan")
    parser.add_argument("--delay-ms", type=float, default=75.0, help="delay each way (default 75)")
    parser.add_argument("--part", default="0/1", help="I/K: serve every K-th entry from I")
    args = parser.parse_args(argv)
    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    i, k = (int(x) for x in args.part.split("/"))
    asyncio.run(_serve_all(plan[i::k], args.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
