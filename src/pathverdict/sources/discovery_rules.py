"""Discovery, part 2: sample rules proposed from a series matrix, and the draft config.

:func:`propose_rules` looks for the sample field (a characteristic first, then the title, source
and description) whose values name the perturbation of the gene in some samples and a control in
others, and writes rules that match exactly those values (``^(value|value)$``), so a person can
read them; :func:`draft_config` writes one dataset per kept series, each ``review: true`` with the
checks a person must make before the run accepts it.
"""

from __future__ import annotations

import re

import pandas as pd

from ..errors import InputError
from ..organisms import Organism
from .geo_samples import make_sample_sheet

# the fields of a series matrix that are not characteristics (!Sample_<field>), and those never
# naming a group
STANDARD_FIELDS = {
    "title", "geo_accession", "status", "submission_date", "last_update_date", "type", "channel_count",
    "source_name_ch1", "organism_ch1", "taxid_ch1", "characteristics_ch1", "treatment_protocol_ch1",
    "growth_protocol_ch1", "molecule_ch1", "extract_protocol_ch1", "label_ch1", "label_protocol_ch1",
    "description", "data_processing", "platform_id", "instrument_model", "library_selection",
    "library_source", "library_strategy", "relation", "data_row_count", "hyb_protocol", "scan_protocol",
    "value_definition", "series",
}  # fmt: skip
TEXT_FIELDS = ("title", "source_name_ch1", "description", "characteristics_ch1", "treatment_protocol_ch1")
# the kind of perturbation, from the words of the perturbed samples (or else of the series)
KINDS = (
    ("KO", r"(?i)(knock-?out|(?<![a-z])c?ko(?![a-z])|crispr|cas9|sgrna|-/-|deletion|deleted|null|deficien|flox)"),
    ("KD", r"(?i)(knock-?down|shrna|sirna|(?<![a-z])(sh|si)(?=[A-Z0-9_-]|rna)|morpholino|kd(?![a-z]))"),
    ("OE", r"(?i)(over-?express|(?<![a-z])oe(?![a-z])|ectopic|transgen|forced expression)"),
)
ROLES = {"KO": "cells_loss_of_function", "KD": "cells_loss_of_function", "OE": "cells_overexpression"}


def word_rx(word: str) -> str:
    """A word (a regular expression) matched case-insensitively at the start of a word; one that starts
    with a sign (``-/-``, ``+/+``) anywhere (``Meis1-/-``)."""
    return rf"(?i)(?<![A-Za-z0-9]){word}" if re.match(r"[A-Za-z(]", word) else rf"(?i){word}"


def _characteristic_fields(meta: pd.DataFrame) -> list[str]:
    chars = [
        c
        for c in meta.columns
        if c not in STANDARD_FIELDS and not c.startswith(("contact_", "supplementary_file", "data_processing"))
    ]
    return chars + [c for c in TEXT_FIELDS if c in meta.columns]


def classify(value: str, gene: str, settings: dict) -> str | None:
    """``control``, ``perturbed`` or None for one field value (control words win: "siRNA control")."""
    text = str(value)
    if not text.strip():
        return None
    if any(re.search(word_rx(w), text) for w in settings["control_words"]):
        return "control"
    if re.search(word_rx(rf"(sh|si|sg)?{re.escape(gene)}"), text) or any(
        re.search(word_rx(w), text) for w in settings["perturbation_words"]
    ):
        return "perturbed"
    return None


def _exact(values) -> str:
    return "^(" + "|".join(re.escape(v) for v in sorted(set(values))) + ")$"


def perturbation_kind(texts: list[str]) -> str | None:
    for kind, rx in KINDS:
        if any(re.search(rx, t) for t in texts):
            return kind
    return None


