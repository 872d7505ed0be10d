"""Fidelity to R DESeq2: run_deseq2 vs DESeq() + results(alpha=0.05) on li2008_lncap.

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


def test_li2008_agrees_with_r_deseq2(tmp_path):
    reason = fid.r_unavailable_reason()
    if reason:
        pytest.skip(f"cannot compare with R DESeq2: {reason}")
    shared = shared_data_dir()
    folder = shared / "counts" / "li2008_lncap"
    if not (folder / "counts.tsv.gz").is_file() or not (folder / "samples.tsv").is_file():
        pytest.fail(f"shared count data not found in {folder}: the fidelity test reads ../shared/data relative to "
                    f"the repo root ({REPO}); put it there or set {SHARED_ENV}=/path/to/data.", pytrace=False)
    row = fid.compare_dataset("li2008_lncap", shared, workdir=tmp_path)
    summary = fid.format_table([row])
    assert row["r_tested"] > 0, summary
    assert row["lfc_pearson"] >= fid.LFC_PEARSON_TARGET, summary
    assert row["call_agreement_pct"] >= fid.CALL_AGREEMENT_TARGET, summary
