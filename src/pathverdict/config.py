"""Config validation against the JSON schemas in ``config/schemas``.

Messages name the config key (``datasets.li2008.contrast``) and say how to fix it,
using the ``x-hint`` text the schema attaches to each key. Defaults from the schema
are filled in.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import InputError

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "config" / "schemas"


def load_schema(name: str) -> dict:
    with open(SCHEMAS / f"{name}.schema.yaml") as fh:
        return yaml.safe_load(fh)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _hint(error: jsonschema.ValidationError) -> str:
    hint = error.schema.get("x-hint") if isinstance(error.schema, dict) else None
    if hint is None and error.parent is not None and isinstance(error.parent.schema, dict):
        hint = error.parent.schema.get("x-hint")
    return f" Fix: {hint}." if hint else ""


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key(error.absolute_path)
    v = error.validator
    if v == "oneOf" and error.context:
        # describe the alternative of the right type (e.g. a mapping with a bad key), not "wrong form":
        # leave out the alternatives whose own type does not fit the value
        misfits = {c.relative_schema_path[0] for c in error.context if list(c.relative_schema_path)[1:] == ["type"]}
        # (a type error inside the fitting alternative, e.g. a mapping's value, is specific)
        specific = [
            c
            for c in error.context
            if c.relative_schema_path[0] not in misfits and list(c.relative_schema_path)[1:] != ["type"]
        ]
        specific = specific or [c for c in error.context if c.validator != "type"]
        if specific:
            return _describe(specific[0])
    if v == "pattern" and "propertyNames" in error.schema_path:
        return f"{where}: name {error.instance!r} is not allowed.{_hint(error)}"
    if v == "pattern" and isinstance(error.schema, dict) and "x-hint" in error.schema:
        return f"{where}: {error.instance!r} is not allowed.{_hint(error)}"
    if v == "required":
        missing = error.message.split("'")[1]
        prop = error.schema.get("properties", {}).get(missing, {})
        hint = prop.get("x-hint")
        return f"{where}: required key `{missing}` is missing." + (f" Fix: {hint}." if hint else "")
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        parts = []
        for k in extra:
            close = difflib.get_close_matches(k, allowed, n=1)
            parts.append(f"`{k}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
        return f"{where}: unknown key(s) {', '.join(parts)}. Allowed here: {', '.join(allowed)}."
    if v == "propertyNames":
        return f"{where}: name {error.instance!r} is not allowed.{_hint(error)}"
    if v == "oneOf":
        return f"{where}: {error.instance!r} has the wrong form.{_hint(error)}"
    if v == "not" and error.validator_value == {}:  # a key that was removed from the schema
        return f"{where}: this key is no longer supported.{_hint(error)}"
    if v == "type":
        return f"{where}: expected {error.validator_value}, got {error.instance!r}.{_hint(error)}"
    if v == "enum":
        return f"{where}: {error.instance!r} is not one of {', '.join(map(str, error.validator_value))}.{_hint(error)}"
    if v in ("minItems", "maxItems"):
        return f"{where}: has {len(error.instance)} item(s): {error.instance!r}.{_hint(error)}"
    return f"{where}: {error.message}.{_hint(error)}"


def schema_errors(instance: Any, schema: dict) -> list[jsonschema.ValidationError]:
    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for err in validator.iter_errors(instance):
        if err.validator == "propertyNames":
            # report the offending name, not the nested pattern error
            err.instance = err.instance if not err.context else err.context[0].instance
        errors.append(err)
    return sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.validator))


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        schema = root["$defs"][ref]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


def validate_settings(data: Any, schema_name: str, source: str) -> dict:
    """``data`` checked against ``config/schemas/<schema_name>.schema.yaml`` (messages as for the
    workflow's config), with the schema's defaults filled in."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of settings, got {type(data).__name__}.")
    keys = non_string_keys(data)
    schema = load_schema(schema_name)
    problems = keys + [_describe(e) for e in schema_errors(data, schema)]
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"{source} is not valid ({len(problems)} problem(s)):\n{lines}")
    out = copy.deepcopy(data)
    _fill_defaults(out, schema, schema)
    return out


