"""Orchestrator functions (Durable blueprints). Each is a thin shell over travel_assistant.turn."""
