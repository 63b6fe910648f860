"""The live view of a turn: GET /api/chat/{turn_id}/events, Server-Sent Events.

One module per job: ``events`` (the event vocabulary and its SSE encoding), ``position`` (the event id: where a
reconnecting client continues), ``relay`` (a blocking model stream on its own thread, handed to the event loop),
``follow`` (the async generator that follows one turn), ``route`` (the HTTP operation: who may watch which turn).
Framework-free: the Functions shell (api/events.py) only converts the request and streams the bytes.
"""
