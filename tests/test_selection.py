"""Selecting a group's samples by the expression of one gene (RLS patients with reduced MEIS1)."""

import numpy as np
import pandas as pd
import pytest

from pathverdict.errors import InputError
from pathverdict.judgement.selection import select_by_expression, size_factors


def dataset(meis1_rls=(10, 20, 30, 40, 50, 60), meis1_ctrl=(35, 45, 55)):
    rng = np.random.default_rng(3)
    n_rls, n_ctrl = len(meis1_rls), len(meis1_ctrl)
    names = [f"rls{i}" for i in range(n_rls)] + [f"ctl{i}" for i in range(n_ctrl)]
    base = pd.DataFrame(
        rng.integers(50, 60, size=(50, n_rls + n_ctrl)), columns=names, index=[f"G{i}" for i in range(50)]
    )
    base.loc["ENSG_MEIS1"] = list(meis1_rls) + list(meis1_ctrl)
    samples = pd.DataFrame({"status": ["RLS"] * n_rls + ["control"] * n_ctrl}, index=names)
    symbols = pd.Series({g: g for g in base.index} | {"ENSG_MEIS1": "MEIS1"})
    return base, samples, symbols


def test_size_factors_are_one_for_identical_columns():
    c = pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3]})
    assert np.allclose(size_factors(c), 1.0)
    c["c"] = [2, 4, 6]
    sf = size_factors(c)
    assert sf["c"] / sf["a"] == pytest.approx(2.0)


def test_below_reference_median():
    counts, samples, symbols = dataset()
    keep, table = select_by_expression(counts, samples, symbols, {"gene": "MEIS1"}, ["status", "RLS", "control"], "")
    kept_rls = sorted(s for s in keep if s.startswith("rls"))
    # control median is about 45 (size factors are close to 1): RLS samples at 10..40 are kept
    assert kept_rls == ["rls0", "rls1", "rls2", "rls3"]
    assert all(s in keep for s in ["ctl0", "ctl1", "ctl2"])
    t = table.set_index("sample")
    assert t.loc["rls4", "kept"] == "no" and t.loc["ctl0", "kept"] == "yes (reference)"
    assert "MEIS1 below the median of control" in t.loc["rls0", "rule"]
    assert t.loc["rls0", "MEIS1_normalized"] < t.loc["rls5", "MEIS1_normalized"]


def test_lowest_tertile_and_too_few():
    counts, samples, symbols = dataset()
    keep, _ = select_by_expression(
        counts, samples, symbols, {"gene": "MEIS1", "rule": "lowest_tertile"}, ["status", "RLS", "control"], ""
    )
    assert sorted(s for s in keep if s.startswith("rls")) == ["rls0", "rls1"]
    counts, samples, symbols = dataset(meis1_rls=(50, 60, 70), meis1_ctrl=(10, 20, 30))
    with pytest.raises(InputError, match=r"keeps 0 of 3 RLS sample\(s\).*at least 2 are needed"):
        select_by_expression(counts, samples, symbols, {"gene": "MEIS1"}, ["status", "RLS", "control"], "ds: ")


def test_unknown_gene():
    counts, samples, symbols = dataset()
    with pytest.raises(InputError, match=r"ds: select_by_expression.gene: 'MEIS2' is not among the genes"):
        select_by_expression(counts, samples, symbols, {"gene": "MEIS2"}, ["status", "RLS", "control"], "ds: ")
