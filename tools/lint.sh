#!/usr/bin/env bash
# Lint and format checks, as CI runs them (.ci/run, before the tests):
#   ruff check .  ·  ruff format --check .  ·  snakefmt --check Snakefile rules/
# Installs the pinned tools of requirements-dev.txt into .venv when they are missing.
#   tools/lint.sh          check only; exit 1 naming each failed check and the command that fixes it
#   tools/lint.sh --fix    apply the formatting (ruff format, ruff check --fix, snakefmt), then check
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/bootstrap.sh
pin() { sed -n "s/^$1==//p" requirements-dev.txt; }
if [ "$(ruff --version 2>/dev/null | awk '{print $2}')" != "$(pin ruff)" ] ||
  [ "$(snakefmt --version 2>/dev/null | awk '{print $3}')" != "$(pin snakefmt)" ]; then
  echo "[lint] installing ruff $(pin ruff) and snakefmt $(pin snakefmt) (requirements-dev.txt) into $VIRTUAL_ENV" >&2
  python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
fi
if [ "${1:-}" = "--fix" ]; then
  ruff format . && ruff check --fix . || true
  snakefmt Snakefile rules/ || true
fi
failed=()
run() {  # run NAME FIX COMMAND...
  local name="$1" fix="$2"
  shift 2
  echo "[lint] $*" >&2
  if ! "$@"; then failed+=("$name (fix: $fix)"); fi
}
run "ruff check" "ruff check --fix . where it can, else edit the lines shown" ruff check .
run "ruff format" "tools/lint.sh --fix, or ruff format FILES" ruff format --check .
run "snakefmt" "tools/lint.sh --fix, or snakefmt FILES" snakefmt --check Snakefile rules/
if [ ${#failed[@]} -gt 0 ]; then
  echo "[lint] FAILED (the repository must stay lint-clean and formatted; CI fails otherwise):" >&2
  printf '[lint]   %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "[lint] ruff check, ruff format --check, snakefmt --check: clean" >&2
