"""A claim's genes and gene families in the symbols of a dataset's organism (issue 23, part 2).

A ``genes_de`` test names genes and a ``family_de`` test gives symbol patterns, as a list (the
study organism's symbols) or per organism (``{human: [HMOX1, VDR], mouse: [Hmox1, Vdr]}``,
``{human: ["^MT2A$"], mouse: "^Mt[1-4]$"}``). In a dataset they are taken, in this order:

1. from the entry of the dataset's organism;
2. else through the ortholog table of that organism (``organisms.<organism>.orthologs``: the
   study organism's symbols -> the organism's, :func:`pathverdict.organisms.orthologous_symbols`),
   from the study organism's entry: a gene with exactly one ortholog is tested as that ortholog;
   one with none or several is ``untested`` and said so (never a guessed name); a family is every
   ortholog of a study-organism gene its patterns match;
3. else the test is ``not tested`` in that dataset, with the reason and the fix.

Symbols are never changed by their case or spelling: HMOX1 is not Hmox1 without an entry or an
ortholog table that says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from ..organisms import orthologous_symbols, symbols_pattern
from .claim_specs import GENE_TESTS, Test


@dataclass(frozen=True)
class InOrganism:
    """A gene test in one organism: ``test`` with its genes / patterns in the organism's symbols (None:
    not tested there, ``note`` says why); ``note`` otherwise says how the genes were found (orthologs);
    ``unmapped``: genes without exactly one ortholog, each in words (untested)."""

    test: Test | None
    note: str = ""
    unmapped: tuple[str, ...] = ()


def _given(test: Test, study: str) -> dict[str, tuple[str, ...]]:
    """The test's genes or patterns per organism (a test made in code without ``given``: the study's)."""
    if test.given:
        return dict(test.given)
    own = test.genes if test.kind == "genes_de" else test.patterns
    return {study: own} if own else {}


def in_organism(
    test: Test, organism: str | None, study: str, orthologs: Mapping[str, pd.DataFrame] | None = None
) -> InOrganism:
    """``test`` for a dataset of ``organism`` (None: the study organism ``study``); ``orthologs``:
    {organism: pairs of :func:`pathverdict.organisms.read_orthologs`, study organism -> organism}."""
    if test.kind not in GENE_TESTS:
        return InOrganism(test)
    organism = organism or study
    key = GENE_TESTS[test.kind]
    field = "genes" if test.kind == "genes_de" else "patterns"
    given = _given(test, study)
    if organism in given:
        return InOrganism(replace(test, **{field: given[organism]}))
    pairs = (orthologs or {}).get(organism)
    what = "genes" if test.kind == "genes_de" else f"{test.name} gene pattern"
    fix = f"give {key}: {{{organism}: [...]}}"
    if study not in given or pairs is None:
        table = f" or an ortholog table organisms.{organism}.orthologs" if study in given else ""
        return InOrganism(None, f"no {what} given for organism {organism}; {fix}{table}")
    source = f"organisms.{organism}.orthologs"
    if test.kind == "genes_de":
        found = orthologous_symbols(list(given[study]), pairs)
        mapped = {g: t[0] for g, t in found.items() if len(t) == 1}
        unmapped = tuple(
            f"{g}: no {organism} ortholog in {source}"
            if not t
            else f"{g}: {len(t)} {organism} orthologs in {source} ({', '.join(t)}), none chosen; {fix}"
            for g, t in found.items()
            if len(t) != 1
        )
        if not mapped:
            return InOrganism(None, "; ".join(unmapped) + ": not tested")
        note = f"{organism} orthologs ({source}): " + ", ".join(f"{g} -> {m}" for g, m in mapped.items())
        return InOrganism(replace(test, genes=tuple(mapped.values())), note, unmapped)
    targets = sorted(
        {t for p in given[study] for ts in orthologous_symbols(None, pairs, pattern=p).values() for t in ts}
    )
    if not targets:
        return InOrganism(
            None, f"no {organism} ortholog in {source} of a {study} gene matching {', '.join(given[study])}; {fix}"
        )
    note = f"{organism} orthologs of the {study} {test.name} genes ({source}): {', '.join(targets)}"
    return InOrganism(replace(test, patterns=(symbols_pattern(targets),)), note)


def requests(
    tests: Iterable[Test], organism: str | None, study: str, orthologs: Mapping[str, pd.DataFrame] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The genes and symbol patterns ``tests`` (:func:`.claim_specs.gene_tests`) test in a dataset of
    ``organism``: what the verdict reports for it (``verdict_genes.tsv``)."""
    genes: dict[str, None] = {}
    patterns: dict[str, None] = {}
    for t in tests:
        found = in_organism(t, organism, study, orthologs).test
        if found is not None:
            genes.update(dict.fromkeys(found.genes))
            patterns.update(dict.fromkeys(found.patterns))
    return tuple(genes), tuple(patterns)
