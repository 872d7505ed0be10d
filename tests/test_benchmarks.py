"""The benchmark harness (benchmarks/run.py) in its tiny mode, and the parsers it relies on.
No timing assertions: only that it runs and prints the table it promises."""

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import REPO

RUN = REPO / "benchmarks" / "run.py"
BASE_COLUMNS = [
    "case",
    "genes in / tested x samples",
    "runs",
    "ours wall s",
    "ours CPU s",
    "ours DE s",
    "ours peak RSS MB",
]
STEP_COLUMNS = ["step wall s", "step CPU s", "step peak RSS MB"]
R_COLUMNS = ["R wall s", "R DE s", "R peak RSS MB", "ours/R wall", "ours/R DE", "LFC Pearson", "padj-call agree %"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("pathverdict_bench_run", RUN)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _table(text: str) -> tuple[list[str], list[list[str]]]:
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")
    ]
    return rows[0], rows[1:]


def test_quick_mode_prints_one_table(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            "--no-r",
            "--step",
            "--cache",
            str(tmp_path / "cache"),
            "--json",
            str(out_json),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "R DESeq2 not run" in proc.stdout
    head, rows = _table(proc.stdout)
    assert head == BASE_COLUMNS + STEP_COLUMNS + ["targets", "notes"]
    assert [r[0] for r in rows] == ["synthetic_quick_2000x6"]
    row = dict(zip(head, rows[0]))
    assert row["runs"] == "1"
    genes_in, rest = row["genes in / tested x samples"].split(" / ")
    assert genes_in == "2000" and rest.endswith(" x 6")
    for col in ["ours wall s", "ours CPU s", "ours DE s", "ours peak RSS MB", *STEP_COLUMNS]:
        assert float(row[col]) > 0, col
    # the whole DE step (read, fit, write de.tsv + normalised counts + VST) is part of the memory check
    assert "rss incl. whole step ok" in row["targets"]
    raw = json.loads(out_json.read_text())
    assert raw["columns"] == head and len(raw["de"]) == 1
    # the synthetic matrix is cached and reused
    assert len(list((tmp_path / "cache" / "synthetic").glob("synthetic_quick_2000x6_*/counts.tsv"))) == 1


def test_table_with_r_and_workflow_rows(bench):
    de_row = bench.DERow(
        "li2008_lncap",
        genes_in=100,
        genes_tested=80,
        samples=7,
        runs=3,
        ours_wall=[2.0, 2.2, 2.1],
        ours_fit=[0.3, 0.4, 0.35],
        ours_rss=[230, 231, 229],
        r_wall=[9.0, 9.5, 9.2],
        r_fit=[3.0, 3.1, 2.9],
        r_rss=[760, 761, 760],
        fidelity={"lfc_pearson": 1.0, "call_agreement_pct": 100.0, "pass": True},
    )
    cold = bench.WorkflowRow(
        "demo workflow, cold, --cores 2",
        2,
        "cold",
        wall=[60.0],
        max_rss_mb=300,
        jobs=37,
        largest_job=("gsea", "demo_tissue", 290.0, 4.0),
        slowest_job=("null_permutations", "demo_tissue", 228.0, 8.0),
        max_at_once=2,
        datasets_at_once=2,
    )
    warm = bench.WorkflowRow("demo workflow, warm, --cores 2", 2, "warm", wall=[2.5, 2.4, 2.6], max_rss_mb=130)
    head, rows = bench.build_table([de_row], [cold, warm], with_r=True)
    assert head == BASE_COLUMNS + R_COLUMNS + ["targets", "notes"]
    assert all(len(r) == len(head) for r in rows)
    de = dict(zip(head, rows[0]))
    assert de["ours/R wall"] == f"{2.1 / 9.2:.2f}" and de["ours/R DE"] == f"{0.35 / 3.0:.2f}"
    assert "<=1.5x ok" in de["targets"] and "fidelity ok" in de["targets"]
    wf = dict(zip(head, rows[1]))
    assert "parallel ok" in wf["targets"] and "largest job gsea[demo_tissue]" in wf["notes"]
    assert dict(zip(head, rows[2]))["ours wall s"] == "2.5"
    assert "|" in bench.format_markdown(head, rows)


def test_memory_bound_covers_the_whole_step(bench):
    """On a case of >= 20 M cells the 2 GB bound is asserted on the fit AND the whole DE step."""
    big = dict(genes_in=60000, genes_tested=59000, samples=2000, runs=1, ours_wall=[300.0], ours_fit=[290.0])
    fit_ok_step_over = bench.DERow(
        "synthetic_60000x2000",
        **big,
        ours_rss=[950.0],
        ours_cpu=[400.0],
        step_wall=[600],
        step_cpu=[650],
        step_rss=[2100.0],
    )
    both_ok = bench.DERow(
        "synthetic_60000x2000",
        **big,
        ours_rss=[950.0],
        ours_cpu=[400.0],
        step_wall=[600],
        step_cpu=[650],
        step_rss=[1300.0],
    )
    small = bench.DERow(
        "small",
        genes_in=100,
        genes_tested=90,
        samples=6,
        runs=1,
        ours_wall=[1.0],
        ours_fit=[0.1],
        ours_rss=[3000.0],
        ours_cpu=[1.0],
    )
    head, rows = bench.build_table([fit_ok_step_over, both_ok, small], [], with_r=False)
    assert head == BASE_COLUMNS + STEP_COLUMNS + ["targets", "notes"]
    t = [dict(zip(head, r)) for r in rows]
    assert t[0]["targets"] == "rss incl. whole step MISSED (asserted)"
    assert t[1]["targets"] == "rss incl. whole step ok (asserted)" and t[1]["step peak RSS MB"] == "1300"
    assert t[2]["targets"] == "rss MISSED" and t[2]["step wall s"] == "-"
    assert bench.peak_rss(fit_ok_step_over) == 2100.0
    assert bench.is_large(bench.CASES["synthetic_60000x2000"], None, None)
    assert bench.is_large(bench.CASES["synthetic_60000x600"], None, None)  # 36 M cells
    assert not bench.is_large(bench.CASES["synthetic_30000x200"], None, None)  # 6 M cells


def test_parse_time_v(bench):
    text = (
        '\tCommand being timed: "python x.py"\n\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\n'
        "\tMaximum resident set size (kbytes): 204800\n\tExit status: 0\n"
    )
    assert bench.parse_time_v(text) == (62.5, 200.0)
    wall, rss, cpu = bench.parse_time_v_cpu(text)
    assert (wall, rss) == (62.5, 200.0) and cpu != cpu  # no CPU lines: NaN
    with_cpu = text + "\tUser time (seconds): 50.25\n\tSystem time (seconds): 2.50\n"
    assert bench.parse_time_v_cpu(with_cpu) == (62.5, 200.0, 52.75)
    assert bench.parse_time_v(text.replace("1:02.50", "1:00:01"))[0] == 3601.0
    with pytest.raises(ValueError):
        bench.parse_time_v("nothing here")


def test_measure_without_usr_bin_time(bench, monkeypatch):
    monkeypatch.setattr(bench, "TIME_BIN", "/nonexistent/time")
    m = bench.measure([sys.executable, "-c", "print('hi')"])
    assert m.returncode == 0 and m.stdout.strip() == "hi" and m.max_rss_mb > 0 and m.how == "wait4"


def test_concurrency_and_benchmark_files(bench, tmp_path):
    log = "\n".join(
        [
            "[Sat Nov 21 06:18:44 2026]",
            "rule deseq2:",
            "    input: a",
            "    jobid: 5",
            "    reason: x",
            "    wildcards: dataset=d1",
            "",
            "[Sat Nov 21 06:18:44 2026]",
            "rule deseq2:",
            "    jobid: 6",
            "    wildcards: dataset=d2",
            "",
            "[Sat Nov 21 06:18:46 2026]",
            "Finished jobid: 5 (Rule: deseq2)",
            "[Sat Nov 21 06:18:46 2026]",
            "localrule verdict:",
            "    jobid: 7",
            "",
            "Finished jobid: 6 (Rule: deseq2)",
            "Finished jobid: 7 (Rule: verdict)",
        ]
    )
    assert bench.concurrency_from_log(log) == (3, 2, 2)
    folder = tmp_path / "logs" / "demo" / "benchmarks" / "deseq2"  # logs/<study>/benchmarks/<rule>/
    folder.mkdir(parents=True)
    (folder / "d1.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "2.45\t0:00:02\t220.26\t430.28\t147.66\t171.41\t0.00\t0.29\t55.89\t1.86\n"
    )
    assert bench.read_benchmark_files(tmp_path) == [("deseq2", "d1", 220.26, 2.45)]


# --------------------------------------------------------------------------- calibration

CALIBRATION = REPO / "benchmarks" / "calibration.py"


@pytest.mark.shared
def test_calibration_quick_mode_writes_the_table_lookup_reads(tmp_path, shared):
    """benchmarks/calibration.py --quick: a few studies per scenario through the workflow's functions;
    the table has every scenario, rates in [0, 1], and pathverdict.judgement.calibration reads it."""
    import os

    import pandas as pd

    from pathverdict.judgement import calibration
    from pathverdict.judgement import dataset_calibration as dc

    out = tmp_path / "cal.tsv"
    env = {**os.environ, "PATHVERDICT_SHARED": str(shared)}
    proc = subprocess.run(
        [sys.executable, str(CALIBRATION), "--quick", "--processes", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "calibration:" in proc.stdout and "fpr_on_top" in proc.stdout
    t = calibration.read_table(out)
    assert list(dict.fromkeys(t["scenario"])) == [
        "cells_3v3",
        "cells_3v3_modules",
        "tissue_12v12_selection",
        "tissue_12v12_selection_modules",
    ]
    assert list(t["method"].iloc[:5]) == ["ora_all", "ora_up", "ora_down", "camera", "gsea"]  # every method
    assert list(t.columns[:3]) == ["scenario", "role", "n_per_group"]
    for col in ["fpr_on_top", "fpr_ci_high", "fpr_enriched", "inconclusive_null", "power", "fpr_metallothioneins"]:
        assert t[col].between(0, 1).all(), col
    head = t[t["method"] == "ora_all"]
    assert (head["n_null"] == [6, 6, 3, 3]).all()  # cells null studies have two datasets
    assert (t["fpr_ci_high"] >= t["fpr_on_top"]).all()
    assert set(head["claim"]) == {"cells", "tissue"} and t.loc[t["method"] != "ora_all", "claim"].isna().all()
    assert all(k == round(p * n) for k, n, _, _ in [dc.parse_by_effect(x)[1.0] for x in t["power_by_effect"]]
               for p in [k / n])  # fmt: skip
    assert "de.alpha 0.05" in t["settings"].iloc[0] and "min_overlap 3" in t["settings"].iloc[0]
    hit = calibration.lookup(3, "ora_all", "cells_overexpression", table=t)
    assert hit["scenario"] == "cells_3v3_modules" and hit["match"] == "exact"
    assert (
        calibration.lookup(12, "ora_all", "tissue", selection=True, table=t)["scenario"]
        == "tissue_12v12_selection_modules"
    )
    near = calibration.lookup(5, "ora_all", "cells_loss_of_function", table=t)
    assert near["match"] == "nearest" and "indicative only" in near["note"]
    assert calibration.lookup(3, "gsea", "cells_overexpression", table=t)["match"] == "exact"
    assert calibration.lookup(3, "gsea", "cells_overexpression", table=head)["match"] == "none"
    sheets = {"a": pd.DataFrame({"sample": list("abcdef"), "condition": ["T"] * 3 + ["C"] * 3})}
    rows = calibration.dataset_rows(
        {"a": {"contrast": ["condition", "T", "C"], "role": "cells_overexpression"}}, sheets, table=t
    )
    assert list(rows.columns) == calibration.COLUMNS and rows.iloc[0]["design"] == "3 vs 3"
    assert rows.iloc[0]["scenario"] == "cells_3v3_modules"


@pytest.mark.shared
@pytest.mark.parametrize("script", ["calibration_cost.py", "on_top_rules.py"])
def test_calibration_cost_and_rules_quick(script, shared):
    """benchmarks/calibration_cost.py and benchmarks/on_top_rules.py --quick run and print their tables."""
    import os

    env = {**os.environ, "PATHVERDICT_SHARED": str(shared)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if script == "calibration_cost.py":
        assert "CPU s per study" in proc.stdout and "GSEA" in proc.stdout and "ora_all" in proc.stdout
    else:
        assert "| marioni" in proc.stdout and "distinct" in proc.stdout and "fdr_only" in proc.stdout


# --------------------------------------------------------------------------- job resources (rules/common.smk)


def _resource_model() -> dict:
    """The resource block of rules/common.smk (constants and the *_for functions), run on its own."""
    import os

    from pathverdict.tables import estimate_cells

    text = (REPO / "rules" / "common.smk").read_text()
    block = text[text.index("MIN_MEM_MB = ") : text.index("def enrichment_runtime(")]
    ns = {"os": os, "estimate_cells": estimate_cells}
    exec(compile(block, "rules/common.smk", "exec"), ns)
    return ns


# measured (benchmarks/README.md, "Cohort-sized matrices" and "The label-permutation null")
STEP_120M_PEAK_MB = 1304  # steps.run_de, 60,000 x 2,000, 2 threads (/usr/bin/time: 1,335,024 kB)
STEP_120M_CPU_S = 613.8  # its user + system seconds (530.9 + 82.9)
NULL_12V12_CPU_S = 148.3  # 200 relabelings + the observed labels, 20,000 genes x 24 samples, set score + ORA
LOO_12V12_CPU_S = 87.8  # leaving 6 samples out of 20,000 genes x 24 samples, every method, GSEA 1,000 (samples_time.py)


def test_de_job_resources_follow_the_measured_figures():
    """mem_mb of the DE jobs covers the measured peak of the whole step and stays under the issue's
    2 GB bound at 120 M cells; it is a fixed part + the matrix + a part per thread; the runtimes cover
    the measured CPU seconds (one core) with room to spare."""
    m = _resource_model()
    mem = m["de_mem_mb_for"]
    assert STEP_120M_PEAK_MB * 1.1 <= mem(120e6, 2) <= 2048
    assert mem(1e5, 1) == m["MIN_MEM_MB"]  # small jobs: the floor
    assert mem(60e6, 2) - mem(30e6, 2) == pytest.approx(mem(90e6, 2) - mem(60e6, 2))  # linear in cells
    assert mem(120e6, 2) - mem(120e6, 1) == pytest.approx(m["DE_BLOCK_MB"] * m["DE_MEM_MARGIN"])
    assert 2 * STEP_120M_CPU_S / 60 <= m["de_runtime_for"](120e6) <= 20 * STEP_120M_CPU_S / 60
    null = m["null_runtime_for"](20000 * 24, 200)
    assert 2 * NULL_12V12_CPU_S / 60 <= null <= 60  # 200 relabelings of a 12 vs 12 tissue study: under an hour
    assert m["null_runtime_for"](20000 * 24, 200, 1000) > 10 * null / 2  # GSEA in the null dominates
    # leaving one sample out (the enrichment job): the default 6 removals with GSEA, twice the measured CPU
    assert 2 * LOO_12V12_CPU_S / 60 <= m["loo_runtime_for"](20000 * 24, 6, 1000) <= 60


# measured (benchmarks/README.md, "The two DE engines"): pydeseq2 0.5.4 on 2 threads, the process and its workers
PYDESEQ2_MEASURED = [  # (genes, samples, CPU s, peak MB)
    (22743, 7, 66.3, 729),  # li2008_lncap
    (9010, 4, 27.2, 679),  # sultan2008_hek293t
    (5088, 10, 17.9, 667),  # marioni2008_kidney_liver
    (10101, 85, 40.0, 776),  # geuvadis_lcl_sex
]


def test_pydeseq2_job_resources_follow_the_measured_figures():
    """The pydeseq2 engine's jobs (de.engine: pydeseq2, or deseq2_engine for the engine sensitivity) ask
    for the measured peak of the process and its workers with room, and for twice its CPU time or more."""
    m = _resource_model()
    for genes, samples, cpu, peak in PYDESEQ2_MEASURED:
        cells = genes * samples
        assert peak * 1.1 <= m["de_mem_mb_for"](cells, 2, "pydeseq2") <= 4 * peak
        assert 2 * cpu / 60 <= m["de_runtime_for"](cells, "pydeseq2", samples) - m["DE_FIXED_MIN"] <= 20 * cpu / 60
        # far more than the r_exact step on the same matrix
        assert m["de_runtime_for"](cells, "pydeseq2", samples) > m["de_runtime_for"](cells)
    # one thread: no worker processes
    assert m["de_mem_mb_for"](1e6, 1, "pydeseq2") < m["de_mem_mb_for"](1e6, 2, "pydeseq2")
    assert m["null_runtime_for"](10101 * 85, 20, None, "pydeseq2", 85) > 20 * 2 * 40.0 / 60


@pytest.fixture(scope="module")
def cal():
    spec = importlib.util.spec_from_file_location("pathverdict_bench_calibration", CALIBRATION)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _study(kind: str, seed: int, calls: dict, **null) -> dict:
    """A simulated tissue study's record as benchmarks/calibration.py stores it: method -> (status, fdr)."""
    return {
        "scenario": "tissue_12v12_selection_modules",
        "kind": kind,
        "seed": seed,
        "log2fc": 0.0 if kind == "null" else 1.0,
        "statuses": [{m: st for m, (st, _) in calls.items()}],
        "records": [{m: {"status": st, "fdr": fdr} for m, (st, fdr) in calls.items()}],
        **null,
    }


def test_calibration_counts_a_selected_on_top_only_when_the_selection_aware_null_rejects(cal):
    """The package table's as-counted rates follow the claims' rule (claim_tests.qualify_by_selection): in a
    cohort selected by expression, GSEA's "on top" counts only where the selection-aware null said yes; the
    raw rate stays; a study whose null was not run makes the figure missing (with bounds), never a no."""
    on, off = ("on_top", 0.001), ("not_on_top", 0.6)
    nulls = [
        _study("null", 1, {"gsea": on, "ora_all": off}, null_answer="no"),  # the selection explains it
        _study("null", 2, {"gsea": on, "ora_all": on}, null_answer="yes"),  # the null rejects: counted
        _study("null", 3, {"gsea": on, "ora_all": off}, null_run=True, null_p=0.19),  # an older record: p only
        _study("null", 4, {"gsea": off, "ora_all": off}),  # nothing on top: no null needed
    ]
    kw = {"max_fdr": 0.05, "alpha": 0.05, "headline": 1.0}
    got = cal.as_counted(nulls, {1.0: nulls[:2]}, "gsea", selected=True, **kw)
    assert cal._tally(nulls, "gsea", "on_top", max_fdr=0.05, alpha=0.05, selected=True) == (4, 3, 1, 0)
    assert got["fpr_counted"] == 0.25 and 0.25 < got["fpr_counted_ci_high"] < 1
    assert got["fpr_enriched_counted"] == 0.25  # enriched (FDR 0.001) is qualified the same way
    assert got["power_counted_by_effect"].startswith("1:1/2:") and got["power_counted"] == 0.5
    assert "selection-aware set_score null" in got["counted_note"]
    # the same studies without a selection: counted as called
    plain = cal.as_counted(nulls, {}, "gsea", selected=False, **kw)
    assert plain["fpr_counted"] == 0.75 and "as counted = as called" in plain["counted_note"]
    # an older record whose null gave p <= alpha: that null's yes
    assert cal._null_yes({"null_run": True, "null_p": 0.0476}, 0.05) is True
    assert cal._null_yes({"null_run": True, "null_p": float("nan")}, 0.05) is False  # uninformative: no p
    # a null not run: no as-counted figure, and the note gives its bounds
    missing = cal.as_counted(nulls + [_study("null", 5, {"gsea": on})], {}, "gsea", selected=True, **kw)
    assert missing["fpr_counted"] != missing["fpr_counted"]  # NaN
    assert "not run on 1 of the 4 called on top: as counted between 1/5 and 2/5" in missing["counted_note"]
    # enriched but not on top, its null not run: the 'on top' figure is known (not on top), 'enriched' is not
    half = cal.as_counted(nulls + [_study("null", 6, {"gsea": ("not_on_top", 0.01)})], {}, "gsea", selected=True, **kw)
    assert half["fpr_counted"] == 0.2 and half["fpr_enriched_counted"] != half["fpr_enriched_counted"]


def test_calibration_readme_table_shows_both_rates_and_records_merge(cal, tmp_path):
    """The README table prints the false 'on top' and the power as called and as counted side by side; a
    second --records file adds its method to the studies of the first without replacing theirs."""
    import pandas as pd

    row = {
        "scenario": "tissue_12v12_selection_modules",
        "method": "gsea",
        "n_null": 100,
        "fpr_on_top": 0.24,
        "fpr_ci_high": 0.336,
        "fpr_counted": 0.01,
        "fpr_counted_ci_high": 0.054,
        "power_by_effect": "1:19/100:0.118:0.281;2:14/100:0.079:0.224",
        "power_counted_by_effect": "1:3/100:0.006:0.085",
    }
    text = cal.readme_table(pd.DataFrame([row]))
    assert "24/100 = 0.240 (≤ 0.336)" in text and "1/100 = 0.010 (≤ 0.054)" in text
    assert "19/100 = 0.190" in text and "3/100 = 0.030" in text and "not computed" in text  # no counted at 2
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(_study("null", 1, {"ora_all": ("not_on_top", 0.5)}, null_run=False)) + "\n")
    b.write_text(json.dumps(_study("null", 1, {"gsea": ("on_top", 0.001), "ora_all": ("on_top", 0.01)})) + "\n")
    (merged,) = cal.read_records([a, b])
    assert merged["statuses"][0] == {"ora_all": "not_on_top", "gsea": "on_top"}
    assert merged["records"][0]["gsea"]["fdr"] == 0.001 and merged["null_run"] is False
