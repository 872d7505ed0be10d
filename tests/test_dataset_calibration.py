"""Per-dataset calibration (pathverdict.simulation.dataset_fit, pathverdict.judgement.dataset_calibration)
and the power rule (pathverdict.judgement.calibration.caveats_from_power): studies simulated from a
dataset's own fit, judged like the data; a "no" only where the design had the power to say it."""

import numpy as np
import pandas as pd
import pytest

from pathverdict import de, genesets
from pathverdict.errors import InputError
from pathverdict.enrichment import gsea_fast
from pathverdict.judgement import calibration, claims, dataset_calibration as dc, replay, verdict
from pathverdict.judgement.null_statistics import ENRICHMENT_DEFAULTS
from pathverdict.simulation import dataset_fit
from pathverdict.simulation.simulate import simulate

CONTRAST = ["condition", "treated", "control"]
ENRICH = dict(ENRICHMENT_DEFAULTS, camera_inter_gene_cor=None, gsea_permutations=200)


@pytest.fixture(scope="module")
def library(shared):
    lib = genesets.read_library(shared / "genesets" / "KEGG_2021_Human.txt", "KEGG_2021_Human")
    return lib, lib.find("Mineral absorption")


def _dataset(lib, term, *, n, dispersion, n_genes, background, seed, target_lfc=0.0):
    """A study with real KEGG symbols as gene IDs: ``background`` share of the other genes DE
    (log2FC ~ N(0, 1)), the target's genes at ``target_lfc`` (mixed directions) or not at all."""
    rng = np.random.default_rng(seed)
    universe = sorted({g for v in lib.sets.values() for g in v} - set(lib.sets[term]))
    genes = sorted(set(rng.choice(universe, n_genes, replace=False)) | set(lib.sets[term]))
    params = pd.DataFrame({"mean": rng.lognormal(5.5, 1.2, len(genes)), "dispersion": dispersion}, index=genes)
    others = [g for g in genes if g not in set(lib.sets[term])]
    shifts = {g: float(rng.normal(0, 1)) for g in rng.choice(others, int(background * len(others)), replace=False)}
    planted = (
        {g: 2.0 ** (target_lfc * (1 if i % 2 else -1)) for i, g in enumerate(lib.sets[term])} if target_lfc else {}
    )
    counts, sheet = simulate(params, n_per_group=n, seed=seed, log2fc=shifts, planted=planted)
    symbols = pd.Series(genes, index=genes, dtype="string")
    return counts, sheet.set_index("sample"), symbols


def _calibrate(lib, term, counts, sheet, symbols, settings, selection=None, fit_counts=None, fit_sheet=None):
    params = de.DEParams("~condition", CONTRAST)
    rs = replay.ReplaySettings(
        "KEGG_2021_Human", lib, term, verdict.VerdictSettings(), ENRICH, verdict.METHODS,
        gsea_fast.GseaFast.from_config(ENRICH).run,
    )  # fmt: skip
    observed, _, table = replay.replay(counts, sheet, params, symbols, rs, dataset="d")
    fit = dataset_fit.fit_dataset(
        counts if fit_counts is None else fit_counts,
        sheet if fit_sheet is None else fit_sheet,
        table,
        "~condition",
        CONTRAST,
        symbols,
        lib.sets[term],
    )
    summary, sims = dc.calibrate(fit, rs, params, settings, dataset="d", selection=selection)
    return observed, fit, summary, sims


