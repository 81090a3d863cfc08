"""Medians, ratios and the issue-7 targets: the pure arithmetic of the benchmark.

Every figure is the median of its repeats; every ratio is taken between figures measured in
the same run (same machine load), never against a number from another day. Targets are
*reported* (met / not met / not measured), never asserted: speed is for the benchmark.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

# The fields of one run in results.json (issue 7), in table order. Medians in seconds.
RUN_FIELDS = ("courts", "latency_ms", "floor_s", "check_s", "check_faulty_s", "fix_s",
              "noop_fix_s", "ansible_check_s", "ansible_fix_s", "peak_rss_mb")
TIME_FIELDS = ("floor_s", "check_s", "check_faulty_s", "fix_s", "noop_fix_s",
               "ansible_check_s", "ansible_fix_s")

# Issue 7 targets.
CHECK_OVER_FLOOR_MAX = 2.0
NOOP_FIX_OVER_FLOOR_MAX = 3.0
ANSIBLE_OVER_TEPAT_MIN = 5.0
SLOW_CHECK_MAX_S = 60.0
PEAK_RSS_MAX_MB = 500.0
TARGET_COURTS = 382
SLOW_LATENCY_MS = 150


def median(samples: list[float]) -> float | None:
    """Median of the samples (None when there are none)."""
    return statistics.median(samples) if samples else None


def ratio(num: float | None, den: float | None) -> float | None:
    """num / den, or None when either is missing or den is not positive."""
    if num is None or den is None or den <= 0:
        return None
    return num / den


def make_run(courts: int, latency_ms: int, samples: dict[str, list[float]],
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of ``runs``: the median of each figure's samples (None if not measured).

    ``samples`` maps a figure name (any of RUN_FIELDS, or an extra figure such as
    ``floor_fix_s``) to its repeated measurements. The raw samples are kept under
    ``samples`` so a reader can see the spread behind each median.

    >>> make_run(50, 0, {"check_s": [3.0, 1.0, 2.0]})["check_s"]
    2.0
    """
    run: dict[str, Any] = {"courts": courts, "latency_ms": latency_ms}
    for name in RUN_FIELDS[2:]:
        run[name] = median(samples.get(name, []))
    for name, values in samples.items():
        if name not in run:
            run[name] = median(values)
    run["samples"] = {k: [round(v, 3) for v in vs] for k, vs in samples.items() if vs}
    if extra:
        run.update(extra)
    return run


def find_run(runs: list[dict[str, Any]], courts: int, latency_ms: int) -> dict[str, Any] | None:
    for run in runs:
        if run["courts"] == courts and run["latency_ms"] == latency_ms:
            return run
    return None


