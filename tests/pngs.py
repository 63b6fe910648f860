"""Small real PNG images for the page tests (a photo stand-in and a bar chart), made with zlib alone."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

Pixel = tuple[int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def photo(color: Pixel) -> bytes:
    """A 240x160 stand-in for a hotel or shop photo: a colour gradient with a horizon."""
    r, g, b = color
    return png(240, 160, lambda x, y: (min(255, r + y // 4), min(255, g + x // 8), b) if y < 100 else (90, 110, 90))


def bar_chart(values: list[int]) -> bytes:
    """A 480x320 bar chart of ``values`` (what the code interpreter's matplotlib would draw, much simpler)."""
    top = max(values)
    width = 480 // len(values)

    def pixel(x: int, y: int) -> Pixel:
        index = min(x // width, len(values) - 1)
        bar_top = 300 - int(260 * values[index] / top)
        inside = width * index + 12 <= x < width * (index + 1) - 12 and bar_top <= y < 300
        if inside:
            return (11, 92, 173)
        return (40, 40, 40) if y == 300 else (255, 255, 255)

    return png(480, 320, pixel)
