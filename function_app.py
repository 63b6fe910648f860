"""The Functions app: it only wires blueprints. Each blueprint module is a thin shell over travel_assistant."""

import azure.durable_functions as df
import azure.functions as func

from activities import model as model_activities
from activities import tools as tool_activities
from api import chat, events, fallback, files, health, threads, web, webhooks
from jobs import cleanup
from orchestrators import chat_turn
from travel_assistant import redaction
from travel_assistant.telemetry import setup as telemetry

# Function keys guard every route by default (Azure's usual model). With App Service authentication in front,
# see README "Security" for running the API anonymously behind it.
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (chat.bp, events.bp, files.bp, threads.bp, web.bp, health.bp, webhooks.bp, fallback.bp, chat_turn.bp,
                  model_activities.bp,
                  tool_activities.bp, cleanup.bp):
    app.register_functions(blueprint)

redaction.install()
# Export to Application Insights only when APPLICATIONINSIGHTS_CONNECTION_STRING is set (a no-op otherwise).
telemetry.configure()
