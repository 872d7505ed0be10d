"""Step of rules/simulate.smk: the simulated demo study (:mod:`pathverdict.simulation.simulate`)."""

from __future__ import annotations

from ..simulation import simulated_study as _simulate


def simulate_study(
    *,
    counts: str,
    samples: str,
    annotation: str,
    library: str,
    simulation: dict,
    target: str,
    datasets: list[str],
    out_counts: list[str],
    out_samples: list[str],
    out_study: str,
    sources: list[str] = (),
) -> dict:
    """Every dataset of ``simulation.datasets``, fitted on the real ``counts``/``samples`` (and the
    ``simulation.sources``), written to the rule's outputs (``out_counts``/``out_samples`` in the
    order of ``datasets``) with the description in ``out_study``."""
    outputs = {name: (c, s) for name, c, s in zip(datasets, out_counts, out_samples, strict=True)}
    return _simulate.simulate_study(
        counts,
        samples,
        annotation,
        library,
        target,
        simulation,
        None,
        simulation.get("seed", 2019),
        sources=simulation.get("sources"),
        outputs=outputs,
        study_json=out_study,
    )
