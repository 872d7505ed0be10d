"""Step of rule provenance: tool versions, input checksums and gene-set provenance."""

from __future__ import annotations

import json

from ..report.provenance import dataset_origin, tool_versions
from ..util import atomic_write, write_json


def _load_json(paths) -> list[dict]:
    out = []
    for p in paths:
        with open(p) as fh:
            out.append(json.load(fh))
    return out


def _describe_annotation(a: dict) -> str:
    return (
        str(a.get("name") or a.get("file", ""))
        + (f", {a['release']}" if a.get("release") else "")
        + (
            f", from {a['url']} retrieved {a.get('retrieved', '')}, sha256 {a.get('sha256', '')}"
            if a.get("url")
            else ""
        )
    )


def provenance(
    *,
    config: dict,
    datasets: list[str],
    de: list[str],
    ora: list[str],
    libraries: list[str],
    out_json: str,
    out_html: str,
    annotation: str | list = (),
    banner: str = "",
    other_annotations: list[str] = (),
) -> dict:
    """``results/<study>/provenance.json`` and its page: tool versions, each dataset's origin and checksums,
    the DE and ORA summaries, the gene-set libraries and the annotation (``other_annotations``: the
    downloaded annotations of the datasets' other organisms), and the config."""
    from ..render import render as render_page

    info = {
        "tools": tool_versions(),
        "datasets": _load_json(datasets),
        "differential_expression": _load_json(de),
        "enrichment": _load_json(ora),
        "gene_set_libraries": _load_json(libraries),
        "annotation": _load_json([annotation])[0] if annotation else {"file": config["annotation"].get("file", "")},
        "other_annotations": _load_json(other_annotations),
        "config": config,
    }
    write_json(info, out_json)
    annotation = "; ".join(_describe_annotation(a) for a in [info["annotation"], *info["other_annotations"]])
    datasets = [
        {
            **d,
            # a dataset given as a DE table: its table in the columns of a count file
            **(
                {"counts_file": d["de_table_file"], "counts_sha256": d["de_table_sha256"], "samples": "(DE table)"}
                if d.get("de_table")
                else {}
            ),
            "origin": dataset_origin(d),
            "id_type": d["id_mapping"]["id_type"],
            "mapping_rate": f"{d['id_mapping']['mapping_rate']:.1%}",
        }
        for d in info["datasets"]
    ]
    libraries = [
        {
            "library": lib["library"],
            "release": lib.get("release", ""),
            "terms": lib["terms"],
            "source": lib["source"],
            "retrieved": lib.get("retrieved", ""),
            "sha256": lib["sha256"],
        }
        for lib in info["gene_set_libraries"]
    ]
    page = render_page(
        "provenance.html",
        title="Provenance",
        banner=banner,
        datasets=datasets,
        annotation=annotation,
        libraries=libraries,
        de=info["differential_expression"],
        alpha=config["de"]["alpha"],
        tools=info["tools"],
    )
    with atomic_write(out_html) as fh:
        fh.write(page)
    return info
