# The offline demo: a seeded generator writes a simulated study (negative-binomial counts fitted
# on a real dataset, an effect planted on the target pathway's genes where configured).


rule simulate_study:
    input:
        counts=CFG.get("simulation", {}).get("real_counts", []),
        samples=CFG.get("simulation", {}).get("real_samples", []),
        library=CFG.get("simulation", {}).get("library", []),
        annotation=ANNOTATION,
        # other real datasets the simulation is fitted on (simulation.sources: cells, tissue, ...)
        sources=[
            path
            for src in CFG.get("simulation", {}).get("sources", {}).values()
            for path in (src["counts"], src["samples"])
        ],
    output:
        counts=expand(
            f"{RESOURCES}/simulated/{{dataset}}/counts.tsv.gz", dataset=SIMULATED
        ),
        samples=expand(
            f"{RESOURCES}/simulated/{{dataset}}/samples.tsv", dataset=SIMULATED
        ),
        study=report(
            f"{RESOURCES}/simulated/study.json",
            caption="../report/simulation.rst",
            category="Samples",
            labels={"table": "simulated study"},
        ),
    log:
        f"{LOGS}/simulate_study.log",
    conda:
        "../envs/pathverdict.yaml"
    params:
        simulation=CFG.get("simulation", {}),
        target=CFG["target_pathway"],
        datasets=SIMULATED,
    script:
        "../scripts/simulate_study.py"
