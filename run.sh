#!/usr/bin/env bash
# Run the workflow: creates .venv on first use, then `snakemake` with your arguments
# (default: --cores all). Example: ./run.sh --configfile config/other.yaml --cores 2
set -euo pipefail
cd "$(dirname "$0")"
source tools/bootstrap.sh
# ./run.sh discover [--config config/discover/meis1.yaml] [--offline]: find public perturbation series (docs/discovery.md)
if [[ "${1:-}" == "discover" ]]; then
  shift
  exec python -m pathverdict.discover "$@"
fi
# the config files given with --configfile: one clear message each (file, line, fix) when one is missing,
# empty or not valid YAML -- Snakemake reads them before the workflow can say so (issue 24)
python -m pathverdict.configfiles "$@" || exit 1
if [[ " $* " != *" --cores "* && " $* " != *" -c"* && " $* " != *" --jobs "* && " $* " != *" -j"* ]]; then
  set -- --cores all "$@"
fi
# a dry run lists every job it would run (the workstation profile keeps real runs to the progress lines)
if [[ " $* " == *" -n "* || " $* " == *" --dry-run "* || " $* " == *" --dryrun "* ]] && [[ " $* " != *" --quiet"* ]]; then
  set -- "$@" --quiet host
fi
exec snakemake "$@"
