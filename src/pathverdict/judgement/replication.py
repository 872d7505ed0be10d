"""One answer across the datasets of a claim: the replication summary (issue 23, part 3; docs/replication.md).

For each claim with a pathway test (``on_top`` / ``enriched``), per dataset it concerns: the target's
verdict status, the claim's pathway answer there, and the pathway's standardised effect with its standard
error (:mod:`.pathway_effect`); then a random-effects meta-analysis of the poolable datasets
(:func:`.meta_analysis.rma_reml`, metafor's REML), the count of on-top calls and one answer:

* ``not tested`` -- fewer than 2 poolable datasets (no pooled numbers are shown);
* ``replicated`` -- the pooled effect's 95% interval lies above 0 and still does when any one dataset is
  left out (with 2 datasets: each one's own interval lies above 0);
* ``inconclusive`` -- the pooled interval lies above 0 but rests on one dataset whose removal takes it
  to 0, while the others are compatible with it (their pooled interval reaches into that dataset's); or
  several datasets each carry it; or every dataset's own interval lies above 0 but their sizes differ so
  much that the pooled interval reaches 0;
* ``not replicated`` -- the pooled interval reaches 0 (and some dataset's own does too), or only one
  dataset shows the effect and the others' pooled interval lies below its own.

A dataset is shown and **not pooled**, with the reason, when it is a negative control (a check of the
method, never part of a claim), a published DE table (no counts: the effect needs the design and the
genes' residual correlation), its claim's pathway test is ``inconclusive`` or ``not tested`` there
(a caveat included), its enrichment is explained by the selection of its samples (the claim's
``selection_null``), or the effect cannot be computed (too few genes, no residual degrees of freedom).
Missing or untested evidence is never pooled as evidence. The power rule's caveat (a "not on top" in a
design without the power to find the effect is inconclusive) is the exception: it qualifies the yes/no
answer, not the effect estimate, which is pooled with its (wide) standard error -- leaving out the
datasets that found nothing would bias the pooled effect upwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import claim_tests as _tests
from .claim_specs import PATHWAY_TESTS, Claim, Test
from .meta_analysis import MetaResult, leave_one_out, rma_reml
from .pathway_effect import Z975, PathwayEffect
from ..util import read_text_table

ANSWERS = ("replicated", "not replicated", "inconclusive", "not tested")
# the answers in the stylesheet's colours (templates/style.css, shared by every page)
ANSWER_CLASSES = {
    "replicated": "yes",
    "not replicated": "no",
    "inconclusive": "inconclusive",
    "not tested": "not-tested",
}
MIN_POOLED = 2
EFFECT_NAME = "excess mean squared standardised log fold change"
COLUMNS = [
    "claim",
    "kind",
    "dataset",
    "role",
    "library",
    "method",
    "status",
    "pathway_answer",
    "poolable",
    "effect",
    "se",
    "ci_low",
    "ci_high",
    "weight",
    "n_genes",
    "effective_n",
    "df",
    "correlation_inflation",
    "k",
    "n_datasets",
    "on_top",
    "tau2",
    "i2",
    "q",
    "q_pvalue",
    "pi_low",
    "pi_high",
    "answer",
    "reason",
]
TEXT_COLUMNS = ("claim", "kind", "dataset", "role", "library", "method", "status", "pathway_answer", "poolable")
TEXT_COLUMNS += ("answer", "reason")
NEGATIVE_CONTROL = "negative_control"
NOT_POOLED_CONTROL = "a negative control: a check of the method (the target is expected not on top), never pooled"
NO_COUNTS = (
    "a published DE table: the standardised effect needs the design's sample sizes and the genes' residual "
    "correlation, which need counts"
)


def fmt(x: float) -> str:
    """A number in a sentence: 3 significant digits."""
    from ..render import num

    return num(x)


def interval(low: float, high: float) -> str:
    return f"[{fmt(low)}, {fmt(high)}]"


@dataclass
class DatasetEntry:
    """One dataset of a claim: its status, pathway answer, effect (None: not computed, ``reason``) and
    whether it is pooled."""

    dataset: str
    role: str
    library: str
    method: str
    status: str
    pathway_answer: str
    effect: PathwayEffect | None
    pooled: bool
    reason: str = ""
    weight: float = float("nan")


def pathway_test(claim: Claim) -> tuple[Test | None, bool]:
    """The claim's first pathway test, and whether a ``selection_null`` qualifies it."""
    for i, t in enumerate(claim.tests):
        if t.kind in PATHWAY_TESTS:
            after = claim.tests[i + 1] if i + 1 < len(claim.tests) else None
            return t, after is not None and after.kind == "selection_null"
    return None, False


