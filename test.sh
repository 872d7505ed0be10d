#!/usr/bin/env bash
# Run the test suite: creates .venv on first use, then pytest with your arguments.
# Tests on real data read ../shared/data (or $PATHVERDICT_SHARED).
set -euo pipefail
cd "$(dirname "$0")"
source tools/bootstrap.sh
exec python -m pytest "$@"
