"""The claims of the default config (config/config.yaml: Sarayloo et al. 2019), read as the workflow
reads them, for tests that judge evidence against the paper's claims."""

from __future__ import annotations

from pathlib import Path

import yaml

from pathverdict.judgement.claim_specs import parse_claims

CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def default_study() -> dict:
    with open(CONFIG) as fh:
        return yaml.safe_load(fh)


def sarayloo_claims(roles: dict[str, str] | None = None, config: dict | None = None):
    """The claims of config/config.yaml (cells, tissue, metallothioneins); with ``roles`` they are
    checked against those datasets, else kept whatever roles the test's datasets have."""
    cfg = config or default_study()
    return parse_claims(
        cfg["claims"], roles or {}, perturbed_gene=cfg.get("perturbed_gene"), check_roles=roles is not None
    )


SARAYLOO = sarayloo_claims()
