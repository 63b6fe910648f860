"""The chat-turn orchestrator: one orchestration per user message (see travel_assistant.turn.orchestration)."""

import azure.durable_functions as df

from travel_assistant.constants import ORCHESTRATOR_CHAT_TURN

bp = df.Blueprint()


@bp.function_name(ORCHESTRATOR_CHAT_TURN)
@bp.orchestration_trigger(context_name="context", input_type=dict)
def chat_turn(context: df.DurableOrchestrationContext):  # noqa: ANN201 - a generator, as Durable requires
    # Imported on the first turn: its wire models load pydantic, which the cold start does without.
    from travel_assistant.turn.orchestration import chat_turn_orchestration

    return (yield from chat_turn_orchestration(context))
