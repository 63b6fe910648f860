#!/usr/bin/env bash
# The run command (README "Run the app"): installs what running needs (requirements.txt, Azurite), starts Azurite on its
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

# Running the app needs only the app's own packages (requirements.txt) and Azurite: not the test tools, not the
# browser (scripts/bootstrap.sh installs those, for scripts/test.sh). Each install reruns only when its lock changed.
source scripts/prerequisites.sh
mkdir -p .tooling
[ -x .venv/bin/python ] || { echo "run: creating .venv"; "$PYTHON" -m venv .venv; }
req_hash=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .tooling/pip-run.sha256 2>/dev/null)" != "$req_hash" ]; then
  echo "run: installing the app's Python packages (requirements.txt)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$req_hash" > .tooling/pip-run.sha256
fi
npm_hash=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/azurite ] || [ "$(cat .tooling/npm.sha256 2>/dev/null)" != "$npm_hash" ]; then
  echo "run: installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > .tooling/npm.sha256
fi

if [ ! -f local.settings.json ]; then
  cp local.settings.example.json local.settings.json
  echo "run: created local.settings.json from local.settings.example.json; set OPENAI_API_KEY (OpenAI), or" \
       "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT (Azure OpenAI), and the travel API keys."
fi

.venv/bin/python -m devtools.azurite start
trap '.venv/bin/python -m devtools.azurite stop' EXIT
# func uses the Python on PATH: make it the project's virtual environment.
export PATH="$PWD/.venv/bin:$PATH"
func start "$@"
