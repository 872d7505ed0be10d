"""The study's claims, checked dataset by dataset: the engine (the claims themselves are data,
the config's ``claims:`` section, read by :mod:`.claim_specs`; the test kinds are in
:mod:`.claim_tests`; docs/claims.md).

Each dataset has a ``role`` in the config (the user's names); a claim concerns the datasets of
its roles and those it names. Two roles keep a fixed meaning:

* ``negative_control``: a dataset where the target is expected *not* to be on top. It is
  shown as a check of the method -- passed when the target is not called on top (status
  not_on_top, or inconclusive: no such call was made), failed when it is -- and never
  counted in a claim;
* ``other``: analysed (verdict, robustness, null), never part of the claims.

Per dataset ``holds`` is ``yes`` / ``partly`` (some parts of the claim hold, others do
not) / ``no`` / ``inconclusive`` (the data cannot answer, the evidence says why) /
``not tested`` (no testable evidence in the dataset, e.g. every gene of a family
untested). Untested genes and inconclusive verdicts are never counted for or against.

**Caveats** (:data:`CAVEAT_COLUMNS`, :func:`apply_caveats`): what other judgements say about a
dataset's evidence (a contrast confounded with a batch, an answer that rests on one sample, too
little power) without knowing the claims' wording. A caveat applies to a test of a claim in a
dataset when the dataset matches, the test kind is in its ``tests`` (or ``*``) and the test's own
answer equals its ``when`` (or ``when`` is ``any``; a test that was not tested stays so); the
answer then becomes ``holds`` (``inconclusive``) and the reason is added to the evidence. An entry
``kind:method`` of ``tests`` (e.g. ``on_top:gsea``, the power rule's) applies only to that kind judged
by that method. A
caveat never makes an answer yes or no. The negative-control check takes caveats as an
``on_top`` test: a confounded negative control cannot pass.

Per claim: ``reproduced`` (yes in every dataset it concerns), ``not reproduced`` (no
dataset supports it and at least one contradicts it), ``partly`` (support and
contradiction both), ``inconclusive`` (support in some datasets, the others cannot
answer; or none can) and ``not tested`` (no dataset of the roles it needs, or nothing
testable). The study: ``reproduced`` when every tested claim is, ``not reproduced``
when none is reproduced or partly, ``inconclusive`` when every tested claim is, else
``partly reproduced``; ``not tested`` when no claim could be tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from . import calibration as _calibration
from . import claim_tests as _tests
from .claim_specs import PATHWAY_TESTS, TEST_KINDS, Claim, default_claims
from .claim_tests import combine, null_text, selection_null  # noqa: F401 (the claims' vocabulary, re-exported)
from ..util import read_text_table

CHECK_TEXT = "In a negative-control dataset {target} is not on top (a check of the method, not a claim of the study)."
HOLDS = ("yes", "partly", "no", "inconclusive", "not tested")
COLUMNS = ["claim", "dataset", "role", "holds", "evidence", "null"]
NULL_TEXT = ("dataset", "library", "method", "statistic", "informative", "selection_aware", "note")
SELECTION_TEXT = ("dataset", "analysis", "description", "library", "method", "status", "implication")
# the seam between the claims and the judgements of a dataset's trust (sample QC, confounding,
# leave-one-sample-out, calibration and power): one row per caveat
CAVEAT_COLUMNS = ["dataset", "tests", "when", "holds", "source", "reason"]
CAVEAT_WHEN = ("yes", "no", "any")
CAVEAT_HOLDS = ("inconclusive",)


# --------------------------------------------------------------------------- reading


def read_null(path) -> pd.DataFrame:
    """``results/<study>/null.tsv`` with text columns as text (a dataset may be called "null" or
    "NA"); ``empirical_p`` empty -> NaN."""
    return read_text_table(path, NULL_TEXT)


def read_selection(paths: Iterable) -> pd.DataFrame:
    """The selection analyses of every dataset with ``select_by_expression``, in one table."""
    tables = [read_text_table(p, SELECTION_TEXT) for p in paths]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(SELECTION_TEXT))


# --------------------------------------------------------------------------- caveats


def empty_caveats() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in CAVEAT_COLUMNS})


def collect_caveats(tables: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    """The caveats of every producer in one table (an empty one, with :data:`CAVEAT_COLUMNS`, when
    there are none). A table with other columns or values outside the vocabulary is a bug of its
    producer: ``ValueError`` naming the column and value."""
    out = [empty_caveats()]
    for t in tables:
        if t is None or len(t) == 0:
            continue
        if list(t.columns) != CAVEAT_COLUMNS:
            raise ValueError(f"a caveats table has the columns {list(t.columns)}, not {CAVEAT_COLUMNS}")
        t = t.astype(str)
        for tests in t["tests"]:
            entries = [k.strip().partition(":") for k in tests.split(";")]
            known = all(k in TEST_KINDS and (not sep or m in _tests._verdict.METHODS) for k, sep, m in entries)
            if tests != "*" and not known:
                raise ValueError(
                    f"caveat tests {tests!r}: not '*' nor a ';'-separated list of {', '.join(TEST_KINDS)} "
                    f"(each optionally :method, one of {', '.join(_tests._verdict.METHODS)})"
                )
        for col, allowed in (("when", CAVEAT_WHEN), ("holds", CAVEAT_HOLDS)):
            bad = sorted(set(t[col]) - set(allowed))
            if bad:
                raise ValueError(f"caveat {col} {bad[0]!r} is not one of {', '.join(allowed)}")
        out.append(t)
    return pd.concat(out, ignore_index=True)


def read_caveats(paths: Iterable) -> pd.DataFrame:
    """Caveat tables written as TSV (:data:`CAVEAT_COLUMNS`), in one table."""
    return collect_caveats(read_text_table(p, tuple(CAVEAT_COLUMNS)) for p in paths)


def apply_caveats(
    caveats: pd.DataFrame | None, dataset: str, test: str, answer: str, method: str | None = None
) -> tuple[str, list[str]]:
    """A test's answer in a dataset after the caveats: (answer, the reasons of those that apply).

    A caveat applies when its ``dataset`` is this one, ``test`` is in its ``tests`` (or they are
    ``*``; an entry ``test:method`` only when the test was judged by ``method``) and ``answer`` equals
    its ``when`` (or ``when`` is ``any``); the answer becomes its ``holds`` (``inconclusive``). A
    ``not tested`` answer has nothing to qualify and stays."""
    if caveats is None or caveats.empty or answer == "not tested":
        return answer, []
    held, reasons = answer, []
    for _, c in caveats[caveats["dataset"].astype(str) == str(dataset)].iterrows():
        kinds = {k.strip() for k in str(c["tests"]).split(";")}
        mine = test in kinds or (method is not None and f"{test}:{method}" in kinds)
        if (c["tests"] == "*" or mine) and c["when"] in ("any", answer):  # the test's own answer
            held = str(c["holds"])
            if c["reason"] not in reasons:
                reasons.append(str(c["reason"]))
    return held, reasons


def _caveated(out: _tests.Outcome, caveats, dataset: str, kind: str) -> _tests.Outcome:
    """An outcome with the caveats applied to its answer (all its parts become the caveat's holds)."""
    answer, reasons = apply_caveats(caveats, dataset, kind, out.answer, out.method)
    if reasons:
        out.parts = [answer] if out.parts else []
        out.reasons = reasons
    return out


def _with_reasons(evidence: str, reasons: Iterable[str]) -> str:
    return evidence + "".join(f"; inconclusive: {r}" for r in reasons)


# --------------------------------------------------------------------------- evaluate


def _check(ctx: _tests.Context, ds: str, role: str, ntext: str, caveats) -> dict:
    """The negative-control check: is the target falsely called on top? An inconclusive verdict is
    no such call; a caveat on its on_top answer makes the check inconclusive."""
    head = _tests.pathway_row(ctx.verdict, ds, ctx.library)
    st = _tests._verdict._status(head) if head is not None else None
    passed = {"on_top": "no", "not_on_top": "yes", "inconclusive": "yes", None: "not tested"}[st]
    said = {
        "on_top": "called ON TOP",
        "not_on_top": "not on top",
        "inconclusive": "not called on top (inconclusive)",
        None: "no result",
    }[st]
    answer = {"on_top": "yes", "not_on_top": "no", "inconclusive": "inconclusive", None: "not tested"}[st]
    held, reasons = apply_caveats(caveats, ds, "on_top", answer)
    evidence = _with_reasons(f"{_tests.describe(head)}; expected: not on top; {said}", reasons)
    return {
        "claim": "negative_control",
        "dataset": ds,
        "role": role,
        "holds": held if reasons else passed,
        "evidence": evidence,
        "null": ntext,
    }


def _claim_row(ctx, claim: Claim, ds: str, role: str, ntext: str, caveats, clauses) -> dict:
    outcomes: list[_tests.Outcome] = []
    pathway: _tests.Outcome | None = None
    for i, test in enumerate(claim.tests):
        if test.kind == "selection_null":
            out = _tests.qualify_by_selection(ctx, ds, claim.tests[i - 1], outcomes[-1])
            if out is None:
                continue
        else:
            out = _tests.run(ctx, ds, role, test, pathway)
            if test.kind in PATHWAY_TESTS and pathway is None:
                pathway = out
        outcomes.append(_caveated(out, caveats, ds, test.kind))
    parts = [p for o in outcomes for p in o.parts]
    reasons = list(dict.fromkeys(r for o in outcomes for r in o.reasons))
    evidence = "; ".join(o.evidence for o in outcomes if o.evidence)
    if claim.has_pathway_test:
        evidence += clauses(ds, pathway.row if pathway is not None else None)
    return {
        "claim": claim.id,
        "dataset": ds,
        "role": role,
        "holds": combine(parts),
        "evidence": _with_reasons(evidence, reasons),
        "null": ntext if claim.has_pathway_test else "",
    }


def evaluate(
    verdict: pd.DataFrame,
    genes: pd.DataFrame,
    roles: dict[str, str],
    *,
    target: str,
    claims: Sequence[Claim] | None = None,
    max_fdr: float = 0.05,
    library: str | None = None,
    null: pd.DataFrame | None = None,
    selected: Iterable[str] = (),
    null_enabled: bool = True,
    null_alpha: float = 0.05,
    sensitivity: pd.DataFrame | None = None,
    directions: pd.DataFrame | None = None,
    caveats: pd.DataFrame | None = None,
    tables: Iterable[str] = (),
    organisms: dict[str, str] | None = None,
    organism: str = "human",
    orthologs: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per claim (and negative-control check) x dataset it concerns: does it hold, and the numbers.

    ``claims`` are the study's (:func:`.claim_specs.parse_claims`; default: one claim per dataset,
    "the target is on top"); ``roles`` dataset -> role, in the order of the rows. ``library`` is
    the primary library (default: the first in ``verdict``); ``null`` is
    ``results/<study>/null.tsv`` (or None); ``selected`` the datasets with ``select_by_expression``.
    ``sensitivity`` (``results/<study>/sensitivity.tsv``) and ``directions``
    (``results/<study>/sensitivity_directions.tsv``) add one clause each to the evidence of the
    claims with a pathway test: shown, never counted for or against a claim. ``caveats``
    (:data:`CAVEAT_COLUMNS`) qualify the tests' answers (:func:`apply_caveats`). ``tables``: the datasets
    given as a published DE table (what needs counts is not tested there, and said). ``organisms``
    (dataset -> organism, default the study ``organism``) and ``orthologs`` ({organism: pairs}) give
    the genes and families of each dataset's organism (:mod:`.claim_genes`).
    """
    from . import sensitivity as _sens

    if claims is None:
        claims = default_claims(roles)
    cell_datasets = set(directions["dataset"]) if directions is not None and len(directions) else set()

    def clauses(ds: str, head: pd.Series | None) -> str:
        out = ""
        if sensitivity is not None and head is not None:
            text = _sens.sentence(sensitivity, ds, str(head["library"]), str(head["method"]))
            out += f"; {text} (shown, not judged)" if text else ""
        if ds in cell_datasets:
            out += f"; directions in the cell datasets (shown, not judged): {_sens.directions_sentence(directions)}"
        return out

    if library is None and len(verdict):
        library = str(verdict["library"].iloc[0])
    ctx = _tests.Context(
        verdict,
        genes,
        library,
        max_fdr,
        null,
        frozenset(selected),
        null_enabled,
        null_alpha,
        frozenset(tables),
        organisms=dict(organisms or {}),
        organism=organism,
        orthologs=dict(orthologs or {}),
    )
    rows = []
    for ds, role in roles.items():
        mine = [c for c in claims if c.concerns(ds, role)]
        if role != "negative_control" and not mine:
            continue  # `other`, or a dataset no claim names: analysed, never part of the claims
        nrows = _tests.null_rows(null, ds, library)
        ntext = null_text(nrows) if not nrows.empty else ("" if null_enabled else "null disabled")
        if role == "negative_control":
            rows.append(_check(ctx, ds, role, ntext, caveats))
            continue
        rows += [_claim_row(ctx, c, ds, role, ntext, caveats, clauses) for c in mine]
    return pd.DataFrame(rows, columns=COLUMNS)


def aggregate(holds: Iterable[str]) -> str:
    """One claim over its datasets (see the module docs)."""
    h = [x for x in holds]
    tested = [x for x in h if x != "not tested"]
    if not tested:
        return "not tested"
    support = any(x in ("yes", "partly") for x in h)
    against = any(x in ("no", "partly") for x in h)
    if all(x == "yes" for x in h):
        return "reproduced"
    if support and against:
        return "partly"
    if against:
        return "not reproduced"
    return "inconclusive"


def claim_ids(table: pd.DataFrame, claims: Sequence[Claim | str] | None = None) -> list[str]:
    """The ids of the study's claims, in the config's order (``claims``: Claim objects or ids);
    without them, the claims of ``table`` in the order they first appear."""
    if claims is not None:
        return [c.id if isinstance(c, Claim) else str(c) for c in claims]
    return [c for c in dict.fromkeys(table["claim"]) if c != "negative_control"]


def summarise(table: pd.DataFrame, claims: Sequence[Claim | str] | None = None) -> dict[str, str]:
    """Per claim (``claims``, in their order; see :func:`claim_ids`): reproduced / partly / not
    reproduced / inconclusive / not tested; the negative-control check (passed / failed /
    inconclusive / not tested; key present only when the study has a negative control); and
    "study"."""
    ids = claim_ids(table, claims)
    out = {claim: aggregate(table.loc[table["claim"] == claim, "holds"]) for claim in ids}
    nc = list(table.loc[table["claim"] == "negative_control", "holds"])
    if not nc:
        pass  # no negative control in the study: no check to report
    elif all(x == "not tested" for x in nc):
        out["negative_control"] = "not tested"
    elif "no" in nc:
        out["negative_control"] = "failed"
    elif all(x == "yes" for x in nc):
        out["negative_control"] = "passed"
    else:
        out["negative_control"] = "inconclusive"
    assessed = [out[c] for c in ids if out[c] != "not tested"]
    if not assessed:
        out["study"] = "not tested"
    elif all(v == "reproduced" for v in assessed):
        out["study"] = "reproduced"
    elif all(v == "inconclusive" for v in assessed):
        out["study"] = "inconclusive"
    elif not any(v in ("reproduced", "partly") for v in assessed):
        out["study"] = "not reproduced"
    else:
        out["study"] = "partly reproduced"
    return out


def paragraph(
    table: pd.DataFrame,
    summary: dict[str, str],
    target: str,
    claims: Sequence[Claim],
    calibration: pd.DataFrame | None = None,
    perturbed_gene: str | None = None,
) -> str:
    """The answer in one paragraph: overall, each claim (its sentence, answer and datasets), the
    negative-control check and, when given, the calibration."""
    study = summary["study"]
    verb = (
        "could NOT BE TESTED"
        if study == "not tested"
        else ("INCONCLUSIVE" if study == "inconclusive" else study.upper())
    )
    parts = [f"Overall the study's findings are {verb} by this analysis."]
    for claim in claims:
        sub = table[table["claim"] == claim.id]
        where = ", ".join(f"{d}: {h}" for d, h in zip(sub["dataset"], sub["holds"])) or "no dataset of its roles"
        parts.append(f"Claim '{claim.text(target, perturbed_gene)}' — {summary[claim.id]} ({where}).")
    sub = table[table["claim"] == "negative_control"]
    if len(sub):
        where = ", ".join(
            f"{d}: {'not on top' if h == 'yes' else ('ON TOP' if h == 'no' else h)}"
            for d, h in zip(sub["dataset"], sub["holds"])
        )
        parts.append(
            f"Check of the method on negative controls (not counted in any claim): "
            f"{summary['negative_control']} ({where})."
        )
    if calibration is not None:  # results/<study>/calibration.tsv: how often such an answer is wrong
        from .calibration import sentence

        parts.append(sentence(calibration, sub["dataset"]))
    return " ".join(p for p in parts if p)


CALIBRATION_TEXT = _calibration.TEXT_COLUMNS
CALIBRATION_COLUMNS = (
    _calibration.COLUMNS
)  # results/<study>/calibration.tsv, as pathverdict.judgement.calibration writes it
SENSITIVITY_TEXT = ("dataset", "library", "method", "variant", "on_top", "status", "detail")
SENSITIVITY_COLUMNS = [
    "dataset",
    "library",
    "method",
    "variant",
    "rank",
    "n_terms",
    "fdr",
    "on_top",
    "status",
    "detail",
]


def read_calibration(path) -> pd.DataFrame:
    """``results/<study>/calibration.tsv`` (one row per dataset), text columns as text."""
    return read_text_table(path, CALIBRATION_TEXT)


def read_sensitivity(path) -> pd.DataFrame:
    """``results/<study>/sensitivity.tsv`` (dataset x library x method x variant), text columns as text."""
    return read_text_table(path, SENSITIVITY_TEXT)


def _records(table: pd.DataFrame | None, columns: Iterable[str]) -> list[dict]:
    """Rows as dicts holding every column of ``columns`` (missing ones empty)."""
    if table is None or table.empty:
        return []
    out = []
    for r in table.to_dict("records"):
        out.append(
            {c: ("" if c not in r or (not isinstance(r[c], str) and pd.isna(r[c])) else r[c]) for c in columns}
            | {k: v for k, v in r.items() if k not in columns}
        )
    return out


def calibration_text(row: dict, control: bool = False) -> str:
    """One dataset's calibration (its headline method), in words, for the column beside its answer
    (``control``: a negative control, whose check power does not qualify)."""
    from ..render import num

    verdict = _calibration.power_verdict(row, control)
    if str(row.get("fpr_on_top", "")) == "":  # not calibrated (a DE table), or not in the package table
        text = _calibration.power_words(row) + (f" ({verdict})" if verdict else "")
        note = "" if str(row.get("source", "")) == _calibration.NOT_CALIBRATED else str(row.get("note") or "")
        return f"{text} [{note}]" if note else text
    ci = f" (95% CI up to {num(row['fpr_ci_high'])})" if str(row.get("fpr_ci_high", "")) != "" else ""
    design = f"{row['design']}, {row.get('method', '')}: " if row.get("design") else ""
    return (
        f"{design}false-positive rate of on top"
        + (" as the claims count it" if _calibration.is_counted(row) else "")
        + f" {num(row['fpr_on_top'])}{ci}; {_calibration.power_words(row)}"
        + (f" ({verdict})" if verdict else "")
        + (f" [{row['source']}]" if row.get("source") else "")
    )


VARIANT_WORDS = {"without_metallothioneins": "without the metallothioneins", "direction": "by direction of change"}


def variant_text(variant: str) -> str:
    v = str(variant)
    if v in VARIANT_WORDS:
        return VARIANT_WORDS[v]
    kind, _, what = v.partition(":")
    if kind == "leave_one_out" and what:
        return f"leaving out {what}"
    if kind == "leave_one_sample_out":  # pathverdict.judgement.leave_one_sample_out
        return f"without sample {what}" if what else "leaving one sample out"
    if kind == "release" and what:
        return f"library release {what}"
    if kind == "engine" and what:
        return f"DE engine {what}"
    return v.replace("_", " ")


def _sensitivity_sections(sensitivity: pd.DataFrame | None) -> list[dict]:
    rows = _records(sensitivity, SENSITIVITY_COLUMNS)
    out: dict[str, list[dict]] = {}
    for r in rows:
        r["variant_text"] = variant_text(r["variant"])
        out.setdefault(str(r["dataset"]), []).append(r)
    sections = []
    for ds, rs in out.items():
        on_top = sum(r["status"] == "on_top" for r in rs)
        inconcl = sum(r["status"] == "inconclusive" for r in rs)
        sentence = (
            f"{ds}: the target is on top in {on_top} of {len(rs)} variant(s)"
            + (f", inconclusive in {inconcl}" if inconcl else "")
            + "."
        )
        sections.append({"dataset": ds, "rows": rs, "sentence": sentence})
    return sections


def _untested_example(claims: Sequence[Claim]) -> str:
    """The legend's example of "not tested", in the words of the study's claims."""
    family = next((t.name for c in claims for t in c.tests if t.kind == "family_de"), None)
    return f"every {family} untested" if family else "no result of the method in the dataset"


def _caveat_rows(caveats: pd.DataFrame | None, table: pd.DataFrame) -> list[dict]:
    """The caveats raised, each with the claims it made inconclusive (found by its reason); the power
    rule's only where it made one inconclusive (it is raised for every underpowered dataset and method, a
    sentence about a "no" that, where the target is on top, was never said)."""
    out = []
    for c in _records(caveats, CAVEAT_COLUMNS):
        hit = table[(table["dataset"] == c["dataset"]) & table["evidence"].str.contains(c["reason"], regex=False)]
        if hit.empty and c["source"] == _calibration.POWER_SOURCE:
            continue
        c["applied"] = ", ".join(hit["claim"].map(lambda x: str(x).replace("_", " "))) or "none of the claims"
        out.append(c)
    return out


def to_html(
    table: pd.DataFrame,
    summary: dict[str, str],
    target: str,
    claims: Sequence[Claim],
    banner: str = "",
    selection: pd.DataFrame | None = None,
    selected: Iterable[str] = (),
    calibration: pd.DataFrame | None = None,
    sensitivity: pd.DataFrame | None = None,
    *,
    perturbed_gene: str | None = None,
    role_names: dict[str, str] | None = None,
    caveats: pd.DataFrame | None = None,
) -> str:
    """The claims page (``templates/claims.html``): the answer overall and per claim (one
    line each), each claim per dataset with its evidence and null (and, when
    ``calibration`` is given, the calibrated false-positive rate and power of "on top" for
    the dataset's design), the negative-control checks, the caveats raised (when any), the
    selection analyses, and the sensitivity analyses when ``sensitivity`` is given.
    ``role_names`` says how each role is shown (default: the role)."""
    from ..render import render
    from .claim_specs import role_names as _role_names

    names = _role_names(role_names)
    cal = _records(calibration, CALIBRATION_COLUMNS)
    head = [c for c in cal if str(c.get("primary", "")).strip().lower() not in ("false", "0", "no")]
    controls = set(table.loc[table["claim"] == "negative_control", "dataset"].astype(str))
    # the headline method's row
    cal_by_ds = {str(c["dataset"]): calibration_text(c, str(c["dataset"]) in controls) for c in head[::-1]}
    rows = _records(table, COLUMNS)
    for r in rows:
        r["role_name"] = names.get(r["role"], r["role"])
        r["calibration"] = cal_by_ds.get(str(r["dataset"]), "")
    answers = []
    for claim in claims:
        sub = table[table["claim"] == claim.id]
        answers.append(
            {
                "key": claim.id,
                "answer": summary[claim.id],
                "text": claim.text(target, perturbed_gene),
                "where": ", ".join(f"{d}: {h}" for d, h in zip(sub["dataset"], sub["holds"])),
            }
        )
    ids = {c.id for c in claims}
    checks = [r for r in rows if r["claim"] == "negative_control"]
    check = None
    if checks:
        check = {
            "answer": summary.get("negative_control", "not tested"),
            "n": len(checks),
            "where": ", ".join(
                f"{r['dataset']}: "
                + ("not on top" if r["holds"] == "yes" else "ON TOP" if r["holds"] == "no" else r["holds"])
                for r in checks
            ),
        }
    sel_cols = [
        "analysis",
        "description",
        "library",
        "method",
        "rank",
        "n_terms",
        "pvalue",
        "fdr",
        "status",
        "implication",
    ]
    selection_sections = []
    for ds in selected:
        sub = selection[selection["dataset"] == ds] if selection is not None and len(selection) else None
        selection_sections.append({"dataset": ds, "rows": _records(sub, sel_cols)})
    return render(
        "claims.html",
        title="Claims",
        banner=banner,
        study=summary["study"],
        claims=answers,
        check=check,
        paragraph=paragraph(table, summary, target, claims, perturbed_gene=perturbed_gene),
        claim_table=[r for r in rows if r["claim"] in ids],
        checks=checks,
        check_text=CHECK_TEXT.format(target=target),
        untested_example=_untested_example(claims),
        caveats=_caveat_rows(caveats, table),
        calibration=cal,
        selection_sections=selection_sections,
        sensitivity=_sensitivity_sections(sensitivity),
        samples_left_out=sensitivity is not None
        and bool(sensitivity["variant"].astype(str).str.startswith("leave_one_sample_out").any()),
    )
