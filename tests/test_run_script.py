"""scripts/run.sh installs only what running the app needs: requirements.txt and Azurite, never the dev
requirements, the test browser (Debian's Chromium, as root) or anything else scripts/bootstrap.sh does.

Run in a copy of the project with stand-ins for the programs it calls (the project's .venv python, npm, func,
scripts/bootstrap.sh) that record their arguments; the script itself is the real one."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stand_in(path: Path, log: Path, extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{path.name} $*" >> "{log}"\n{extra}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_run_installs_only_requirements_txt_and_azurite_then_starts_func(tmp_path: Path) -> None:
    project, bin_dir, log = tmp_path / "project", tmp_path / "bin", tmp_path / "calls.log"
    for name in ("scripts/run.sh", "scripts/prerequisites.sh", "requirements.txt", "requirements-dev.txt",
                 "package.json", "package-lock.json", "local.settings.example.json"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, project / name)
    stand_in(project / "scripts" / "bootstrap.sh", log)
    stand_in(project / ".venv" / "bin" / "python", log)
    stand_in(bin_dir / "npm", log, f'mkdir -p "{project}/node_modules/.bin" && touch "{project}/node_modules/.bin/'
                                   f'azurite" && chmod +x "{project}/node_modules/.bin/azurite"')
    stand_in(bin_dir / "func", log)
    stand_in(bin_dir / "apt-get", log)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "scripts/run.sh"], cwd=project, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert "python -m pip install --quiet --disable-pip-version-check -r requirements.txt" in calls
    assert "npm ci --no-audit --no-fund --loglevel=error" in calls
    assert calls[-3:] == ["python -m devtools.azurite start", "func start", "python -m devtools.azurite stop"]
    assert not [c for c in calls if "requirements-dev" in c or c.startswith(("bootstrap.sh", "apt-get"))], calls
    assert (project / "local.settings.json").exists()
    # A second run installs nothing: the stamps match.
    log.write_text("")
    assert subprocess.run(["bash", "scripts/run.sh"], cwd=project, env=env, capture_output=True,
                          timeout=60).returncode == 0
    assert [c.split()[0] for c in log.read_text().splitlines()] == ["python", "func", "python"]
