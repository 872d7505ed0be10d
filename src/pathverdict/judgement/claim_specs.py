"""The study's claims as data: the ``claims:`` section of the config, read into :class:`Claim` objects.

A claim has an id (its key under ``claims:``), a ``sentence`` for people (placeholders
``{target}``, ``{perturbed_gene}`` and ``{genes}``), the datasets it concerns (``roles:`` and/or
``datasets:``) and its ``tests``, from a small vocabulary (:data:`TEST_KINDS`; docs/claims.md):

* ``on_top``: the target pathway's verdict status is on_top (headline method and primary library,
  or the test's ``method`` / ``library``);
* ``enriched``: the target's FDR is at most ``verdict.max_fdr`` (or the test's ``max_fdr``) with the
  verdict's minimum evidence (an inconclusive verdict is inconclusive); on top is not required;
* ``genes_de``: each of ``genes`` is DE (padj < de.alpha), in the ``direction`` expected for the
  dataset when one is given (``up``/``down`` for every dataset, or per role or dataset);
* ``family_de``: at least one protein-coding gene whose symbol matches ``pattern`` (a regular
  expression, or a list of them) is DE; pseudogenes are never counted; ``name`` names the family in
  the evidence;
* ``genes`` and ``pattern`` are in the study organism's symbols, or given per organism
  (``{human: [HMOX1, VDR], mouse: [Hmox1, Vdr]}``); a dataset of an organism without an entry takes
  the orthologs of the study organism's (``organisms.<organism>.orthologs``), or the test is not
  tested there (:mod:`.claim_genes`);
* ``selection_null``: qualifies the pathway test (on_top / enriched) just before it: in a dataset
  that selects samples by expression (``select_by_expression``) its ``yes`` stands only when the
  selection-aware label-permutation null gives empirical p <= ``null.alpha``.

Roles are the user's names (any identifier); ``negative_control`` (a check of the method: the
target must not be on top) and ``other`` (analysed, never part of a claim) keep their meaning and
cannot be named by a claim. Without a ``claims:`` section every dataset that is neither gets one
claim, "the target is on top" (:func:`default_claims`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InputError

TEST_KINDS = {
    "on_top": "the target pathway is on top (the verdict's status: rank <= verdict.top_n and FDR <= "
    "verdict.max_fdr, with the minimum evidence)",
    "enriched": "the target pathway is enriched (FDR <= verdict.max_fdr, with the verdict's minimum evidence; "
    "on top is not required)",
    "genes_de": "the named genes are DE (padj < de.alpha), optionally in an expected direction per role",
    "family_de": "at least one protein-coding gene of a family (a regular expression over symbols) is DE",
    "selection_null": "for a dataset that selects samples by expression, the pathway test before it holds only "
    "when the selection-aware label-permutation null gives empirical p <= null.alpha",
}
PATHWAY_TESTS = ("on_top", "enriched")
OPTIONS = {
    "on_top": ("method", "library"),
    "enriched": ("method", "library", "max_fdr"),
    "genes_de": ("genes", "direction"),
    "family_de": ("pattern", "name"),
    "selection_null": (),
}
REQUIRED = {"genes_de": ("genes",), "family_de": ("pattern",)}
GENE_TESTS = {"genes_de": "genes", "family_de": "pattern"}  # the test kinds that name genes, and their key
METHODS = ("ora_all", "ora_up", "ora_down", "gsea", "camera")
DIRECTIONS = ("up", "down")
PLACEHOLDERS = ("target", "perturbed_gene", "genes")
RESERVED_ROLES = ("negative_control", "other")
# keys of claims.summarise's answer besides the claims
RESERVED_IDS = ("study", "negative_control")
BUILTIN_ROLE_NAMES = {"negative_control": "negative control", "other": "other (not part of the claims)"}


@dataclass(frozen=True)
class Test:
    """One test of a claim (:data:`TEST_KINDS`); options not used by its kind stay empty."""

    kind: str
    method: str | None = None
    library: str | None = None
    max_fdr: float | None = None
    genes: tuple[str, ...] = ()
    # expected direction: (("*", "down"),) for every dataset, else ((role or dataset, up|down), ...)
    direction: tuple[tuple[str, str], ...] = ()
    patterns: tuple[str, ...] = ()
    name: str = "family"
    # the genes (genes_de) or patterns (family_de) per organism as given; `genes` / `patterns` are those
    # of the study organism (empty when it has no entry), :mod:`.claim_genes` gives a dataset's
    given: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def expected(self, dataset: str, role: str) -> str | None:
        """The direction a DE gene must have in this dataset (None: either)."""
        d = dict(self.direction)
        return d.get(dataset, d.get(role, d.get("*")))

    def matches(self, symbol: str) -> bool:
        return any(re.search(p, symbol) for p in self.patterns)


@dataclass(frozen=True)
class Claim:
    id: str
    sentence: str
    roles: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    tests: tuple[Test, ...] = ()

    def concerns(self, dataset: str, role: str) -> bool:
        return dataset in self.datasets or (bool(role) and role in self.roles)

    @property
    def genes(self) -> tuple[str, ...]:
        """The genes of its genes_de tests (the ``{genes}`` placeholder): the study organism's, else
        those of the first organism given."""
        return tuple(
            g for t in self.tests if t.kind == "genes_de" for g in (t.genes or (t.given[0][1] if t.given else ()))
        )

    @property
    def has_pathway_test(self) -> bool:
        return any(t.kind in PATHWAY_TESTS for t in self.tests)

    def text(self, target: str, perturbed_gene: str | None = None) -> str:
        """The sentence with its placeholders filled in."""
        return self.sentence.format(target=target, perturbed_gene=perturbed_gene or "", genes=" and ".join(self.genes))


# --------------------------------------------------------------------------- the default


def default_claims(roles: Mapping[str, str]) -> list[Claim]:
    """Without a ``claims:`` section: one claim per dataset (not a negative control, not ``other``),
    "the target is on top", with the dataset's name as its id."""
    out = []
    for ds, role in roles.items():
        if role in RESERVED_ROLES:
            continue
        cid = f"dataset_{ds}" if ds in RESERVED_IDS else ds
        out.append(Claim(cid, f"{{target}} is on top in {ds}.", datasets=(ds,), tests=(Test("on_top"),)))
    return out


