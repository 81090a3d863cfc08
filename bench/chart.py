"""Draw results.json as a PNG: time against the number of courts, one line per tool and figure.

    bench/.venv/bin/python bench/chart.py results.json results.png

Solid lines: the lab's own links; dashed: 150 ms round trip on every host. Runs under the
bench venv (matplotlib), apart from tepat's own environment.
"""
from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LINES = [  # (field, label, colour)
    ("floor_s", "floor (ssh + true)", "#555555"),
    ("check_s", "tepat check", "#1f77b4"),
    ("check_faulty_s", "tepat check, fault mix", "#17becf"),
    ("noop_fix_s", "tepat fix, no-op", "#2ca02c"),
    ("fix_s", "tepat fix, drifted fleet", "#98df8a"),
    ("ansible_check_s", "Ansible check mode", "#d62728"),
    ("ansible_fix_s", "Ansible fix", "#ff9896"),
]


def draw(doc: dict, png: str) -> None:
    runs = doc["runs"]
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    for latency, style in ((0, "-"), (150, "--")):
        for field, label, colour in LINES:
            points = sorted((r["courts"], r[field]) for r in runs
                            if r["latency_ms"] == latency and r.get(field) is not None)
            if not points:
                continue
            xs, ys = zip(*points)
            name = label + (f" ({latency} ms RTT)" if latency else "")
            ax.plot(xs, ys, style, marker="o", color=colour, label=name)
    ax.set_xlabel("courts (lab hosts)")
    ax.set_ylabel("seconds (median)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    sizes = sorted({r["courts"] for r in runs})
    if sizes:
        ax.set_xticks(sizes)
    when = doc.get("meta", {}).get("date", "")
    ax.set_title(f"tepat fleet run time vs the SSH floor and Ansible ({when[:10]}, 2 cores)")
    # Outside the axes: a figure measured only at one N (Ansible) is a lone point a legend hides.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(png)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        draw(json.load(handle), sys.argv[2])
