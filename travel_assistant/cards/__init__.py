"""What the chat page shows besides the reply's text: result summaries of the travel tools (hotel and restaurant
cards, route timelines) and the files the model's code interpreter wrote. Framework-free, like the rest of the core.
"""

from .files import reply_files
from .links import IMAGE_HOSTS, https_url, image_url, map_url
from .summaries import MAX_ITEMS, MAX_SUMMARY_BYTES, Summary, encoded_size, fit_to_turn

# The key under which a tool activity returns its summary next to the envelope the model reads.
SUMMARY_KEY = "summary"

__all__ = ["IMAGE_HOSTS", "MAX_ITEMS", "MAX_SUMMARY_BYTES", "SUMMARY_KEY", "Summary", "encoded_size", "fit_to_turn",
           "https_url", "image_url", "map_url", "reply_files"]
