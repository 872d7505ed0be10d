"""The study's claims per dataset role, and the overall answer."""
import numpy as np
import pandas as pd

from pathverdict import claims


def verdict_rows(rows):
    base = {"library": "KEGG", "method": "ora_all", "primary": True, "n_terms": 200, "pvalue": 1e-5,
            "genes": "HMOX1;VDR;MT2A", "note": ""}
    return pd.DataFrame([{**base, **r} for r in rows])


def gene_rows(rows):
    return pd.DataFrame([{"reason": "requested", "log2FoldChange": 1.0, "padj": 0.001, **r} for r in rows])


def test_all_claims_hold():
    v = verdict_rows([{"dataset": "oe", "on_top": "yes", "rank": 1, "fdr": 1e-3},
                      {"dataset": "kd", "on_top": "yes", "rank": 1, "fdr": 1e-3},
                      {"dataset": "thal", "on_top": "no", "rank": 4, "fdr": 0.01}])
    g = gene_rows([{"dataset": d, "symbol": s, "status": "up"} for d in ("oe", "kd") for s in ("HMOX1", "VDR")]
                  + [{"dataset": d, "symbol": "MT2A", "status": "down", "reason": "pattern"} for d in ("oe", "kd", "thal")])
    roles = {"oe": "cells_overexpression", "kd": "cells_loss_of_function", "thal": "tissue"}
    t = claims.evaluate(v, g, roles, target="Mineral absorption")
    assert set(t["holds"]) == {"yes"}
    s = claims.summarise(t)
    assert s == {"cells": "reproduced", "tissue": "reproduced", "metallothioneins": "reproduced",
                 "study": "reproduced"}
    assert "REPRODUCED" in claims.paragraph(t, s, "Mineral absorption", ("HMOX1", "VDR"))


def test_partly_and_not():
    v = verdict_rows([{"dataset": "oe", "on_top": "yes", "rank": 1, "fdr": 1e-3},
                      {"dataset": "kd", "on_top": "no", "rank": 30, "fdr": 0.6},
                      {"dataset": "thal", "on_top": "no", "rank": np.nan, "fdr": np.nan, "note": "no DE genes"}])
    g = gene_rows([{"dataset": "oe", "symbol": "HMOX1", "status": "up"},
                   {"dataset": "oe", "symbol": "VDR", "status": "not significant"}])
    roles = {"oe": "cells_overexpression", "kd": "cells_loss_of_function", "thal": "tissue"}
    t = claims.evaluate(v, g, roles, target="T").set_index(["claim", "dataset"])
    assert t.loc[("cells", "oe"), "holds"] == "partly"  # on top, but VDR not DE
    assert t.loc[("cells", "kd"), "holds"] == "no"
    assert t.loc[("tissue", "thal"), "holds"] == "no"
    assert "not ranked (no DE genes)" in t.loc[("tissue", "thal"), "evidence"]
    s = claims.summarise(t.reset_index())
    assert s["cells"] == "partly" and s["tissue"] == "not reproduced" and s["metallothioneins"] == "not reproduced"
    assert s["study"] == "partly reproduced"


def test_not_assessed_without_roles():
    v = verdict_rows([{"dataset": "x", "on_top": "no", "rank": 5, "fdr": 0.5}])
    t = claims.evaluate(v, gene_rows([]).reindex(columns=["dataset", "symbol", "status", "reason",
                                                          "log2FoldChange", "padj"]), {"x": "other"}, target="T")
    s = claims.summarise(t)
    assert s["cells"] == "not assessed" and s["tissue"] == "not assessed"
    assert s["metallothioneins"] == "not reproduced" and s["study"] == "not reproduced"
    html = claims.to_html(t, s, "T", ("HMOX1", "VDR"), banner="SIMULATED")
    assert "SIMULATED" in html and "claims-table" in html