def test_the_background_prior_recovers_the_amount_of_de():
    """b ~ N(beta, s^2), 8% of beta ~ N(0, 1), the rest 0: the fitted prior gives the share of genes with
    |beta| > 0.5 and > 1 (the truth: 8% x 62% = 4.9%, 8% x 32% = 2.5%)."""
    rng = np.random.default_rng(4)
    n = 20_000
    beta = np.where(rng.random(n) < 0.08, rng.normal(0, 1, n), 0.0)
    s = rng.uniform(0.1, 0.6, n)
    b = beta + s * rng.standard_normal(n)
    w = dataset_fit.fit_prior(b, s)
    prior = {"sd": list(dataset_fit.PRIOR_SD), "weight": w, "genes": n}
    fit = dataset_fit.DatasetFit(
        pd.DataFrame(), np.ones(1), pd.DataFrame(), CONTRAST, pd.Series(dtype=str), [], prior, b, s
    )
    assert fit.share_above(0.5) == pytest.approx(0.08 * 0.617, abs=0.01)
    assert fit.share_above(1.0) == pytest.approx(0.08 * 0.317, abs=0.008)
    assert "4." in fit.background_text() or "5." in fit.background_text()


def test_simulations_follow_the_fit_and_the_seed(library):
    lib, term = library
    counts, sheet, symbols = _dataset(lib, term, n=3, dispersion=0.05, n_genes=1200, background=0.1, seed=1)
    params = de.DEParams("~condition", CONTRAST)
    table = replay.gene_table(de.run_deseq2(counts, sheet, params), symbols)
    fit = dataset_fit.fit_dataset(counts, sheet, table, "~condition", CONTRAST, symbols, lib.sets[term])
    assert len(fit.target_ids) == len(set(lib.sets[term]) & set(counts.index))
    assert list(fit.sheet.index) == list(sheet.index) and np.allclose(np.prod(fit.size_factors), 1, atol=0.2)
    a, sa, planted = dataset_fit.simulate_fitted(fit, [5, 1])
    b, _, _ = dataset_fit.simulate_fitted(fit, [5, 1])
    pd.testing.assert_frame_equal(a, b)
    assert planted == {} and list(sa.index) == list(sheet.index) and a.shape == (len(fit.params), 6)
    _, _, planted = dataset_fit.simulate_fitted(fit, [5, 2], log2fc=2.0, fraction=0.5)
    assert len(planted) == round(0.5 * len(fit.target_ids)) and set(np.abs(list(planted.values()))) == {2.0}
    assert set(planted) <= set(fit.target_ids)
    # the target's genes get effects from the prior, the others from their posteriors: about as much DE
    rng = np.random.default_rng(0)
    beta = np.stack([dataset_fit.draw_background(fit, rng) for _ in range(20)])
    in_target = fit.params.index.isin(fit.target_ids)
    share = (np.abs(beta) > 0.5).mean(axis=0)
    assert 0.02 < share[~in_target].mean() and abs(share[in_target].mean() - share[~in_target].mean()) < 0.05


def test_a_dataset_on_top_does_not_leak_its_effect_into_the_null(library):
    """Built to fool: the target is truly and strongly DE in the data (on top), yet the null simulations
    draw its genes' effects from the background prior, not from their observations -- the
    false-positive rate is not the observed answer copied."""
    lib, term = library
    counts, sheet, symbols = _dataset(
        lib, term, n=4, dispersion=0.02, n_genes=1500, background=0.05, seed=2, target_lfc=2.0
    )
    settings = dc.CalibrationSettings(null_simulations=6, planted_simulations=4, effects=(2.0,))
    observed, fit, summary, sims = _calibrate(lib, term, counts, sheet, symbols, settings)
    assert observed.set_index("method").loc["ora_all", "status"] == "on_top"
    s = summary.set_index("method")
    assert s.loc["ora_all", "fpr_on_top"] == 0 and s.loc["ora_all", "n_null"] == 6
    assert list(s.index) == list(verdict.METHODS) and (s["genes"] == len(fit.params)).all()
    assert set(sims["kind"]) == {"null", "planted"} and len(sims) == 10 * len(verdict.METHODS)
    k, n, lo, hi = dc.parse_by_effect(s.loc["ora_all", "power_by_effect"])[2.0]
    assert n == 4 and k >= 3 and lo < k / n <= hi


