"""Where replies to a client go: the node its requests come through.

That is the client itself when it sends its own requests, and another node when that node
relays for it (a node relaying its players, or a node's pool of client keys).

A request that a fellow replica forwards (PBFT backups hand pending requests to
the primary) does not move a client already seen. The latest gateway wins otherwise:
a peer that replays someone's signed request can divert that client's replies until
its next request; it can neither forge nor change them.
"""

from __future__ import annotations

__all__ = ["ReplyRoutes"]

MAX_ROUTES = 65_536


class ReplyRoutes:
    """Client key -> the peer to send its replies to; bounded, oldest forgotten first."""

    def __init__(self, max_routes: int = MAX_ROUTES) -> None:
        self._via: dict[bytes, bytes] = {}
        self._max_routes = max_routes

    def target(self, client: bytes) -> bytes:
        return self._via.get(client, client)

    def note(self, client: bytes, peer: bytes, replicas: tuple[bytes, ...]) -> None:
        """A request of `client` arrived from `peer` at a table run by `replicas`."""
        if peer in replicas and peer != client and client in self._via:
            return  # a fellow replica forwarding a request does not move a known client
        if self._via.get(client) == peer:
            return
        self._via.pop(client, None)
        self._via[client] = peer
        if len(self._via) > self._max_routes:
            del self._via[next(iter(self._via))]
