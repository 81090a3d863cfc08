"""The benchmark's arithmetic (bench/stats.py): medians, ratios, growth, target verdicts, the
shape of results.json, the Markdown tables, and the count of an Ansible PLAY RECAP. Pure:
made-up timings and a recorded recap, no lab."""
from __future__ import annotations

import json

import pytest

from bench import stats


def test_median_of_odd_even_and_no_samples():
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert stats.median([]) is None


@pytest.mark.parametrize("num, den, expected", [(6.0, 3.0, 2.0), (None, 3.0, None), (6.0, None, None),
                                                (6.0, 0.0, None)])
def test_ratio(num, den, expected):
    assert stats.ratio(num, den) == expected


def test_make_run_has_every_issue_field_as_a_median_and_keeps_the_samples():
    run = stats.make_run(100, 0, {"floor_s": [2.0, 1.0, 3.0], "check_s": [4.0, 5.0, 6.0],
                                  "floor_fix_s": [1.5, 1.4, 1.6]}, {"peak_rss_mb": 210.5})
    for field in stats.RUN_FIELDS:
        assert field in run
    assert (run["courts"], run["latency_ms"]) == (100, 0)
    assert run["floor_s"] == 2.0 and run["check_s"] == 5.0
    assert run["fix_s"] is None  # not measured is null, never zero
    assert run["floor_fix_s"] == 1.5  # extra figures are kept too
    assert run["samples"]["check_s"] == [4.0, 5.0, 6.0]
    assert run["peak_rss_mb"] == 210.5


def _runs():
    return [
        stats.make_run(100, 0, {"floor_s": [2.0], "floor_fix_s": [2.5], "check_s": [3.0],
                                "noop_fix_s": [5.0], "fix_s": [20.0], "ansible_check_s": [60.0],
                                "ansible_fix_s": [80.0]}, {"peak_rss_mb": 200.0}),
        stats.make_run(382, 0, {"floor_s": [8.0], "check_s": [20.0], "noop_fix_s": [30.0],
                                "fix_s": [70.0]}, {"peak_rss_mb": 620.0}),
        stats.make_run(382, 150, {"floor_s": [12.0], "check_s": [45.0]}),
    ]


def test_ratios_per_run_and_growth():
    r = stats.ratios(_runs())
    per = {(e["courts"], e["latency_ms"]): e for e in r["per_run"]}
    assert per[(100, 0)]["check_over_floor"] == pytest.approx(1.5)
    # the no-op fix is set against the floor at the fix's own parallelism when there is one
    assert per[(100, 0)]["noop_fix_over_floor"] == pytest.approx(2.0)
    assert per[(382, 0)]["noop_fix_over_floor"] == pytest.approx(30 / 8)
    assert per[(100, 0)]["ansible_over_tepat_check"] == pytest.approx(20.0)
    assert per[(100, 0)]["ansible_over_tepat_fix"] == pytest.approx(4.0)
    assert per[(382, 0)]["ansible_over_tepat_check"] is None
    (g,) = r["growth"]
    assert (g["from"], g["to"], g["latency_ms"]) == (100, 382, 0)
    assert g["linear"] == pytest.approx(3.82)
    assert g["check_s"] == pytest.approx(20 / 3)
    assert g["ansible_check_s"] is None


def test_targets_are_reported_met_not_met_or_not_measured():
    verdicts = {v.target.split(" (")[0]: v for v in stats.targets(_runs())}
    assert verdicts["check <= 2x floor"].status == "not met"  # 20 / 8 = 2.5
    assert verdicts["no-op fix <= 3x floor"].status == "not met"  # 30 / 8 = 3.75
    ansible_check = verdicts["Ansible/tepat check >= 5x"]
    assert ansible_check.status == "met" and "largest N Ansible ran" in ansible_check.target
    assert verdicts["Ansible/tepat fix >= 5x"].status == "not met"  # 4x at 100
    assert verdicts["check_s growth 100->382 <= linear"].status == "not met"  # 6.67x > 3.82x
    assert verdicts["fix_s growth 100->382 <= linear"].status == "met"  # 3.5x
    assert verdicts["check with 150 ms links < 60 s"].status == "met"
    assert verdicts["controller peak memory < 500 MB"].status == "not met"


def test_targets_name_the_size_they_fall_back_to():
    runs = [stats.make_run(50, 0, {"floor_s": [1.0], "check_s": [1.5]})]
    verdicts = stats.targets(runs)
    assert verdicts[0].status == "met"
    assert "at 50 courts: 382 not measured" in verdicts[0].target
    assert all(v.status == "not measured" for v in verdicts[1:] if "peak" not in v.target)


