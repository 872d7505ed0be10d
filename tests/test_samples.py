"""Sample QC, the sheet's columns against the contrast, the selection gene, and the caveats they give
the claims (issue 19), on simulated studies whose faults are known (tests/sample_studies.py): a clean
study is not flagged, a re-sequenced library, a label swap, a degraded sample and a spiky sample are,
each with the figure that flags it; a batch aliased with the groups makes the claims inconclusive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sample_studies import CASES, CONTRAST, case, fit, study

from pathverdict.errors import InputError
from pathverdict.judgement import confounding, samples, selection, sensitivity


def qc_of(counts, sheet):
    result = fit(counts, sheet)
    return samples.sample_qc(
        counts, result.vst, sheet, CONTRAST, cooks=result.summary["cooks_outliers_by_sample"], dataset="d"
    )


def flags(table) -> dict[str, str]:
    return dict(zip(samples.flagged(table)["sample"], samples.flagged(table)["flags"]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_and_null_studies_flag_nothing(seed):
    for entry in (CASES["clean"], {"n_per_group": 3}, {"n_per_group": 12}, {**CASES["clean"], "n_per_group": 6}):
        table = qc_of(*study(entry, seed)[:2])
        assert list(table.columns) == samples.QC_COLUMNS
        assert flags(table) == {}, table[["sample", "distance_ratio", "swap_ratio", "closest_ratio"]]
        # far from every threshold: exchangeable samples give ratios near 1
        assert table["distance_ratio"].max() < 2 and table["swap_ratio"].max() < 1.15
        assert table["closest_ratio"].min() > 0.7


def test_tissue_cohort_of_24_flags_nothing():
    counts, sheet, _ = study({"n_per_group": 12, "background": {"fraction": 0.05, "log2fc_sd": 0.5}}, 4, "tissue")
    assert flags(qc_of(counts, sheet)) == {}


@pytest.mark.parametrize("seed", [1, 2])
def test_a_resequenced_library_is_flagged_as_a_near_copy(seed):
    counts, sheet, _ = case("resequenced", seed)
    table = qc_of(counts, sheet).set_index("sample")
    assert flags(table.reset_index()) == {"S4": "twin", "S5": "twin"}
    assert table.loc["S5", "closest"] == "S4" and table.loc["S5", "closest_ratio"] <= samples.TWIN_RATIO
    assert "S5: " in table.loc["S5", "note"] and "from S4" in table.loc["S5", "note"]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_label_swap_sits_with_the_other_group(seed):
    counts, sheet, _ = case("label_swap", seed)
    table = qc_of(counts, sheet).set_index("sample")
    assert flags(table.reset_index()) == {"S3": "label_swap", "S4": "label_swap"}
    assert table.loc["S3", "group"] == "treated" and table.loc["S3", "swap_ratio"] >= samples.SWAP_RATIO
    assert "sits with the other group" in table.loc["S4", "note"]


def test_a_degraded_sample_is_far_from_its_group_and_a_spiky_one_has_cooks_outliers():
    counts, sheet, _ = case("clean", 3)
    rng = np.random.default_rng(3)
    degraded = counts.copy()
    hit = rng.random(len(counts)) < 0.3  # 30% of its genes off by a log2 factor ~ N(0, 1.5)
    degraded.loc[hit, "S2"] = rng.poisson(degraded.loc[hit, "S2"] * np.exp2(rng.normal(0, 1.5, hit.sum())))
    table = qc_of(degraded, sheet).set_index("sample")
    assert "distance" in table.loc["S2", "flags"] and table.loc["S2", "distance_ratio"] >= samples.DISTANCE_RATIO
    assert set(flags(table.reset_index())) == {"S2"}
    counts12, sheet12, _ = study({**CASES["clean"], "n_per_group": 12}, 3)
    spiky = counts12.copy()
    spike = rng.random(len(spiky)) < 0.02  # 2% of the genes 10 times too high in one sample
    spiky.loc[spike, "S02"] *= 10
    table = qc_of(spiky, sheet12).set_index("sample")
    assert "cooks" in table.loc["S02", "flags"] and table.loc["S02", "cooks_outliers"] >= 10
    assert (table.drop("S02")["cooks_outliers"] <= 2).all()


def test_library_size_and_detected_genes_are_flagged_with_their_figures():
    counts, sheet, _ = case("clean", 1)
    shallow = counts.copy()
    shallow["S1"] = np.random.default_rng(1).binomial(shallow["S1"], 0.15)  # a sixth of the reads
    table = qc_of(shallow, sheet).set_index("sample")
    assert "library_size" in table.loc["S1", "flags"] and "of the median library" in table.loc["S1", "note"]
    assert table.loc["S1", "library_ratio"] < 1 / samples.LIBRARY_FOLD
    sparse = counts.copy()
    sparse.loc[sparse.index[::2], "S6"] = 0  # half of its genes lost
    table = qc_of(sparse, sheet).set_index("sample")
    assert "detected_genes" in table.loc["S6", "flags"] and "of the median" in table.loc["S6", "note"]


def test_pca_scores_are_the_plots_coordinates():
    from pathverdict.report.plots.de import pca_coordinates

    counts, sheet, _ = case("clean", 1)
    vst = fit(counts, sheet).vst
    scores, frac = samples.pca_scores(vst)
    coords, var = pca_coordinates(vst)
    np.testing.assert_allclose(coords[["PC1", "PC2"]].to_numpy(), scores[:, :2])
    assert var["pc1_var"] == pytest.approx(frac[0]) and frac.sum() == pytest.approx(1)


# --------------------------------------------------------------------------- confounding


def sheet_with(**columns) -> pd.DataFrame:
    names = [f"S{i + 1}" for i in range(6)]
    return pd.DataFrame({"condition": ["control"] * 3 + ["treated"] * 3, **columns}, index=names)


def test_an_aliased_batch_is_confounded_and_names_its_levels():
    counts, sheet, _ = case("batch_aliased")
    table = confounding.check_sheet(sheet, ["condition"], CONTRAST, dataset="d").set_index("column")
    row = table.loc["batch"]
    assert row["status"] == confounding.CONFOUNDED and row["value"] == pytest.approx(1)
    assert row["detail"] == (
        "the contrast is confounded with `batch`: every control sample is in A, every treated sample in B"
    )
    # a constant column is skipped, with the reason
    constant = confounding.check_sheet(sheet_with(platform=["HiSeq"] * 6), ["condition"], CONTRAST).iloc[0]
    assert constant["status"] == confounding.SKIPPED and constant["detail"] == "the same value in every compared sample"
    # several levels nested in the groups are aliased too
    nested = confounding.check_sheet(sheet_with(run=list("AABCCC")), ["condition"], CONTRAST).iloc[0]
    assert nested["status"] == confounding.CONFOUNDED and "in A or B" in nested["detail"]


def test_a_partly_associated_batch_warns_with_its_figure():
    _, sheet, _ = case("batch_partial")
    row = confounding.check_sheet(sheet, ["condition"], CONTRAST).set_index("column").loc["batch"]
    assert row["status"] == confounding.ASSOCIATED and row["value"] == pytest.approx(np.sqrt(0.5))
    assert "Cramér's V 0.71" in row["detail"] and "A: 3 control, 1 treated" in row["detail"]
    balanced = confounding.check_sheet(sheet_with(lane=list("ABAABB")), ["condition"], CONTRAST).iloc[0]
    assert balanced["status"] == confounding.INDEPENDENT and balanced["value"] < confounding.ASSOCIATION


def test_identifiers_running_numbers_numeric_columns_and_group_fields():
    s = sheet_with(
        title=[f"rep{i}" for i in range(6)],
        number=[1, 2, 3, 4, 5, 6],
        rin=[8.1, 7.9, 8.3, 6.2, 6.5, 6.0],
        age=[30, 52, 41, 38, 45, 33],
        genotype=["wt"] * 3 + ["MEIS1"] * 3,
        design_batch=list("ABABAB"),
    )
    restating = confounding.restating_columns({"geo": {"samples": {"groups": {"treated": {"genotype": "MEIS1"}}}}})
    t = confounding.check_sheet(s, ["condition", "design_batch"], CONTRAST, restating=restating).set_index("column")
    assert "design_batch" not in t.index  # in the design: the DE step checks it
    assert t.loc["title", "status"] == confounding.SKIPPED and "identifier" in t.loc["title", "detail"]
    assert t.loc["number", "status"] == confounding.SKIPPED and "running number" in t.loc["number", "detail"]
    assert t.loc["genotype", "status"] == confounding.SKIPPED and "geo.samples.groups" in t.loc["genotype", "detail"]
    rin = t.loc["rin"]
    assert rin["status"] == confounding.ASSOCIATED and rin["value"] == pytest.approx(-1)
    assert "do not overlap" in rin["detail"]
    assert t.loc["age", "status"] == confounding.INDEPENDENT
    same = confounding.restating_columns({"same_as_contrast": ["genotype"]})
    assert "same_as_contrast" in same["genotype"]


# --------------------------------------------------------------------------- caveats of the claims


def loo_rows(dataset: str, method: str, details: dict[str, str], library: str = "L") -> pd.DataFrame:
    rows = [
        {
            "dataset": dataset,
            "library": library,
            "method": method,
            "variant": f"leave_one_sample_out:{s}",
            "rank": 1.0,
            "n_terms": 100.0,
            "fdr": 0.01,
            "on_top": "yes",
            "status": "on_top" if d.startswith("not critical") else "not_on_top",
            "detail": d,
        }
        for s, d in details.items()
    ]
    return sensitivity.typed(pd.DataFrame(rows, columns=sensitivity.COLUMNS))


def test_caveats_from_qc_confounding_and_a_sample_the_answer_rests_on():
    conf = confounding.check_sheet(sheet_with(batch=list("AAABBB")), ["condition"], CONTRAST, dataset="batchy")
    loo = pd.concat(
        [
            loo_rows(
                "odd", "ora_all", {"S6": "rests on S6: ...", "S1": "not critical: ...", "S2": "not critical: ..."}
            ),
            loo_rows("odd", "gsea", {"S6": "rests on S6: ...", "S1": "not critical: ..."}),
            # off the top without two samples, each a replicate fewer: not a caveat
            loo_rows("weak", "ora_all", {"S1": "critical: ...", "S2": "critical: ...", "S3": "not critical: ..."}),
            loo_rows("masked", "ora_all", {"S3": "masks: ...", "S1": "not critical: ..."}),
            loo_rows("other_library", "ora_all", {"S6": "rests on S6: ..."}, library="M"),
        ]
    )
    c = samples.caveats_from_qc(confounding=conf, sensitivity=loo, library="L", primary="ora_all")
    assert list(c.columns) == samples.CAVEAT_COLUMNS
    by = {ds: r for ds, r in zip(c["dataset"], c.to_dict("records"))}
    assert set(by) == {"batchy", "odd", "masked"}
    assert by["batchy"] == {
        "dataset": "batchy",
        "tests": "*",
        "when": "any",
        "holds": "inconclusive",
        "source": "confounding",
        "reason": "the contrast is confounded with `batch`: every control sample is in A, every treated sample in B",
    }
    assert by["odd"]["tests"] == "on_top;enriched" and by["odd"]["when"] == "yes"
    assert by["odd"]["source"] == "leave_one_sample_out"
    assert by["odd"]["reason"] == "on top by ora_all, but not without sample S6: the answer rests on one sample"
    assert by["masked"]["when"] == "no" and "on top without sample S3" in by["masked"]["reason"]
    empty = samples.caveats_from_qc(confounding=None, sensitivity=None, library="L", primary="ora_all")
    assert empty.empty and list(empty.columns) == samples.CAVEAT_COLUMNS


def test_verdict_notes_name_the_sample_the_column_and_the_flags():
    verdict_table = pd.DataFrame(
        {"dataset": ["odd", "odd", "batchy"], "library": ["L", "L", "L"], "method": ["ora_all", "gsea", "ora_all"]}
    )
    loo = loo_rows("odd", "gsea", {"S6": "rests on S6: ...", "S1": "not critical: ..."})
    conf = confounding.check_sheet(sheet_with(batch=list("AAABBB")), ["condition"], CONTRAST, dataset="batchy")
    qc = pd.DataFrame({"dataset": ["odd"], "sample": ["S6"], "flags": ["distance;twin"], "note": ["S6: ..."]})
    notes = samples.verdict_notes(verdict_table, qc, conf, loo)
    assert notes[0] == "flagged sample(s): S6 (far from its group in the PCA, a near copy of another sample)"
    assert notes[1].startswith("on top by gsea, but not without sample S6; flagged sample(s): S6")
    assert notes[2].startswith("the contrast is confounded with `batch`")


# --------------------------------------------------------------------------- selection by expression


def test_a_selection_gene_without_reads_is_refused_with_advice_that_can_help():
    counts, sheet, symbols = case("clean")
    gid = counts.mean(axis=1).idxmax()  # a well-expressed gene, made silent
    spec = {"gene": str(symbols[gid]), "group": "treated"}
    silent = counts.copy()
    silent.loc[gid] = 0
    with pytest.raises(InputError) as exc:
        selection.select_by_expression(silent, sheet, symbols, spec, CONTRAST, where="dataset x: ")
    msg = str(exc.value)
    assert "no reads in any of the 6 samples" in msg and "not measured" in msg
    assert "another gene" in msg and "remove `select_by_expression`" in msg and "Relax" not in msg
    mostly = counts.copy()
    mostly.loc[gid, ["S1", "S2", "S4", "S5"]] = 0
    with pytest.raises(InputError, match="no reads in 4 of the 6 samples.*ties at zero"):
        selection.select_by_expression(mostly, sheet, symbols, spec, CONTRAST, where="")
    with pytest.raises(InputError, match="NOSUCHGENE.*not among the genes.*another gene"):
        selection.select_by_expression(counts, sheet, symbols, {**spec, "gene": "NOSUCHGENE"}, CONTRAST, where="")
    # a measured gene still selects (two zeros of six are allowed)
    fine = counts.copy()
    fine.loc[gid] = [100, 0, 120, 10, 0, 500]
    keep, _ = selection.select_by_expression(fine, sheet, symbols, spec, CONTRAST, where="")
    assert {"S4", "S5"} <= set(keep) and "S6" not in keep


def test_simulated_faults_say_what_they_did_and_refuse_bad_keys():
    from pathverdict.simulation import simulated_study
    from sample_studies import source

    src, lib, term = source()
    entry = {**CASES["clean"], "resequenced": {"S5": "S4"}, "swap_labels": [["S1", "S6"]], "effect_in_samples": [3]}
    entry["sheet_columns"] = {"batch": list("AABBCC")}
    counts, sheet, info = simulated_study.simulate_dataset("f", entry, src, lib, term, {}, 3)
    assert info["resequenced"] == {"S5": "S4"} and info["swap_labels"] == [["S1", "S6"]]
    assert info["sheet_columns"] == ["batch"] and info["effect_in"] == "only S6"
    assert list(sheet["condition"]) == ["treated", "control", "control", "treated", "treated", "control"]
    assert list(sheet["batch"]) == list("AABBCC")
    for bad, words in (
        ({"resequenced": {"S5": "S9"}}, "resequenced"),
        ({"swap_labels": [["S1"]]}, "swap_labels"),
        ({"sheet_columns": {"batch": ["A"]}}, "sheet_columns.batch: give a new column with 6 values"),
        ({"effect_in_samples": [4]}, "effect_in_samples"),
    ):
        with pytest.raises(InputError, match=words):
            simulated_study.simulate_dataset("f", {**CASES["clean"], **bad}, src, lib, term, {}, 3)
