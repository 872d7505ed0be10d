"""pathverdict.judgement.calibration: the shipped package table, its lookup (the fallback of
results/calibration.tsv when the per-dataset calibration is off) and the sentences built from it."""

import math

import pandas as pd

from pathverdict.judgement import calibration, claims
from pathverdict.judgement import dataset_calibration as dc


def test_the_package_table_ships_every_scenario():
    """Recomputed at realistic sizes (>= 15,000 genes), for every method of the verdict, with the
    false-positive rate as the claims count it under 5% (upper end of its 95% interval) in every scenario
    and method. As called (the verdict's status, without the selection-aware null), one row is over:
    GSEA in the selection-bias tissue scenario, where the selection moves the whole pathway with MEIS1
    and GSEA's gene-set permutations ignore that correlation (24 of 100 null studies on top;
    benchmarks/README.md); the claims count none of them. The headline method stays under 5% either way."""
    t = calibration.read_table()
    assert calibration.table_path().name == "calibration.tsv"
    scenarios = {"cells_3v3", "cells_3v3_modules", "tissue_12v12_selection", "tissue_12v12_selection_modules"}
    assert scenarios <= set(t["scenario"])
    assert {"ora_all", "ora_up", "ora_down", "camera", "gsea"} <= set(t["method"])
    assert (t["n_genes"] >= 15000).all()
    full = t[(t["scenario"] == "cells_3v3") & (t["method"] == "ora_all")].iloc[0]
    assert full["n_null"] >= 200 and full["n_planted"] >= 200  # the whole table, not --quick
    assert t["fpr_on_top"].between(0, 1).all() and (t["fpr_ci_high"] >= t["fpr_on_top"]).all()
    assert (t.loc[t["method"] == "ora_all", "fpr_ci_high"] <= 0.05).all()
    over = t[t["fpr_ci_high"] > 0.05]
    assert set(zip(over["scenario"], over["method"])) == {("tissue_12v12_selection_modules", "gsea")}
    # as counted: in a cohort selected by expression a yes only where the selection-aware null rejects
    assert (t["fpr_counted_ci_high"] <= 0.05).all() and (t["fpr_counted"] <= t["fpr_on_top"]).all()
    cells = t[t["role"] == "cells"]
    assert (cells["fpr_counted"] == cells["fpr_on_top"]).all()  # no selection: as counted = as called
    assert (cells["power_counted_by_effect"] == cells["power_by_effect"]).all()
    for raw, counted, note in zip(t["power_by_effect"], t["power_counted_by_effect"], t["counted_note"]):
        raw, counted = dc.parse_by_effect(raw), dc.parse_by_effect(counted)
        assert 1.0 in counted and all(counted[e][0] <= raw[e][0] for e in counted)
        for e in set(raw) - set(counted):  # a null not run on some studies: left out, with its bounds
            assert f"|log2FC| {e:g}: selection-aware null not run on" in note and "as counted between" in note
    for text in t["power_by_effect"]:  # |log2FC|:called/studies:95% low:95% high, at 1 and 2
        by = dc.parse_by_effect(text)
        assert {1.0, 2.0} <= set(by) and all(n >= 100 and lo <= k / n <= hi for k, n, lo, hi in by.values())


def test_dataset_rows_and_the_claims_sentence():
    sheets = {
        "cells5": pd.DataFrame({"condition": ["T"] * 5 + ["C"] * 5}),
        "tissue": pd.DataFrame({"condition": ["RLS"] * 7 + ["control"] * 12}),
    }
    ds = {
        "cells5": {"contrast": ["condition", "T", "C"], "role": "cells_overexpression"},
        "tissue": {
            "contrast": ["condition", "RLS", "control"],
            "role": "tissue",
            "select_by_expression": {"gene": "MEIS1"},
        },
    }
    rows = calibration.dataset_rows(ds, sheets).set_index("dataset")
    assert rows.loc["cells5", "design"] == "5 vs 5" and rows.loc["cells5", "scenario"] == "cells_3v3_modules"
    assert "indicative only" in rows.loc["cells5", "note"]
    assert rows.loc["tissue", "design"] == "7 vs 12"  # 7 patients kept by the selection: 12 vs 12 before it
    assert "indicative" not in rows.loc["tissue", "note"]
    assert rows.loc["tissue", "scenario"] == "tissue_12v12_selection_modules"
    assert "package table" in rows.loc["tissue", "source"]
    assert rows.loc["tissue", "source"].endswith("genes)") and rows.loc["tissue", "method"] == "ora_all"
    assert rows.loc["tissue", "power_effect"] == "|log2FC| 1 on 30% of the pathway's genes"
    everything = calibration.dataset_rows(ds, sheets, ("ora_all", "gsea", "camera"), "ora_all")
    assert list(everything["method"]) == ["ora_all", "gsea", "camera"] * 2
    assert list(everything["primary"]) == [True, False, False] * 2
    gsea = everything[everything["method"] == "gsea"].iloc[1]  # tissue: the selection-bias scenario's GSEA
    assert gsea["scenario"] == "tissue_12v12_selection_modules" and gsea["fpr_ci_high"] <= 0.05  # as counted
    assert "as called, without that null: a false 'on top' in 24/100 null studies" in gsea["note"]
    # a method the table lacks: no figures, and why (so its "no" is not earned either)
    t = calibration.read_table()
    lacking = calibration.dataset_rows(ds, sheets, ("ora_all", "gsea"), "ora_all", table=t[t["method"] != "gsea"])
    gsea = lacking[lacking["method"] == "gsea"].iloc[0]
    assert math.isnan(gsea["fpr_on_top"]) and "not in the package table for gsea" in gsea["note"]
    text = calibration.sentence(everything)
    assert text.startswith("Calibration (results/calibration.tsv)") and "cells5 (5 vs 5, ora_all)" in text
    assert "gsea" not in text  # the headline method's figures only
    table = pd.DataFrame(columns=claims.COLUMNS)
    summary = {"study": "not tested"}
    assert text in claims.paragraph(table, summary, "X", [], calibration=everything)
    assert "Calibration" not in claims.paragraph(table, summary, "X", [])


