"""One request, one reply, each on a libp2p stream of its own.

For rare control exchanges between nodes (forming a table), never for table traffic: a
stream per exchange costs a round trip to negotiate the protocol, which the table protocol's
long-lived streams avoid. Frames are length-prefixed (`_framing`) and bounded on both sides;
the handler learns the caller's Ed25519 key from the Noise-authenticated connection.

The serving side answers strangers, so what one may cost is bounded: at most
`max_inbound_per_peer` requests of one peer are answered at once and `max_inbound` in all
(a stream beyond either is reset at once, and counted); a request is at most
`max_request_bytes` and its whole exchange at most `timeout_s`. A request that fails is
counted by why (`statistics()`) and logged at debug, without a traceback, at most once per
peer per `log_interval_s`: a stranger cannot flood the log.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import INetStream
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF

from ._framing import FrameReader, FramingError, encode_frame
from ._interface import PeerId, PeerUnreachable, TransportError
from ._libp2p_host import libp2p_id_for, public_key_from_id
from .libp2p_transport import Libp2pTransport

__all__ = ["MAX_INBOUND", "MAX_INBOUND_PER_PEER", "Libp2pRequests", "RequestHandler",
           "RequestFailed"]

MAX_INBOUND_PER_PEER = 4
MAX_INBOUND = 64
LOG_INTERVAL_S = 60.0
MAX_LOGGED_PEERS = 1024

log = logging.getLogger(__name__)

RequestHandler = Callable[[bytes, bytes], Awaitable[bytes]]
"""`handler(caller_public_key, request) -> reply`."""


class RequestFailed(TransportError):
    """The peer was reached but gave no well-formed reply in time."""


class Libp2pRequests:
    """Requests and replies on `protocol`, over the connections of a running transport."""

    def __init__(self, transport: Libp2pTransport, protocol: str, *,
                 max_request_bytes: int = 64 * 1024, max_reply_bytes: int = 64 * 1024,
                 timeout_s: float = 10.0, max_inbound_per_peer: int = MAX_INBOUND_PER_PEER,
                 max_inbound: int = MAX_INBOUND, log_interval_s: float = LOG_INTERVAL_S) -> None:
        self._transport = transport
        self._protocol = TProtocol(protocol)
        self._max_request_bytes = max_request_bytes
        self._max_reply_bytes = max_reply_bytes
        self._timeout_s = timeout_s
        self._max_inbound_per_peer = max_inbound_per_peer
        self._max_inbound = max_inbound
        self._inbound: Counter[bytes] = Counter()  # requests being answered, by peer
        self._failures = _FailureLog(log_interval_s)
        self._counts: Counter[str] = Counter()

    @property
    def handler_errors(self) -> int:
        """Requests that failed while being answered (timeouts, bad frames, handler bugs)."""
        return sum(self._counts[k] for k in ("timed_out", "too_large", "failed"))

    def statistics(self) -> dict[str, int]:
        """Served requests by outcome: `answered`, `refused_peer_limit` and
        `refused_total_limit` (streams reset at once), `timed_out`, `too_large`, `failed`
        (the stream broke or the handler raised), `unlogged_failures` (over the log's rate),
        and `inbound` (being answered now)."""
        counts = {key: self._counts[key] for key in _OUTCOMES}
        counts["unlogged_failures"] = self._failures.unlogged
        counts["inbound"] = sum(self._inbound.values())
        return counts

    def serve(self, handler: RequestHandler) -> None:
        """Answer requests with `handler`; an exception in it resets that one stream."""

        async def handle(stream: INetStream) -> None:
            peer = stream.muxed_conn.peer_id.to_bytes()
            refused = self._admit(peer)
            if refused is not None:
                self._counts[refused] += 1
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    await _reset_quietly(stream)
                return
            try:
                with trio.fail_after(self._timeout_s):
                    await self._answer(stream, handler)
                self._counts["answered"] += 1
            except Exception as exc:  # any failure is this one request's; counted, rate-logged
                self._failed(peer, exc)
            finally:
                self._release(peer)
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    await _close_quietly(stream)

        self._transport.host.set_stream_handler(self._protocol, handle)

    def _admit(self, peer: bytes) -> str | None:
        """Count a request from `peer` in, or say which limit refuses it."""
        if self._inbound[peer] >= self._max_inbound_per_peer:
            return "refused_peer_limit"
        if sum(self._inbound.values()) >= self._max_inbound:
            return "refused_total_limit"
        self._inbound[peer] += 1
        return None

    def _release(self, peer: bytes) -> None:
        self._inbound[peer] -= 1
        if self._inbound[peer] <= 0:
            del self._inbound[peer]

    def _failed(self, peer: bytes, exc: Exception) -> None:
        outcome = ("timed_out" if isinstance(exc, trio.TooSlowError)
                   else "too_large" if isinstance(exc, FramingError) else "failed")
        self._counts[outcome] += 1
        unlogged = self._failures.should_log(peer, trio.current_time())
        if unlogged is not None:  # the type only: a message may quote what the peer sent
            log.debug("request on %s from peer %s not answered (%s: %s); %d more from it "
                      "since the last line", self._protocol, peer.hex()[-16:], outcome,
                      type(exc).__name__, unlogged)

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


_OUTCOMES = ("answered", "refused_peer_limit", "refused_total_limit", "timed_out",
             "too_large", "failed")


class _FailureLog:
    """At most one line per peer per `interval_s`; what it holds back is counted."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._last: dict[bytes, tuple[float, int]] = {}  # peer -> (logged at, held back since)
        self.unlogged = 0

    def should_log(self, peer: bytes, now: float) -> int | None:
        """None to hold this failure back; else how many were held back since the last."""
        logged_at, held = self._last.get(peer, (-math.inf, 0))
        if now - logged_at < self._interval_s:
            self._last[peer] = (logged_at, held + 1)
            self.unlogged += 1
            return None
        self._last.pop(peer, None)
        self._last[peer] = (now, 0)
        while len(self._last) > MAX_LOGGED_PEERS:
            del self._last[next(iter(self._last))]  # the one logged longest ago
        return held


def _reader(stream: INetStream) -> Callable[[int], Awaitable[bytes]]:
    async def read(max_bytes: int) -> bytes:
        try:
            return await stream.read(max_bytes)
        except StreamEOF:
            return b""

    return read


async def _reset_quietly(stream: INetStream) -> None:
    try:
        await stream.reset()
    except Exception:
        pass


async def _close_quietly(stream: INetStream) -> None:
    try:
        await stream.close()
    except Exception:
        pass
