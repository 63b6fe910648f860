# Sourced by scripts/bootstrap.sh and scripts/run.sh: the programs both need before they install anything.
# Sets PYTHON (default python3) and exits with a clear message when Python 3.11+ or npm is missing.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (found: $("$PYTHON" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm (Node.js 20+) is required to install Azurite. Install Node.js from https://nodejs.org or your package manager." >&2
  exit 1
fi