def test_selection_is_reapplied_to_every_simulated_cohort(library):
    lib, term = library
    counts, sheet, symbols = _dataset(lib, term, n=8, dispersion=0.05, n_genes=800, background=0.05, seed=3)
    spec = {"gene": sorted(symbols.index)[0], "group": "treated", "rule": "below_reference_median"}
    from pathverdict.judgement.null import apply_selection

    kept, kept_sheet = apply_selection(counts, sheet, symbols, spec, CONTRAST)
    settings = dc.CalibrationSettings(null_simulations=3, planted_simulations=2, effects=(1.0,))
    _, _, summary, sims = _calibrate(
        lib, term, kept, kept_sheet, symbols, settings, selection=spec, fit_counts=counts, fit_sheet=sheet
    )
    answered = sims[sims["status"] != "no answer"]
    # the kept patients differ from cohort to cohort, as the selection does on real cohorts
    assert answered["samples"].between(10, 16).all() and answered["samples"].nunique() > 1
    assert (answered["samples"] < 16).any() and len(summary) == len(verdict.METHODS)


# --------------------------------------------------------------------------- the power rule in the claims


@pytest.fixture(scope="module")
def two_null_like_datasets(library):
    """Two datasets with nothing on the target (so it is not on top): 3 vs 3 with noisy counts and much
    background DE (little power), and 12 vs 12 with precise counts and little background DE."""
    lib, term = library
    out = {}
    for name, kw in {
        "under": dict(n=3, dispersion=0.3, n_genes=1500, background=0.3, seed=11),
        "powered": dict(n=12, dispersion=0.01, n_genes=1500, background=0.02, seed=12),
    }.items():
        counts, sheet, symbols = _dataset(lib, term, **kw)
        settings = dc.CalibrationSettings(null_simulations=4, planted_simulations=10, effects=(1.0,))
        observed, _, summary, _ = _calibrate(lib, term, counts, sheet, symbols, settings)
        out[name] = (observed.assign(dataset=name), summary.assign(dataset=name), sheet.reset_index(), settings)
    return out


CLAIMS = {
    "principal": {"sentence": "{target} is the principal pathway.", "roles": ["cells", "tissue"], "tests": ["on_top"]},
    "enriched": {"sentence": "{target} is enriched.", "roles": ["cells", "tissue"], "tests": ["enriched"]},
}
VERDICT_CFG = {"top_n": 1, "max_fdr": 0.05, "primary": "ora_all", "genes": [], "gene_patterns": []}


def _claims_step(tmp_path, verdicts: pd.DataFrame, cal: pd.DataFrame, roles: dict, spec=None) -> tuple:
    """The workflow's claims step (steps.verdict.make_claims) on written tables: claims.tsv, caveats.tsv and
    claims.html as it writes them."""
    from pathverdict.steps.verdict import make_claims
    from pathverdict.util import read_tsv, write_tsv

    write_tsv(verdicts, tmp_path / "verdict.tsv")
    write_tsv(pd.DataFrame(columns=verdict.GENE_COLUMNS), tmp_path / "verdict_genes.tsv")
    write_tsv(cal, tmp_path / "calibration.tsv")
    make_claims(
        verdict=str(tmp_path / "verdict.tsv"), genes=str(tmp_path / "verdict_genes.tsv"), roles=roles,
        target="Mineral absorption", verdict_settings=VERDICT_CFG, alpha=0.05, out_tsv=str(tmp_path / "claims.tsv"),
        out_html=str(tmp_path / "claims.html"), claims_settings=spec or CLAIMS, library="KEGG_2021_Human",
        calibration=str(tmp_path / "calibration.tsv"), out_caveats=str(tmp_path / "caveats.tsv"),
    )  # fmt: skip
    table = read_tsv(tmp_path / "claims.tsv", dtype=str, keep_default_na=False)
    caveats = read_tsv(tmp_path / "caveats.tsv", dtype=str, keep_default_na=False)
    return table.set_index(["claim", "dataset"]), caveats, (tmp_path / "claims.html").read_text()


