#!/usr/bin/env bash
# The test command (README "Run the tests"; CI runs exactly this through .ci/run).
# Installs everything into the project (scripts/bootstrap.sh --py313), then runs pytest twice: on Python 3.11
# (.venv) and on Python 3.13 (.venv313, which also holds the Functions worker library, so tests/test_worker_runtime.py
# loads and invokes the app with the real worker; docs/runtime.md). Without a Python 3.13 the second run is skipped
# with a notice; in CI (CI=true) a missing 3.13 is a failure. A run that collects no tests (pytest exit 5) fails.
# tests/conftest.py starts Azurite on free loopback ports and stops it by PID when the session ends,
# whether the tests pass or fail. Extra arguments go to pytest, e.g. scripts/test.sh -m faults
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --py313

# run_pytest VENV ARGS...: one pytest session in VENV; prints and returns its exit code (5, no tests, becomes 1).
run_pytest() {
  local venv=$1 rc
  shift
  echo "test.sh: pytest on $("$venv/bin/python" --version) ($venv)"
  set +e
  "$venv/bin/python" -m pytest "$@"
  rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    echo "error: pytest collected no tests in $venv; that is a failure, not a pass." >&2
    rc=1
  fi
  return "$rc"
}

rc311=0
run_pytest .venv "$@" || rc311=$?

rc313=0
if [ -x .venv313/bin/python ]; then
  run_pytest .venv313 "$@" || rc313=$?
elif [ "${CI:-}" = "true" ]; then
  echo "error: Python 3.13 is required in CI (the suite runs on 3.11 and 3.13); set PYTHON313=/path/to/python3.13." >&2
  rc313=1
else
  echo "test.sh: SKIPPED the Python 3.13 run (no Python 3.13 found; set PYTHON313=/path/to/python3.13 or install" \
       "it with pyenv). The worker tier (tests/test_worker_runtime.py) runs only there." >&2
fi

echo "test.sh: Python 3.11 exit $rc311, Python 3.13 exit $rc313"
if [ "$rc311" -ne 0 ]; then exit "$rc311"; fi
exit "$rc313"
