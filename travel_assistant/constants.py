"""Names and limits shared by the core and the Functions shell. One place, so they cannot drift apart."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Final

# Japan has had no daylight saving time since 1951: a fixed offset is exact and needs no tz database.
JST: Final = timezone(timedelta(hours=9), "JST")

# Durable function names (the Functions shell registers these; the orchestrator calls them by name).
# They are stored in orchestration history, so they stay as they are even where they differ from the glossary
# (docs/glossary.md): start_model_turn, poll_model_turn and cancel_model_turn start, poll and cancel the turn's
# *model run* (ModelBackend.start_run, get_run_state, cancel_run); renaming one would strand running turns.
ORCHESTRATOR_CHAT_TURN: Final = "chat_turn"
ACTIVITY_ENSURE_THREAD: Final = "ensure_backend_thread"
ACTIVITY_START_TURN: Final = "start_model_turn"
ACTIVITY_POLL_TURN: Final = "poll_model_turn"
ACTIVITY_SUBMIT_TOOL_OUTPUTS: Final = "submit_tool_outputs"
ACTIVITY_CANCEL_TURN: Final = "cancel_model_turn"
ACTIVITY_FINISH_TURN: Final = "finish_turn"
TOOL_ACTIVITY_PREFIX: Final = "tool_"

# The external event that tells a chat turn "the model's step is over" (a hint: the orchestrator polls to see).
# Raised as EVENT_MODEL_STEP_DONE + "_" + the response id (see travel_assistant/turn/waiting.py for why the id is
# in the name); routes that know a response ended raise it: the model webhook, and the events route.
EVENT_MODEL_STEP_DONE: Final = "model_step_done"
# The user pressed cancel (POST /api/chat/{turn_id}/cancel): wakes a push turn, whose fallback timer is sparse.
EVENT_TURN_CANCEL_REQUESTED: Final = "turn_cancel_requested"

# Identity: App Service authentication (EasyAuth) sets this header; callers cannot forge it only when EasyAuth is on.
HEADER_PRINCIPAL_ID: Final = "X-MS-CLIENT-PRINCIPAL-ID"
# Every header App Service authentication sets about the caller: trusted only when it is on (chat/identity.py).
PRINCIPAL_HEADERS: Final = (HEADER_PRINCIPAL_ID, "X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-CLIENT-PRINCIPAL-IDP",
                            "X-MS-CLIENT-PRINCIPAL")
LOCAL_USER: Final = "local-user"

# Public ids are ours, never the backend's: prefix + 32 lowercase hex characters.
THREAD_ID_PREFIX: Final = "thr_"
TURN_ID_PREFIX: Final = "turn_"

# Table storage (in the AzureWebJobsStorage account unless overridden).
DEFAULT_THREADS_TABLE: Final = "TravelThreads"
DEFAULT_TURN_STEPS_TABLE: Final = "TravelTurnSteps"
DEFAULT_CLEANUP_STATE_TABLE: Final = "TravelCleanupState"

# Size limits. Durable moves any payload over 45 KB to blob storage (slow, costly); custom status is
# capped at 16 KB by the extension; tool outputs are what the model reads, so they stay compact.
# Durable serialises payloads as ASCII JSON: every Japanese character becomes a 6-byte \uXXXX escape (twice its
# UTF-8 size), so limits on text that travels through activities are set with that factor in mind.
MAX_MESSAGE_CHARS: Final = 4000
MAX_TOOL_OUTPUT_BYTES: Final = 8000
MAX_ACTIVITY_PAYLOAD_BYTES: Final = 40_000  # as Durable serialises it (ASCII JSON)
ESCAPED_BYTES_PER_UTF8_BYTE: Final = 2  # worst case: a 3-byte character becomes a 6-byte escape
MAX_CUSTOM_STATUS_BYTES: Final = 4096
MAX_REPLY_CHARS: Final = 6000  # 36 KB escaped; the full text stays in the thread
MAX_TOOL_ARGUMENT_CHARS: Final = 2000
MAX_TOOL_ARGUMENTS_PER_ROUND_CHARS: Final = 6000  # 36 KB escaped

# The hosts the travel APIs serve their photos from, the only ones a card image may come from and the page's CSP
# img-src allows (docs/cards.md says how to add one): Rakuten Travel hotelImageUrl/hotelThumbnailUrl
# (img.travel.rakuten.co.jp) and its image CDN for newer uploads (trvimg.r10s.jp); Hotpepper Gourmet photo and
# logo_image (imgfp.hotp.jp). Keep web/cards.js IMAGE_HOSTS in step (tests/test_cards_page.py checks it).
TRAVEL_IMAGE_HOSTS: Final = ("img.travel.rakuten.co.jp", "trvimg.r10s.jp", "imgfp.hotp.jp")

# HTTP API
MAX_WAIT_SECONDS: Final = 60
