#!/usr/bin/env bash
# Run the tests (creates .venv on first use, then pytest).
#
#   ./test.sh                  fast tier: the unit tests, no R, SLURM, browser or end-to-end runs
#   ./test.sh --all            everything (what .ci/run runs): + end-to-end runs, live R, SLURM, Chromium
#   ./test.sh [--all] ARGS     pytest arguments, e.g. -x, -k NAME, tests/test_verdict.py, -m e2e
#
# The fast tier is `-m "$FAST"`; giving -m or a test file/folder replaces that filter. Tests on real
# data read ../shared/data (or $PATHVERDICT_SHARED). A test whose optional tool (R, SLURM,
# Chromium) is missing is skipped with the reason, or fails when CI is set (tests/conftest.py).
# --all runs on $PATHVERDICT_TEST_WORKERS pytest-xdist workers (default 2, `-n 2 --dist loadfile`: a
# module at a time, the end-to-end ones first; tests/conftest.py), installed from requirements-dev.txt
# when missing; PATHVERDICT_TEST_WORKERS=1, or -n/-p no:xdist given, runs it in one process.
set -euo pipefail
cd "$(dirname "$0")"
FAST="not e2e and not slurm and not browser and not fidelity"
all=
picked=
xdist=  # -n / -p no:xdist given: pytest-xdist as asked
value=  # the previous argument was an option that takes a value (not a test path)
args=()
for arg in "$@"; do
  if [ -n "$value" ]; then
    value=
    if [ "$arg" = no:xdist ]; then xdist=1; fi
    args+=("$arg")
    continue
  fi
  case "$arg" in
    --all) all=1 ;;
    -m) picked=1; value=1; args+=("$arg") ;;
    -m?*) picked=1; args+=("$arg") ;;
    -n) xdist=1; value=1; args+=("$arg") ;;
    -n?* | --numprocesses* | -pno:xdist) xdist=1; args+=("$arg") ;;
    -k | -p | -o | -c | -W | --deselect | --ignore | --rootdir | --basetemp | --durations) value=1; args+=("$arg") ;;
    -*) args+=("$arg") ;;
    *) if [ -e "${arg%%::*}" ]; then picked=1; fi; args+=("$arg") ;;
  esac
done
source tools/bootstrap.sh
workers="${PATHVERDICT_TEST_WORKERS:-2}"
if [ -n "$all" ] && [ -z "$xdist" ] && [ "$workers" -gt 1 ]; then
  if ! python -c "import xdist" 2>/dev/null; then
    echo "[test.sh] installing pytest-xdist (requirements-dev.txt) into $VIRTUAL_ENV" >&2
    python -m pip install --quiet $(grep -E "^(pytest-xdist|execnet)==" requirements-dev.txt) -c constraints.txt
  fi
  args=(-n "$workers" --dist loadfile ${args[@]+"${args[@]}"})
fi
if [ -n "$all" ] || [ -n "$picked" ]; then
  exec python -m pytest ${args[@]+"${args[@]}"}
fi
echo "[test.sh] fast tier: -m \"$FAST\" (./test.sh --all runs everything)" >&2
exec python -m pytest -m "$FAST" ${args[@]+"${args[@]}"}
