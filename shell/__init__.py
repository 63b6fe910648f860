"""What the Functions shells (api/, jobs/) share: the Durable client adapter and the HTTP type conversions.

Framework-side, like the shells themselves; the core (travel_assistant/) knows nothing of either.
"""
