"""Which relabelings the label-permutation null (:mod:`pathverdict.judgement.null`) runs: the labels of
the two compared groups permuted (within the levels of the other design variables when each
level has both groups; swapping whole pairs in a paired design), all of them when there are at
most :data:`ENUMERATION_LIMIT`, else a seeded random sample; see :mod:`pathverdict.judgement.null`."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

log = logging.getLogger("pathverdict.judgement.null")  # its messages are the null's


# above this many distinct relabelings, sample by drawing random permutations instead of enumerating
ENUMERATION_LIMIT = 100_000


# ----------------------------------------------------------------------------- relabelings


def _indexed(samples: pd.DataFrame) -> pd.DataFrame:
    """The sample sheet indexed by sample name (index, or a ``sample`` column)."""
    if "sample" in samples.columns and samples.index.name != "sample":
        samples = samples.set_index("sample")
    samples = samples.copy()
    samples.index = samples.index.astype(str)
    if samples.index.duplicated().any():
        dups = sorted(set(samples.index[samples.index.duplicated()]))
        raise InputError(f"sample sheet: duplicated sample name(s) {', '.join(dups)}")
    return samples


def _compared(samples: pd.DataFrame, contrast: Sequence[str]) -> tuple[list[str], list[str]]:
    """Compared samples (sheet order) and their observed labels."""
    var, tested, reference = contrast
    if var not in samples.columns:
        raise InputError(
            f"contrast variable {var!r} is not a column of the sample sheet "
            f"(columns: {', '.join(map(str, samples.columns))})"
        )
    labels = samples[var].astype(str)
    mask = labels.isin([str(tested), str(reference)])
    names = list(samples.index[mask])
    obs = list(labels[mask])
    n_t = obs.count(str(tested))
    n_r = obs.count(str(reference))
    if n_t == 0 or n_r == 0:
        raise InputError(
            f"contrast {list(contrast)}: no sample has {var} = "
            f"{tested if n_t == 0 else reference!r}; nothing to permute"
        )
    return names, obs


def permutation_strata(
    samples: pd.DataFrame, contrast: Sequence[str], strata: str | Sequence[str] | None = None
) -> pd.Series | None:
    """The stratum of each compared sample when labels are permuted within strata, else None.

    ``strata`` are covariate columns (e.g. the other variables of the design,
    ``"batch"``). Each combination of their values is a stratum; permuting within strata
    is used only when every stratum contains both compared groups. Returns a Series
    (compared sample -> stratum label, sheet order) or ``None`` for free permutation.
    """
    samples = _indexed(samples)
    names, obs = _compared(samples, contrast)
    if strata is None:
        return None
    cols = [strata] if isinstance(strata, str) else [c for c in strata if c != contrast[0]]
    if not cols:
        return None
    absent = [c for c in cols if c not in samples.columns]
    if absent:
        raise InputError(f"permutation strata: column(s) {', '.join(absent)} not in the sample sheet")
    key = (
        samples.loc[names, cols].astype(str).agg(" & ".join, axis=1)
        if len(cols) > 1
        else samples.loc[names, cols[0]].astype(str)
    )
    groups = pd.Series(obs, index=names)
    for level in dict.fromkeys(key):
        if groups[key == level].nunique() < 2:
            log.info(
                "permutation: stratum %s=%s has only %s samples; permuting labels freely",
                "+".join(cols),
                level,
                groups[key == level].iloc[0],
            )
            return None
    key.name = "+".join(cols)
    return key


def _scheme(samples: pd.DataFrame, contrast: Sequence[str], strata, swap_pairs: bool = True):
    samples = _indexed(samples)
    names, obs = _compared(samples, contrast)
    tested = str(contrast[1])
    key = permutation_strata(samples, contrast, strata)
    if key is None:
        blocks = [list(range(len(names)))]
    else:
        blocks = [[i for i, n in enumerate(names) if key[n] == level] for level in dict.fromkeys(key)]
    n_tested = [sum(obs[i] == tested for i in b) for b in blocks]
    total = math.prod(math.comb(len(b), t) for b, t in zip(blocks, n_tested))
    collapse = swap_pairs and all(2 * t == len(b) for b, t in zip(blocks, n_tested))
    n_classes = total // 2 if collapse else total
    return names, obs, blocks, n_tested, collapse, n_classes - 1, key


def relabeling_count(
    samples: pd.DataFrame, contrast: Sequence[str], strata: str | Sequence[str] | None = None, swap_pairs: bool = True
) -> int:
    """Number of distinct relabelings :func:`relabelings` chooses from (see module docs)."""
    return _scheme(samples, contrast, strata, swap_pairs)[5]


def relabelings(
    samples: pd.DataFrame,
    contrast: Sequence[str],
    *,
    max_permutations: int,
    seed: int,
    strata: str | Sequence[str] | None = None,
    swap_pairs: bool = True,
) -> list[dict[str, str]]:
    """Distinct balanced relabelings of the contrast variable among the compared samples.

    Parameters
    ----------
    samples
        Sample sheet, indexed by sample name (or with a ``sample`` column).
    contrast
        ``[variable, tested level, reference level]``.
    max_permutations
        All distinct relabelings are returned when there are at most this many,
        otherwise a random sample of this many distinct ones.
    seed
        Seed of ``numpy.random.default_rng`` for that sample.
    strata
        Covariate column(s) to permute within (see :func:`permutation_strata`); ``None``:
        free permutation. :func:`run_null` passes the design's other variables.
    swap_pairs
        With equal group sizes, keep one relabeling per swap pair (True, the default).
        ``False`` keeps both: needed when a swap does not just flip the signs of the DE
        results, e.g. when samples are selected by expression within the tested group.

    Returns
    -------
    A list of dicts ``{sample: label}`` over the compared samples (sheet order), each
    with as many tested/reference labels as observed. Never the observed labelling,
    never an exact swap of two equal-sized groups (a swap only flips the signs of the
    DE results; one representative per swap pair is kept, see the module docs).
    Enumeration order when exhaustive (combinations in sheet order), the sorted
    enumeration order of the sample when at most ``ENUMERATION_LIMIT`` relabelings
    exist, draw order beyond; the same arguments always give the same list.
    """
    if max_permutations < 1:
        raise ValueError(f"max_permutations must be >= 1, got {max_permutations}")
    names, obs, blocks, n_tested, collapse, n_candidates, _ = _scheme(samples, contrast, strata, swap_pairs)
    var, tested, reference = (str(c) for c in contrast)
    observed = tuple(o == tested for o in obs)

    def labelled(flags) -> dict[str, str]:
        return {n: tested if f else reference for n, f in zip(names, flags)}

    if n_candidates <= 0:
        return []
    if n_candidates <= ENUMERATION_LIMIT:
        candidates = list(_enumerate(blocks, n_tested, len(names), observed, collapse))
        assert len(candidates) == n_candidates, (len(candidates), n_candidates)
        if n_candidates > max_permutations:
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(n_candidates, size=max_permutations, replace=False))
            candidates = [candidates[i] for i in pick]
        return [labelled(c) for c in candidates]
    rng = np.random.default_rng(seed)
    seen: set[tuple[bool, ...]] = {observed}
    out = []
    while len(out) < max_permutations:
        flags = [False] * len(names)
        for b, t in zip(blocks, n_tested):
            for i in rng.permutation(b)[:t]:
                flags[int(i)] = True
        cand = tuple(flags)
        if collapse and cand[0] != observed[0]:
            cand = tuple(not f for f in cand)  # the pair's representative
        if cand not in seen:
            seen.add(cand)
            out.append(cand)
    return [labelled(c) for c in out]


def _enumerate(blocks, n_tested, n, observed, collapse) -> Iterator[tuple[bool, ...]]:
    per_block = [list(itertools.combinations(b, t)) for b, t in zip(blocks, n_tested)]
    for choice in itertools.product(*per_block):
        flags = [False] * n
        for combo in choice:
            for i in combo:
                flags[i] = True
        cand = tuple(flags)
        if cand == observed or (collapse and cand[0] != observed[0]):
            continue
        yield cand


def apply_relabeling(samples: pd.DataFrame, contrast: Sequence[str], relabeling: Mapping[str, str]) -> pd.DataFrame:
    """A copy of the sample sheet (indexed by sample) with the contrast variable relabelled."""
    out = _indexed(samples)
    var = contrast[0]
    out[var] = out[var].astype(str)
    out.loc[list(relabeling), var] = list(relabeling.values())
    return out


def format_relabeling(relabeling: Mapping[str, str], contrast: Sequence[str]) -> str:
    """Compact text: ``Treated=s1,s4,s5`` (the samples given the tested level)."""
    tested = str(contrast[1])
    return f"{tested}=" + ",".join(s for s, lab in relabeling.items() if lab == tested)
