# pathverdict: count matrices -> pydeseq2 -> KEGG ORA + GSEA (gseapy) -> "is the target pathway on top?"
# The science lives in the Python package under src/pathverdict; rules here only wire files together.
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
# the scripts' jobs (separate Python processes, also under --use-conda and on a cluster) import
# this same package, whether or not their environment installed it
from pathverdict.smk import share_package_path

share_package_path()

# The default config is read only when no --configfile is given, so that datasets of the
# default config never leak into a run with another config file.
if not workflow.overwrite_configfiles:
    from pathverdict.configfiles import problem as _config_problem

    if _config_problem("config/config.yaml"):
        raise WorkflowError(_config_problem("config/config.yaml"))

    configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/simulate.smk"
include: "rules/prepare.smk"
include: "rules/de.smk"
include: "rules/enrichment.smk"
include: "rules/plots.smk"
include: "rules/verdict.smk"
include: "rules/samples.smk"
include: "rules/robustness.smk"
include: "rules/replication.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# The answer where people look: a short summary of the results at the end of every successful run
# (finish_run: rules/common.smk).
onsuccess:
    finish_run()


# Snakemake skips onsuccess when there is nothing to do (a warm run): the same answer then, at exit.
if workflow.is_main_process:
    from pathverdict.summary import watch_nothing_to_do

    watch_nothing_to_do(
        finish_run,
        skip=lambda: workflow.dryrun or workflow.execution_settings.no_hooks,
    )
