"""Step of rules/replication.smk: one answer across the datasets of each claim (issue 23, part 3;
docs/replication.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..io import libraries_of, load_libraries, read_de, read_sample_sheet
from ..judgement import claims as _claims
from ..judgement import replication as _replication
from ..judgement import verdict as _verdict
from ..judgement.pathway_effect import NotTested, dataset_effect
from ..util import atomic_write, read_tsv, write_tsv

log = logging.getLogger(__name__)


def pathway_effects(
    counted: list[str],
    de: list[str],
    vst: list[str],
    samples: list[str],
    datasets: dict[str, dict],
    wanted: dict[str, set[str]],
    sets_of: dict[tuple[str, str], list[str] | None],
) -> dict[tuple[str, str], object]:
    """{(dataset, library): effect or why none} for every dataset with counts (``counted``, in the order of
    the ``de`` / ``vst`` / ``samples`` paths) and the libraries ``wanted`` of it; ``sets_of`` gives the
    target's genes in (dataset, library) (None: the target is not in the library)."""
    out: dict[tuple[str, str], object] = {}
    for ds, de_path, vst_path, sheet_path in zip(counted, de, vst, samples, strict=True):
        libs = sorted(wanted.get(ds, ()))
        if not libs:
            continue
        table = read_de(de_path)
        expr = read_tsv(vst_path, index_col=0)
        sheet = read_sample_sheet(sheet_path)
        cfg = datasets[ds]
        for lib in libs:
            genes = sets_of.get((ds, lib))
            if genes is None:
                out[(ds, lib)] = "the target is not in the library"
                continue
            try:
                out[(ds, lib)] = dataset_effect(table, expr, sheet, cfg["design"], list(cfg["contrast"]), genes)
            except NotTested as exc:
                out[(ds, lib)] = str(exc)
    return out


def make_replication(
    *,
    verdict: str,
    de: list[str],
    vst: list[str],
    samples: list[str],
    gmts: list[str],
    libraries: list[str],
    counted: list[str],
    datasets: dict[str, dict],
    roles: dict[str, str],
    target: str,
    verdict_settings: dict,
    out_tsv: str,
    out_html: str,
    out_png: str,
    claims_settings: dict | None = None,
    perturbed_gene: str | None = None,
    role_names: dict[str, str] | None = None,
    library: str | None = None,
    dataset_libraries: dict[str, dict[str, str]] | None = None,
    null: str | list = (),
    null_settings: dict | None = None,
    selected: list[str] = (),
    tables: list[str] = (),
    caveats: str | list = (),
    study_organism: str = "human",
    banner: str = "",
) -> pd.DataFrame:
    """``results/<study>/replication.tsv``, ``replication.html`` and the forest plot ``replication.png``:
    per claim with a pathway test, its datasets' standardised effects of the target (from each counted
    dataset's ``de``, ``vst`` and checked ``samples``, in the order of ``counted``, and the target's genes in
    the dataset organism's library: ``gmts`` of ``libraries``, ``dataset_libraries``), the verdict's status,
    what is pooled and why not, the random-effects meta-analysis and the answer
    (:mod:`pathverdict.judgement.replication`). ``null`` (``null.tsv``, when enabled) and ``selected`` give the
    selection-aware null of datasets selected by expression; ``caveats`` are the claims' caveat tables."""
    from ..judgement.claim_specs import parse_claims
    from ..report.plots.forest import forest_plot

    specs = parse_claims(
        claims_settings,
        roles,
        perturbed_gene=perturbed_gene,
        source="claims",
        check_roles=False,
        organism=study_organism,
    )
    table = _verdict.read_verdict(verdict)
    if library is None and len(table):
        library = str(table["library"].iloc[0])
    libs = load_libraries(libraries_of(libraries, gmts))
    per_dataset = dataset_libraries or {d: {k: k for k in libs} for d in roles}
    wanted: dict[str, set[str]] = {}
    for claim in specs:
        test, _ = _replication.pathway_test(claim)
        if test is None:
            continue
        for ds, role in roles.items():
            if claim.concerns(ds, role):
                wanted.setdefault(ds, set()).add(test.library or library)
    for ds, role in roles.items():
        if role == _replication.NEGATIVE_CONTROL:
            wanted.setdefault(ds, set()).add(library)
    sets_of = {}
    for ds, names in wanted.items():
        for name in names:
            key = per_dataset.get(ds, {}).get(name)
            lib = libs.get(key) if key is not None else None
            term = lib.find(target) if lib is not None else None
            sets_of[(ds, name)] = list(lib.sets[term]) if term is not None else None
    effects = pathway_effects(list(counted), list(de), list(vst), list(samples), datasets, wanted, sets_of)
    null_settings = null_settings or {}
    null_path = null or None
    caveat_table = _claims.read_caveats([caveats] if isinstance(caveats, str) else list(caveats or []))
    out = _replication.evaluate(
        table,
        roles,
        specs,
        effects,
        library=library,
        null=_claims.read_null(null_path) if null_path else None,
        selected=list(selected or []),
        null_enabled=bool(null_settings.get("enabled", True)) and null_path is not None,
        null_alpha=float(null_settings.get("alpha", 0.05)),
        tables=list(tables or []),
        caveats=caveat_table,
        max_fdr=float(verdict_settings["max_fdr"]),
    )
    write_tsv(out, out_tsv)
    title = (
        "SIMULATED — " if banner else ""
    ) + f"Is {target} more changed than the other genes, per dataset and pooled?"
    forest_plot(
        out,
        out_png,
        title,
        f"effect: {_replication.EFFECT_NAME}\n(0: the pathway is no more changed than the other genes)",
    )
    with atomic_write(out_html) as fh:
        fh.write(
            _replication.to_html(
                out,
                specs,
                target,
                banner,
                figure_png=Path(out_png).read_bytes(),
                perturbed_gene=perturbed_gene,
                role_names=role_names,
            )
        )
    line = _replication.terminal_line(out)
    if line:
        log.info(line)
    return out