def _status(row: pd.Series | None) -> str:
    if row is None:
        return "no result"
    from . import verdict as _verdict

    return _verdict._status(row)


def _poolable(
    ctx: _tests.Context, ds: str, role: str, test: Test, qualified: bool, effect, caveats
) -> tuple[str, bool, str]:
    """(the claim's pathway answer in the dataset, pooled?, the reason when not)."""
    from .calibration import POWER_SOURCE
    from .claims import apply_caveats

    out = _tests.run(ctx, ds, role, test, None)
    method = out.method
    answer, reasons = apply_caveats(caveats, ds, test.kind, out.answer, method)
    if ds in ctx.no_counts:
        return answer, False, NO_COUNTS
    # the power rule qualifies a "no", not the effect: an underpowered dataset's estimate is pooled (with its
    # wide SE); leaving out the datasets that found nothing would bias the pooled effect upwards
    validity = caveats[caveats["source"] != POWER_SOURCE] if caveats is not None and len(caveats) else caveats
    held, held_reasons = apply_caveats(validity, ds, test.kind, out.answer, method)
    if held in ("inconclusive", "not tested"):
        why = "; ".join(held_reasons) or out.evidence
        return answer, False, f"its {test.kind} test is {held} here ({why})"
    if qualified and ds in ctx.selected and answer == "yes":
        held, why = _tests.selection_null(ctx.null, ds, ctx.library, ctx.null_alpha, ctx.null_enabled)
        if held != "yes":
            return "no" if held == "no" else held, False, f"patients selected by expression: {why}"
    if not isinstance(effect, PathwayEffect):
        return answer, False, f"no effect: {effect}"
    if answer != held:  # the power rule made its answer inconclusive: pooled all the same, and why
        return (
            answer,
            True,
            "pooled: the power rule makes its 'no' inconclusive, not its effect (" + "; ".join(reasons) + ")",
        )
    return answer, True, ""


def claim_entries(
    claim: Claim,
    roles: Mapping[str, str],
    ctx: _tests.Context,
    effects: Mapping[tuple[str, str], PathwayEffect | str],
    caveats: pd.DataFrame | None = None,
) -> list[DatasetEntry]:
    """The datasets a claim concerns, each with its status, effect and whether it is pooled (``effects``:
    (dataset, library) -> the effect, or why there is none)."""
    test, qualified = pathway_test(claim)
    out = []
    for ds, role in roles.items():
        if role == NEGATIVE_CONTROL or not claim.concerns(ds, role) or test is None:
            continue
        library = test.library or ctx.library
        row = _tests.pathway_row(ctx.verdict, ds, library, test.method)
        method = test.method or (str(row["method"]) if row is not None else "")
        effect = effects.get((ds, library), "not computed")
        answer, pooled, reason = _poolable(ctx, ds, role, test, qualified, effect, caveats)
        out.append(DatasetEntry(ds, role, library, method, _status(row), answer, _effect(effect), pooled, reason))
    return out


