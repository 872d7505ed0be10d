"""The R values that tests/test_rcompat.py has inline (its ``R_*`` constants, printed by R 4.2.2 /
DESeq2 1.38.3 / locfit 1.5-9.7) are still what R computes from the same inputs:
``tests/data/rcompat/expected.R`` recomputes every one of them. Full tier only (marker ``fidelity``:
needs Rscript with DESeq2 and locfit; skipped with the reason without them, failed in CI); the fast
tier compares pathverdict.de.rcompat with the inline values, without R."""

import subprocess

import numpy as np
import pandas as pd
import pytest
import test_rcompat as trc
from conftest import REPO

R_SCRIPT = REPO / "tests" / "data" / "rcompat" / "expected.R"
TAGS = ["CONDITION", "BATCHCONDITION"]
INPUTS = ["NUMREJ", "X2", "Y2", "X3", "Y3", "P_BH", "Q", "Q_PROBS"]


def _r_values(tmp_path) -> dict[str, np.ndarray]:
    rows = [
        (name, "NA" if np.isnan(v) else repr(float(v)))
        for name in INPUTS
        for v in np.asarray(getattr(trc, name), float)
    ]
    rows.append(("SMALL_COUNTS", "".join(trc.SMALL_COUNTS)))
    inputs, out = tmp_path / "inputs.tsv", tmp_path / "r_values.tsv"
    pd.DataFrame(rows, columns=["name", "value"]).to_csv(inputs, sep="\t", index=False)
    proc = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(inputs), str(out)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{R_SCRIPT} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    table = pd.read_csv(out, sep="\t", na_values=["NA"], keep_default_na=False)
    return {name: g.sort_values("i")["value"].to_numpy(float) for name, g in table.groupby("name")}


@pytest.mark.fidelity("DESeq2", "locfit")
def test_the_inline_r_values_of_test_rcompat_are_what_r_computes(tmp_path):
    r = _r_values(tmp_path)
    inline = {name: getattr(trc, name) for name in dir(trc) if name.startswith("R_")}
    assert set(r) == set(inline), f"only in R: {set(r) - set(inline)}; only inline: {set(inline) - set(r)}"
    problems = []
    for name, value in sorted(inline.items()):
        want = np.atleast_1d(np.asarray(value, dtype=float))
        got = r[name]
        if got.shape != want.shape:
            problems.append(f"{name}: R gives {got.shape[0]} values, test_rcompat.py has {want.shape[0]}")
            continue
        if any(name.startswith(f"R_{tag}_") for tag in TAGS):
            continue  # the DESeq fits: below
        # closed forms (lowess, BH, quantiles, independent filtering, locfit, loess; no iteration with a
        # tolerance): the same R code on another CPU differs by rounding, ~1e-15 here; 1e-12 leaves room
        # for another BLAS under R's loess and locfit (conditioned by their local fits, < 1e3)
        if not np.allclose(got, want, rtol=1e-12, atol=1e-300, equal_nan=True):
            k = int(np.argmax(~np.isclose(got, want, rtol=1e-12, atol=1e-300, equal_nan=True)))
            problems.append(f"{name}[{k}]: R now {got[k]!r}, test_rcompat.py {want[k]!r}")
    # the small DESeq fits: R now and our fit agree as two runs of DESeq2 are guaranteed to (its line
    # searches and IRLS stop at tolerances: tests/tolerances.py), as the inline values do in test_rcompat
    for tag in TAGS:
        try:
            trc.check_small_fit_against_r(tag, {k: r[f"R_{tag}_{k}"] for k in trc.SMALL_FIT_VALUES})
        except AssertionError as exc:
            problems.append(f"R now, {tag}: {exc}")
    assert not problems, "\n".join(problems) + "\nIf R changed on purpose, update test_rcompat.py from this script."
