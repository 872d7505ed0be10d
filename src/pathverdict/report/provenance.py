"""What the workflow ran with and what it answered, in words: tool versions, where each dataset
came from, and the values the Snakemake report shows (its workflow description and headline
answer, read from a finished run's tables when the report is made)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..judgement import verdict
from ..util import read_text_table

TOOLS = ("snakemake", "pydeseq2", "gseapy", "pandas", "numpy", "scipy", "matplotlib", "anndata", "jsonschema")


def tool_versions() -> dict[str, str]:
    import importlib.metadata as md
    import platform

    from .. import __version__

    versions = {"python": platform.python_version(), "pathverdict": __version__}
    for tool in TOOLS:
        try:
            versions[tool] = md.version(tool)
        except md.PackageNotFoundError:
            versions[tool] = "not installed"
    return versions


def dataset_origin(d: dict) -> str:
    """Where a dataset's counts came from, in words (from its prepare.json), with what reading
    an author's layout did (annotation columns dropped, columns renamed, STAR strandedness)."""
    src = d.get("source")
    if d.get("de_table"):
        return "; ".join([de_table_origin(d)] + input_notes(d))
    if not src:
        origin = f"local files {d['counts_file']} and {d['samples_file']}"
    elif src.get("accession"):
        via = ""
        if src.get("pubmed_lookup"):
            via = f" (linked from PubMed {src['pubmed_lookup'].get('pmid', '')} via NCBI E-utilities)"
        origin = f"GEO series {src['accession']}{via}, {src.get('counts_source', '')} counts"
    else:
        origin = f"downloaded from {src.get('url', '')}"
    return "; ".join([origin] + input_notes(d))


def de_table_origin(d: dict) -> str:
    """Where a published DE table came from and how it was read (from its prepare.json)."""
    t, src = d["de_table"], d.get("source") or {}
    where = (
        f"GEO series {src['accession']} supplementary file {src.get('name', '')}"
        if src.get("accession")
        else (f"downloaded from {src['url']}" if src.get("url") else f"local file {t.get('file', '')}")
    )
    sheet = f", sheet {t['sheet']!r}" if t.get("sheet") is not None else ""
    parts = [
        f"published DE table, {where} ({t.get('layout', '')}{sheet}, columns "
        + ", ".join(f"{k} = {v!r}" for k, v in t.get("columns", {}).items())
        + ")",
        f"GSEA ranks by {d.get('ranking', '')}",
        f"adjusted p-values: {d.get('padj', '')}",
    ]
    if d.get("background"):
        parts.append(d["background"]["note"])
    return "; ".join(parts + list(t.get("notes") or []))


def input_notes(d: dict) -> list[str]:
    """What was done to read an author's count table (from a prepare.json), one sentence each."""
    notes = []
    for layout in (d.get("source_count_layout"), d.get("count_layout")):
        if layout and layout.get("layout", "plain") != "plain" and layout.get("note"):
            notes.append(layout["note"])
    mapped = list(d.get("source_column_mapping") or []) + list(d.get("column_mapping") or [])
    if mapped:
        notes.append(
            f"{len(mapped)} count column(s) named by alignment files matched to samples ("
            + ", ".join(mapped[:3])
            + (", ..." if len(mapped) > 3 else "")
            + ")"
        )
    st = d.get("strandedness")
    if st:
        first = next(iter(st.get("samples", {}).items()), None)
        nums = ""
        if first:
            nf = first[1]["N_noFeature"]
            nums = (
                f"; N_noFeature in {first[0]}: unstranded {nf['unstranded']:,}, forward {nf['forward']:,}, "
                f"reverse {nf['reverse']:,}"
            )
        notes.append(
            f"STAR ReadsPerGene column {st['column']} ({st['chosen']}), {st['source']}"
            + (f" ({st['note']})" if st.get("note") else "")
            + nums
        )
    return notes