def _yaml_reading(key) -> tuple[str, str, str]:
    """What YAML made of a key that is not text: (the key as shown, what it became, quoted)."""
    import datetime

    if key is None:
        return "null", "no value (YAML reads `null`, `~` and an empty key as nothing)", '"null":'
    if isinstance(key, bool):
        return (
            str(key).lower(),
            "a boolean (YAML reads yes, no, true, false, on, off as booleans)",
            f'"{"yes" if key else "no"}": (quoted as you wrote it)',
        )
    if isinstance(key, (int, float)):
        return str(key), "a number", f'"{key}":'
    if isinstance(key, (datetime.date, datetime.datetime)):
        return key.isoformat(), "a date", f'"{key.isoformat()}":'
    return repr(key), f"a {type(key).__name__}", f'"{key}":'


def non_string_keys(obj: Any, path: tuple = ()) -> list[str]:
    """One message per mapping key that YAML did not read as text (``2019:``, ``null:``,
    ``yes:``, ``1:``): dataset and library names, and every other key, must be strings."""
    problems = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            where = _key(path) if path else "(top level)"
            if not isinstance(key, str):
                shown, what, quoted = _yaml_reading(key)
                kind = {"datasets": "dataset name", "genesets": "gene-set library name"}.get(
                    path[-1] if path else "", "key"
                )
                problems.append(
                    f"{where}: the {kind} {shown} was read by YAML as {what}, not as text. "
                    f"Fix: put it in quotes, e.g. {quoted}"
                )
            problems += non_string_keys(value, path + (str(key),))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            problems += non_string_keys(value, path + (str(i),))
    return problems


def validate_config(
    config: dict, source: str = "config", configfiles: list[str] | None = None, allow_review: bool = False
) -> dict:
    """Validate ``config`` and return a copy with defaults filled in and genesets normalised.

    ``study`` (the folder name of the study's results, resources and logs) defaults to the name
    of the first of ``configfiles`` (:func:`study_from_configfile`).
    ``genesets`` becomes a mapping ``{library name: source}`` where a source is one of
    ``{"file": path}``, ``{"enrichr": name}``, ``{"kegg_rest": organism}`` (a single file
    is named after its file name without extensions); ``annotation`` becomes
    ``{"file": path}``, ``{"ncbi_gene_info": name}`` or ``{"geo_annotation": name}``.

    Organisms (:func:`normalise_organisms`): every dataset gets its ``organism``; ``annotations``
    ({organism: annotation source}), ``library_sources`` ({library key: source}) and ``library_keys``
    ({organism: {library: key}}) are added for the organisms of the datasets, and ``verdict.genes`` /
    ``verdict.gene_patterns`` become {organism: list}. A dataset marked ``review: true`` (a discovery
    draft) is refused unless ``allow_review``.
    """
    if not isinstance(config, dict) or not config:
        raise InputError(
            f"{source}: the configuration is empty. Pass a config file with "
            "`--configfile FILE` or edit config/config.yaml."
        )
    keys = non_string_keys(config)
    if keys:
        lines = "\n".join(f"  - {k}" for k in keys)
        raise InputError(f"{source} is not valid ({len(keys)} problem(s)):\n{lines}")
    schema = load_schema("config")
    errors = schema_errors(config, schema)
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise InputError(f"{source} is not valid ({len(errors)} problem(s)):\n{lines}")
    cfg = copy.deepcopy(config)
    _fill_defaults(cfg, schema, schema)
    if "study" not in cfg:
        cfg["study"] = study_from_configfile((configfiles or ["config/config.yaml"])[0], source)
    study_resources = Path("resources", cfg["study"])
    cache = Path(cfg["downloads"]["cache_dir"])
    if cache == study_resources or study_resources in cache.parents:
        raise InputError(
            f"{source}: downloads.cache_dir ({cache}) is inside {study_resources}/, the folder of study "
            f"{cfg['study']!r}'s own resources. Fix: keep the shared cache elsewhere (the default is "
            "resources/downloads) or give the study another name (`study:`)."
        )
    if isinstance(cfg["genesets"], str):
        cfg["genesets"] = {library_name(cfg["genesets"]): cfg["genesets"]}
    cfg["genesets"] = {n: {"file": v} if isinstance(v, str) else dict(v) for n, v in cfg["genesets"].items()}
    if isinstance(cfg["annotation"], str):
        cfg["annotation"] = {"file": cfg["annotation"]}
    for name, ds in cfg["datasets"].items():
        if "de_table" in ds:
            ds["de_table"] = de_table_entry(config["datasets"][name], f"{source}: datasets.{name}")
            ds.pop("round_counts", None)  # a schema default: no counts to round
            continue
        var, tested, ref = ds["contrast"]
        if tested == ref:
            raise InputError(
                f"{source}: datasets.{name}.contrast compares {tested!r} with itself. "
                "Fix: give [variable, tested level, reference level]."
            )
        sel = ds.get("select_by_expression")
        if sel is not None and not sel.get("gene") and not cfg.get("perturbed_gene"):
            raise InputError(
                f"{source}: datasets.{name}.select_by_expression names no `gene` and the config has no "
                "`perturbed_gene`. Fix: give the gene, e.g. {gene: MEIS1, group: RLS}, or set the study key "
                "`perturbed_gene: MEIS1`."
            )
    normalise_organisms(cfg, source)
    _selection_genes(cfg, source)
    if not allow_review:
        refuse_drafts(cfg, source)
    simulated = [n for n, ds in cfg["datasets"].items() if ds.get("simulated")]
    sim_names = set((cfg.get("simulation") or {}).get("datasets", {}))
    for n in simulated:
        if n not in sim_names:
            raise InputError(
                f"{source}: datasets.{n} is `simulated: true` but simulation.datasets has no entry {n!r}. "
                f"Fix: add it under simulation.datasets (there: {', '.join(sorted(sim_names)) or 'none'})."
            )
    e = cfg["enrichment"]
    for kind in ("ora", "gsea"):
        if e[f"{kind}_min_size"] > e[f"{kind}_max_size"]:
            raise InputError(
                f"{source}: enrichment.{kind}_min_size ({e[f'{kind}_min_size']}) is larger than "
                f"enrichment.{kind}_max_size ({e[f'{kind}_max_size']}). Fix: swap or correct them."
            )
    return cfg


