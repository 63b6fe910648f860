""".funcignore decides what `func azure functionapp publish` uploads. The deployment must hold what the app runs
and nothing of the development kit: not the fakes of the model and travel APIs (devtools/), tests, benchmarks,
scripts or docs. And the app must not need any of those at run time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pathspec

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ("function_app.py", "host.json", "requirements.txt", "activities/", "api/", "jobs/", "orchestrators/",
           "shell/", "travel_assistant/", "web/index.html", "openapi/openapi.json")
DEVELOPMENT = ("devtools/", "tests/", "benchmarks/", "scripts/", "docs/", "requirements-dev.txt",
               "local.settings.example.json", "README.md", "package.json", "pyproject.toml")


def deployed_files() -> set[str]:
    ignore = pathspec.PathSpec.from_lines("gitwildmatch", (ROOT / ".funcignore").read_text().splitlines())
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {path for path in tracked.splitlines() if not ignore.match_file(path)}


def test_the_deployment_holds_the_app_and_none_of_the_development_kit() -> None:
    deployed = deployed_files()
    for needed in RUNTIME:
        assert any(path == needed or path.startswith(needed) for path in deployed), f"{needed} is not deployed"
    shipped = sorted(path for path in deployed if path.startswith(DEVELOPMENT) or path in DEVELOPMENT)
    assert not shipped, shipped
    assert not [p for p in deployed if p.split("/")[0] not in {r.split("/")[0] for r in RUNTIME}], \
        "a top-level path nobody decided about is deployed"


def test_the_app_indexes_without_the_development_kit() -> None:
    """Import function_app and build its function index with devtools and tests unimportable, as on Azure."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('devtools', 'tests', 'benchmarks'):\n"
        "            raise ImportError(name + ' is not deployed')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import function_app\n"
        "print(len(function_app.app.get_functions()))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) > 20
