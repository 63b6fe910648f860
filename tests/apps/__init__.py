"""Test-only Functions apps, loaded by the harness (the worker's loader takes a script path) next to the real one."""
