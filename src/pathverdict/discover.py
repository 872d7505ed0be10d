"""Discovery of public perturbation series of a gene on GEO (issue 23): ``./run.sh discover --config
config/discover/meis1.yaml`` (or ``python -m pathverdict.discover --config ...``).

Writes ``<out_dir>/candidates.tsv`` (every series the search found, kept or dropped and why) and
``<out_dir>/draft_config.yaml`` (one dataset per kept series, each ``review: true`` with what to
check; a run refuses it until the flag is removed). See docs/discovery.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd
import yaml

from . import config as _config
from . import organisms as _organisms
from .errors import InputError
from .sources.discovery import COLUMNS, discover
from .sources.discovery_rules import draft_config
from .sources.download import Downloader
from .util import atomic_write, write_tsv

log = logging.getLogger("pathverdict.discover")

HEADER = """\
# DRAFT written by pathverdict discovery (./run.sh discover --config {source}) from the search
#   {term}
# {n_kept} of {n_found} series kept (the others and why: {table}).
# Every dataset is `review: true`: a run refuses it until you have made the checks listed under its
# `review_checks` (open the series on GEO), corrected what is wrong and removed `review: true`.
# Then: ./run.sh --configfile {path}
"""


def run(settings_path: str | Path, *, offline: bool = False, min_interval: float | None = None) -> dict:
    """Discovery with the settings of ``settings_path`` (``offline``: the download cache only); returns
    {table, draft, kept, found, term}."""
    source = str(settings_path)
    try:
        with open(settings_path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except FileNotFoundError:
        raise InputError(f"{source}: no such file. Fix: give the discovery settings, e.g. config/discover/meis1.yaml.")
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({exc}).") from None
    settings = _config.validate_settings(raw, "discover", source)
    if offline:
        settings["downloads"]["offline"] = True
    known = _organisms.known(settings.get("organisms_config"))
    settings["organisms"] = [_organisms.resolve(o, known, f"{source}: organisms") for o in settings["organisms"]]
    organisms = [known[o] for o in settings["organisms"]]
    for o in organisms:
        if not o.scientific:
            raise InputError(
                f"{source}: organism {o.name} has no scientific name to search GEO with. Fix: give "
                f"`organisms_config: {{{o.name}: {{kegg: {o.kegg}, scientific: Genus species}}}}`."
            )
    dl = Downloader.from_config(settings["downloads"])
    found, cands = discover(
        settings["gene"], organisms, settings, dl, settings["base_urls"], known, min_interval=min_interval
    )
    out = Path(settings["out_dir"])
    table = pd.DataFrame([c.row() for c in cands], columns=list(COLUMNS))
    table_path = out / "candidates.tsv"
    write_tsv(table, table_path)
    kept = [c for c in cands if c.decision == "kept"]
    result = {"table": table_path, "draft": None, "kept": len(kept), "found": len(cands), "term": found.term}
    if found.truncated:
        log.warning(
            "the search matched %d records; only the first %d were examined (max_series)", found.count, len(cands)
        )
    if kept:
        draft = draft_config(cands, settings["gene"], settings, known)
        # the draft must be a valid config but for its review flags
        _config.validate_config(draft, source="the draft config", allow_review=True)
        draft_path = out / "draft_config.yaml"
        with atomic_write(draft_path) as fh:
            fh.write(
                HEADER.format(
                    source=source,
                    term=found.term,
                    n_kept=len(kept),
                    n_found=len(cands),
                    table=table_path,
                    path=draft_path,
                )
            )
            yaml.safe_dump(draft, fh, sort_keys=False, allow_unicode=True, width=110)
        result["draft"] = draft_path
    return result


def summary_lines(result: dict, table: pd.DataFrame) -> list[str]:
    lines = [f"Discovery: {result['found']} series found by {result['term']}"]
    for _, r in table.iterrows():
        why = f" -- {r['reasons']}" if r["reasons"] else f" -- {r['proposed_groups']}"
        lines.append(f"  {r['accession']:<12} {r['decision']:<9} {r['organism']:<6} {r['title'][:60]}{why}")
    lines.append(f"Table: {result['table']}")
    if result["draft"]:
        lines.append(
            f"Draft config ({result['kept']} dataset(s), each `review: true`): {result['draft']} -- check each "
            "dataset's review_checks, remove `review: true`, then ./run.sh --configfile " + str(result["draft"])
        )
    else:
        lines.append("No series kept: no draft config written.")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./run.sh discover",
        description="Find public perturbation series of a gene on GEO and write a candidates table and a draft config.",
    )
    parser.add_argument(
        "--config", default="config/discover/meis1.yaml", help="discovery settings (config/discover/meis1.yaml)"
    )
    parser.add_argument("--offline", action="store_true", help="use only the download cache (no network)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        result = run(args.config, offline=args.offline)
    except InputError as exc:
        print(f"discovery stopped: {exc}", file=sys.stderr)
        return 1
    table = pd.read_csv(result["table"], sep="\t", dtype=str, keep_default_na=False)
    print("\n".join(summary_lines(result, table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