def normalise_organisms(cfg: dict, source: str) -> None:
    """Each dataset's organism, and the annotation, libraries and claim genes of each organism used
    (see :mod:`pathverdict.organisms`); a missing one is an :class:`InputError` naming the key."""
    from . import organisms as orgs

    known = orgs.known(cfg.get("organisms"))
    default = orgs.resolve(cfg["organism"], known, f"{source}: organism")
    cfg["organism"] = default
    for name, ds in cfg["datasets"].items():
        ds["organism"] = orgs.resolve(ds.get("organism", default), known, f"{source}: datasets.{name}.organism")
    used = sorted({ds["organism"] for ds in cfg["datasets"].values()}, key=lambda o: (o != default, o))
    declared = {orgs.resolve(k, known, f"{source}: organisms.{k}"): v for k, v in cfg.get("organisms", {}).items()}
    annotations = {}
    for org in used:
        spec = declared.get(org, {}).get("annotation")
        if spec is None and org == default:
            spec = cfg["annotation"]
        if spec is None and known[org].gene_info:
            spec = {"ncbi_gene_info": known[org].gene_info}
        if spec is None:
            first = next(n for n, ds in cfg["datasets"].items() if ds["organism"] == org)
            raise InputError(
                f"{source}: dataset {first} is of organism {org}, which has no annotation. Fix: give "
                f"`organisms: {{{org}: {{annotation: path/to/gene_info.gz}}}}` (NCBI gene_info of the organism)."
            )
        annotations[org] = {"file": spec} if isinstance(spec, str) else dict(spec)
    cfg["annotations"] = annotations
    sources, keys = {}, {}
    for org in used:
        keys[org] = {}
        users = [n for n, ds in cfg["datasets"].items() if ds["organism"] == org]
        for lib, entry in cfg["genesets"].items():
            src = orgs.library_source(lib, entry, known[org], default, f"{source}: dataset {users[0]} ({org})")
            key = orgs.library_key(lib, org, default)
            sources[key], keys[org][lib] = src, key
    cfg["library_sources"], cfg["library_keys"] = sources, keys
    # ortholog tables (study organism -> organism) of the datasets' other organisms: the claims' genes
    # given in the study organism's symbols only are mapped through them (judgement.claim_genes)
    cfg["orthologs"] = {
        org: declared[org]["orthologs"] for org in used if org != default and "orthologs" in declared.get(org, {})
    }
    _claim_organisms(cfg, known, source)
    verdict = cfg["verdict"]
    for key, defaults in (("genes", orgs.DEFAULT_GENES), ("gene_patterns", orgs.DEFAULT_GENE_PATTERNS)):
        verdict[key] = {
            orgs.resolve(k, known, f"{source}: verdict.{key}.{k}"): v
            for k, v in orgs.per_organism(verdict.get(key), default, defaults, key).items()
        }
        for org in used:
            if org not in verdict[key]:
                raise InputError(
                    f"{source}: verdict.{key} has no entry for organism {org} (dataset(s) of that organism: "
                    f"{', '.join(n for n, ds in cfg['datasets'].items() if ds['organism'] == org)}). Fix: give it "
                    f"per organism, e.g. `{key}: {{{default}: [...], {org}: [...]}}` with {org} gene symbols."
                )
    for org, patterns in verdict["gene_patterns"].items():
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise InputError(
                    f"{source}: verdict.gene_patterns.{org}: {p!r} is not a regular expression ({exc})."
                ) from None


