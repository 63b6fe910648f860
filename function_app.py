"""The Functions app: it only wires blueprints. Each blueprint module is a thin shell over travel_assistant."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
