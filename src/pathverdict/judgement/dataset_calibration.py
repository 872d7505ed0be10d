"""Per-dataset calibration: how often does the verdict call the target on top in studies simulated
from *this* dataset's own fit, with and without a real effect on the target?

For a dataset the workflow has analysed, :func:`pathverdict.simulation.dataset_fit.fit_dataset` fits
its genes, library sizes, means, dispersions and its amount of background DE (from its DE table);
:func:`calibrate` then simulates

* ``null`` studies: the background DE drawn anew each time, the target's genes like any others (no
  effect of its own);
* ``planted`` studies per effect size of ``effects``: the same, plus ``|log2FC|`` = the effect on
  ``fraction`` of the target's genes in the data (half up, half down; all up with
  ``mixed_direction: false`` -- GSEA and CAMERA test a shift of the pathway in one direction and
  rarely see a mixed one),

and runs on each the verdict exactly as the workflow does (:func:`pathverdict.judgement.replay.replay`:
DE with the dataset's design and contrast, ORA of up/down/all DE genes, GSEA, CAMERA, the verdict's
rule; for a dataset with ``select_by_expression`` the cohort before the selection is simulated and the
selection re-applied each time, as the prepare step applies it). Per method it reports the
false-positive rate of ``on_top`` (share of null studies called on top) and the power (share of
planted studies called on top) at each effect, with Clopper-Pearson 95% intervals, and the same for
"enriched" (FDR <= ``verdict.max_fdr`` with the verdict's minimum evidence; the tissue claim's test).

A simulation whose selection keeps fewer than 2 patients (the workflow would stop) counts as not on top
and is listed. Every simulation is seeded from ``calibration.seed`` and the dataset's name, so reruns
give the same table.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import zlib
from collections.abc import Mapping

import pandas as pd

from .. import de
from ..errors import InputError
from ..simulation import dataset_fit
from ..util import quiet_logging
from . import replay

log = logging.getLogger(__name__)

SIMULATION_COLUMNS = [
    "dataset",
    "simulation",
    "kind",
    "log2fc",
    "method",
    "status",
    "enriched",
    "rank",
    "n_terms",
    "fdr",
    "de_genes",
    "samples",
    "note",
]
# the false-positive rates of the null studies, as the summary and results/calibration.tsv give them
FPR_COLUMNS = ["n_null", "fpr_on_top", "fpr_ci_low", "fpr_ci_high", "fpr_enriched", "fpr_enriched_ci_high"]
SUMMARY_COLUMNS = [
    "dataset",
    "method",
    *FPR_COLUMNS,
    "effects",
    "n_planted",
    "power_by_effect",
    "enriched_by_effect",
    "no_answer",
    "genes",
    "background",
    "note",
]


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
    """The config's ``calibration`` section (config/schemas/config.schema.yaml has the defaults)."""

    enabled: bool = True
    null_simulations: int = 40
    planted_simulations: int = 30
    effects: tuple[float, ...] = (1.0, 2.0)
    fraction: float = 0.3
    reference_effect: float = 1.0
    min_power: float = 0.8
    mixed_direction: bool = True
    seed: int = 11

    @classmethod
    def from_config(cls, cal: Mapping | None) -> CalibrationSettings:
        cal = dict(cal or {})
        d = cls()
        effects = tuple(float(x) for x in cal.get("effects", d.effects))
        ref = float(cal.get("reference_effect", d.reference_effect))
        if ref not in effects:
            effects = tuple(sorted((*effects, ref)))
        return cls(
            enabled=bool(cal.get("enabled", d.enabled)),
            null_simulations=int(cal.get("null_simulations", d.null_simulations)),
            planted_simulations=int(cal.get("planted_simulations", d.planted_simulations)),
            effects=effects,
            fraction=float(cal.get("fraction", d.fraction)),
            reference_effect=ref,
            min_power=float(cal.get("min_power", d.min_power)),
            mixed_direction=bool(cal.get("mixed_direction", d.mixed_direction)),
            seed=int(cal.get("seed", d.seed)),
        )

    def effect_text(self, effect: float | None = None) -> str:
        """ "|log2FC| 1 on 30% of the pathway's genes" (the reference effect by default)."""
        e = self.reference_effect if effect is None else effect
        how = "" if self.mixed_direction else ", all up"
        return f"|log2FC| {e:g} on {100 * self.fraction:.0f}% of the pathway's genes{how}"


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95% interval of k successes in n."""
    from scipy.stats import beta

    if n == 0:
        return math.nan, math.nan
    lo = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return lo, hi


def _seed(settings: CalibrationSettings, dataset: str) -> int:
    return int(settings.seed) * 1_000_003 + zlib.crc32(dataset.encode("utf-8"))


def simulations(settings: CalibrationSettings) -> list[tuple[str, int, float]]:
    """(kind, index, |log2FC|) of every simulated study, nulls first."""
    out = [("null", i, 0.0) for i in range(settings.null_simulations)]
    for e in settings.effects:
        out += [("planted", i, float(e)) for i in range(settings.planted_simulations)]
    return out


def calibrate(
    fit: dataset_fit.DatasetFit,
    rs: replay.ReplaySettings,
    de_params: de.DEParams,
    settings: CalibrationSettings,
    *,
    dataset: str,
    selection: Mapping | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate and judge (module docs): ``(summary, simulations)`` -- one row per method
    (:data:`SUMMARY_COLUMNS`) and one per simulation x method (:data:`SIMULATION_COLUMNS`)."""
    from .null import apply_selection, null_block_genes

    params = dataclasses.replace(
        de_params, shrink=False, threads=1, block_genes=de_params.block_genes or null_block_genes(fit.sheet.shape[0])
    )
    max_fdr = rs.settings.max_fdr
    base = _seed(settings, dataset)
    rows = []
    started = time.process_time()
    plan = simulations(settings)
    for n, (kind, i, effect) in enumerate(plan, start=1):
        seed = [base, 0 if kind == "null" else int(round(effect * 1000)), i]
        counts, sheet, _ = dataset_fit.simulate_fitted(
            fit, seed, log2fc=effect, fraction=settings.fraction, mixed_direction=settings.mixed_direction
        )
        common = {"dataset": dataset, "simulation": n, "kind": kind, "log2fc": effect}
        try:
            if selection:
                counts, sheet = apply_selection(counts, sheet, fit.symbols, selection, fit.contrast)
            with quiet_logging():
                v, _, _ = replay.replay(counts, sheet, params, fit.symbols, rs, dataset=dataset)
        except InputError as exc:  # the workflow would stop: no answer, never "on top"
            for method in rs.methods:
                rows.append({**common, "method": method, "status": "no answer", "enriched": False, "note": str(exc)})
            continue
        for r in v.to_dict("records"):
            fdr = r["fdr"]
            rows.append(
                {
                    **common,
                    "method": r["method"],
                    "status": r["status"],
                    "enriched": bool(r["status"] != "inconclusive" and not pd.isna(fdr) and float(fdr) <= max_fdr),
                    "rank": r["rank"],
                    "n_terms": r["n_terms"],
                    "fdr": fdr,
                    "de_genes": r["de_genes"],
                    "samples": int(sheet.shape[0]),
                    "note": r["note"],
                }
            )
        if n % 25 == 0 or n == len(plan):
            log.info(
                "%s: %d/%d simulated studies judged, %.0f CPU s", dataset, n, len(plan), time.process_time() - started
            )
    sims = pd.DataFrame(rows, columns=SIMULATION_COLUMNS)
    for col in ("rank", "n_terms", "de_genes", "samples"):
        sims[col] = pd.to_numeric(sims[col], errors="coerce").astype("Int64")
    sims["fdr"] = pd.to_numeric(sims["fdr"], errors="coerce")
    log.info("%s: calibration took %.1f CPU s", dataset, time.process_time() - started)  # logged: reruns are identical
    summary = summarise(sims, settings, rs.methods, dataset, fit.background_text(), len(fit.params))
    return summary, sims