def propose_rules(meta: pd.DataFrame, gene: str, settings: dict) -> dict:
    """Sample rules for a series: ``{"field", "label", "kind", "role", "samples": {select?, groups},
    "summary", "checks": [...]}``, or ``{"problem": why}`` when no field separates perturbed from
    control samples with at least ``settings["min_per_group"]`` samples each."""
    n_min = settings["min_per_group"]
    best = None
    for order, fld in enumerate(_characteristic_fields(meta)):
        values = meta[fld].astype(str)
        calls = values.map(lambda v: classify(v, gene, settings))
        n_p, n_c = int((calls == "perturbed").sum()), int((calls == "control").sum())
        if min(n_p, n_c) < n_min:
            continue
        score = (min(n_p, n_c), n_p + n_c, -order)
        if best is None or score > best[0]:
            best = (score, fld, calls)
    if best is None:
        return {
            "problem": f"no sample field names {gene} perturbed and control samples ({n_min} or more each) "
            "in its values: write the sample rules by hand if the series has them"
        }
    _, fld, calls = best
    values = meta[fld].astype(str)
    pert = values[calls == "perturbed"]
    ctrl = values[calls == "control"]
    series_text = [str(meta[c].iloc[0]) for c in ("title",) if c in meta.columns]
    kind = perturbation_kind(list(pert.unique())) or perturbation_kind(series_text)
    label = f"{gene}_{kind}" if kind else f"{gene}_perturbed"
    label = re.sub(r"[^A-Za-z0-9_.]", "_", label)
    samples: dict = {"groups": {label: {fld: _exact(pert)}, "control": {fld: _exact(ctrl)}}}
    left_out = values[calls.isna()]
    if len(left_out):
        samples = {"select": {fld: _exact(list(pert) + list(ctrl))}, **samples}
    make_sample_sheet(meta, samples, where="proposed sample rules")  # an InputError here is a bug of ours
    kept = meta.loc[calls.notna()]
    checks = [
        f"the groups ({len(pert)} {label} vs {len(ctrl)} control, from field {fld!r}: {label} = "
        f"{', '.join(sorted(set(pert)))}; control = {', '.join(sorted(set(ctrl)))}"
        + (f"; left out: {', '.join(sorted(set(left_out)))}" if len(left_out) else "")
        + f") are the {gene} perturbation and its control",
    ]
    varying = []
    for other in _characteristic_fields(meta):
        if other in (fld, "title", "description") or other not in kept.columns:
            continue
        n = kept[other].astype(str).nunique()
        if 1 < n < len(kept):
            varying.append(f"{other} ({n} values)")
    if varying:
        checks.append(
            f"other fields vary among the selected samples: {', '.join(varying)}; keep one level with "
            "`select`, or add the field to the design (e.g. ~batch + condition)"
        )
    return {
        "field": fld,
        "label": label,
        "kind": kind,
        "role": ROLES.get(kind, "other"),
        "samples": samples,
        "summary": f"{fld}: {len(pert)} {label} vs {len(ctrl)} control"
        + (f" ({len(left_out)} left out)" if len(left_out) else ""),
        "checks": checks,
    }


def _counts(cand) -> tuple[dict, str]:
    """The draft's counts source and the check that goes with it."""
    if cand.ncbi_counts == "yes":
        return {"counts": "ncbi"}, "the counts: NCBI-generated raw counts of every sample"
    tables = [f for f in cand.count_files if not f.endswith(".tar")]
    chosen = (tables or cand.count_files)[0]
    others = [f for f in cand.count_files if f != chosen]
    check = f"the counts: supplementary file {chosen!r} holds raw read counts (not normalised values)" + (
        f"; other candidate files: {', '.join(others)}" if others else ""
    )
    pattern = chosen if not re.search(r"[*?\[]", chosen) else "re:^" + re.escape(chosen) + "$"
    return {"counts": "supplementary", "file": pattern}, check


def draft_config(cands: list, gene: str, settings: dict, known: dict[str, Organism]) -> dict:
    """The draft config: one dataset per kept candidate, ``review: true`` with its checks, and one claim
    (``perturbation``: the target is on top) over the roles of the kept series, so that the replication
    summary gives one answer across them (docs/replication.md)."""
    orgs = [known[o] for o in settings["organisms"]]
    default = orgs[0]
    libraries = settings.get("libraries") or {
        "KEGG": {o.name: {"enrichr": o.enrichr_kegg} for o in orgs if o.enrichr_kegg},
        "KEGG_current": {"kegg_rest": default.kegg},
    }
    if not libraries.get("KEGG"):
        libraries.pop("KEGG", None)
    cfg: dict = {
        "study": settings["study"],
        "organism": default.name,
        "target_pathway": settings["target_pathway"],
        "annotation": settings.get("annotation") or {"ncbi_gene_info": default.gene_info},
    }
    if settings.get("organisms_config"):
        cfg["organisms"] = settings["organisms_config"]
    cfg["genesets"] = libraries
    if settings.get("verdict"):
        cfg["verdict"] = settings["verdict"]
    cfg["downloads"] = settings["downloads"]
    cfg["base_urls"] = settings["base_urls"]
    datasets = {}
    for c in cands:
        if c.decision != "kept":
            continue
        r = c.rules
        counts, count_check = _counts(c)
        checks = list(r["checks"]) + [
            count_check,
            f"the role {r['role']!r} (what the dataset stands for in the claims)",
        ]
        if c.organism != default.name:
            checks.append(f"the organism ({c.organism}): its libraries and claim genes are the {c.organism} ones")
        datasets[c.series.accession] = {
            "description": c.series.title,
            "organism": c.organism,
            "role": r["role"],
            "review": True,
            "review_checks": checks,
            "geo": {"accession": c.series.accession, **counts, "samples": r["samples"]},
            "design": "~condition",
            "contrast": ["condition", r["label"], "control"],
        }
    if not datasets:
        raise InputError(
            f"discovery kept no series of {gene}: no draft config written (the candidates table says why each "
            "series was dropped)."
        )
    cfg["datasets"] = datasets
    roles = sorted({d["role"] for d in datasets.values()} - {"other"})
    if roles:  # one claim over every perturbation: the replication summary pools its datasets
        cfg["perturbed_gene"] = gene
        cfg["claims"] = {
            "perturbation": {
                "sentence": "Where {perturbed_gene} is knocked out, knocked down or over-expressed, {target} is the "
                "top dysregulated pathway.",
                "roles": roles,
                "tests": ["on_top"],
            }
        }
    return cfg
