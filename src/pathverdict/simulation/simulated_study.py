"""A whole simulated study (:func:`simulate_study`): every dataset of the config's
``simulation`` section, fitted on real data (:class:`Source`, :func:`prepare_source`) and
simulated with its effects (:func:`simulate_dataset`); the models are in :mod:`pathverdict.simulation.simulate`."""

from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, preview
from . import faults
from .simulate import (
    DATASET_KEYS,
    DEFAULT_FRACTION,
    DEFAULT_GROUPS,
    DEFAULT_LOG2FC,
    MAX_DISPERSION,
    MIN_DISPERSION,
    SIMULATED_NOTE,
    background_effects,
    fit_nb,
    module_members,
    off_target_effects,
    plant_effect,
    reduce_gene,
    simulate,
    write_dataset,
)
from ..util import write_json

log = logging.getLogger("pathverdict.simulation.simulate")  # its messages are the simulation's


def _dataset_seed(seed: int, name: str, entry: dict) -> int:
    # default offset from the dataset's name (crc32: stable across runs and independent of the order)
    offset = entry.get("seed_offset")
    if offset is None:
        offset = zlib.crc32(name.encode("utf-8")) % 100_000
    return int(seed) + int(offset)


class Source:
    """One real dataset the simulation is fitted on: NB parameters, the gene symbols and the
    target pathway's gene IDs (see :func:`prepare_source`)."""

    def __init__(self, name, params, symbol_of, target_ids, kept_ids, info):
        self.name, self.params, self.symbol_of = name, params, symbol_of
        self.target_ids, self.kept_ids, self.info = target_ids, kept_ids, info


