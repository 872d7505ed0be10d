"""The terminal summary printed at the end of a run (pathverdict.summary)."""

from __future__ import annotations

import logging

import pandas as pd

from pathverdict.summary import terminal_summary

VERDICT = pd.DataFrame(
    {
        "dataset": ["null", "null", "cells_oe", "cells_oe"],
        "library": ["KEGG_2021_Human", "KEGG_2021_Human", "KEGG_2021_Human", "KEGG_2021_Human"],
        "method": ["ora_all", "gsea", "ora_all", "gsea"],
        "primary": [True, False, True, False],
        "target": ["Mineral absorption"] * 4,
        "status": ["inconclusive", "not_on_top", "on_top", "on_top"],
        "on_top": ["no", "no", "yes", "yes"],
        "rank": [None, 40, 1, 2],
        "n_terms": [3, 200, 150, 200],
        "pvalue": [None, 0.4, 1e-9, 0.001],
        "fdr": [None, 0.9, 2e-7, 0.01],
        "note": ["1 DE gene in the pathway: fewer than 3", "", "", ""],
    }
)


def test_summary_names_every_dataset_with_its_status(tmp_path):
    VERDICT.to_csv(tmp_path / "verdict.tsv", sep="\t", index=False)
    text = terminal_summary(tmp_path, target="Mineral absorption", configfile="config/demo.yaml", simulated=True)
    lines = text.splitlines()
    assert "SIMULATED" in lines[0] and "Mineral absorption" in lines[0]
    null_line = next(ln for ln in lines if ln.strip().startswith("null "))  # the dataset called `null` keeps its name
    assert "inconclusive" in null_line
    assert "fewer than 3" in lines[lines.index(null_line) + 1]  # the reason, under the dataset's line
    oe = next(ln for ln in lines if ln.strip().startswith("cells_oe"))
    assert oe.split()[1:5] == ["on", "top", "1/150", "1e-09"] and oe.split()[5] == "2e-07"
    assert "--configfile config/demo.yaml --report report.html" in text
    assert all(len(ln) <= 100 for ln in lines if not ln.startswith("Details"))  # paths may be long


def test_summary_reports_claims_and_is_empty_without_results(tmp_path):
    assert terminal_summary(tmp_path, target="X") == ""
    VERDICT.to_csv(tmp_path / "verdict.tsv", sep="\t", index=False)
    pd.DataFrame(
        {
            "claim": ["cells", "tissue", "metallothioneins"],
            "dataset": ["cells_oe", "t", "cells_oe"],
            "role": ["cells_overexpression", "tissue", "cells_overexpression"],
            "holds": ["yes", "no", "yes"],
            "evidence": ["", "", ""],
        }
    ).to_csv(tmp_path / "claims.tsv", sep="\t", index=False)
    text = terminal_summary(tmp_path, target="Mineral absorption")
    assert "cells reproduced" in text and "tissue not reproduced" in text
    assert "Study: PARTLY REPRODUCED" in text
    assert "--configfile" not in text


def test_summary_shows_the_set_score_null(tmp_path):
    VERDICT.to_csv(tmp_path / "verdict.tsv", sep="\t", index=False)
    pd.DataFrame(
        {
            "dataset": ["null", "cells_oe", "cells_oe"],
            "library": ["KEGG_2021_Human"] * 3,
            "method": ["set_score", "set_score", "ora_all"],
            "empirical_p": [None, 0.1, None],
            "min_p": [0.1, 0.1, 0.1],
            "informative": ["no", "yes", "no"],
        }
    ).to_csv(tmp_path / "null.tsv", sep="\t", index=False)
    lines = terminal_summary(tmp_path, target="T").splitlines()
    assert next(ln for ln in lines if ln.strip().startswith("null ")).endswith("uninformative")
    assert next(ln for ln in lines if ln.strip().startswith("cells_oe")).endswith("0.1 (smallest possible)")


