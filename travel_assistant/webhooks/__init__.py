"""Webhooks the app receives from outside services (today: the model provider's response notifications)."""
