#!/usr/bin/env bash
# The test command (README "Run the tests"; CI runs exactly this through .ci/run).
# Installs everything into the project (scripts/bootstrap.sh), then runs pytest.
# tests/conftest.py starts Azurite on free loopback ports and stops it by PID when the session ends,
# whether the tests pass or fail. Extra arguments go to pytest, e.g. scripts/test.sh -m faults
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests; that is a failure, not a pass." >&2
  exit 1
fi
exit "$rc"
