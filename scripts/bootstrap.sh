#!/usr/bin/env bash
# Installs what the app and its tests need, inside the project:
#   .venv/          Python packages from requirements-dev.txt
#   .venv313/       with --py313 (scripts/test.sh): the same on Python 3.13 plus the Functions worker library
#                   (requirements-worker.txt), from $PYTHON313 or pyenv's 3.13; skipped with a notice when none
#   .venv-checkov/  checkov (requirements-checkov.txt), apart from the app's packages; tests/test_infra.py runs it
#   node_modules/   Azurite (the Azure Storage emulator) from package-lock.json
#   Debian packages for the browser tests, when missing: chromium (driven by Playwright from .venv) and a
#                   Japanese font (fonts-ipafont-gothic) so the page's text renders in screenshots
# Re-runs an install only when its lock or requirements file changed, so it is cheap to call every time.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/prerequisites.sh

stamp_dir=.tooling
mkdir -p "$stamp_dir"

# install_venv DIR PYTHON REQUIREMENTS: creates DIR with PYTHON and installs REQUIREMENTS into it, again only when
# the requirements or the interpreter changed (one stamp per venv, so each venv is checked on its own).
install_venv() {
  local venv=$1 python=$2 requirements=$3
  if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating $venv ($("$python" --version 2>&1))"
    "$python" -m venv "$venv"
  fi
  local hash
  hash=$( { cat requirements.txt requirements-dev.txt "$requirements"; "$venv/bin/python" --version; } 2>&1 \
          | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp_dir/pip-$venv.sha256" 2>/dev/null)" != "$hash" ]; then
    echo "bootstrap: installing Python packages into $venv ($requirements)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$hash" > "$stamp_dir/pip-$venv.sha256"
  fi
}

install_venv .venv "$PYTHON" requirements-dev.txt

# Python 3.13 (--py313): the Functions worker library for 3.13 (azure-functions-runtime) installs only there.
if [ "${1:-}" = "--py313" ]; then
  python313=${PYTHON313:-}
  if [ -z "$python313" ] && command -v pyenv >/dev/null 2>&1; then
    python313=$(ls -d "$(pyenv root)"/versions/3.13*/bin/python3 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$python313" ]; then
    python313=$(command -v python3.13 || true)
  fi
  if [ -n "$python313" ] && "$python313" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
    install_venv .venv313 "$python313" requirements-worker.txt
  else
    echo "bootstrap: no Python 3.13 found${python313:+ ($python313 is not Python 3.13)}" \
         "(set PYTHON313=/path/to/python3.13, or install it with pyenv)" >&2
  fi
fi

# checkov pins many packages of its own: it gets a venv apart from the app's (tests/test_infra.py runs it).
install_venv .venv-checkov "$PYTHON" requirements-checkov.txt

npm_hash=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/azurite ] || [ "$(cat "$stamp_dir/npm.sha256" 2>/dev/null)" != "$npm_hash" ]; then
  echo "bootstrap: installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > "$stamp_dir/npm.sha256"
fi

# Browser tests (tests/test_chat_page.py). Playwright cannot download its own browser here, so the tests drive
# Debian's Chromium at /usr/bin/chromium. Installed only when missing; if that is impossible (not root, no
# apt-get, no network), the browser tests skip and say why, and everything else still runs.
browser_packages=()
command -v chromium >/dev/null 2>&1 || browser_packages+=(chromium)
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ja 2>/dev/null)" ]; } || browser_packages+=(fonts-ipafont-gothic)
if [ ${#browser_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${browser_packages[*]} (apt-get) for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update only when the first attempt fails.
    if ! apt-get install -y -qq "${browser_packages[@]}" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get install -y -qq "${browser_packages[@]}" >/dev/null \
        || echo "bootstrap: warning: could not install ${browser_packages[*]}; the browser tests will be skipped." >&2
    fi
  else
    echo "bootstrap: warning: ${browser_packages[*]} missing and not installable here (needs root and apt-get);" \
         "the browser tests will be skipped. Install them with: sudo apt-get install ${browser_packages[*]}" >&2
  fi
fi