def test_the_answer_after_a_run_with_nothing_to_do():
    """Snakemake returns without calling onsuccess when nothing is to be done: the watcher on its
    logger notices the message and the answer is printed at exit (not in a dry run)."""
    from snakemake.common import NOTHING_TO_BE_DONE_MSG
    from snakemake.logging import logger

    from pathverdict.summary import NothingToDoWatcher

    calls = []
    dry = [False]
    watcher = NothingToDoWatcher(lambda: calls.append("answer"), skip=lambda: dry[0])
    logger.addFilter(watcher)
    level = logger.level
    logger.setLevel(logging.INFO)  # as Snakemake sets it for a run
    try:
        logger.info("Building DAG of jobs...")
        watcher.at_exit()
        assert calls == []  # a run with jobs: onsuccess prints the answer, not the watcher
        logger.info(NOTHING_TO_BE_DONE_MSG)
        dry[0] = True
        watcher.at_exit()
        assert calls == []  # a dry run with nothing to do
        dry[0] = False
        watcher.at_exit()
        assert calls == ["answer"]
    finally:
        logger.removeFilter(watcher)
        logger.setLevel(level)


def test_end_of_run_records_and_prints(tmp_path, capsys):
    from pathverdict.summary import end_of_run

    VERDICT.to_csv(tmp_path / "verdict.tsv", sep="\t", index=False)
    end_of_run(
        tmp_path / ".pathverdict-run.json",
        ["null", "cells_oe"],
        ["demo.yaml"],
        study="demo",
        target="Mineral absorption",
    )
    out = capsys.readouterr().out
    assert "pathverdict: is Mineral absorption on top?" in out and "--configfile demo.yaml" in out
    record = (tmp_path / ".pathverdict-run.json").read_text()
    assert '"datasets"' in record and '"study": "demo"' in record


def test_summary_says_what_the_power_makes_of_a_not_on_top(tmp_path):
    """results/calibration.tsv: under a dataset whose headline answer is "not on top", the power of its
    design in the claims page's words and what it makes of that answer (the power rule)."""
    from pathverdict.judgement import calibration

    verdict = VERDICT.copy()
    verdict.loc[0, ["status", "rank", "pvalue", "fdr", "note"]] = ["not_on_top", 30, 0.3, 0.8, "rank 30 > top 1"]
    verdict.to_csv(tmp_path / "verdict.tsv", sep="\t", index=False)
    row = {c: "" for c in calibration.COLUMNS} | {
        "library": "KEGG_2021_Human", "method": "ora_all", "primary": True, "design": "3 vs 3",
        "fpr_on_top": 0.0, "fpr_ci_high": 0.07, "min_power": 0.8, "power": 0.18, "power_ci_low": 0.08,
        "power_ci_high": 0.33, "power_effect": "|log2FC| 1 on 30% of the pathway's genes",
    }  # fmt: skip
    rows = [
        row | {"dataset": "null"},
        row | {"dataset": "cells_oe"},
        row | {"dataset": "null", "method": "gsea", "primary": False, "power": 0.9},
    ]
    pd.DataFrame(rows, columns=calibration.COLUMNS).to_csv(tmp_path / "calibration.tsv", sep="\t", index=False)
    text = terminal_summary(tmp_path, target="Mineral absorption")
    flat = " ".join(text.split())
    words = calibration.power_words(row)
    assert f"↳ {words}: power below 0.8: a 'not on top' here is inconclusive, not a no" in flat
    assert flat.count(words) == 1  # cells_oe is on top: nothing to say about a "no"
    assert all(len(ln) <= 100 for ln in text.splitlines() if not ln.startswith("Details"))
    # a negative control's "not on top" is its check passing: power does not qualify it, the terminal says nothing
    check = {"claim": "negative_control", "dataset": "null", "role": "negative_control", "holds": "yes"}
    pd.DataFrame([check | {"evidence": "not on top", "null": ""}]).to_csv(
        tmp_path / "claims.tsv", sep="\t", index=False
    )
    flat = " ".join(terminal_summary(tmp_path, target="Mineral absorption").split())
    assert words not in flat and "Negative control (target expected not on top): passed" in flat