def _selection_genes(cfg: dict, source: str) -> None:
    """``select_by_expression`` without a ``gene`` selects by the study's ``perturbed_gene``, in the symbol of
    the dataset's organism (:func:`pathverdict.organisms.perturbed_symbol`: the claims' genes per organism or
    the ortholog table); where neither gives it, an :class:`InputError` asks for the gene."""
    from . import organisms as orgs

    for name, ds in cfg["datasets"].items():
        sel = ds.get("select_by_expression")
        if sel is None or sel.get("gene"):
            continue
        gene, org = cfg["perturbed_gene"], ds["organism"]
        symbol, how = orgs.perturbed_symbol(gene, cfg["organism"], org, cfg.get("claims"), cfg["orthologs"].get(org))
        if symbol is None:
            raise InputError(
                f"{source}: datasets.{name}.select_by_expression names no `gene`, and the study's perturbed_gene "
                f"{gene} is a {cfg['organism']} symbol while {name} is a {org} dataset: {how}. Fix: give the gene in "
                f"{org} symbols, e.g. `select_by_expression: {{gene: <the {org} symbol of {gene}>, group: ...}}`."
            )
        ds["select_by_expression"] = {"gene": symbol, **{k: v for k, v in sel.items() if k != "gene"}}


def _claim_organisms(cfg: dict, known: dict, source: str) -> None:
    """The organisms of the claims' genes and gene patterns given per organism, by their config names
    (``mmu`` -> ``mouse``); an unknown one is an :class:`InputError` naming the claim's key. Whether a
    dataset has each organism is checked with the claims (``judgement.claim_specs``)."""
    from . import organisms as orgs

    for cid, spec in (cfg.get("claims") or {}).items():
        for i, item in enumerate((spec or {}).get("tests") or []):
            for key in ("genes", "pattern"):
                value = item.get(key) if isinstance(item, dict) else None
                if isinstance(value, dict):
                    where = f"{source}: claims.{cid}.tests[{i}].{key}"
                    item[key] = {orgs.resolve(k, known, f"{where}.{k}"): v for k, v in value.items()}


def refuse_drafts(cfg: dict, source: str) -> None:
    """A discovery draft (``review: true``) is not run: one message with the datasets and what to check."""
    drafts = {n: ds for n, ds in cfg["datasets"].items() if ds.get("review")}
    if not drafts:
        return
    lines = []
    for name, ds in drafts.items():
        checks = ds.get("review_checks") or ["the samples, groups and contrast proposed for it"]
        lines.append(f"  - datasets.{name}: check " + "; ".join(checks))
    raise InputError(
        f"{source}: {len(drafts)} dataset(s) are discovery drafts marked `review: true`, which a run refuses "
        "until a person has checked them:\n" + "\n".join(lines) + "\nFix: make these checks, correct the "
        "dataset where needed, then remove `review: true` from it (or remove the dataset)."
    )


# what a dataset given as a published DE table cannot have: each needs the counts or the samples
NOT_WITH_DE_TABLE = {
    "design": "the table's comparison is the authors' (no design is fitted)",
    "contrast": "the table's comparison is the authors' (no contrast is tested)",
    "select_by_expression": "selecting samples by expression needs the counts of every sample",
    "round_counts": "there are no counts to round",
    "same_as_contrast": "the sample sheet's columns are checked against the contrast only with a sample sheet",
}
PROTEIN_CODING = "annotation_protein_coding"


