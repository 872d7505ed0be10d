"""pathverdict.judgement.calibration: the shipped table and the per-dataset lookup (results/calibration.tsv)."""

import math

import pandas as pd

from pathverdict.judgement import calibration, claims


def test_the_package_table_ships_every_scenario():
    t = calibration.read_table()
    assert calibration.table_path().name == "calibration.tsv"
    assert {"cells_3v3", "cells_3v3_modules", "tissue_12v12_selection", "tissue_12v12_selection_modules"} <= set(
        t["scenario"]
    )
    full = t[t["scenario"] == "cells_3v3"].iloc[0]
    assert full["n_null"] >= 200 and full["n_planted"] >= 200  # the whole table, not --quick
    assert t["fpr_on_top"].between(0, 1).all() and (t["fpr_ci_high"] >= t["fpr_on_top"]).all()


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
    gsea = calibration.dataset_rows({"cells5": ds["cells5"]}, {"cells5": sheets["cells5"]}, method="gsea")
    assert math.isnan(gsea.iloc[0]["fpr_on_top"]) and "not calibrated for gsea" in gsea.iloc[0]["note"]
    text = calibration.sentence(rows.reset_index())
    assert text.startswith("Calibrated on simulated studies") and "cells5 (5 vs 5)" in text
    table = pd.DataFrame(columns=claims.COLUMNS)
    summary = {"study": "not tested"}
    assert text in claims.paragraph(table, summary, "X", [], calibration=rows.reset_index())
    assert "Calibrated" not in claims.paragraph(table, summary, "X", [])


def test_the_de_engine_of_the_calibration_is_named():
    """The shipped table was made with the r_exact engine (its settings name none: made before the
    engine choice existed); a study run with another de.engine gets figures marked indicative, a table
    made with that engine (benchmarks/calibration.py --engine) none."""
    shipped = calibration.read_table()
    assert calibration.table_engine(shipped) == "r_exact"
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