def prepare_source(
    name: str,
    counts_path,
    samples_path,
    fit_group,
    ann,
    lib,
    term: str,
    spec: dict,
    seed: int,
    gene_id_type: str = "auto",
) -> Source:
    """Fit ``counts_path`` (:func:`fit_nb`, within ``fit_group``), map IDs to symbols, keep the
    target pathway and ``keep_genes``, subsample to ``n_genes`` and apply ``gene_means``."""
    from ..sources import annotation
    from .. import genesets, tables

    real_counts = tables.read_counts(counts_path).counts
    real_samples = tables.read_samples(samples_path)
    missing = [s for s in real_samples.index if s not in real_counts.columns]
    extra = [s for s in real_counts.columns if s not in real_samples.index]
    if missing or extra:
        raise InputError(
            f"{samples_path} and {counts_path} disagree: sheet-only samples "
            f"{preview(missing) or '-'}, count-only columns {preview(extra) or '-'}."
        )
    real_counts = real_counts[list(real_samples.index)]
    if fit_group == "auto":
        fit_group = "condition" if "condition" in real_samples.columns else None
    params = fit_nb(real_counts, real_samples, fit_group, min_mean=float(spec.get("min_mean", 1.0)))
    mapping = annotation.map_ids(list(params.index), ann, gene_id_type, where=f"simulation source {counts_path}: ")
    symbol_of = {
        g: s for g, s in zip(mapping.table["gene_id"], mapping.table["symbol"].astype(object)) if isinstance(s, str)
    }
    target_symbols = set(lib.sets[term])
    target_ids = [g for g in params.index if symbol_of.get(g) in target_symbols]
    if not target_ids:
        raise InputError(
            f"simulation: none of the {len(target_symbols)} genes of {term!r} has a mean count >= "
            f"{spec.get('min_mean', 1.0)} in {counts_path}; nothing to plant an effect on."
        )
    keep_symbols = [str(g) for g in spec.get("keep_genes") or []]
    kept_ids = [g for g in params.index if symbol_of.get(g) in set(keep_symbols)]
    keep_missing = sorted(set(keep_symbols) - {symbol_of[g] for g in kept_ids})
    if keep_missing:
        log.warning(
            "simulation: keep_genes %s have no gene with a mean count >= %s in %s; they are not simulated "
            "unless gene_means gives them a mean",
            preview(keep_missing),
            spec.get("min_mean", 1.0),
            counts_path,
        )
    n_genes = spec.get("n_genes")
    if n_genes is not None and int(n_genes) < len(params):
        n_genes = int(n_genes)
        always = params.index.isin(target_ids) | params.index.isin(kept_ids)
        if n_genes < int(always.sum()):
            raise InputError(
                f"simulation: n_genes {n_genes} is smaller than the {int(always.sum())} target pathway "
                "and keep_genes genes, which are always kept."
            )
        others = np.flatnonzero(~always)
        rng = np.random.default_rng([int(seed), 0])
        picked = rng.choice(others, size=n_genes - int(always.sum()), replace=False)
        keep = always.copy()
        keep[picked] = True
        attrs = params.attrs
        params = params[keep]
        params.attrs = attrs
    # genes given a chosen mean (e.g. key genes barely expressed in the source cells), with the
    # dispersion of the fitted trend at that mean
    set_means = {}
    added = []
    for sym, mean in (spec.get("gene_means") or {}).items():
        ids = [g for g in params.index if symbol_of.get(g) == sym]
        if not ids and sym in keep_symbols:
            # a key gene the source does not measure (e.g. MEIS1 in the GEUVADIS subset): added under its
            # Ensembl ID from the annotation, at the chosen mean
            ens = sorted(e for e, s_ in ann.ensembl_to_symbol.items() if s_ == sym)
            if ens:
                attrs = params.attrs
                params = pd.concat(
                    [
                        params,
                        pd.DataFrame(
                            {"mean": [float(mean)], "dispersion": [0.1], "dispersion_mom": [np.nan]}, index=[ens[0]]
                        ),
                    ]
                )
                params.index.name = "gene_id"
                params.attrs = attrs
                symbol_of[ens[0]] = sym
                kept_ids.append(ens[0])
                ids = [ens[0]]
                added.append(sym)
        if not ids:
            log.warning("simulation: gene_means: %s is not among the simulated genes (add it to keep_genes)", sym)
            continue
        trend = params.attrs["trend"]
        attrs = params.attrs
        params = params.copy()
        params.loc[ids, "mean"] = float(mean)
        params.loc[ids, "dispersion"] = float(
            np.clip(trend["a1"] / float(mean) + trend["a0"], MIN_DISPERSION, MAX_DISPERSION)
        )
        params.attrs = attrs
        set_means[sym] = float(mean)
    high = params["mean"] >= 50
    info = {
        "counts": str(counts_path),
        "counts_sha256": genesets.sha256sum(counts_path),
        "samples": str(samples_path),
        "samples_sha256": genesets.sha256sum(samples_path),
        "fit_group": fit_group,
        "samples_fitted": int(real_counts.shape[1]),
        "genes_in": params.attrs["genes_in"],
        "genes_fitted": params.attrs["genes_kept"],
        "genes_simulated": int(len(params)),
        "min_mean": params.attrs["min_mean"],
        "dispersion_trend": params.attrs["trend"],
        "prior_log_var": params.attrs["prior_log_var"],
        "residual_df": params.attrs["residual_df"],
        "median_cv_mean_ge_50": float(np.median(np.sqrt(params.loc[high, "dispersion"]))) if high.any() else None,
        "gene_means": set_means,
        "genes_added": added,
        "target_genes_simulated": sorted({symbol_of[g] for g in target_ids}),
        "target_genes_absent": sorted(target_symbols - {symbol_of[g] for g in target_ids}),
        "keep_genes": {
            "simulated": sorted({symbol_of[g] for g in kept_ids}),
            "absent": sorted(set(keep_missing) - set(added)),
        },
    }
    return Source(name, params, symbol_of, target_ids, kept_ids, info)