def _rates(flags: pd.Series) -> tuple[int, int]:
    return int(flags.sum()), int(len(flags))


def summarise(
    sims: pd.DataFrame,
    settings: CalibrationSettings,
    methods,
    dataset: str,
    background: str,
    genes: int,
) -> pd.DataFrame:
    """Per method: false-positive rates and power per effect with their 95% intervals."""
    out = []
    for method in methods:
        s = sims[sims["method"] == method]
        null = s[s["kind"] == "null"]
        k, n = _rates(null["status"] == "on_top")
        lo, hi = clopper_pearson(k, n)
        ke, ne = _rates(null["enriched"].astype(bool))
        power, enriched = [], []
        for e in settings.effects:
            p = s[(s["kind"] == "planted") & (s["log2fc"] == e)]
            power.append(by_effect_part(e, *_rates(p["status"] == "on_top")))
            enriched.append(by_effect_part(e, *_rates(p["enriched"].astype(bool))))
        out.append(
            {
                "dataset": dataset,
                "method": method,
                "n_null": n,
                "fpr_on_top": k / n if n else math.nan,
                "fpr_ci_low": lo,
                "fpr_ci_high": hi,
                "fpr_enriched": ke / ne if ne else math.nan,
                "fpr_enriched_ci_high": clopper_pearson(ke, ne)[1],
                "effects": ";".join(f"{e:g}" for e in settings.effects),
                "n_planted": int((s["kind"] == "planted").sum()),
                "power_by_effect": ";".join(power),
                "enriched_by_effect": ";".join(enriched),
                "no_answer": int((s["status"] == "no answer").sum()),
                "genes": int(genes),
                "background": background,
                "note": "",
            }
        )
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def not_calibrated(dataset: str, methods, reason: str) -> pd.DataFrame:
    """The summary of a dataset that cannot be simulated (too few genes, no DE table...): one row per
    method with no figures and the reason; its power is then unknown, so a "no" is not earned."""
    rows = [{"dataset": dataset, "method": m, "n_null": 0, "n_planted": 0, "genes": 0, "note": reason} for m in methods]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def by_effect_part(effect: float, k: int, n: int) -> str:
    """One effect of ``power_by_effect`` / ``enriched_by_effect``: "effect:k/n:ci_low:ci_high" (read back
    by :func:`parse_by_effect`)."""
    lo, hi = clopper_pearson(k, n)
    return f"{effect:g}:{k}/{n}:{lo:.4g}:{hi:.4g}"


def parse_by_effect(text: str) -> dict[float, tuple[int, int, float, float]]:
    """``power_by_effect`` / ``enriched_by_effect`` -> {effect: (k, n, ci_low, ci_high)}."""
    out = {}
    for part in str(text or "").split(";"):
        bits = part.split(":")
        if len(bits) != 4 or "/" not in bits[1]:
            continue  # an old package table's "1:0.165": no counts, no interval
        k, n = bits[1].split("/")
        out[float(bits[0])] = (int(k), int(n), float(bits[2]), float(bits[3]))
    return out
