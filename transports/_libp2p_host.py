"""Building a py-libp2p host for the node, and mapping our peer ids to libp2p's.

Only TCP, Noise and yamux are offered (py-libp2p's default host also offers plaintext, secio,
TLS and mplex: see docs/libp2p-notes.md). The identity is the node's own Ed25519 key.
"""

from __future__ import annotations

import logging
from typing import Any

import trio
from libp2p import new_host
from libp2p.abc import IHost
from libp2p.crypto.ed25519 import Ed25519PublicKey, create_new_key_pair
from libp2p.crypto.keys import KeyType
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig, RetryConfig
from libp2p.peer.id import ID
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream
from libp2p.transport.quic.config import QUICTransportConfig
from multiaddr import Multiaddr

from ._listen_ports import own_listen_ports

ED25519_PUBLIC_KEY_BYTES = 32
ED25519_SEED_BYTES = 32


def peer_id_for(public_key: bytes) -> str:
    """The libp2p peer id string (base58, identity multihash) of a 32-byte Ed25519 key."""
    return libp2p_id_for(public_key).to_base58()


def libp2p_id_for(public_key: bytes) -> ID:
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
    return ID.from_pubkey(Ed25519PublicKey.from_bytes(bytes(public_key)))


def public_key_from_id(peer_id: ID) -> bytes | None:
    """The 32-byte Ed25519 key an authenticated peer id embeds, or None for any other kind.

    Noise has already checked that the remote holds the key of this id, so the key taken
    from the id is the authenticated one; nothing the peer claims is trusted beyond that.
    """
    key = peer_id.extract_public_key()
    if key is None or key.get_type() != KeyType.Ed25519:
        return None
    raw = key.to_bytes()
    if len(raw) != ED25519_PUBLIC_KEY_BYTES or ID.from_pubkey(key) != peer_id:
        return None
    return raw


QUIC_V1 = "/quic-v1"
# A peer that vanishes without closing (killed, unplugged) is noticed when its connection has
# been silent this long: QUIC has no socket error to tell. py-libp2p's default is 600 s.
QUIC_IDLE_TIMEOUT_S = 10.0


def build_host(
    seed: bytes,
    *,
    listen_addrs: list[Multiaddr],
    dial_timeout_s: float,
    max_retries: int = 0,
    enable_mdns: bool = False,
) -> IHost:
    """A host with identity `seed`, TCP + Noise + yamux only, one connection per peer; and
    QUIC (v1, with its own TLS 1.3 and streams) when a listen address asks for `/quic-v1`.

    `ConnectionConfig(max_connections_per_peer=1)` avoids the 250 ms happy-eyeballs stall on
    every dial; the auto-connector (which redials every peer in the peerstore, dead ones too)
    is switched off: the transport dials on demand. Identify and ping stay on (py-libp2p's
    defaults); `enable_mdns` adds zeroconf mDNS discovery (peers land in the peerstore).
    """
    if len(seed) != ED25519_SEED_BYTES:
        raise ValueError(f"an Ed25519 seed is 32 bytes, not {len(seed)}")
    logging.getLogger("libp2p").propagate = True
    _quiet_protocol_refusals()
    quiet_peer_departures()
    own_listen_ports()  # never SO_REUSEPORT: a port in use is refused, not shared
    key_pair = create_new_key_pair(bytes(seed))
    noise = NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)
    host = new_host(
        key_pair=key_pair,
        sec_opt={NOISE_PROTOCOL_ID: noise},
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        listen_addrs=listen_addrs,
        connection_config=ConnectionConfig(max_connections_per_peer=1, dial_timeout=dial_timeout_s),
        enable_mDNS=enable_mdns,
        enable_quic=any(QUIC_V1 in str(address) for address in listen_addrs),
        quic_transport_opt=QUICTransportConfig(idle_timeout=QUIC_IDLE_TIMEOUT_S,
                                               max_connections_per_peer=1,
                                               dial_timeout=dial_timeout_s),
    )
    network = host.get_network()
    network.retry_config = RetryConfig(max_retries=max_retries)  # type: ignore[attr-defined]
    _disable_auto_connector(network)
    return host