def test_a_no_is_earned_only_with_power(two_null_like_datasets, tmp_path):
    """Through the claims step: the underpowered null-like dataset's "not on top" / "not enriched" is
    inconclusive, with the reason, in claims.tsv, caveats.tsv and on the claims page; the well-powered one's
    stays no. Both datasets' targets are truly silent and not on top -- only the power differs."""
    data = two_null_like_datasets
    settings = data["under"][3]
    cfg = {n: {"contrast": CONTRAST, "role": "cells"} for n in data}
    table = calibration.dataset_rows(
        cfg,
        {n: d[2] for n, d in data.items()},
        verdict.METHODS,
        "ora_all",
        library="KEGG_2021_Human",
        settings=settings,
        summaries={n: d[1] for n, d in data.items()},
    )
    head = table[table["primary"]].set_index("dataset")
    assert head.loc["under", "power"] < 0.8 <= head.loc["powered", "power"]
    assert head.loc["under", "source"].startswith("this dataset's fit")
    verdicts = pd.concat([d[0] for d in data.values()], ignore_index=True)
    first = verdicts[verdicts["primary"]].set_index("dataset")
    assert (first["status"] == "not_on_top").all()  # null-like: not on top in both

    claims_tab, caveats, html = _claims_step(tmp_path, verdicts, table, {n: "cells" for n in data})
    assert list(caveats.columns) == claims.CAVEAT_COLUMNS
    power = caveats[caveats["source"] == "power"]
    assert set(power["dataset"]) == {"under"} and set(power["tests"]) == {"on_top:ora_all", "enriched:ora_all"}
    assert (power["when"] == "no").all() and (power["holds"] == "inconclusive").all()
    assert claims_tab.loc[("principal", "under"), "holds"] == "inconclusive"
    assert claims_tab.loc[("enriched", "under"), "holds"] == "inconclusive"
    assert claims_tab.loc[("principal", "powered"), "holds"] == "no"
    assert claims_tab.loc[("enriched", "powered"), "holds"] == "no"
    reason = claims_tab.loc[("principal", "under"), "evidence"]
    assert (
        "inconclusive: not on top, but with this design a real effect of |log2FC| 1 on 30% of the pathway's genes"
        in reason
    )
    # one dataset can't answer, the other says no: the claim is not reproduced, never "inconclusive" by luck
    assert claims.summarise(claims_tab.reset_index())["principal"] == "not reproduced"
    # the same words on the claims page (the column beside the answer) and in the paragraph
    row = head.loc["under"].to_dict() | {"dataset": "under"}
    words = calibration.power_words(row)
    assert words in reason and words in claims.calibration_text(row) and words in calibration.sentence(table)
    assert words.replace("'", "&#39;") in html and 'id="caveats-table"' in html  # the caveat it applied
    assert "inconclusive, not a no" in claims.calibration_text(row)
    assert "counts as no" in claims.calibration_text(head.loc["powered"].to_dict())