def control_entries(roles: Mapping[str, str], ctx: _tests.Context, effects) -> list[DatasetEntry]:
    """The negative controls: shown with their effect (expected near 0 or below), never pooled."""
    out = []
    for ds, role in roles.items():
        if role != NEGATIVE_CONTROL:
            continue
        row = _tests.pathway_row(ctx.verdict, ds, ctx.library)
        effect = effects.get((ds, ctx.library), "not computed")
        reason = NO_COUNTS if ds in ctx.no_counts else NOT_POOLED_CONTROL
        method = str(row["method"]) if row is not None else ""
        out.append(DatasetEntry(ds, role, ctx.library or "", method, _status(row), "", _effect(effect), False, reason))
    return out


def _effect(effect) -> PathwayEffect | None:
    return effect if isinstance(effect, PathwayEffect) else None


# --------------------------------------------------------------------------- the answer


@dataclass
class Synthesis:
    """One claim's answer across its datasets: ``answer`` (:data:`ANSWERS`), ``reason``, the fit (None
    when not tested), ``on_top`` calls of ``n_datasets``."""

    answer: str
    reason: str
    fit: MetaResult | None
    k: int
    n_datasets: int
    on_top: int


def decide(names: Sequence[str], effects: Sequence[float], ses: Sequence[float]) -> tuple[str, str, MetaResult | None]:
    """The answer (see the module docs) from the poolable datasets' effects and (z-equivalent) SEs."""
    k = len(effects)
    if k < MIN_POOLED:
        return (
            "not tested",
            f"{k} poolable dataset{'' if k == 1 else 's'}: a replication needs at least {MIN_POOLED}",
            None,
        )
    y, s = np.asarray(effects, dtype=float), np.asarray(ses, dtype=float)
    fit = rma_reml(y, s)
    pooled = f"pooled effect {fmt(fit.estimate)}, 95% CI {interval(fit.ci_low, fit.ci_high)}"
    own_low, own_high = y - Z975 * s, y + Z975 * s
    if fit.ci_low <= 0:
        if (own_low > 0).all():
            return (
                "inconclusive",
                f"every dataset's own 95% CI is above 0, but their effects differ so much (I² {fmt(fit.i2)}%, "
                f"τ² {fmt(fit.tau2)}) that the {pooled} reaches 0",
                fit,
            )
        where = "lies below 0" if fit.ci_high < 0 else "includes 0"
        return "not replicated", f"the {pooled} {where}", fit
    loo = leave_one_out(y, s)
    carriers = [i for i, f in enumerate(loo) if f.ci_low <= 0]
    if not carriers:
        return "replicated", f"{pooled}, above 0 in {k} datasets and without any one of them", fit
    if len(carriers) > 1:
        return (
            "inconclusive",
            f"the {pooled} is above 0, but not without "
            + ", nor without ".join(names[i] for i in carriers)
            + ": it rests on a few datasets",
            fit,
        )
    i = carriers[0]
    rest = loo[i]
    what = "the other dataset's effect" if rest.k == 1 else "the other datasets' pooled effect"
    others = f"{what} {fmt(rest.estimate)}, 95% CI {interval(rest.ci_low, rest.ci_high)}"
    if rest.ci_high < own_low[i]:
        return (
            "not replicated",
            f"only {names[i]} shows the effect ({fmt(y[i])}, 95% CI {interval(own_low[i], own_high[i])}); "
            f"{others}, lies below it",
            fit,
        )
    return (
        "inconclusive",
        f"the {pooled} rests on {names[i]}: without it, {others}, includes 0 (and is compatible with "
        f"{names[i]}'s effect)",
        fit,
    )


def synthesise(entries: Sequence[DatasetEntry]) -> Synthesis:
    """The claim's answer from its datasets (:func:`decide` on the pooled ones); sets each pooled entry's
    random-effects weight (percent)."""
    pooled = [e for e in entries if e.pooled and e.effect is not None]
    answer, reason, fit = decide(
        [e.dataset for e in pooled], [e.effect.effect for e in pooled], [e.effect.se for e in pooled]
    )
    if fit is not None:
        w = np.array([1.0 / (e.effect.se**2 + fit.tau2) for e in pooled])
        for e, wi in zip(pooled, 100.0 * w / w.sum()):
            e.weight = float(wi)
    on_top = sum(e.status == "on_top" for e in entries)
    return Synthesis(answer, reason, fit, len(pooled), len(entries), on_top)


