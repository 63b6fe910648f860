"""What machine and software produced a set of results, so figures from different runs are not compared blindly."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("azure-functions", "azure-functions-durable", "openai", "requests", "python-dateutil")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() + ("+changes" if dirty else "")


def describe_environment(*, seconds: float) -> dict[str, Any]:
    return {
        "python": sys.version.split()[0], "implementation": platform.python_implementation(),
        "platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "packages": {name: _version(name) for name in PACKAGES}, "commit": _commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "run_seconds": seconds,
    }