# --------------------------------------------------------------------------- reading the config


def _fix_placeholders(cid: str, sentence: str, has_genes: bool, perturbed_gene: str | None) -> list[str]:
    where = f"claims.{cid}.sentence"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(sentence) if f is not None]
    except ValueError as exc:
        return [
            f"{where}: {sentence!r} is not a valid sentence template ({exc}). Fix: write placeholders as "
            "{target}, {perturbed_gene} or {genes}, and a literal brace as {{ or }}."
        ]
    problems = []
    for f in fields:
        if f not in PLACEHOLDERS:
            problems.append(
                f"{where} uses the placeholder {{{f}}}, which does not exist. Fix: use {{target}} (the target "
                "pathway), {perturbed_gene} (the study key perturbed_gene) or {genes} (the genes of the claim's "
                "genes_de test); write a literal brace as {{ or }}."
            )
        elif f == "genes" and not has_genes:
            problems.append(
                f"{where} uses {{genes}}, but claim {cid!r} has no genes_de test to take them from. Fix: add "
                "a test {kind: genes_de, genes: [...]} or write the genes into the sentence."
            )
        elif f == "perturbed_gene" and not perturbed_gene:
            problems.append(
                f"{where} uses {{perturbed_gene}}, but the config has no study key `perturbed_gene`. Fix: set "
                "it at the top level of the config, e.g. `perturbed_gene: MEIS1`."
            )
    return problems


def _strings(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in (value or ()))