def pad_source(src: Source, donor: Source, n_genes: int, seed: int, exclude_symbols=()) -> Source:
    """``src`` with genes added until it has ``n_genes``: real gene IDs and symbols of ``donor`` that
    ``src`` lacks (never a target gene of ``donor``, a kept gene or one of ``exclude_symbols``), each given
    the mean and dispersion of a gene of ``src`` drawn at random (jointly, so the mean-dispersion
    relation of ``src`` holds). Gene sets then have the members a full transcriptome gives them while
    every count follows ``src``'s fit (e.g. GEUVADIS' 10,101 genes padded to 15,000 with LNCaP's gene
    IDs for the calibration's tissue studies). Seeded; ``info["genes_padded"]`` says how many."""
    have = int(len(src.params))
    if n_genes <= have:
        return src
    skip = set(donor.target_ids) | set(donor.kept_ids)
    taken = set(src.params.index)
    used_symbols = {src.symbol_of[g] for g in src.params.index if g in src.symbol_of} | set(exclude_symbols)
    pool = sorted(
        g
        for g in donor.params.index
        if g not in taken
        and g not in skip
        and isinstance(donor.symbol_of.get(g), str)
        and donor.symbol_of[g] not in used_symbols
    )
    rng = np.random.default_rng([int(seed), 5])
    k = min(n_genes - have, len(pool))
    picked = [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]
    protected = set(src.target_ids) | set(src.kept_ids)
    donors_of_values = np.flatnonzero(~src.params.index.isin(protected))
    rows = src.params.iloc[rng.choice(donors_of_values, size=k, replace=True)]
    added = pd.DataFrame(rows.to_numpy(), columns=rows.columns, index=pd.Index(picked, name=src.params.index.name))
    params = pd.concat([src.params, added])
    params.attrs = src.params.attrs
    symbol_of = dict(src.symbol_of) | {g: donor.symbol_of[g] for g in picked}
    info = dict(src.info) | {"genes_simulated": int(len(params)), "genes_padded": k, "padded_from": donor.name}
    return Source(src.name, params, symbol_of, list(src.target_ids), list(src.kept_ids), info)


def source_from_folder(name: str, folder, fit_group, ann, lib, term: str, spec: dict, seed: int) -> Source:
    """:func:`prepare_source` of a folder holding ``counts.tsv.gz`` and ``samples.tsv`` (the layout of
    the shared public data, ``../shared/data/counts/<dataset>/``)."""
    folder = Path(folder)
    return prepare_source(name, folder / "counts.tsv.gz", folder / "samples.tsv", fit_group, ann, lib, term, spec, seed)