def report_answer(cfg: dict, results: str = "results") -> dict | None:
    """The headline answer for the report's landing page, from the finished run's
    ``verdict.tsv`` and ``claims.tsv``: the study overall, one line per claim (and the
    negative-control check), one line per dataset (headline method, first library).
    None when the run has not made them yet."""
    from ..judgement import claim_specs, claims

    vpath, cpath = Path(results) / "verdict.tsv", Path(results) / "claims.tsv"
    if not vpath.is_file():
        return None
    table = verdict.read_verdict(vpath)
    if table.empty:
        return None
    library = str(table["library"].iloc[0])
    head = verdict.headline(table)
    head = head[head["library"] == library]
    datasets = []
    for _, r in head.iterrows():
        st = verdict._status(r)
        if pd.isna(r["rank"]):
            detail = str(r["note"]).removeprefix("inconclusive: ")
        else:
            detail = (
                f"rank {verdict._num(r['rank'])} of {r['n_terms']}, p {verdict.fmt_p(r['pvalue'], r['p_bound'])}"
                f", FDR {verdict._num(r['fdr'])}"
            )
        datasets.append(f"{r['dataset']}: **{st.replace('_', ' ')}** ({detail})")
    out = {
        "library": library,
        "method": str(head["method"].iloc[0]) if len(head) else "",
        "datasets": datasets,
        "claims": [],
        "study": "",
        "study_words": "not assessed (no claims table)",
    }
    if cpath.is_file():
        ctable = read_text_table(cpath, ("claim", "dataset", "role", "holds", "evidence", "null"))
        specs = claim_specs.parse_claims(
            cfg.get("claims"), claim_specs.roles_of(cfg), perturbed_gene=cfg.get("perturbed_gene"), check_roles=False
        )
        summary = claims.summarise(ctable, specs)
        for spec in specs:
            text = spec.text(cfg["target_pathway"], cfg.get("perturbed_gene"))
            out["claims"].append(f"Claim *{spec.id}*: **{summary[spec.id]}** — {text}")
        if "negative_control" in summary:
            out["claims"].append(
                f"Check of the method on the negative control(s): **{summary['negative_control']}** "
                f"(the target must not be called on top there)"
            )
        out["study"] = summary["study"]
        out["study_words"] = summary["study"].upper()
    return out


def report_context(cfg: dict, provenance_path: str = "results/<study>/provenance.json") -> dict:
    """Values the report's workflow description shows (tool versions and gene-set provenance
    of the finished run when results/<study>/provenance.json exists, else of this environment)."""
    prov = {}
    if Path(provenance_path).is_file():
        with open(provenance_path) as fh:
            prov = json.load(fh)
    libs = prov.get("gene_set_libraries") or [
        {"library": n, "source": next(iter(src.values())), "terms": "?", "sha256": "(computed when the workflow runs)"}
        for n, src in cfg["genesets"].items()
    ]
    return {
        "target": cfg["target_pathway"],
        "libraries": list(cfg["genesets"]),
        "datasets": list(cfg["datasets"]),
        # datasets given as a published DE table, and those with counts
        "tables": [d for d, ds in cfg["datasets"].items() if "de_table" in ds],
        "counted": [d for d, ds in cfg["datasets"].items() if "de_table" not in ds],
        "annotation": next(iter(cfg["annotation"].values())),
        "de": cfg["de"],
        "enrichment": cfg["enrichment"],
        "verdict": cfg["verdict"],
        "calibration": cfg.get("calibration") or {},
        "sensitivity": cfg["sensitivity"],
        "loo_removals": cfg["sensitivity"]["leave_one_sample_out"]["max_removals"],
        "tools": prov.get("tools") or tool_versions(),
        "gene_sets": libs,
        "dataset_sources": [{"dataset": d["dataset"], "origin": dataset_origin(d)} for d in prov.get("datasets", [])],
        "simulated": bool(cfg.get("simulated", False)),
        "answer": report_answer(cfg, str(Path(provenance_path).parent)),
    }
