#!/usr/bin/env bash
# The run command (README "Run the app"): installs what is needed (scripts/bootstrap.sh), starts Azurite on its
# default ports with data kept in .azurite/, and runs the app with Azure Functions Core Tools (`func start`).
# Azurite is stopped by its PID when func exits (Ctrl+C included).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v func >/dev/null 2>&1; then
  cat >&2 <<'MSG'
error: Azure Functions Core Tools (the `func` command) is not installed, so the app cannot run locally.
Install Core Tools v4, then run this command again:
  npm install -g azure-functions-core-tools@4      (or see https://learn.microsoft.com/azure/azure-functions/functions-run-local)
Without Core Tools you can still run the test suite: scripts/test.sh
MSG
  exit 1
fi

scripts/bootstrap.sh
if [ ! -f local.settings.json ]; then
  cp local.settings.example.json local.settings.json
  echo "run: created local.settings.json from local.settings.example.json; fill in your model endpoint and keys."
fi

.venv/bin/python -m devtools.azurite start
trap '.venv/bin/python -m devtools.azurite stop' EXIT
# func uses the Python on PATH: make it the project's virtual environment.
export PATH="$PWD/.venv/bin:$PATH"
func start "$@"
