"""Scheduled jobs (blueprints): timer triggers and their operator routes, thin shells over travel_assistant."""