def _per_organism(value, organism: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Genes or patterns as ((organism, symbols), ...): a list (or one pattern) is the study organism's."""
    if isinstance(value, Mapping):
        return tuple((str(k), _strings(v)) for k, v in value.items())
    return ((organism, _strings(value)),) if value else ()


def _organism_problems(
    where: str, cid: str, key: str, value, organism: str, dataset_organisms: Iterable[str] | None
) -> list[str]:
    """An organism a claim gives genes for that no dataset of the study has (the study organism's
    entry is the sentence's and the one mapped by orthologs: always allowed)."""
    if not isinstance(value, Mapping) or dataset_organisms is None:
        return []
    have = sorted(set(dataset_organisms))
    return [
        f"{where}.{key}: organism {org} has no dataset in this study (the datasets' organisms: {', '.join(have)}), "
        f"so claim {cid!r} names {org} genes for nothing. Fix: give the entry for the organism of the datasets "
        f"(e.g. {key}: {{{', '.join(f'{o}: [...]' for o in have)}}}), or set `organism: {org}` on the datasets "
        "of that organism."
        for org in value
        if org not in have and org != organism
    ]


def _test(
    cid: str,
    i: int,
    item,
    libraries: Iterable[str] | None,
    organism: str = "human",
    dataset_organisms: Iterable[str] | None = None,
) -> tuple[Test | None, list[str]]:
    where = f"claims.{cid}.tests[{i}]"
    spec = {"kind": item} if isinstance(item, str) else dict(item or {})
    kind = spec.get("kind")
    if kind not in TEST_KINDS:
        return None, [
            f"{where}: unknown test kind {kind!r} in claim {cid!r}. Fix: use one of "
            + "; ".join(f"{k} ({v})" for k, v in TEST_KINDS.items())
            + " (docs/claims.md)."
        ]
    problems = []
    extra = [k for k in spec if k != "kind" and k not in OPTIONS[kind]]
    if extra:
        allowed = ", ".join(OPTIONS[kind]) or "none"
        problems.append(
            f"{where}: {', '.join(f'`{k}`' for k in extra)} is not an option of {kind} (its options: {allowed}). "
            f"Fix: remove it, or use the test kind it belongs to."
        )
    for key in REQUIRED.get(kind, ()):
        if not spec.get(key):
            example = "genes: [HMOX1, VDR]" if key == "genes" else 'pattern: "^MT1[A-Z0-9]*$|^MT2A$"'
            problems.append(
                f"{where}: a {kind} test needs `{key}` (claim {cid!r}). Fix: e.g. {{kind: {kind}, {example}}}."
            )
    method = spec.get("method")
    if method is not None and method not in METHODS:
        problems.append(f"{where}: method {method!r} is not one of {', '.join(METHODS)}.")
    library = spec.get("library")
    if library is not None and libraries is not None and library not in set(libraries):
        problems.append(
            f"{where}: library {library!r} is not a configured gene-set library. Fix: one of "
            f"{', '.join(libraries)} (genesets:)."
        )
    given = _per_organism(spec.get(GENE_TESTS[kind]), organism) if kind in GENE_TESTS else ()
    if kind in GENE_TESTS:
        key = GENE_TESTS[kind]
        problems += _organism_problems(where, cid, key, spec.get(key), organism, dataset_organisms)
    for p in (p for org, ps in given for p in ps) if kind == "family_de" else ():
        try:
            re.compile(p)
        except re.error as exc:
            problems.append(
                f"{where}: the gene pattern {p!r} of claim {cid!r} is not a valid regular expression ({exc}). Fix: "
                'e.g. "^MT1[A-Z0-9]*$" (anchors ^ $, a character class [..], alternatives with |); quote it in YAML.'
            )
    direction = spec.get("direction")
    pairs: tuple[tuple[str, str], ...] = ()
    if isinstance(direction, str):
        pairs = (("*", direction),)
    elif isinstance(direction, Mapping):
        pairs = tuple((str(k), str(v)) for k, v in direction.items())
    bad = [v for _, v in pairs if v not in DIRECTIONS]
    if bad:
        problems.append(
            f"{where}: direction {bad[0]!r} is neither up nor down. Fix: `direction: down` for every dataset, or "
            "per role or dataset, e.g. {cells_overexpression: up, cells_loss_of_function: down}."
        )
    if problems:
        return None, problems
    max_fdr = spec.get("max_fdr")
    return (
        Test(
            kind,
            method=method,
            library=library,
            max_fdr=None if max_fdr is None else float(max_fdr),
            genes=dict(given).get(organism, ()) if kind == "genes_de" else (),
            direction=pairs,
            patterns=dict(given).get(organism, ()) if kind == "family_de" else (),
            name=str(spec.get("name") or "family"),
            given=given,
        ),
        [],
    )


def _claim(cid: str, spec: Mapping, perturbed_gene, libraries, organism, dataset_organisms):
    problems = []
    tests = []
    for i, item in enumerate(spec.get("tests") or []):
        t, p = _test(cid, i, item, libraries, organism, dataset_organisms)
        problems += p
        if t is None:
            continue
        if t.kind == "selection_null" and (not tests or tests[-1].kind not in PATHWAY_TESTS):
            problems.append(
                f"claims.{cid}.tests[{i}]: selection_null qualifies the pathway test just before it, and claim "
                f"{cid!r} has none there. Fix: put it right after an on_top or enriched test, e.g. "
                "tests: [enriched, selection_null]."
            )
        tests.append(t)
    if not spec.get("tests"):
        problems.append(f"claims.{cid}: no tests. Fix: e.g. tests: [on_top] (docs/claims.md lists the test kinds).")
    if not spec.get("roles") and not spec.get("datasets"):
        problems.append(
            f"claims.{cid}: names no role and no dataset. Fix: say which datasets it concerns, with `roles: [...]` "
            "(the datasets' `role:`) and/or `datasets: [...]`."
        )
    sentence = str(spec.get("sentence") or "")
    problems += _fix_placeholders(cid, sentence, any(t.kind == "genes_de" for t in tests), perturbed_gene)
    if problems:
        return None, problems
    return Claim(cid, sentence, _strings(spec.get("roles")), _strings(spec.get("datasets")), tuple(tests)), []


def parse_claims(
    section: Mapping | None,
    roles: Mapping[str, str],
    *,
    perturbed_gene: str | None = None,
    libraries: Iterable[str] | None = None,
    source: str = "config",
    check_roles: bool = True,
    organism: str = "human",
    organisms: Mapping[str, str] | None = None,
) -> list[Claim]:
    """The claims of a study: the config's ``claims:`` section (None: :func:`default_claims`).

    ``roles`` maps every dataset to its role ("" when it has none). Raises :class:`InputError`
    with one line per problem (a claim naming a role no dataset has, an unknown dataset or test
    kind, a placeholder the sentence uses that does not exist, a gene pattern that is not a valid
    regular expression, ...), each naming the claim and the fix. ``check_roles=False`` keeps
    claims whose roles or datasets the study does not have (they are then ``not tested``), for
    studies assembled in code. ``organism`` is the study organism (a list of genes or patterns is in
    its symbols); with ``organisms`` (dataset -> organism) a test giving genes per organism for an
    organism no dataset has is a problem too (not with ``check_roles=False``).
    """
    if section is None:
        return default_claims(roles)
    libraries = list(libraries) if libraries is not None else None
    problems, out = [], []
    for cid, spec in section.items():
        dataset_organisms = organisms.values() if organisms is not None and check_roles else None
        claim, p = _claim(str(cid), spec or {}, perturbed_gene, libraries, organism, dataset_organisms)
        problems += p
        if claim is None:
            continue
        for r in claim.roles:
            if r in RESERVED_ROLES:
                problems.append(
                    f"claims.{cid}.roles: {r} cannot be part of a claim ("
                    + (
                        "a negative control is a check of the method: the target must not be on top there"
                        if r == "negative_control"
                        else "datasets of role other are analysed, never part of a claim"
                    )
                    + "). Fix: remove it from the claim's roles."
                )
            elif check_roles and r not in set(roles.values()):
                have = sorted({x for x in roles.values() if x and x not in RESERVED_ROLES})
                problems.append(
                    f"claims.{cid}.roles: no dataset has the role {r!r}. Fix: give a dataset `role: {r}`, or name "
                    f"one of the datasets' roles ({', '.join(have) or 'none has a role yet'}), or list datasets "
                    "by name under `datasets:`."
                )
        for ds in claim.datasets if check_roles else ():
            if ds not in roles:
                problems.append(
                    f"claims.{cid}.datasets: {ds!r} is not a dataset of the config. Fix: one of {', '.join(roles)}."
                )
            elif roles[ds] in RESERVED_ROLES:
                problems.append(
                    f"claims.{cid}.datasets: {ds} has role {roles[ds]}, which is never part of a claim. Fix: "
                    "remove it from the claim, or give it another role."
                )
        keys = set(claim.roles) | set(claim.datasets) | {"*"}
        for t in claim.tests:
            for k, _ in t.direction:
                if k not in keys:
                    problems.append(
                        f"claims.{cid}.tests: the direction for {k!r} names neither a role nor a dataset of claim "
                        f"{cid!r}. Fix: one of {', '.join(sorted(keys - {'*'}))}, or one direction for all."
                    )
        out.append(claim)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"{source}: the claims are not valid ({len(problems)} problem(s)):\n{lines}")
    return out


