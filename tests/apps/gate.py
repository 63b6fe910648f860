"""A gate the streaming test app waits at between two chunks, opened by the test once it has read the first one.

A module of its own: the worker's loader imports the test app afresh (and the harness drops it afterwards), but
this module stays the one the test imports, so both sides see the same Event.
"""

import threading

FIRST_CHUNK_READ = threading.Event()
WAIT_S = 10.0