def evaluate(
    verdict: pd.DataFrame,
    roles: Mapping[str, str],
    claims: Sequence[Claim],
    effects: Mapping[tuple[str, str], PathwayEffect | str],
    *,
    library: str | None = None,
    null: pd.DataFrame | None = None,
    selected: Sequence[str] = (),
    null_enabled: bool = True,
    null_alpha: float = 0.05,
    tables: Sequence[str] = (),
    caveats: pd.DataFrame | None = None,
    max_fdr: float = 0.05,
) -> pd.DataFrame:
    """``replication.tsv``: per claim (config order) its datasets (``kind`` dataset) and one ``pooled``
    row; then the negative controls (claim ``negative_control``), shown and never pooled. ``effects``:
    (dataset, library) -> :class:`PathwayEffect` or why there is none."""
    if library is None and len(verdict):
        library = str(verdict["library"].iloc[0])
    # the pathway tests read the verdict and the null only (no genes)
    no_genes = pd.DataFrame(columns=["dataset", "symbol", "status"])
    ctx = _tests.Context(verdict=verdict, genes=no_genes, library=library, max_fdr=max_fdr, null=null)
    ctx.selected, ctx.no_counts = frozenset(selected), frozenset(tables)
    ctx.null_enabled, ctx.null_alpha = null_enabled, null_alpha
    rows = []
    for claim in claims:
        entries = claim_entries(claim, roles, ctx, effects, caveats)
        if not claim.has_pathway_test:
            syn = Synthesis(
                "not tested",
                "the claim tests no pathway (genes or gene families only): no effect to pool",
                None,
                0,
                0,
                0,
            )
        else:
            syn = synthesise(entries)
        rows += [_dataset_row(claim.id, e) for e in entries]
        rows.append(_pooled_row(claim.id, syn))
    rows += [_dataset_row(NEGATIVE_CONTROL, e) for e in control_entries(roles, ctx, effects)]
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(claim: str, kind: str, **values) -> dict:
    """A row of :data:`COLUMNS`: numbers NaN and texts empty unless given."""
    row = {c: ("" if c in TEXT_COLUMNS else np.nan) for c in COLUMNS}
    row.update(claim=claim, kind=kind, **values)
    return row


def _dataset_row(claim: str, e: DatasetEntry) -> dict:
    numbers = {}
    if e.effect is not None:
        f = e.effect
        numbers = dict(zip(("ci_low", "ci_high"), f.ci)) | {
            k: getattr(f, k) for k in ("effect", "se", "n_genes", "effective_n", "df", "correlation_inflation")
        }
    return _row(
        claim,
        "dataset",
        dataset=e.dataset,
        role=e.role,
        library=e.library,
        method=e.method,
        status=e.status,
        pathway_answer=e.pathway_answer,
        poolable="yes" if e.pooled else "no",
        weight=e.weight,
        reason=e.reason,
        **numbers,
    )


# the pooled row's columns from the fit (MetaResult's names)
FIT_COLUMNS = {"effect": "estimate", "se": "se", "ci_low": "ci_low", "ci_high": "ci_high", "tau2": "tau2", "i2": "i2"}
FIT_COLUMNS |= {"q": "q", "q_pvalue": "q_pvalue", "pi_low": "pi_low", "pi_high": "pi_high"}


def _pooled_row(claim: str, s: Synthesis) -> dict:
    fit = {c: getattr(s.fit, a) for c, a in FIT_COLUMNS.items()} if s.fit is not None else {}
    return _row(
        claim, "pooled", k=s.k, n_datasets=s.n_datasets, on_top=s.on_top, answer=s.answer, reason=s.reason, **fit
    )