def roles_of(cfg: Mapping) -> dict[str, str]:
    """Dataset -> role ("" when the dataset has none) of a validated config."""
    return {name: str(ds.get("role") or "") for name, ds in cfg["datasets"].items()}


def from_config(cfg: Mapping, source: str = "config") -> list[Claim]:
    """The claims of a validated config (:func:`parse_claims` with its roles, perturbed_gene and libraries)."""
    return parse_claims(
        cfg.get("claims"),
        roles_of(cfg),
        perturbed_gene=cfg.get("perturbed_gene"),
        libraries=list(cfg.get("genesets") or {}),
        source=source,
        organism=cfg.get("organism", "human"),
        organisms={name: ds.get("organism", cfg.get("organism", "human")) for name, ds in cfg["datasets"].items()},
    )


def role_names(cfg_role_names: Mapping[str, str] | None) -> dict[str, str]:
    """How roles are shown (the config's ``role_names`` and the built-in negative_control and other)."""
    return {**dict(cfg_role_names or {}), **BUILTIN_ROLE_NAMES}


def gene_tests(section: Mapping | None, organism: str = "human") -> list[Test]:
    """The genes_de and family_de tests of a ``claims:`` section (checked when the workflow started),
    read as :func:`parse_claims` reads them; ``organism``: the study organism."""
    out = []
    for cid, spec in (section or {}).items():
        for i, item in enumerate((spec or {}).get("tests") or []):
            t, _ = _test(str(cid), i, item, None, organism)
            if t is not None and t.kind in GENE_TESTS:
                out.append(t)
    return out


def gene_requests(section: Mapping | None, organism: str = "human") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The genes (genes_de) and symbol patterns (family_de) a ``claims:`` section tests, in the study
    organism's symbols: the verdict reports their status in every dataset (``verdict_genes.tsv``),
    beside ``verdict.genes`` and ``verdict.gene_patterns`` (a dataset of another organism:
    :func:`.claim_genes.requests`)."""
    tests = gene_tests(section, organism)
    genes = tuple(dict.fromkeys(g for t in tests for g in t.genes))
    patterns = tuple(dict.fromkeys(p for t in tests for p in t.patterns))
    return genes, patterns