def test_power_of_another_method_or_dataset_does_not_earn_a_no(two_null_like_datasets, tmp_path):
    """Built to fool the rule: the underpowered dataset's GSEA and CAMERA rows claim power 1, a DE table
    (no counts: not calibrated) and a negative control sit beside it. The headline method's power decides
    a claim judged by the headline method (still inconclusive), GSEA's a claim judged by GSEA (a no); the
    DE table's "not on top" is inconclusive because its calibration was not tested; the negative
    control's check is not qualified by power (it passes: not on top)."""
    data = two_null_like_datasets
    settings = data["under"][3]
    cfg = {
        "under": {"contrast": CONTRAST, "role": "cells"},
        "tab": {"de_table": "published.tsv", "role": "cells"},
        "control": {"contrast": CONTRAST, "role": "negative_control"},
    }
    summary = data["under"][1]
    fooled = summary.copy()
    other = fooled["method"] != "ora_all"
    fooled.loc[other, "power_by_effect"] = "1:10/10:0.6915:1"
    table = calibration.dataset_rows(
        cfg,
        {"under": data["under"][2], "control": data["under"][2]},
        verdict.METHODS,
        "ora_all",
        library="KEGG_2021_Human",
        settings=settings,
        summaries={"under": fooled, "control": summary.assign(dataset="control")},
    )
    tab = table[table["dataset"] == "tab"]
    assert (tab["source"] == "not calibrated").all() and tab["power"].isna().all() and len(tab) == len(verdict.METHODS)
    assert (table[(table["dataset"] == "under") & (table["method"] == "gsea")]["power"] == 1).all()
    under = data["under"][0]
    verdicts = pd.concat([under.assign(dataset=d) for d in cfg], ignore_index=True)
    spec = CLAIMS | {"by_gsea": {"sentence": "s", "roles": ["cells"], "tests": [{"kind": "on_top", "method": "gsea"}]}}
    claims_tab, caveats, html = _claims_step(tmp_path, verdicts, table, {d: c["role"] for d, c in cfg.items()}, spec)
    assert claims_tab.loc[("principal", "under"), "holds"] == "inconclusive"
    gsea = under.set_index("method").loc["gsea", "status"]
    assert claims_tab.loc[("by_gsea", "under"), "holds"] == {"not_on_top": "no", "on_top": "yes"}.get(gsea, gsea)
    assert "on_top:gsea" in set(caveats.loc[caveats["dataset"] == "tab", "tests"])
    assert claims_tab.loc[("principal", "tab"), "holds"] == "inconclusive"
    assert (
        "calibration not tested (a DE table has no counts to simulate from)"
        in claims_tab.loc[("principal", "tab"), "evidence"]
    )
    assert claims_tab.loc[("negative_control", "control"), "holds"] == "yes"
    assert "control" not in set(caveats["dataset"])
    assert claims.summarise(claims_tab.reset_index())["principal"] == "inconclusive"


def test_unmeasured_power_never_earns_a_no():
    """No figure (e.g. the package table lacks the method and the per-dataset calibration is off): the
    power is unknown, so a "no" is not earned either."""
    row = {c: np.nan for c in calibration.COLUMNS} | {
        "dataset": "x", "method": "gsea", "primary": True, "min_power": 0.8, "source": "package table",
    }  # fmt: skip
    caveats = calibration.caveats_from_power(pd.DataFrame([row]))
    assert len(caveats) == 2 and "was not measured" in caveats.iloc[0]["reason"]
    assert calibration.caveats_from_power(pd.DataFrame(columns=calibration.COLUMNS)).empty


def test_a_dataset_that_cannot_be_simulated_says_why():
    """Too few genes to fit (a tiny test matrix): the step writes no figures and the reason; the table row
    says so and its "no" is not earned."""
    with pytest.raises(InputError, match="cannot be simulated"):
        dataset_fit.fit_dataset(
            pd.DataFrame({"a": [1, 2], "b": [3, 4]}, index=["g1", "g2"]),
            pd.DataFrame({"condition": ["treated", "control"]}, index=["a", "b"]),
            pd.DataFrame(columns=["gene_id", "log2FoldChange", "lfcSE", "padj"]),
            "~condition",
            CONTRAST,
            pd.Series({"g1": "A", "g2": "B"}),
            ["A"],
        )
    summary = dc.not_calibrated("tiny", verdict.METHODS, "not calibrated: only 2 genes have reads")
    sheet = pd.DataFrame({"condition": ["treated"] * 3 + ["control"] * 3})
    table = calibration.dataset_rows(
        {"tiny": {"contrast": CONTRAST, "role": "cells_overexpression"}}, {"tiny": sheet}, verdict.METHODS,
        summaries={"tiny": summary},
    )  # fmt: skip
    assert len(table) == len(verdict.METHODS) and table["power"].isna().all()
    assert (table["note"] == "not calibrated: only 2 genes have reads").all()
    assert "was not measured" in calibration.caveats_from_power(table, min_power=0.8).iloc[0]["reason"]