def simulate_dataset(
    name: str, entry: dict, src: Source, lib, term: str, spec: dict, seed: int, groups: tuple[str, str] = DEFAULT_GROUPS
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One dataset of a study (an entry of ``simulation.datasets``, see :func:`simulate_study`)
    from a prepared :class:`Source`; ``seed`` is the dataset's own. Returns counts, sheet and
    what was simulated."""
    ignored = sorted(set(entry) - DATASET_KEYS)
    if ignored:
        log.warning(
            "simulation: dataset %s: setting(s) %s are not implemented by pathverdict.simulation.simulate "
            "and were ignored",
            name,
            preview(ignored),
        )
    where = f"simulation: dataset {name}"
    n_per_group = int(entry["n_per_group"])
    effect = bool(entry.get("effect", False))
    log2fc = float(entry.get("log2fc", DEFAULT_LOG2FC))
    fraction = float(entry.get("fraction", DEFAULT_FRACTION))
    mixed = bool(entry.get("mixed_direction", True))
    params, symbol_of, target_ids = src.params, src.symbol_of, src.target_ids
    always_plant = [g for g in target_ids if symbol_of.get(g) in set(spec.get("always_plant") or [])]
    planted = plant_effect(target_ids, seed, fraction, log2fc, mixed) if effect else {}
    if effect:
        # the always_plant genes are planted too (up in every other one, by gene order, when mixed)
        for i, g in enumerate(sorted(always_plant)):
            if g not in planted:
                planted[g] = float(2.0**log2fc) if (i % 2 == 0 or not mixed) else float(2.0**-log2fc)
        planted = dict(sorted(planted.items()))
    protected = set(target_ids) | set(src.kept_ids)
    shifts: dict[str, float] = {}
    n_background = 0
    bg = entry.get("background") or {}
    if bg:
        shifts.update(
            background_effects(
                list(params.index),
                protected,
                float(bg.get("fraction", 0.1)),
                float(bg.get("log2fc_sd", 0.8)),
                [int(seed), 3],
            )
        )
    n_background = len(shifts)
    off = entry.get("off_target") or {}
    off_terms: list[str] = []
    if off:
        eff, off_terms = off_target_effects(
            lib.sets,
            symbol_of,
            list(params.index),
            term,
            int(off.get("pathways", 3)),
            float(off.get("fraction", 0.5)),
            float(off.get("log2fc", 1.0)),
            [int(seed), 4],
            exclude=src.kept_ids,
        )
        shifts.update(eff)  # an off-target effect replaces a background one on the same gene
    module_specs = spec.get("modules") or {}
    modules = []
    for mname in entry.get("modules") or []:
        if mname not in module_specs:
            raise InputError(
                f"{where}: module {mname!r} is not defined under simulation.modules (defined: "
                f"{preview(sorted(module_specs)) or 'none'})."
            )
        m = module_specs[mname]
        ids = module_members(
            m,
            symbol_of,
            list(params.index),
            target_ids,
            [int(spec.get("seed", 0)), zlib.crc32(mname.encode())],
            f"simulation.modules.{mname}",
        )
        modules.append(
            {
                "name": mname,
                "ids": ids,
                "loading": float(m.get("loading", 0.5)),
                "kind": m.get("kind", "normal"),
                "prevalence": float(m.get("prevalence", 0.5)),
            }
        )
    reduce = entry.get("reduce_gene")
    affected = None
    chosen_pos = None
    if reduce:
        frac = float(reduce["fraction"])
        k = max(1, int(round(frac * n_per_group)))
        rng = np.random.default_rng([int(seed), 1])
        chosen_pos = sorted(int(i) for i in rng.choice(n_per_group, size=k, replace=False))
        if entry.get("effect_in_reduced"):
            affected = chosen_pos
    elif entry.get("effect_in_reduced"):
        raise InputError(f"{where}: effect_in_reduced needs reduce_gene (which patients have the reduced gene).")
    in_samples = faults.affected_positions(entry, n_per_group, where)
    if in_samples is not None:
        if affected is not None:
            raise InputError(f"{where}: effect_in_samples and effect_in_reduced both choose the samples; give one.")
        affected = in_samples
    counts, sheet = simulate(
        params,
        n_per_group=n_per_group,
        groups=groups,
        planted=planted,
        seed=seed,
        size_factor_sd=float(spec.get("size_factor_sd", 0.15)),
        sample_prefix=str(entry.get("sample_prefix", "S")),
        log2fc=shifts or None,
        affected=affected,
        modules=modules or None,
    )
    latent = counts.attrs.get("latent", {})
    reduced = None
    if reduce:
        counts, reduced = reduce_gene(
            counts, sheet, reduce, symbol_of, groups[1], seed, where=f"{where}: reduce_gene", positions=chosen_pos
        )
    counts, sheet, faulty = faults.apply_faults(counts, sheet, entry, seed, where)
    info = {
        "kind": "simulated",
        "source": src.name,
        "seed": int(seed),
        "n_per_group": n_per_group,
        "effect": effect,
        "log2fc": log2fc if effect else 0.0,
        "fraction": fraction if effect else 0.0,
        "mixed_direction": mixed,
        "planted": [{"gene_id": g, "symbol": symbol_of[g], "fold": round(f, 6)} for g, f in planted.items()],
        "effect_in": ("the reduced samples: " + ", ".join(reduced["samples"]))
        if affected is not None and reduced
        else ("every sample of " + groups[1] if effect else ""),
        "background_de": {
            "genes": n_background,
            "fraction": float(bg.get("fraction", 0.0)) if bg else 0.0,
            "log2fc_sd": float(bg.get("log2fc_sd", 0.0)) if bg else 0.0,
        },
        "off_target": {
            "pathways": off_terms,
            "fraction": float(off.get("fraction", 0)) if off else 0.0,
            "log2fc": float(off.get("log2fc", 0)) if off else 0.0,
        },
        "modules": [
            {
                "name": m["name"],
                "genes": len(m["ids"]),
                "loading": m["loading"],
                "kind": m["kind"],
                "symbols": sorted({symbol_of.get(g, g) for g in m["ids"]})[:60],
                "latent": [round(v, 4) for v in latent.get(m["name"], [])],
            }
            for m in modules
        ],
        "genes_with_effect": int(len(set(shifts) | set(planted))),
    }
    if reduced:
        info["reduced_gene"] = reduced
    if in_samples is not None:
        names = list(sheet["sample"])  # faults never reorder the samples: the second group is the second half
        info["effect_in"] = "only " + ", ".join(names[n_per_group + i] for i in in_samples)
    info.update(faulty)
    if ignored:
        info["ignored_settings"] = ignored
    return counts, sheet, info


def simulate_study(
    real_counts_path,
    real_samples_path,
    annotation_path,
    library_path,
    target: str,
    spec: dict,
    out_dir,
    seed: int,
    sources: dict | None = None,
    *,
    outputs: dict | None = None,
    study_json=None,
) -> dict:
    """Simulate every dataset of ``spec`` from real datasets.

    ``spec`` keys (all optional except ``datasets``):

    * ``datasets``: name -> ``{n_per_group, effect: bool (false), log2fc (1.5), fraction (0.6),
      mixed_direction (true), seed_offset, sample_prefix ("S"), source, background, off_target,
      modules, reduce_gene, effect_in_reduced}``; the dataset's seed is ``seed + seed_offset``
      (default offset: crc32 of the name modulo 100000, so datasets get independent noise
      whatever their order). ``source`` names an entry of ``sources`` whose fitted means and
      dispersions are used (default: the main real dataset); ``background: {fraction,
      log2fc_sd}`` gives that share of the simulated genes (never the target's) a log2FC from
      N(0, log2fc_sd) in the second group; ``off_target: {pathways, fraction, log2fc}`` moves a
      share of the genes of that many other pathways by +-log2fc; ``modules`` lists names of
      ``spec["modules"]`` (correlated modules from latent factors, see :func:`simulate`);
      ``reduce_gene: {gene, fraction, fold}`` lowers one gene in a share of the second group
      (:func:`reduce_gene`), and ``effect_in_reduced: true`` plants the effect only in those
      samples. Other settings are logged as not implemented and listed under
      ``ignored_settings`` in ``study.json``;
    * ``modules``: name -> ``{symbols, pattern, target_fraction, loading, kind, prevalence}``
      (:func:`module_members`);
    * ``groups`` (default ``[control, treated]``); ``n_genes`` (subsample the fitted genes to
      this many, always keeping every target gene and every ``keep_genes`` symbol; the choice
      depends on ``seed`` only); ``keep_genes`` (symbols); ``gene_means``; ``always_plant``;
      ``fit_group`` (sample-sheet column whose groups the dispersions are fitted within;
      default ``condition`` when the sheet has it, else none); ``min_mean`` (1.0);
      ``size_factor_sd`` (0.15); ``gene_id_type`` (auto).

    ``sources`` maps a source name to ``{counts, samples, fit_group}`` (paths of another real
    dataset, e.g. individuals for tissue-like data). Gene IDs stay those of the real data
    (Ensembl), so the workflow's ID mapping is exercised; the planted genes are the IDs whose
    symbol is in the target pathway of ``library_path``. Writes
    ``out_dir/<name>/counts.tsv.gz``, ``out_dir/<name>/samples.tsv`` and ``out_dir/study.json``
    (or the files given: ``outputs`` maps each dataset to its counts and sample-sheet paths,
    ``study_json`` the description), and returns the description written there.
    """
    from ..sources import annotation
    from .. import genesets

    out_dir = Path(out_dir) if out_dir is not None else None
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise InputError(
            "simulation spec: `datasets` must map dataset names to settings, e.g. "
            "{planted: {n_per_group: 3, effect: true}, null: {n_per_group: 3, effect: false}}."
        )
    for name, entry in datasets.items():
        if not isinstance(entry, dict) or "n_per_group" not in entry:
            raise InputError(
                f"simulation spec: dataset {name!r} needs settings with `n_per_group`, e.g. "
                "{n_per_group: 3, effect: true}."
            )
    sources = dict(sources or {})
    for name, entry in datasets.items():
        src = entry.get("source")
        if src is not None and src != "main" and src not in sources:
            raise InputError(
                f"simulation: dataset {name}: source {src!r} is not defined under simulation.sources "
                f"(defined: {preview(sorted(sources)) or 'none'}; or leave it out for real_counts)."
            )
    groups = tuple(spec.get("groups", DEFAULT_GROUPS))
    ann = annotation.load_annotation(annotation_path)
    lib = genesets.read_library(library_path)
    term = lib.find(target)
    main_group = spec["fit_group"] if "fit_group" in spec else "auto"
    fitted: dict[str, Source] = {}

    def source(name: str | None) -> Source:
        key = name or "main"
        if key not in fitted:
            if key == "main":
                counts, samples, group = real_counts_path, real_samples_path, main_group
            else:
                s = sources[key]
                counts, samples, group = s["counts"], s["samples"], s.get("fit_group", "auto")
            fitted[key] = prepare_source(
                key, counts, samples, group, ann, lib, term, spec, seed, spec.get("gene_id_type", "auto")
            )
        return fitted[key]

    main = source(None) if any(e.get("source") in (None, "main") for e in datasets.values()) else None
    first = main or source(next(iter(datasets.values())).get("source"))
    target_symbols = set(lib.sets[term])
    description = {
        "kind": "simulated",
        "note": SIMULATED_NOTE,
        "gene_means": first.info["gene_means"],
        "always_plant": sorted(
            first.symbol_of[g]
            for g in first.target_ids
            if first.symbol_of.get(g) in set(spec.get("always_plant") or [])
        ),
        "seed": int(seed),
        "source": {
            k: v
            for k, v in first.info.items()
            if k not in ("target_genes_simulated", "target_genes_absent", "keep_genes", "gene_means")
        },
        "sources": {},
        "annotation": {"file": str(annotation_path), "sha256": genesets.sha256sum(annotation_path)},
        "library": {
            "file": str(library_path),
            "sha256": lib.sha256,
            "target": term,
            "target_genes": len(target_symbols),
            "target_genes_simulated": first.info["target_genes_simulated"],
            "target_genes_absent": first.info["target_genes_absent"],
        },
        "keep_genes": first.info["keep_genes"],
        "modules": spec.get("modules") or {},
        "genes": int(len(first.params)),
        "groups": list(groups),
        "contrast": ["condition", groups[1], groups[0]],
        "datasets": {},
    }
    if outputs is not None:
        undeclared = [name for name in datasets if name not in outputs]
        if undeclared:
            raise InputError(
                f"simulation: dataset(s) {preview(undeclared)} of simulation.datasets are not datasets of the config "
                "with `simulated: true`: add them under `datasets` or remove them from the simulation."
            )
    for name, entry in datasets.items():
        entry = dict(entry)
        src = source(entry.get("source"))
        ds_seed = _dataset_seed(seed, name, entry)
        counts, sheet, info = simulate_dataset(name, entry, src, lib, term, spec, ds_seed, groups)
        ds_dir = out_dir / name if out_dir is not None else None
        source_name = "/".join(Path(src.info["counts"]).parts[-2:])
        effect = info["effect"]
        parts = [
            f"{len(info['planted'])} {term} genes planted at |log2FC| {info['log2fc']:g}"
            if effect
            else "no planted effect"
        ]
        if info["background_de"]["genes"]:
            parts.append(f"background DE in {info['background_de']['genes']} genes")
        if info["modules"]:
            parts.append("modules " + ", ".join(m["name"] for m in info["modules"]))
        note = f"{SIMULATED_NOTE}; source {source_name}; seed {ds_seed}; " + "; ".join(parts)
        if outputs is not None:
            counts_out, samples_out = outputs[name]
        else:
            counts_out, samples_out = ds_dir / "counts.tsv.gz", ds_dir / "samples.tsv"
        write_dataset(counts, sheet, counts_out, samples_out, note)
        info.update(
            counts=str(counts_out),
            samples=str(samples_out),
            counts_sha256=genesets.sha256sum(counts_out),
            source_counts=src.info["counts"],
            source_sha256=src.info["counts_sha256"],
            genes=int(len(counts)),
        )
        description["datasets"][name] = info
    for key, src in fitted.items():
        description["sources"][key] = src.info
    write_json(description, study_json if study_json is not None else out_dir / "study.json")
    return json.loads(json.dumps(description, default=str))
