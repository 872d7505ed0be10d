"""The label-permutation null re-runs exactly the verdict's computation (issue 19, part 5).

The null's re-run on the observed labels must reproduce the verdict's rank for every method, or the
note says "stale results?" -- which it did on fresh runs, for GSEA, for a pathway deep in the list:
the verdict's GSEA ranks the Wald statistics of ``de.tsv``, written with 6 significant digits, the
re-run ranked the full-precision statistics; the rounding makes ties and moves NES by up to 0.02,
enough to swap pathways of close |NES|. Threads (verified: gseapy's results do not depend on them),
seeds and permutations were already the verdict's. Here the verdict is made by the workflow's own
steps from files (DE step, enrichment step with 2 GSEA threads, verdict step) and the null (1 thread)
must agree on a 3 vs 3 and a 12 vs 12 null study, GSEA in the null, for a pathway whose GSEA rank the
file's rounding moves (with the full-precision statistics the re-run gave rank 115 for the verdict's 111
and 80 for 82: the notes said "stale results?"); and a DE table re-read from its file equals the one the
re-run builds in memory, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sample_studies import DATASET, DE, ENRICHMENT, LIB, fit, source, study, workflow_files

from pathverdict.io import read_de
from pathverdict.judgement import null
from pathverdict.judgement.null_statistics import de_table
from pathverdict.steps.robustness import null_permutations
from pathverdict.steps.verdict import make_verdict
from pathverdict.util import write_tsv

VERDICT = {"top_n": 1, "max_fdr": 0.05, "primary": "ora_all", "genes": ["HMOX1", "VDR"], "gene_patterns": []}


def workflow_verdict(tmp, counts: pd.DataFrame, sheet: pd.DataFrame, symbols: pd.Series, target: str) -> dict:
    """The dataset's files and verdict of ``target`` as the workflow's steps make them."""
    _, lib, _ = source("cells", N_GENES)
    paths = workflow_files(tmp, counts, sheet, symbols, lib, ENRICHMENT, gsea_threads=2)
    paths["verdict"] = str(tmp / "verdict.tsv")
    make_verdict(
        datasets=["d"], de=[paths["de"]], ora_up=[paths["up"]], ora_down=[paths["down"]], ora_all=[paths["all"]],
        ora_info=[paths["info"]], gsea=[paths["gsea"]], camera=[paths["camera"]], gmts=[paths["gmt"]],
        libraries=[LIB], target=target, verdict_settings=VERDICT, alpha=0.05, out_tsv=paths["verdict"],
        out_genes=str(tmp / "genes.tsv"), out_md=str(tmp / "v.md"), out_html=str(tmp / "v.html"),
    )  # fmt: skip
    return paths


# null studies (background DE only) and a pathway whose GSEA rank the rounding of de.tsv moves
N_GENES = 4000
NULL_STUDIES = {
    3: (3, "Epithelial cell signaling in Helicobacter pylori infection"),
    12: (6, "Chemical carcinogenesis"),
}


@pytest.mark.parametrize("n", [3, 12])
def test_a_fresh_null_reproduces_the_verdict_with_gsea(tmp_path, n):
    seed, target = NULL_STUDIES[n]
    entry = {"n_per_group": n, "background": {"fraction": 0.05, "log2fc_sd": 0.5}}
    counts, sheet, symbols = study(entry, seed, n_genes=N_GENES)
    paths = workflow_verdict(tmp_path, counts, sheet, symbols, target)
    _, summary = null_permutations(
        dataset="d", dataset_config=DATASET, counts=paths["counts"], samples=paths["samples"], genes=paths["genes"],
        verdict=paths["verdict"], gmt=paths["gmt"], library=LIB, target=target, de=DE, enrichment=ENRICHMENT,
        verdict_settings=VERDICT,
        null_settings={"methods": ["ora_all", "gsea"], "max_permutations": 2, "seed": 7},
        out_permutations=str(tmp_path / "perms.tsv"), out_summary=str(tmp_path / "null.tsv"), threads=1,
    )  # fmt: skip
    ranks = summary[summary["method"] != null.SET_SCORE].set_index("method")
    assert set(ranks.index) == {"ora_all", "gsea"}
    gsea = ranks.loc["gsea"]
    assert pd.notna(gsea["observed_rank"]) and int(gsea["rerun_rank"]) == int(gsea["observed_rank"])
    for method, row in ranks.iterrows():
        assert "stale" not in row["note"] and "WARNING" not in row["note"], (method, row["note"])
        same = (
            pd.isna(row["observed_rank"]) if pd.isna(row["rerun_rank"]) else row["rerun_rank"] == row["observed_rank"]
        )
        assert same, (method, row["rerun_rank"], row["observed_rank"])


def test_the_rerun_de_table_is_the_file_bit_for_bit(tmp_path):
    counts, sheet, symbols = study({"n_per_group": 3, "effect": True}, 8)
    result = fit(counts, sheet)
    in_memory = de_table(result, symbols)
    res = result.results.copy()
    res.insert(0, "symbol", symbols.reindex(res.index).to_numpy())
    write_tsv(res.reset_index(), tmp_path / "de.tsv")
    from_file = read_de(tmp_path / "de.tsv")
    pd.testing.assert_frame_equal(in_memory, from_file)
    # and the full-precision statistics are not those numbers: the file rounds them (what made the
    # re-run and the verdict differ)
    full = result.results["stat"].to_numpy()
    written = from_file.set_index("gene_id").loc[result.results.index, "stat"].to_numpy()
    ok = np.isfinite(full)
    assert np.any(full[ok] != written[ok]) and np.allclose(full[ok], written[ok], rtol=1e-5)