def test_results_document_is_json_with_the_issue_shape():
    doc = stats.results_document(list(reversed(_runs())), {"notes": []})
    text = json.dumps(doc)
    back = json.loads(text)
    assert [(r["courts"], r["latency_ms"]) for r in back["runs"]] == [(100, 0), (382, 0), (382, 150)]
    for run in back["runs"]:
        assert set(stats.RUN_FIELDS) <= set(run)
    assert {"per_run", "growth"} <= set(back["ratios"])
    assert all(t["status"] in ("met", "not met", "not measured") for t in back["targets"])


def test_tables_show_every_run():
    table = stats.table(_runs())
    assert len(table.splitlines()) == 4 and "382" in table and "45.00" in table
    assert "growth 100->382 @ 0 ms" in stats.ratio_table(_runs())


def test_markdown_has_a_row_per_run_and_a_line_per_target():
    doc = stats.results_document(_runs(), {})
    md = stats.markdown(doc)
    rows = [l for l in md.splitlines() if l.startswith("| 382 | 150 |")]
    assert len(rows) == 2  # one in the figures table, one in the ratios table
    assert "45.00" in rows[0] and "3.75" in rows[1]
    assert md.count("| not met |") == 6 and md.count("| met |") == 3


RECAP = """\
PLAY RECAP *********************************************************************
pn-biak                    : ok=17   changed=7    unreachable=0    failed=0    skipped=4    rescued=0    ignored=0
pn-kasongan                : ok=16   changed=0    unreachable=0    failed=1    skipped=3    rescued=0    ignored=0
pn-kepahiang               : ok=14   changed=0    unreachable=0    failed=0    skipped=5    rescued=0    ignored=0
pn-tobelo                  : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""


def test_ansible_recap_is_counted_per_host_outcome():
    """A PLAY RECAP as ansible-core 2.19 prints it (recorded from a bench run, shortened)."""
    from bench.main import recap_counts

    assert recap_counts("TASK [x]\nok: [a]\n" + RECAP) == {"ok": 1, "changed": 1, "failed": 1, "unreachable": 1}


def test_growth_falls_back_to_the_largest_smaller_size_that_has_the_figure():
    runs = [stats.make_run(20, 0, {"check_s": [2.0], "fix_s": [10.0]}),
            stats.make_run(100, 0, {"check_s": [5.0]}),
            stats.make_run(382, 0, {"check_s": [19.0], "fix_s": [40.0]})]
    verdicts = {v.target.split(" <=")[0]: v for v in stats.targets(runs)}
    assert verdicts["check_s growth 100->382"].measured == "3.80x"
    fix = verdicts["fix_s growth 20->382"]
    assert fix.measured == "4.00x" and fix.status == "met"  # linear would be 19.1x


def test_cpu_split_is_per_court_and_in_the_markdown():
    """The controller/hosts CPU split: medians of the samples, divided by the courts."""
    runs = [stats.make_run(100, 0, {"floor_s": [6.0], "floor_cpu_s": [8.0, 8.2, 8.4],
                                    "floor_hosts_cpu_s": [4.0, 4.4, 4.2],
                                    "check_s": [14.0], "check_cpu_s": [9.5],
                                    "noop_fix_s": [9.0], "noop_fix_cpu_s": [3.0]})]
    rows = {r["figure"]: r for r in stats.cpu_rows(runs)}
    assert set(rows) == {"floor", "check", "noop_fix"}
    assert round(rows["floor"]["controller_ms"]) == 82 and round(rows["floor"]["hosts_ms"]) == 42
    assert rows["noop_fix"]["hosts_ms"] is None  # not measured: not invented
    md = stats.markdown(stats.results_document(runs, {}))
    assert "| 100 | 0 | floor | 82 | 42 |" in md and "| 100 | 0 | noop_fix | 30 | - |" in md


def test_memory_is_judged_on_the_charged_pages_when_measured():
    """The RSS sum counts each ssh client's shared libraries again: an upper bound, shown;
    the verdict takes the cgroup-charged peak (each page once) when there is one."""
    def verdict(extra):
        runs = [stats.make_run(382, 0, {"check_s": [1.0]}, extra)]
        return next(v for v in stats.targets(runs) if v.target.startswith("controller peak memory"))
    both = verdict({"peak_rss_mb": 620.0, "memory_peak_mb": 190.0})
    assert both.status == "met" and both.measured == "190 MB charged; 620.00 MB RSS sum"
    assert verdict({"peak_rss_mb": 620.0}).status == "not met"
