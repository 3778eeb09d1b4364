"""Length-prefixed frames on a byte stream: a 4-byte big-endian length, then the payload.

The reader checks the announced length against its limit before it reads the payload, so a
peer can never make it allocate more than `max_frame_bytes` plus one read chunk.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable

HEADER = struct.Struct(">I")
HEADER_BYTES = HEADER.size
MAX_ENCODABLE_FRAME_BYTES = (1 << 32) - 1
READ_CHUNK_BYTES = 64 * 1024


class FramingError(Exception):
    """The byte stream does not hold a valid frame sequence."""


class OversizedFrame(FramingError):
    """The peer announced a frame above the limit."""

    def __init__(self, announced: int, limit: int) -> None:
        super().__init__(f"peer announced a {announced}-byte frame (limit {limit})")
        self.announced = announced


class TruncatedFrame(FramingError):
    """The stream ended in the middle of a frame."""


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > MAX_ENCODABLE_FRAME_BYTES:
        raise ValueError("frame too large to encode")
    return HEADER.pack(len(payload)) + payload


class FrameReader:
    """Pulls whole frames out of `read(max_bytes) -> bytes` (b"" means end of stream)."""

    def __init__(self, read: Callable[[int], Awaitable[bytes]], max_frame_bytes: int) -> None:
        self._read = read
        self._max = max_frame_bytes
        self._buffer = bytearray()

    @property
    def mid_frame(self) -> bool:
        """True when some bytes of the next frame have arrived but not all of it."""
        return bool(self._buffer)

    async def next_frame(self, on_first_byte: Callable[[], None] | None = None) -> bytes | None:
        """The next frame, or None at a clean end of stream (between frames).

        Raises `OversizedFrame` as soon as the header announces too much, `TruncatedFrame`
        when the stream ends inside a frame. `on_first_byte` is called once the first byte
        of the frame is in (so the caller can start a per-frame deadline).
        """
        if not self._buffer:
            if not await self._fill(1):
                return None
        if on_first_byte is not None:
            on_first_byte()
        if not await self._fill(HEADER_BYTES):
            raise TruncatedFrame("stream ended inside a frame header")
        (length,) = HEADER.unpack_from(self._buffer)
        if length > self._max:
            raise OversizedFrame(length, self._max)
        end = HEADER_BYTES + length
        if not await self._fill(end):
            raise TruncatedFrame(f"stream ended inside a {length}-byte frame")
        frame = bytes(self._buffer[HEADER_BYTES:end])
        del self._buffer[:end]
        return frame

    async def _fill(self, size: int) -> bool:
        """Read until the buffer holds `size` bytes; False if the stream ends first."""
        while len(self._buffer) < size:
            chunk = await self._read(max(size - len(self._buffer), READ_CHUNK_BYTES))
            if not chunk:
                return False
            self._buffer += chunk
        return True