def de_table_entry(ds: dict, where: str) -> dict:
    """A dataset's ``de_table`` as a mapping with one source (``path``, ``url`` or ``geo``); a string is a
    path, or a URL when it has a scheme. Keys that need counts are refused, each with the reason."""
    wrong = [k for k in NOT_WITH_DE_TABLE if k in ds]
    if wrong:
        raise InputError(
            f"{where}: a dataset given as a DE table cannot have "
            + "; ".join(f"`{k}` ({NOT_WITH_DE_TABLE[k]})" for k in wrong)
            + ". Fix: remove "
            + ", ".join(f"`{k}`" for k in wrong)
            + ", or give the dataset's counts instead of `de_table`."
        )
    spec = ds["de_table"]
    if isinstance(spec, str):
        spec = {"url": spec} if re.match(r"^(https?|ftp)://", spec) else {"path": spec}
    spec = dict(spec)
    sources = [k for k in ("path", "url", "geo") if k in spec]
    if len(sources) != 1:
        raise InputError(
            f"{where}.de_table: give exactly one of `path`, `url` or `geo` (the table's source)"
            + (f"; it has {', '.join(sources)}" if sources else "")
            + ", e.g. {path: supplementary/S2.xlsx} or {geo: {accession: GSE123456, file: '*DE*.xlsx'}}."
        )
    geo = spec.get("geo")
    if geo is not None and ("accession" in geo) == ("pubmed" in geo):
        raise InputError(
            f"{where}.de_table.geo: give either `accession` (GSE...) or `pubmed` (a PubMed ID), not both or neither."
        )
    return spec


STUDY_NAME = re.compile(r"^(?!(downloads|ci)$)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def study_from_configfile(path: str | Path, source: str = "config") -> str:
    """The study name of a config without ``study:``: its file name without ``.yaml``/``.yml``/
    ``.json`` (``config/demo.yaml`` -> ``demo``), characters other than letters, digits, ``_``, ``.``
    and ``-`` replaced by ``_``. The first config file names the study: later ones given to
    ``--configfile`` add to it (threads, paths) without moving its results."""
    name = Path(path).name
    for ext in (".yaml", ".yml", ".json"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip("_.-")[:64]
    if not STUDY_NAME.match(name):
        raise InputError(
            f"{source}: no study name can be made from the config file name {Path(path).name!r}. "
            "Fix: give the study a name in the config, e.g. `study: my_study` (letters, digits, _, . and -)."
        )
    return name


def library_name(path: str) -> str:
    name = Path(path).name
    for ext in (".gz", ".gmt", ".txt", ".tsv"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name) or "genesets"


def validate_rows(rows: list[dict], schema_name: str, source: str) -> None:
    """Validate table rows (one dict each); errors name the line (header = line 1)."""
    schema = load_schema(schema_name)
    problems = []
    for i, row in enumerate(rows):
        for err in schema_errors(row, schema):
            col = _key(err.absolute_path)
            hint = err.schema.get("x-hint") if isinstance(err.schema, dict) else None
            if err.validator == "required":
                problems.append(f"line {i + 2}: {err.message}")
            else:
                problems.append(
                    f"line {i + 2}, column {col}: {err.instance!r} is not valid"
                    + (f" ({hint})" if hint else f" ({err.message})")
                )
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise InputError(f"{source}: {len(problems)} problem(s) in the sample sheet:\n{shown}{more}")


def missing_local_files(cfg: dict) -> list[str]:
    """Config keys whose local input file does not exist (one line each, with the path).

    Downloaded inputs (``geo``, ``url``, named libraries and annotations) are not checked here."""
    keys = [(f"datasets.{n}.{k}", ds[k]) for n, ds in cfg["datasets"].items() for k in ("counts", "samples") if k in ds]
    for n, ds in cfg["datasets"].items():
        table = ds.get("de_table") or {}
        if "path" in table:
            keys.append((f"datasets.{n}.de_table.path", table["path"]))
        if table.get("background") not in (None, PROTEIN_CODING):
            keys.append((f"datasets.{n}.de_table.background", table["background"]))
    sim = cfg.get("simulation") or {}
    keys += [(f"simulation.{k}", sim[k]) for k in ("real_counts", "real_samples", "library") if k in sim]
    keys += [(f"genesets.{n}", src["file"]) for n, src in cfg["genesets"].items() if "file" in src]
    if "file" in cfg["annotation"]:
        keys.append(("annotation", cfg["annotation"]["file"]))
    for org, src in cfg.get("annotations", {}).items():
        if "file" in src and org != cfg.get("organism"):
            keys.append((f"organisms.{org}.annotation", src["file"]))
    for key, src in cfg.get("library_sources", {}).items():
        if "file" in src and "/" in key:
            keys.append((f"genesets ({key})", src["file"]))
    keys += [(f"organisms.{org}.orthologs", path) for org, path in cfg.get("orthologs", {}).items()]
    return [f"{key}: {path}" for key, path in keys if not Path(path).is_file()]