class _ProtocolRefusalFilter(logging.Filter):
    """py-libp2p's host logs an ERROR of eight lines each time a stream cannot be opened, and
    the commonest cause is no error at all: the peer does not speak that protocol (a peer
    without pubsub, asked for the lobby's gossipsub). Such a record becomes one DEBUG line,
    without the details and without any exception attached; other failures stay as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if not message.startswith("Failed to open stream") or "not supported" not in message:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg = message.splitlines()[0].rstrip(":") + ": the peer does not speak it"
        record.args = None
        record.exc_info = record.exc_text = None
        record.stack_info = None
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_REFUSAL_FILTER = _ProtocolRefusalFilter()


def _quiet_protocol_refusals() -> None:
    logger = logging.getLogger("libp2p.host.basic_host")
    if _REFUSAL_FILTER not in logger.filters:
        logger.addFilter(_REFUSAL_FILTER)


# What py-libp2p says, at ERROR or WARNING, when a peer is simply gone: a dial to a peer that
# is down or restarting, a connection that dropped mid-frame, a stream reset by its closing.
_DEPARTURE_PREFIXES = ("Failed to open TCP stream", "QUIC config provided but QUIC not enabled")
_DEPARTURE_MARKERS = (
    "IncompleteRead", "Incomplete read", "RawConnError", "Connection reset", "ConnectionReset",
    "Connection refused", "ConnectionRefused", "BrokenResourceError", "ClosedResourceError",
    "Broken pipe", "BrokenPipe", "connection closed", "Connection closed", "EOFError",
    "StreamEOF", "StreamReset", "MuxedConnUnavailable", "MuxedStreamReset", "MuxedStreamEOF",
    "Cannot schedule task after service has stopped",  # a peer's dial racing our own stop
    # A stream's protocol negotiation whose connection closed under it (py-libp2p keeps
    # the I/O error's cause out of these messages):
    "fail to write to multiselect communicator", "fail to read from multiselect communicator",
)
_DEPARTURE_ERRORS = (ConnectionError, EOFError, trio.BrokenResourceError,
                     trio.ClosedResourceError)


class _PeerDepartureFilter(logging.Filter):
    """A peer going away is routine (restarted, killed, unplugged): the transport counts it,
    reconnects, and the table carries on. py-libp2p logs it at ERROR, often with a
    traceback, from several modules. Such a record becomes one DEBUG line without its
    exception; every other warning and error stays as it is. The (harmless) note that the
    QUIC settings we always pass go unused on a TCP-only host is quieted the same way."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if not (message.startswith(_DEPARTURE_PREFIXES)
                or any(marker in message for marker in _DEPARTURE_MARKERS)
                or isinstance(error, _DEPARTURE_ERRORS)):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg = message.splitlines()[0] if message else type(error).__name__
        record.args = None
        record.exc_info = record.exc_text = None
        record.stack_info = None
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_DEPARTURE_FILTER = _PeerDepartureFilter()


def quiet_peer_departures() -> None:
    """Install the departure filter on every py-libp2p logger (a logger's filter sees only
    the records logged on it; py-libp2p's modules, imported by now, each have their own)."""
    names = [name for name in list(logging.root.manager.loggerDict)
             if name == "libp2p" or name.startswith("libp2p.")]
    for name in names:
        logger = logging.getLogger(name)
        if _DEPARTURE_FILTER not in logger.filters:
            logger.addFilter(_DEPARTURE_FILTER)


async def _window_update_at_half(stream: Any, *, bytes_read: int = 0) -> None:
    """go-yamux's receive-window credit: one WINDOW_UPDATE once half the window is read.

    py-libp2p 0.8.1 also credits every read that leaves less than that outstanding
    (`PY_YAMUX_RELEASE_ON_READ`, on by default, and its "partial slack" branch): one update
    frame back per table frame, which doubles the frames each side encrypts, sends, reads
    and decrypts. The window still grows (auto-tune) when an update is sent.
    """
    total = 0
    async with stream.window_lock:
        buffered = len(stream.conn.stream_buffers.get(stream.stream_id, b""))
        outstanding = stream.target_recv_window - (stream.recv_window + buffered)
        if outstanding > 0 and outstanding >= stream._grow_threshold():
            total = stream._grow_to_delta(buffered) + stream._apply_autotune_epoch(buffered)
            stream._pending_recv_release = 0
    if total > 0:
        await stream.send_window_update(total, skip_lock=True)


def _patch_yamux_window_updates() -> None:
    needed = ("_auto_tune_and_send_window_update", "_grow_threshold", "_grow_to_delta",
              "_apply_autotune_epoch")
    if all(hasattr(YamuxStream, name) for name in needed):  # else: another py-libp2p
        YamuxStream._auto_tune_and_send_window_update = (  # type: ignore[method-assign]
            _window_update_at_half)  # type: ignore[assignment]


_patch_yamux_window_updates()


async def _never_connect() -> None:
    return None


def _disable_auto_connector(network: object) -> None:
    connector = getattr(network, "auto_connector", None)
    if connector is not None:
        # The swarm looks the method up on each tick and on each disconnect.
        connector.maybe_connect = _never_connect
