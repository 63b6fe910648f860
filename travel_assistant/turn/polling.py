"""When to look at a running model run again.

The notebook polled every second. We match that staleness while a run is young (most answers and tool-call
decisions take a few seconds), then back off in proportion to how long the run has already taken: a run that
has taken 40 s will not mind being seen 8 s late, and every poll costs a durable timer, an activity and their
history events.
"""

from __future__ import annotations

FAST_PHASE_S = 10.0  # poll at the first delay for this long into each model run
BACKOFF_RATIO = 0.25  # afterwards, wait a quarter of the run's age, up to the cap


def next_poll_delay(run_age_s: float, *, first_delay_s: float, max_delay_s: float,
                    poll_after_ms: int | None = None) -> float:
    """Seconds to wait before the next poll of a run that has been going for ``run_age_s`` seconds.

    A poll hint from the service (``openai-poll-after-ms``) wins when it asks for a longer wait than ours,
    within the cap.
    """
    if run_age_s < FAST_PHASE_S:
        delay = first_delay_s
    else:
        delay = min(max_delay_s, max(first_delay_s, run_age_s * BACKOFF_RATIO))
    if poll_after_ms:
        delay = min(max_delay_s, max(delay, poll_after_ms / 1000))
    return delay


def retry_delay(attempt: int, retry_after_s: float | None, *, base_s: float = 2.0, cap_s: float = 60.0) -> float:
    """Wait before retry ``attempt`` (0-based) of a failed model call: exponential from ``base_s``, capped,
    and never shorter than the service's Retry-After."""
    delay = min(cap_s, base_s * 2.0 ** attempt)
    if retry_after_s:
        delay = max(delay, retry_after_s)
    return delay
