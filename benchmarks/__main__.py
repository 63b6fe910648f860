"""``python -m benchmarks [--quick] [--output PATH]``: run every benchmark, print the tables, write the JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import (
    cold_start,
    environment,
    fanout,
    http_client,
    live,
    payload,
    polling,
    push,
    report,
    storage_transactions,
    targets,
    telemetry_cost,
    turn_cost,
)
from .info import describe_environment
from .measure import PayloadTracker

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def _step(name: str) -> None:
    print(f"benchmarks: {name} ({time.perf_counter() - _STARTED:.1f} s)", file=sys.stderr, flush=True)


_STARTED = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a fast subset: fewer phases, repetitions, samples")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    args = parser.parse_args(argv)
    # Tools log trimmed answers and fake failures as warnings; that is expected here and would bury the table.
    logging.basicConfig(level=logging.ERROR)

    started = time.perf_counter()
    results: dict[str, object] = {"mode": "quick" if args.quick else "full"}
    # The code figures run first, before Azurite and the fakes start, so that nothing else loads the machine.
    _step("cold_start")
    results["cold_start"] = cold_start.run(samples=3 if args.quick else 15)
    _step("http_client")
    results["http_client"] = http_client.run(rounds=3 if args.quick else 7, calls=30 if args.quick else 200)
    payloads = PayloadTracker()
    _step("starting Azurite and the fakes")
    with environment.services() as shared:
        _step("polling")
        results["polling"] = polling.run(shared, quick=args.quick, payloads=payloads)
        _step("turn_cost")
        results["turn_cost"] = turn_cost.run(shared, repetitions=1 if args.quick else 7, payloads=payloads)
        _step("storage_transactions")
        results["storage_transactions"] = storage_transactions.run(shared)
        _step("push")
        results["push"] = push.run(shared, repetitions=1 if args.quick else 7, payloads=payloads)
        _step("live")
        results["live"] = live.run(shared, repetitions=1 if args.quick else 5, samples=5 if args.quick else 20)
        _step("fanout")
        results["fanout"] = fanout.run(shared, payloads=payloads)
        _step("payload")
        results["payload"] = payload.run(shared, payloads=payloads)
        _step("telemetry_cost")  # last: it sets the process's OpenTelemetry providers
        results["telemetry_cost"] = telemetry_cost.run(shared, repetitions=1 if args.quick else 7)
    results["targets"] = [t.to_dict() for t in targets.evaluate(results)]
    results["environment"] = describe_environment(seconds=round(time.perf_counter() - started, 1))
    ordered = {key: results[key] for key in ("polling", "turn_cost", "push", "live", "storage_transactions", "fanout",
                                             "cold_start", "payload", "http_client", "telemetry_cost", "targets",
                                             "environment", "mode")}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(ordered, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(report.render(ordered))
    missed = [t["name"] for t in ordered["targets"] if not t["pass"]]  # type: ignore[union-attr]
    print(f"{len(missed)} target(s) missed; results in {args.output}", file=sys.stderr)
    return 0  # a missed target is a finding, not a failed run


if __name__ == "__main__":
    sys.exit(main())