def test_the_de_engine_of_the_calibration_is_named():
    """The shipped table was made with the r_exact engine (its settings say so); a study run with another
    de.engine gets figures marked indicative, a table made with that engine (benchmarks/calibration.py
    --engine) none; the per-dataset simulations always run r_exact, and a pydeseq2 study's rows say so."""
    shipped = calibration.read_table()
    assert calibration.table_engine(shipped) == "r_exact"
    assert shipped["settings"].str.startswith("de.engine r_exact").all()
    sheets = {"cells": pd.DataFrame({"condition": ["T"] * 3 + ["C"] * 3})}
    ds = {"cells": {"contrast": ["condition", "T", "C"], "role": "cells_overexpression"}}
    same = calibration.dataset_rows(ds, sheets).iloc[0]
    assert same["note"] == "" or "engine" not in same["note"]
    other = calibration.dataset_rows(ds, sheets, engine="pydeseq2").iloc[0]
    assert "calibrated with the DE engine r_exact, this study runs pydeseq2: indicative only" in other["note"]
    assert other["fpr_on_top"] == same["fpr_on_top"]  # the figures are shown, with the note
    pyd = shipped.assign(settings="de.engine pydeseq2, " + shipped["settings"].astype(str))
    assert calibration.table_engine(pyd) == "pydeseq2"
    assert "engine" not in calibration.dataset_rows(ds, sheets, table=pyd, engine="pydeseq2").iloc[0]["note"]
    # the per-dataset simulations' DE is always the R-exact engine's: a pydeseq2 study's rows say so
    summary = dc.not_calibrated("cells", ["ora_all"], "").assign(
        n_null=4,
        n_planted=4,
        no_answer=0,
        genes=100,
        fpr_on_top=0.0,
        fpr_ci_low=0.0,
        fpr_ci_high=0.6,
        fpr_enriched=0.0,
        fpr_enriched_ci_high=0.6,
        background="",
        power_by_effect="1:2/4:0.07:0.93",
        enriched_by_effect="1:2/4:0.07:0.93",
    )
    fit = calibration.dataset_rows(ds, sheets, summaries={"cells": summary}, engine="pydeseq2").iloc[0]
    assert fit["source"].startswith("this dataset's fit") and "calibrated with the DE engine r_exact" in fit["note"]


def test_a_selected_cohort_gets_the_package_figures_as_the_claims_count_them():
    """A dataset selected by expression looked up in the package table: its false 'on top' and power are
    as the claims count them (a yes only where the selection-aware null rejects), labelled, with the raw
    figures in the note; the same design without a selection, or a table without those columns, shows
    the raw figures."""
    raw = {"fpr_on_top": 0.24, "fpr_ci_low": 0.16, "fpr_ci_high": 0.336, "n_null": 100, "n_planted": 200}
    raw |= {"power_by_effect": "1:19/100:0.118:0.281;2:14/100:0.079:0.224", "enriched_by_effect": ""}
    counted = {"fpr_counted": 0.01, "fpr_counted_ci_low": 0.0, "fpr_counted_ci_high": 0.054}
    counted |= {"fpr_enriched_counted": 0.01, "fpr_enriched_counted_ci_high": 0.054}
    counted |= {"power_counted_by_effect": "1:3/100:0.006:0.085", "enriched_counted_by_effect": ""}
    t = calibration.read_table()
    t = t[t["method"] == "gsea"].copy()
    is_tissue = t["role"] == "tissue"
    for k, v in (raw | counted).items():
        t[k] = t[k].astype(object) if k in t.columns else None
        t.loc[is_tissue, k] = v
    sheets = {d: pd.DataFrame({"condition": ["RLS"] * 7 + ["control"] * 12}) for d in ("sel", "plain")}
    ds = {
        "sel": {"contrast": ["condition", "RLS", "control"], "role": "tissue", "select_by_expression": {"gene": "M"}},
        "plain": {"contrast": ["condition", "RLS", "control"], "role": "tissue"},
    }
    rows = calibration.dataset_rows(ds, sheets, ("gsea",), "gsea", table=t).set_index("dataset")
    sel, plain = rows.loc["sel"], rows.loc["plain"]
    assert sel["fpr_on_top"] == 0.01 and sel["fpr_ci_high"] == 0.054 and sel["power"] == 0.03
    assert "as the claims count them" in sel["note"] and "a false 'on top' in 24/100 null studies" in sel["note"]
    assert "|log2FC| 1: 19/100" in sel["note"]  # the raw power beside the counted one
    assert "with the selection-aware null rejecting in 3%" in calibration.power_words(sel)
    assert "counted by the claims in 1% of null studies" in calibration.sentence(rows.reset_index())
    assert "as the claims count it 0.01" in claims.calibration_text(sel.to_dict())
    assert plain["fpr_on_top"] == 0.24 and plain["power"] == 0.19 and "count them" not in plain["note"]
    old = t.drop(columns=list(counted))  # a table made before the as-counted figures: the raw ones
    before = calibration.dataset_rows(ds, sheets, ("gsea",), "gsea", table=old).set_index("dataset")
    assert before.loc["sel", "fpr_on_top"] == 0.24 and "count them" not in before.loc["sel", "note"]
