"""Activity functions (Durable blueprints). Each is a one-line delegation to travel_assistant."""
