"""The results as Markdown tables: printed by ``python -m benchmarks`` and pasted into the README as they are."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


def _telemetry_rows(cost: dict[str, Any] | None) -> list[list[Any]]:
    if not cost:
        return []
    return [["telemetry_cost", f"CPU per {cost['turn']} turn, telemetry on / off ({cost['on_cpu_ms']} / "
                               f"{cost['off_cpu_ms']} ms, median of {cost['repetitions']}; "
                               f"{cost['exported_items_per_turn']} items exported per turn)", cost["ratio"]]]


def _live_rows(live: dict[str, Any] | None) -> list[str]:
    if not live:
        return []
    opened = live["first_event"]
    out = [f"**live** (wall clock, through the events route and LocalFunctionsHost on 127.0.0.1; a reply of "
           f"{live['reply_chars']} characters written over {_cell(live['step_s'])} s; median of {live['turns']} "
           f"turns, worst in brackets)", ""]
    out += _table(["follows the turn on", "first text after the model's first token (s)",
                   "whole text after the model's last token (s)", "text pieces"], [
        ["events route (stream)", f"{_cell(live['stream_first_text_s'])} ({_cell(live['worst_stream_first_text_s'])})",
         f"{_cell(live['stream_whole_text_after_last_token_s'])} "
         f"({_cell(live['worst_stream_whole_text_after_last_token_s'])})", _cell(live["stream_deltas"])],
        ["status route (polling, as the page did)",
         f"{_cell(live['polling_first_text_s'])} ({_cell(live['worst_polling_first_text_s'])})",
         f"{_cell(live['polling_whole_text_after_last_token_s'])} "
         f"({_cell(live['worst_polling_whole_text_after_last_token_s'])})", 1],
        ["the model's own stream (baseline)", _cell(live["direct_first_text_s"]), "", _cell(live["model_deltas"])],
    ])
    out += _table(["relay figure", "value"], [
        ["added by our relay per text piece, median / worst (s)",
         f"{_cell(live['relay_added_median_s'])} / {_cell(live['worst_relay_added_max_s'])}"],
        *[[f"{state} turn: first event ({', '.join(f['first_event_kinds'])}) / a status read, ms (medians of "
           f"{f['samples']}); added s, ratio", f"{_cell(f['first_event_ms'])} / {_cell(f['status_read_ms'])}; "
                                               f"{_cell(f['added_s'])}, {_cell(f['ratio'])}"]
          for state, f in (("running", opened["running"]), ("finished", opened["finished"]))],
        ["watched two-round tool turn: the route's status reads / turn seconds / step events raised",
         f"{live['watched_tool_turn']['status_reads']} / {_cell(live['watched_tool_turn']['elapsed_s'])} / "
         f"{live['watched_tool_turn']['events_raised']}"],
    ])
    return out


def render(results: dict[str, Any]) -> str:
    out: list[str] = []
    out += ["**polling** (virtual clock; latency = run finished -> loop sees it; worst = any end in the run's last "
            "second)", ""]
    out += _table(
        ["model run (s)", "ours: latency (s)", "worst (s)", "polls", "notebook: latency (s)", "worst (s)", "polls"],
        [[p["duration_s"], p["extra_latency_s"], p["worst_extra_latency_s"], p["polls"], p["seed_extra_latency_s"],
          p["seed_worst_extra_latency_s"], p["seed_polls"]] for p in results["polling"]])
    cost = results["turn_cost"]
    out += [f"**turn_cost** (tools: split {cost['tools']['split']} s of model time, tools of "
            f"{'/'.join(_cell(t) for t in cost['tools']['tool_durations_s'])} s; CPU = median of "
            f"{cost['tools']['repetitions']})", ""]
    rows = [["plain", cost["plain"]]] + [[f"tools {name}", figures] for name, figures in cost["tools_splits"].items()]
    out += _table(["turn", "activities", "polls", "timers", "history events", "episodes", "replayed events",
                   "orchestrator CPU (ms)"],
                  [[name, f["activities"], f["polls"], f["timers"], f["history_events"], f["episodes"],
                    f["replayed_events"], f["orchestrator_cpu_ms"]] for name, f in rows])
    store = results["storage_transactions"]
    out += ["**storage_transactions** (one turn on a new thread; table requests counted as Azurite received them; "
            "DTS actions = 1 + 2 x activities + timers)", ""]
    out += _table(["turn", "table requests", "by method", "activities", "timers", "DTS actions"],
                  [[name, f["table_requests"], " ".join(f"{m} {n}" for m, n in f["table_requests_by_method"].items()),
                    f["activities"], f["timers"], f["dts_actions"]] for name, f in (("plain", store["plain"]),
                                                                                   ("tools", store["tools"]))])
    push = results["push"]
    out += [f"**push** (tools turn {push['split']} s; webhook {_cell(push['webhook_delay_s'])} s after each step "
            f"ends; model done -> acts = worst step, virtual s; CPU = median of {push['push']['repetitions']})", ""]
    out += _table(["turn", "polls", "timers", "history events", "episodes", "replayed events",
                   "orchestrator CPU (ms)", "model done -> acts (s)", "by step (s)"],
                  [[name, f["polls"], f["timers"], f["history_events"], f["episodes"], f["replayed_events"],
                    f["orchestrator_cpu_ms"], f["model_done_to_acts_s"],
                    " / ".join(_cell(v) for v in f["model_done_to_acts_by_step_s"])]
                   for name, f in (("polling only (listening, nobody watches)", push["polling_only"]),
                                   ("polling only, not listening (the design before)",
                                    push["polling_only_not_listening"]),
                                   *([("watched, no webhook (events route, wall clock)",
                                       results["live"]["watched_tool_turn"])] if "live" in results else []),
                                   ("push", push["push"]),
                                   ("push, first webhook lost", push["push_first_webhook_lost"]))])
    out += _live_rows(results.get("live"))
    fan, cold, payload, http = (results[k] for k in ("fanout", "cold_start", "payload", "http_client"))
    out += ["**other figures**", ""]
    out += _table(["benchmark", "figure", "value"], [
        ["fanout", "parallel_s / sequential_s (tools of 1, 2, 3 s)", f"{_cell(fan['parallel_s'])} / "
                                                                     f"{_cell(fan['sequential_s'])}"],
        ["cold_start", f"ratio of import CPU against the SDKs + the FastAPI extension (medians of {cold['samples']}: "
                       f"{cold['app_cpu_ms']} ms / {cold['streaming_bare_cpu_ms']} ms)", cold["ratio"]],
        ["cold_start", f"the FastAPI extension's own import CPU (ms); the app against the two SDKs alone "
                       f"({cold['app_cpu_ms']} ms / {cold['bare_cpu_ms']} ms)",
         f"{cold['extension_cpu_ms']}; {cold['sdk_only_ratio']}"],
        ["payload", f"max_activity_bytes ({payload['max_activity_where']})", payload["max_activity_bytes"]],
        ["payload", "max_activity_bytes, benchmark turns only", payload["benchmark_scenarios"]["max_activity_bytes"]],
        ["payload", "max_custom_status_bytes", payload["max_custom_status_bytes"]],
        ["http_client", f"reuse_ratio ({http['reused_ms_per_call']} / {http['fresh_ms_per_call']} ms per call)",
         http["reuse_ratio"]],
        ["http_client", f"reuse_ratio over TLS ({http['tls']['reused_ms_per_call']} / "
                        f"{http['tls']['fresh_ms_per_call']} ms per call)", http["tls"]["reuse_ratio"]],
        *_telemetry_rows(results.get("telemetry_cost")),
    ])
    out += ["**targets**", ""]
    out += _table(["target", "value", "result"],
                  [[f"{t['name']} {t['target']}", t["value"], "pass" if t["pass"] else "MISS"]
                   for t in results["targets"]])
    return "\n".join(out)
