"""Fidelity to R DESeq2: run_deseq2 vs DESeq() + results(alpha = 0.05).

Fast tier (no R): our results are compared with R's results stored in ``tests/data/r_expected/``
(``tests/r_expected.py`` lists the cases and regenerates them): the four real shared sets with
default settings (R on the raw matrix, as a user of R would run it), li2008 with the opt-in
pre-filter (R on the same pre-filtered matrix) and the ``--stress`` variants of
``tools/fidelity_vs_r.py`` (all-zero and single-read genes, planted outliers, a 3-level factor,
2 vs 2 and 3 vs 2 designs). The inputs are rebuilt from the shared data (``../shared/data`` or
``$PATHVERDICT_SHARED``; the tests fail when it is missing) and checked against the sha256 of the
matrix R was given.

Full tier (marker ``fidelity``, needs Rscript with DESeq2; skipped without it, failed in CI): R is run
on the same inputs and must still produce the stored files.
"""

import pytest
import r_expected as rx
import tolerances as tol
from conftest import REPO

fid = rx.fid

pytestmark = pytest.mark.shared


def _input(case: str, shared) -> rx.DESeq2Input:
    inp = rx.deseq2_input(case, shared)
    meta = rx.read_meta(case)
    assert inp.sha256() == meta["input_sha256"], (
        f"{case}: the matrix R was given when tests/data/r_expected/{case} was stored (sha256 "
        f"{meta['input_sha256']}) is not the one built now from {shared} ({inp.sha256()}): the shared data or "
        f"the case's construction changed; regenerate with `{rx.REGENERATE} {case}` (needs R)"
    )
    return inp


@pytest.mark.parametrize("case", list(rx.DESEQ2_CASES))
def test_deseq2_agrees_with_stored_r_results(case, shared):
    inp = _input(case, shared)
    ref = rx.read_deseq2(case)
    meta = rx.read_meta(case)
    # R saw every gene of the matrix it was given, and so did we
    assert list(ref.index) == [str(g) for g in inp.r_counts.index]
    result, _ = fid.run_ours(inp.our_counts, inp.samples, inp.ds, inp.min_count, inp.min_samples)
    row = fid.compare_results(result.results, ref)
    summary = (
        f"{case}: ours vs R {meta['deseq2_version']} (stored): "
        + ", ".join(f"{k} {row[k]}" for k in ["genes_tested", "r_tested", "lfc_pearson", "call_agreement_pct"])
        + f", call differs for {row['call_disagreements']} genes, #sig R {row['sig_r']} / ours {row['sig_ours']}"
    )
    assert row["genes_tested"] == len(inp.r_counts) == int(meta["genes"]), summary
    assert row["r_tested"] == int(meta["r_tested"]) > 0, summary
    assert row["lfc_pearson"] >= fid.LFC_PEARSON_TARGET, summary
    assert row["call_agreement_pct"] >= max(fid.CALL_AGREEMENT_TARGET, rx.DESEQ2_CASES[case].min_agreement), summary


def test_default_settings_give_r_the_raw_matrix_and_the_prefilter_the_filtered_one(shared):
    assert fid.MIN_COUNT == 0  # the workflow's default: no pre-filter
    raw = rx.deseq2_input("deseq2_li2008_lncap", shared)
    assert raw.r_counts is raw.our_counts and raw.min_count == 0
    pre = rx.deseq2_input("deseq2_li2008_lncap_prefilter10", shared)
    assert pre.min_count == 10 and len(pre.r_counts) < len(pre.our_counts) == len(raw.r_counts)
    kept = fid.prefilter_mask(pre.our_counts, 10, fid.smallest_group(pre.samples, list(pre.ds.contrast)))
    assert list(pre.r_counts.index) == list(pre.our_counts.index[kept])


def test_every_case_is_stored_with_its_r_version():
    for case in rx.all_cases():
        folder = rx.DATA / case
        assert (folder / "meta.tsv").is_file(), f"{folder} missing: run `{rx.REGENERATE} {case}` (needs R)"
        meta = rx.read_meta(case)
        assert meta["case"] == case and meta["r_version"].startswith("R version"), meta
        assert meta.get("deseq2_version") or meta.get("limma_version"), meta
    assert (rx.DATA / "README.md").is_file()
    versions = dict(line.split("\t") for line in (rx.DATA / "versions.tsv").read_text().splitlines()[1:])
    assert set(versions) == {"R", *rx.R_PACKAGES}, versions
    assert versions["DESeq2"] == meta_versions("deseq2_version") and versions["limma"] == meta_versions("limma_version")


def meta_versions(key: str) -> str:
    """The one version of ``key`` recorded by every case that records it."""
    found = {rx.read_meta(c)[key] for c in rx.all_cases() if key in rx.read_meta(c)}
    assert len(found) == 1, f"the stored cases were made with different versions ({key}: {found}): regenerate all"
    return found.pop()


@pytest.mark.fidelity("DESeq2")
def test_stored_deseq2_results_are_what_r_computes(shared, tmp_path):
    """R, run now on the same inputs, still gives the stored results (a DESeq2/R drift is caught)."""
    inputs = [_input(case, shared) for case in rx.DESEQ2_CASES]
    fresh = rx.run_r_deseq2(inputs, tmp_path)
    problems = []
    for inp in inputs:
        case = inp.case.name
        stored, meta = rx.read_deseq2(case), rx.read_meta(case)
        res, rmeta = fresh[case]
        now = rx.round_deseq2(res)
        where = f"{case} (stored with R DESeq2 {meta['deseq2_version']}, now {rmeta.get('deseq2_version')})"
        if list(now.index) != list(stored.index):
            problems.append(f"{where}: genes differ")
            continue
        # R on this CPU vs R on the one that stored the results: two runs of DESeq2, which agree as far as
        # its solvers guarantee (tests/tolerances.py; bounds from our fit of the same matrix), plus one
        # unit in the last stored digit (the stored values are rounded)
        fit = _our_fit(inp)
        slack = {col: 10.0 ** (1 - digits) for col, digits in rx.DESEQ2_DIGITS.items()}
        try:
            tol.assert_tables_agree(res, stored, tol.z_tolerance(fit), what=where, slack=slack)
        except AssertionError as exc:
            problems.append(str(exc))
        if int(res["pvalue"].notna().sum()) != int(meta["r_tested"]):
            problems.append(f"{where}: R tested {int(res['pvalue'].notna().sum())} genes, stored {meta['r_tested']}")
    assert not problems, "\n".join(problems) + f"\nIf R changed on purpose, regenerate with `{rx.REGENERATE}`."


def _our_fit(inp: rx.DESeq2Input):
    from pathverdict import de
    from pathverdict.de import rcompat as rc

    counts = inp.r_counts
    meta = de._metadata(inp.samples.loc[counts.columns], inp.ds.design)
    X = rc.design_matrix(meta, inp.ds.design).matrix.to_numpy(dtype=float)
    return rc.fit_deseq(counts.to_numpy(), X)


def test_stored_files_are_small():
    sizes = {p.relative_to(REPO): p.stat().st_size for p in rx.DATA.rglob("*") if p.is_file()}
    assert sizes and max(sizes.values()) < 600_000, sizes
    assert sum(sizes.values()) < 4_000_000, sum(sizes.values())
    assert not [p for p in sizes if str(p).endswith(".tsv") and p.name not in ("meta.tsv", "versions.tsv")], (
        "results must be gzipped"
    )
