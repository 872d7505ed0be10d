"""The workflow's steps: one function per Snakemake rule, reading the rule's files, calling
the science modules and writing the rule's outputs (atomically).

Every step function takes keyword-only parameters named like its rule's declarations:
an input ``de`` is the parameter ``de``, an output ``tsv`` is ``out_tsv``, a param
``enrichment`` is ``enrichment``, a wildcard ``dataset`` is ``dataset``, and ``threads``
the job's threads. :func:`pathverdict.smk.run_step` passes them from the ``snakemake``
object, so a script is two imports and one call and reads nothing its rule does not declare.

Modules by stage: :mod:`.download`, :mod:`.prepare`, :mod:`.de`, :mod:`.enrichment`,
:mod:`.verdict` (verdict, calibration, claims), :mod:`.plots`, :mod:`.provenance`,
:mod:`.robustness` (threshold grid, label-permutation null, selection analyses,
sensitivity) and :mod:`.simulate`.
"""