def ratios(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The ratios issue 7 asks for, per (courts, latency), plus growth between court counts.

    ``per_run`` holds, for each run: check/floor, check_faulty/floor, noop_fix/floor (against
    the floor at the fix's own parallelism when it was measured), Ansible/tepat for check and
    fix. ``growth`` holds, for every pair of court counts measured at the same latency (the
    issue's 100 -> 382 among them), time(N2)/time(N1) for each figure next to N2/N1, the
    growth a linear tool would show.
    """
    per_run = []
    for run in runs:
        fix_floor = run.get("floor_fix_s") or run.get("floor_s")
        per_run.append({
            "courts": run["courts"], "latency_ms": run["latency_ms"],
            "check_over_floor": ratio(run.get("check_s"), run.get("floor_s")),
            "check_faulty_over_floor": ratio(run.get("check_faulty_s"),
                                             run.get("floor_faulty_s") or run.get("floor_s")),
            "noop_fix_over_floor": ratio(run.get("noop_fix_s"), fix_floor),
            "ansible_over_tepat_check": ratio(run.get("ansible_check_s"), run.get("check_s")),
            "ansible_over_tepat_fix": ratio(run.get("ansible_fix_s"), run.get("fix_s")),
        })
    growth = []
    for latency in sorted({r["latency_ms"] for r in runs}):
        same = sorted((r for r in runs if r["latency_ms"] == latency), key=lambda r: r["courts"])
        for i, small in enumerate(same):
            for big in same[i + 1:]:
                entry: dict[str, Any] = {
                    "from": small["courts"], "to": big["courts"], "latency_ms": latency,
                    "linear": big["courts"] / small["courts"],
                }
                for name in TIME_FIELDS:
                    entry[name] = ratio(big.get(name), small.get(name))
                growth.append(entry)
    return {"per_run": per_run, "growth": growth}


@dataclass
class Verdict:
    target: str
    measured: str
    status: str  # met / not met / not measured

    def line(self) -> str:
        return f"{self.status:<13} {self.target:<58} {self.measured}"


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def _judge(value: float | None, ok) -> str:
    if value is None:
        return "not measured"
    return "met" if ok(value) else "not met"


def targets(runs: list[dict[str, Any]], courts: int = TARGET_COURTS) -> list[Verdict]:
    """Each issue-7 target against what was measured at ``courts`` (the largest N run if the
    target size was not measured, said so in the line)."""
    sizes = sorted({r["courts"] for r in runs})
    at = courts if courts in sizes else (sizes[-1] if sizes else courts)
    note = "" if at == courts else f" (at {at} courts: {courts} not measured)"
    base = find_run(runs, at, 0) or {}
    slow = find_run(runs, at, SLOW_LATENCY_MS) or {}
    r = {(e["courts"], e["latency_ms"]): e for e in ratios(runs)["per_run"]}
    rb = r.get((at, 0), {})
    out = []
    v = rb.get("check_over_floor")
    out.append(Verdict(f"check <= {CHECK_OVER_FLOOR_MAX:g}x floor{note}", f"{_fmt(v)}x",
                       _judge(v, lambda x: x <= CHECK_OVER_FLOOR_MAX)))
    v = rb.get("noop_fix_over_floor")
    out.append(Verdict(f"no-op fix <= {NOOP_FIX_OVER_FLOOR_MAX:g}x floor{note}", f"{_fmt(v)}x",
                       _judge(v, lambda x: x <= NOOP_FIX_OVER_FLOOR_MAX)))
    for kind in ("check", "fix"):
        v = rb.get(f"ansible_over_tepat_{kind}")
        label = f"Ansible/tepat {kind} >= {ANSIBLE_OVER_TEPAT_MIN:g}x"
        if v is None:  # Ansible may only have been run at smaller sizes: say where it was
            for e in sorted(r.values(), key=lambda e: -e["courts"]):
                if e["latency_ms"] == 0 and e.get(f"ansible_over_tepat_{kind}") is not None:
                    v = e[f"ansible_over_tepat_{kind}"]
                    label += f" (at {e['courts']} courts: largest N Ansible ran)"
                    break
        else:
            label += note
        out.append(Verdict(label, f"{_fmt(v)}x", _judge(v, lambda x: x >= ANSIBLE_OVER_TEPAT_MIN)))
    growth = [g for g in ratios(runs)["growth"] if g["latency_ms"] == 0 and g["to"] == at]
    for name in ("check_s", "noop_fix_s", "fix_s"):
        # 100 -> 382 as the issue says; else the largest smaller N where the figure was measured
        have = sorted((g for g in growth if g.get(name) is not None), key=lambda g: g["from"])
        pick = next((g for g in have if g["from"] == 100), have[-1] if have else None)
        v = pick.get(name) if pick else None
        span = f"{pick['from']}->{pick['to']}" if pick else f"100->{courts}"
        linear = pick["linear"] if pick else courts / 100
        out.append(Verdict(f"{name} growth {span} <= linear ({linear:.2f}x)", f"{_fmt(v)}x",
                           _judge(v, lambda x: x <= linear)))
    v = slow.get("check_s")
    out.append(Verdict(f"check with {SLOW_LATENCY_MS} ms links < {SLOW_CHECK_MAX_S:g} s{note}",
                       _fmt(v, " s"), _judge(v, lambda x: x < SLOW_CHECK_MAX_S)))
    # Memory: the pages charged to the run's own memory cgroup, each counted once (what systemd
    # reports as a service's MemoryPeak), when the machine could make one; the RSS sum over the
    # process tree counts every shared library once per ssh client, an upper bound shown beside.
    rss, charged = base.get("peak_rss_mb"), base.get("memory_peak_mb")
    v = charged if charged is not None else rss
    measured = (f"{charged:.0f} MB charged; " if charged is not None else "") + _fmt(rss, " MB") + " RSS sum"
    out.append(Verdict(f"controller peak memory < {PEAK_RSS_MAX_MB:g} MB{note}", measured,
                       _judge(v, lambda x: x < PEAK_RSS_MAX_MB)))
    return out


def results_document(runs: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """The whole results.json: ``runs`` (issue 7 shape) plus ratios, target verdicts, meta."""
    ordered = sorted(runs, key=lambda r: (r["courts"], r["latency_ms"]))
    return {
        "runs": ordered,
        "ratios": ratios(ordered),
        "targets": [v.__dict__ for v in targets(ordered)],
        "meta": meta,
    }


def table(runs: list[dict[str, Any]]) -> str:
    """A fixed-width table of the runs (medians)."""
    heads = ["courts", "lat_ms", "floor", "check", "check_f", "fix", "noop_fix",
             "ans_check", "ans_fix", "rss_MB"]
    rows = [heads]
    for r in sorted(runs, key=lambda r: (r["courts"], r["latency_ms"])):
        rows.append([str(r["courts"]), str(r["latency_ms"])]
                    + [_fmt(r.get(f)) for f in TIME_FIELDS]
                    + [_fmt(r.get("peak_rss_mb"))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(heads))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows)


def ratio_table(runs: list[dict[str, Any]]) -> str:
    rat = ratios(runs)
    lines = ["courts lat_ms  check/floor  faulty/floor  noop/floor  ansible/tepat(check)  ansible/tepat(fix)"]
    for e in rat["per_run"]:
        lines.append(f"{e['courts']:>6} {e['latency_ms']:>6}  {_fmt(e['check_over_floor']):>11}  "
                     f"{_fmt(e['check_faulty_over_floor']):>12}  {_fmt(e['noop_fix_over_floor']):>10}  "
                     f"{_fmt(e['ansible_over_tepat_check']):>20}  {_fmt(e['ansible_over_tepat_fix']):>18}")
    for g in rat["growth"]:
        figs = ", ".join(f"{n[:-2]} {_fmt(g[n])}x" for n in TIME_FIELDS if g.get(n) is not None)
        lines.append(f"growth {g['from']}->{g['to']} @ {g['latency_ms']} ms (linear {g['linear']:.2f}x): {figs}")
    return "\n".join(lines)


CPU_FIGURES = ("floor", "check", "check_faulty", "noop_fix", "fix", "ansible_check", "ansible_fix")


def cpu_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run and figure, the CPU per court in milliseconds: on the controller (the tool and
    its ssh clients) and on the lab's hosts (sshd, the commands run there), from the medians
    of ``<figure>_cpu_s`` and ``<figure>_hosts_cpu_s``. On the lab both share the same cores:
    this says how much of a wall time is the tool's own work and how much the hosts'.

    >>> cpu_rows([{"courts": 10, "latency_ms": 0, "check_cpu_s": 1.0, "check_hosts_cpu_s": 2.0}])
    [{'courts': 10, 'latency_ms': 0, 'figure': 'check', 'controller_ms': 100.0, 'hosts_ms': 200.0}]
    """
    rows = []
    for run in sorted(runs, key=lambda r: (r["courts"], r["latency_ms"])):
        for fig in CPU_FIGURES:
            ctrl, hosts = run.get(f"{fig}_cpu_s"), run.get(f"{fig}_hosts_cpu_s")
            if ctrl is None:
                continue
            n = run["courts"]
            rows.append({"courts": n, "latency_ms": run["latency_ms"], "figure": fig,
                         "controller_ms": 1000 * ctrl / n,
                         "hosts_ms": None if hosts is None else 1000 * hosts / n})
    return rows


def cpu_table(runs: list[dict[str, Any]]) -> str:
    lines = ["CPU per court (ms): courts lat_ms figure  controller  hosts"]
    for r in cpu_rows(runs):
        lines.append(f"{r['courts']:>6} {r['latency_ms']:>6}  {r['figure']:<13} "
                     f"{r['controller_ms']:>9.0f}  {_fmt(r['hosts_ms']):>8}")
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    """results.json as Markdown tables (docs/benchmark.md): figures, ratios, targets."""
    runs = doc["runs"]
    out = ["| courts | RTT ms | floor | check | check (faults) | fix (drifted) | no-op fix "
           "| Ansible check | Ansible fix | peak MB |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        out.append(f"| {r['courts']} | {r['latency_ms']} | "
                   + " | ".join(_fmt(r.get(f)) for f in TIME_FIELDS)
                   + f" | {_fmt(r.get('peak_rss_mb'))} |")
    out += ["", "| courts | RTT ms | check/floor | check (faults)/floor | no-op fix/floor "
            "| Ansible/tepat check | Ansible/tepat fix |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for e in doc["ratios"]["per_run"]:
        out.append(f"| {e['courts']} | {e['latency_ms']} | " + " | ".join(
            _fmt(e[k]) for k in ("check_over_floor", "check_faulty_over_floor", "noop_fix_over_floor",
                                 "ansible_over_tepat_check", "ansible_over_tepat_fix")) + " |")
    growth = doc["ratios"]["growth"]
    if growth:
        out += ["", "| growth | RTT ms | linear | " + " | ".join(f[:-2] for f in TIME_FIELDS) + " |",
                "|---|---:|---:|" + "---:|" * len(TIME_FIELDS)]
        for g in growth:
            out.append(f"| {g['from']} -> {g['to']} | {g['latency_ms']} | {g['linear']:.2f} | "
                       + " | ".join(_fmt(g.get(f)) for f in TIME_FIELDS) + " |")
    cpu = cpu_rows(runs)
    if cpu:
        out += ["", "| courts | RTT ms | figure | controller CPU ms/court | hosts' CPU ms/court |",
                "|---:|---:|---|---:|---:|"]
        for r in cpu:
            hosts = "-" if r["hosts_ms"] is None else f"{r['hosts_ms']:.0f}"
            out.append(f"| {r['courts']} | {r['latency_ms']} | {r['figure']} | "
                       f"{r['controller_ms']:.0f} | {hosts} |")
    out += ["", "| target | measured | |", "|---|---:|---|"]
    for t in doc["targets"]:
        out.append(f"| {t['target']} | {t['measured']} | {t['status']} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import json
    import sys

    with open(sys.argv[1], encoding="utf-8") as handle:
        print(markdown(json.load(handle)), end="")
