"""One request, one reply, each on a libp2p stream of its own.

For rare control exchanges between nodes (forming a table), never for table traffic: a
stream per exchange costs a round trip to negotiate the protocol, which the table protocol's
long-lived streams avoid. Frames are length-prefixed (`_framing`) and bounded on both sides;
the handler learns the caller's Ed25519 key from the Noise-authenticated connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import INetStream
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF

from ._framing import FrameReader, FramingError, encode_frame
from ._interface import PeerId, PeerUnreachable, TransportError
from ._libp2p_host import libp2p_id_for, public_key_from_id
from .libp2p_transport import Libp2pTransport

__all__ = ["Libp2pRequests", "RequestHandler", "RequestFailed"]

log = logging.getLogger(__name__)

RequestHandler = Callable[[bytes, bytes], Awaitable[bytes]]
"""`handler(caller_public_key, request) -> reply`."""


class RequestFailed(TransportError):
    """The peer was reached but gave no well-formed reply in time."""


class Libp2pRequests:
    """Requests and replies on `protocol`, over the connections of a running transport."""

    def __init__(self, transport: Libp2pTransport, protocol: str, *,
                 max_request_bytes: int = 64 * 1024, max_reply_bytes: int = 64 * 1024,
                 timeout_s: float = 10.0) -> None:
        self._transport = transport
        self._protocol = TProtocol(protocol)
        self._max_request_bytes = max_request_bytes
        self._max_reply_bytes = max_reply_bytes
        self._timeout_s = timeout_s
        self.handler_errors = 0

    def serve(self, handler: RequestHandler) -> None:
        """Answer requests with `handler`; an exception in it resets that one stream."""

        async def handle(stream: INetStream) -> None:
            try:
                with trio.fail_after(self._timeout_s):
                    await self._answer(stream, handler)
            except Exception:
                self.handler_errors += 1
                log.info("request on %s not answered", self._protocol, exc_info=True)
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    await _close_quietly(stream)

        self._transport.host.set_stream_handler(self._protocol, handle)

    async def _answer(self, stream: INetStream, handler: RequestHandler) -> None:
        caller = public_key_from_id(stream.muxed_conn.peer_id)
        if caller is None:
            return
        request = await FrameReader(_reader(stream), self._max_request_bytes).next_frame()
        if request is None:
            return
        reply = await handler(caller, request)
        await stream.write(encode_frame(reply))

    async def request(self, peer: PeerId, payload: bytes) -> bytes:
        """Send `payload` to `peer` and return its reply.

        Raises `PeerUnreachable` when no stream could be opened and `RequestFailed` when the
        peer did not answer with one bounded frame within the timeout."""
        await self._transport.connect(peer)
        host = self._transport.host
        try:
            with trio.fail_after(self._timeout_s):
                stream = await host.new_stream(libp2p_id_for(peer), [self._protocol])
        except trio.TooSlowError as exc:
            raise PeerUnreachable(f"opening {self._protocol} timed out") from exc
        except Exception as exc:
            raise PeerUnreachable(f"opening {self._protocol} failed: {exc!r}") from exc
        try:
            with trio.fail_after(self._timeout_s):
                await stream.write(encode_frame(payload))
                reply = await FrameReader(_reader(stream), self._max_reply_bytes).next_frame()
        except trio.TooSlowError as exc:
            raise RequestFailed(f"no reply on {self._protocol} in {self._timeout_s} s") from exc
        except FramingError as exc:
            raise RequestFailed(f"bad reply on {self._protocol}: {exc}") from exc
        except Exception as exc:
            raise RequestFailed(f"{self._protocol} stream failed: {exc!r}") from exc
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                await _close_quietly(stream)
        if reply is None:
            raise RequestFailed(f"the peer closed {self._protocol} without replying")
        return reply


def _reader(stream: INetStream) -> Callable[[int], Awaitable[bytes]]:
    async def read(max_bytes: int) -> bytes:
        try:
            return await stream.read(max_bytes)
        except StreamEOF:
            return b""

    return read


async def _close_quietly(stream: INetStream) -> None:
    try:
        await stream.close()
    except Exception:
        pass
