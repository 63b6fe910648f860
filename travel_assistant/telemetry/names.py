"""Names of spans, metrics and attributes. The KQL queries in docs/operations.md use these exact strings.

GenAI semantic conventions (gen_ai.*) where a model call fits them; ``travel.*`` for the app's own dimensions.
No attribute ever holds message text, tool arguments or results, keys, or a principal id in clear: the owner is
the registry's hashed owner key.
"""

from __future__ import annotations

from typing import Final

TRACER_NAME: Final = "travel_assistant"
METER_NAME: Final = "travel_assistant"

# Spans
SPAN_CHAT_POST: Final = "POST /api/chat"
SPAN_TURN_STATUS: Final = "GET /api/chat/{turn_id}"
SPAN_TURN_CANCEL: Final = "POST /api/chat/{turn_id}/cancel"
SPAN_TURN: Final = "chat_turn"  # the orchestration's own span, emitted once by the finish activity
SPAN_ACTIVITY_PREFIX: Final = "activity "  # + a turn activity's name, e.g. "activity start_model_turn"
SPAN_TOOL_ACTIVITY_PREFIX: Final = "execute_tool "  # + tool name (GenAI: "execute_tool {gen_ai.tool.name}")
SPAN_TRAVEL_API_PREFIX: Final = "GET "  # + API name, e.g. "GET Hotpepper Gourmet"

# Attributes: the app's own
TURN_ID: Final = "travel.turn.id"
THREAD_ID: Final = "travel.thread.id"
OWNER_KEY: Final = "travel.owner.key"  # the registry's hash of the principal, never the principal id
MODEL_API: Final = "travel.model.api"  # responses | assistants
ROUND: Final = "travel.round"
ATTEMPT: Final = "travel.retry.attempt"  # 0 for the first try
POLL: Final = "travel.model.poll"
OUTCOME: Final = "travel.outcome"  # ok | error (a span), completed | failed | cancelled (a turn)
ERROR_CODE: Final = "travel.error.code"
RUN_STATUS: Final = "travel.model.run_status"
TOOL_ROUNDS: Final = "travel.turn.rounds"
ACTIVITY: Final = "travel.activity"

# Attributes: GenAI semantic conventions
GEN_AI_OPERATION: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # the older name of gen_ai.provider.name; both are set
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"

# Attributes: HTTP semantic conventions (our own client spans around the travel APIs)
HTTP_METHOD: Final = "http.request.method"
HTTP_STATUS: Final = "http.response.status_code"
SERVER_ADDRESS: Final = "server.address"
URL_PATH: Final = "url.path"
ERROR_TYPE: Final = "error.type"

# Metrics
METRIC_TURNS: Final = "travel.turns"  # counter, by outcome and error code
METRIC_TURN_DURATION: Final = "travel.turn.duration"  # histogram, s
METRIC_ACTIVE_TURNS: Final = "travel.turns.active"  # up-down counter
METRIC_MODEL_STEP_DURATION: Final = "travel.model.step.duration"  # histogram, s, by activity and outcome
METRIC_MODEL_RETRIES: Final = "travel.model.retries"  # counter, by activity and error code
METRIC_MODEL_THROTTLED: Final = "travel.model.throttled"  # counter of 429s, by activity
METRIC_POLLS_PER_STEP: Final = "travel.model.polls_per_step"  # histogram
METRIC_TOOL_DURATION: Final = "travel.tool.duration"  # histogram, s, by tool and outcome
METRIC_TOOL_ERRORS: Final = "travel.tool.errors"  # counter, by tool and error code
METRIC_TOOL_RETRIES: Final = "travel.tool.retries"  # counter, by tool
METRIC_TOKENS: Final = "gen_ai.client.token.usage"  # histogram, GenAI semconv, by token type

# gen_ai.provider.name values (GenAI semantic conventions)
PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
