"""The second shipped study (config/examples/marioni2008_liver.yaml): a textbook claim about the liver,
re-examined on real public data with its own claims, gives the answer its config states."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import smallest_calibration, run_snakemake
from pathverdict.judgement import claims

pytestmark = [pytest.mark.e2e, pytest.mark.shared]

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "examples" / "marioni2008_liver.yaml"
ANSWERS = ("not reproduced", "reproduced", "partly", "inconclusive", "not tested")


def stated_answer(text: str) -> dict[str, str]:
    """The expected answer the config states in its comment block: claim id -> answer, the negative
    control and the study."""
    block = text.split("# Expected answer", 1)[1].split("\nstudy:", 1)[0]
    out = {}
    for line in block.splitlines():
        m = re.match(r"#\s+(\w+)\s{2,}(" + "|".join(ANSWERS) + r")\b", line)
        if m:
            out[m.group(1)] = m.group(2)
        m = re.match(r"#\s+negative control (passed|failed|inconclusive|not tested)\b", line)
        if m:
            out["negative_control"] = m.group(1)
        m = re.match(r"#\s+Study: ([A-Z ]+)$", line)
        if m:
            out["study"] = m.group(1).lower()
    return out


@pytest.fixture(scope="module")
def liver_run(tmp_path_factory, shared):
    work = tmp_path_factory.mktemp("liver")
    text = CONFIG.read_text()
    cfg = yaml.safe_load(text.replace("../shared/data", str(shared)))
    # without the engine sensitivity: its pydeseq2 DE of both real sets would be most of the run's CPU
    # (the engine on these sets: tests/test_engines_e2e.py); the answer is the configured engine's
    cfg["sensitivity"] = {**cfg.get("sensitivity", {}), "engine": False}
    # the calibration at its smallest: this test is about the study's answer, not the calibration's figures
    cfg["calibration"] = smallest_calibration()
    # leaving out the 2 most influential samples of each dataset, not 6: each removal re-runs DE and every
    # method (li2008's 6 removals: 118 of the run's 247 CPU s, mostly GSEA of 20,000 genes); the removals
    # are chosen by their share of the target's difference, so the critical ones come first
    cfg["sensitivity"]["leave_one_sample_out"] = {"max_removals": 2}
    (work / "marioni2008_liver.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rc, out = run_snakemake(work, work / "marioni2008_liver.yaml", cores=2, timeout=1200)
    assert rc == 0, out[-5000:]
    return work, out, stated_answer(text)


def test_the_config_states_its_answer():
    stated = stated_answer(CONFIG.read_text())
    assert stated == {
        "liver_on_top": "reproduced",
        "plasma_proteins": "reproduced",
        "threshold_free": "reproduced",
        "negative_control": "passed",
        "study": "reproduced",
    }


def test_the_run_gives_the_stated_answer(liver_run):
    work, out, stated = liver_run
    res = work / "results" / "marioni2008_liver"
    table = pd.read_csv(res / "claims.tsv", sep="\t", keep_default_na=False)
    ids = ["liver_on_top", "plasma_proteins", "threshold_free"]
    assert list(table["claim"]) == ids + ["negative_control"]
    answer = claims.summarise(table, ids)
    assert answer == stated, table.to_string()
    # the terminal says the same, in the config's order
    assert "Claims: " + " · ".join(f"{c} {answer[c]}" for c in ids) in out
    assert f"Study: {stated['study'].upper()}" in out and "Negative control (target expected not on top): passed" in out
    ev = table.set_index("claim")["evidence"]
    assert "ora_up (KEGG_2021_Human): rank 1 of" in ev["liver_on_top"]
    for gene in ("ALB", "FGA", "FGB", "FGG", "APOB"):
        assert re.search(rf"{gene} up \(log2FC \d", ev["plasma_proteins"]), ev["plasma_proteins"]
    assert "(expected up in this dataset)" in ev["plasma_proteins"]
    assert "gsea (KEGG_2021_Human)" in ev["threshold_free"] and "camera (KEGG_2021_Human)" in ev["threshold_free"]
    # the claims' genes are reported in every dataset; verdict.genes is empty, so no HMOX1/VDR
    genes = pd.read_csv(res / "verdict_genes.tsv", sep="\t", keep_default_na=False)
    requested = genes[genes["reason"] == "requested"]
    assert set(requested["symbol"]) == {"ALB", "FGA", "FGB", "FGG", "APOB"}
    assert set(requested["dataset"]) == {"marioni2008_kidney_liver", "li2008_lncap"}
    page = (res / "claims.html").read_text()
    assert "Complement and coagulation cascades is the top pathway" in page
    assert "liver vs kidney (tissue)" in page and "checks-table" in page