def read_replication(path) -> pd.DataFrame:
    """``results/<study>/replication.tsv``, text columns as text."""
    return read_text_table(path, TEXT_COLUMNS)


# --------------------------------------------------------------------------- in words


def _n(x) -> int:
    return int(float(x)) if not pd.isna(pd.to_numeric(x, errors="coerce")) else 0


def claim_line(row: Mapping) -> str:
    """One claim's answer in a few words (the terminal line): ``cells replicated (pooled effect 5.1 [3.2,
    7.0], I² 12%, on top 2/2)``."""
    answer = str(row["answer"])
    calls = f"on top {_n(row['on_top'])}/{_n(row['n_datasets'])}"
    if pd.isna(pd.to_numeric(row.get("effect"), errors="coerce")):
        return f"{row['claim']} {answer} ({_n(row['k'])}/{_n(row['n_datasets'])} poolable, {calls})"
    return (
        f"{row['claim']} {answer} (pooled effect {fmt(row['effect'])} {interval(row['ci_low'], row['ci_high'])}, "
        f"I² {fmt(row['i2'])}%, {calls})"
    )


def terminal_line(table: pd.DataFrame | None, width: int = 0) -> str:
    """``Replication across datasets: ...`` for the claims with a pathway test (empty when none); with a
    ``width``, broken between claims into indented lines of at most that width where it can."""
    if table is None or table.empty:
        return ""
    pooled = table[(table["kind"] == "pooled") & (pd.to_numeric(table["n_datasets"], errors="coerce") > 0)]
    if pooled.empty:
        return ""
    parts = [claim_line(r) for _, r in pooled.iterrows()]
    lines = ["Replication across datasets: " + parts[0]]
    for part in parts[1:]:
        if width and len(lines[-1]) + 3 + len(part) > width:
            lines[-1] += " ·"
            lines.append("  " + part)
        else:
            lines[-1] += " · " + part
    return "\n".join(lines)


# --------------------------------------------------------------------------- the page


def _records(table: pd.DataFrame) -> list[dict]:
    return [
        {k: ("" if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]


def to_html(
    table: pd.DataFrame,
    claims: Sequence[Claim],
    target: str,
    banner: str = "",
    *,
    figure_png: bytes | None = None,
    perturbed_gene: str | None = None,
    role_names: Mapping[str, str] | None = None,
) -> str:
    """``results/<study>/replication.html`` (``templates/replication.html``): each claim's answer across
    its datasets, the forest plot (``figure_png``, inlined: report pages link nothing), per claim its
    datasets (effect, 95% CI, weight, pooled or why not) and the pooled fit; the negative controls."""
    import base64

    from ..render import render
    from .claim_specs import role_names as _role_names

    names = _role_names(role_names)
    sections, answers = [], []
    for claim in claims:
        sub = table[table["claim"] == claim.id]
        pooled = _records(sub[sub["kind"] == "pooled"])
        rows = _records(sub[sub["kind"] == "dataset"])
        for r in rows:
            r["role_name"] = names.get(r["role"], r["role"])
        p = pooled[0] if pooled else None
        if p is not None:
            answers.append({"key": claim.id, "answer": p["answer"], "reason": p["reason"], "pooled": p})
        sections.append({"key": claim.id, "text": claim.text(target, perturbed_gene), "rows": rows, "pooled": p})
    controls = _records(table[table["claim"] == NEGATIVE_CONTROL])
    for r in controls:
        r["role_name"] = ""
    return render(
        "replication.html",
        title="Replication across datasets",
        banner=banner,
        answers=answers,
        sections=sections,
        controls=controls,
        effect_name=EFFECT_NAME,
        css=ANSWER_CLASSES,
        target=target,
        figure=base64.b64encode(figure_png).decode("ascii") if figure_png else "",
    )
