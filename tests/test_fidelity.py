"""Fidelity to R DESeq2: run_deseq2 vs DESeq() + results(alpha=0.05) on li2008_lncap.

The default settings (no pre-filter) are compared with R run on the raw matrix, as a user
of R would run it; the opt-in pre-filter with R run on the same pre-filtered matrix.

Needs ``Rscript`` with the DESeq2 package (skipped otherwise) and the shared count data
(``../shared/data`` or ``$PATHVERDICT_SHARED``; the test fails when it is missing).
Run with ``pytest -m fidelity``; all four datasets: ``python tools/fidelity_vs_r.py``.
"""

import sys

import pytest
from conftest import REPO, SHARED_ENV, shared_data_dir

sys.path.insert(0, str(REPO / "tools"))
import fidelity_vs_r as fid  # noqa: E402

pytestmark = pytest.mark.fidelity


def _shared_li2008():
    reason = fid.r_unavailable_reason()
    if reason:
        pytest.skip(f"cannot compare with R DESeq2: {reason}")
    shared = shared_data_dir()
    folder = shared / "counts" / "li2008_lncap"
    if not (folder / "counts.tsv.gz").is_file() or not (folder / "samples.tsv").is_file():
        pytest.fail(
            f"shared count data not found in {folder}: the fidelity test reads ../shared/data relative to "
            f"the repo root ({REPO}); put it there or set {SHARED_ENV}=/path/to/data.",
            pytrace=False,
        )
    return shared


def test_li2008_default_settings_agree_with_r_on_the_raw_matrix(tmp_path):
    shared = _shared_li2008()
    assert fid.MIN_COUNT == 0  # the workflow's default: no pre-filter
    counts, _samples = fid.load_dataset(shared, fid.DATASETS["li2008_lncap"])
    row = fid.compare_dataset("li2008_lncap", shared, workdir=tmp_path)
    summary = fid.format_table([row])
    # R saw every gene of the raw matrix, and so did we
    r_counts = tmp_path / "li2008_lncap.R_counts.tsv"
    assert sum(1 for _ in open(r_counts)) - 1 == len(counts) == row["genes_tested"], summary
    assert row["r_tested"] > 0, summary
    assert row["lfc_pearson"] >= fid.LFC_PEARSON_TARGET, summary
    assert row["call_agreement_pct"] >= fid.CALL_AGREEMENT_TARGET, summary


def test_li2008_opt_in_prefilter_agrees_with_r_on_the_same_matrix(tmp_path):
    shared = _shared_li2008()
    row = fid.compare_dataset("li2008_lncap", shared, workdir=tmp_path, min_count=10)
    summary = fid.format_table([row])
    counts, _samples = fid.load_dataset(shared, fid.DATASETS["li2008_lncap"])
    assert row["genes_tested"] < len(counts), summary  # R got the pre-filtered matrix
    assert row["lfc_pearson"] >= fid.LFC_PEARSON_TARGET, summary
    assert row["call_agreement_pct"] >= fid.CALL_AGREEMENT_TARGET, summary
