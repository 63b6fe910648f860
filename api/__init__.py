"""HTTP functions (blueprints). Each converts the request, calls travel_assistant.chat, converts the answer."""
