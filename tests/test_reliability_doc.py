"""docs/reliability.md's figures stay true: every fault scenario test appears in the doc's table,
every test the table names exists, and the counts are those of the test collection."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
BAD_INPUT_TEST = "tests/test_bad_input.py::test_bad_input_gets_a_json_4xx_and_writes_nothing"


@cache
def collected(marker: str | None = None) -> tuple[str, ...]:
    """Test ids as pytest collects them (a subprocess: this run may be filtered with -k or -m)."""
    args = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    if marker:
        args += ["-m", marker]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True).stdout
    return tuple(line.strip() for line in out.splitlines() if "::" in line)


def scenario_id(test_id: str) -> str:
    """A test id without its file and without the model API it runs on: each scenario runs on both."""
    name = test_id.split("::", 1)[1]
    return re.sub(r"\[(?:responses|assistants)(?:-|(?=\]))", "[", name).replace("[]", "")


def fault_table() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- faults:start -->", 1)[1].split("<!-- faults:end -->", 1)[0]
    return [line for line in table.strip().splitlines()[2:] if line.startswith("|")]


def test_every_fault_test_is_in_the_doc_and_every_test_it_names_exists() -> None:
    tests = {scenario_id(t) for t in collected("faults")}
    named = {name for row in fault_table() for name in re.findall(r"`(test_[^`]+)`", row.split("|")[-2])}
    assert sorted(tests - named) == [], "fault tests missing from docs/reliability.md"
    assert sorted(named - tests) == [], "docs/reliability.md names tests that do not exist"


def test_the_figures_are_the_collections() -> None:
    scenarios, runs = len(fault_table()), len(collected("faults"))
    bad_inputs = sum(1 for t in collected() if t.startswith(BAD_INPUT_TEST + "["))
    doc = DOC.read_text(encoding="utf-8")
    assert f"Fault scenarios: **{scenarios}** (**{runs}** test runs" in doc
    assert f"Bad-input cases: **{bad_inputs}**" in doc
    assert scenarios >= 30 and bad_inputs >= 40
