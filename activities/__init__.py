"""Durable activity blueprints: thin shells over travel_assistant."""
