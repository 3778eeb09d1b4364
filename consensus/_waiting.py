"""The requests that wait for a batch: at most one per client, each client in its place.

A client takes a place at the back when a request of it starts waiting and keeps that place
until a batch carries its request: a newer request from the same client takes over the
place (and its age) instead of joining the back. A client that sends faster than it is
served is then served in its turn like any other, with its newest request; were it sent to
the back each time, it would never reach the front while backups time the request that
held its place, and every timeout would end in a view change.

Places are numbered in the order they are taken, so the dict of places is the queue, and
moving a request into a place is one dict assignment (the order stays where it was).
"""

from __future__ import annotations

from collections.abc import Iterator

RequestKey = tuple[bytes, int]


class WaitingQueue:
    """Waiting requests by (client, timestamp), iterated in the order of their places."""

    __slots__ = ("_places", "_place_of", "_next_place")

    def __init__(self) -> None:
        self._places: dict[int, tuple[RequestKey, int]] = {}  # place -> (request, since tick)
        self._place_of: dict[bytes, int] = {}  # client -> its place
        self._next_place = 0

    def __len__(self) -> int:
        return len(self._places)

    def __bool__(self) -> bool:
        return bool(self._places)

    def __contains__(self, key: object) -> bool:
        if type(key) is not tuple or len(key) != 2:
            return False
        place = self._place_of.get(key[0])
        return place is not None and self._places[place][0] == key

    def __iter__(self) -> Iterator[RequestKey]:
        return (key for key, _ in self._places.values())

    def of_client(self, client: bytes) -> RequestKey | None:
        """The client's waiting request, if any."""
        place = self._place_of.get(client)
        return None if place is None else self._places[place][0]

    def put(self, key: RequestKey, now_ticks: int) -> None:
        """Make `key` its client's waiting request: in the client's place if it has one
        (the place keeps its age), else in a new place at the back."""
        place = self._place_of.get(key[0])
        if place is None:
            place = self._next_place
            self._next_place += 1
            self._place_of[key[0]] = place
            self._places[place] = (key, now_ticks)
        else:
            self._places[place] = (key, self._places[place][1])

    def pop(self, key: RequestKey) -> bool:
        """Stop waiting on `key` (a batch carries it, or it is gone); whether it waited."""
        place = self._place_of.get(key[0])
        if place is None or self._places[place][0] != key:
            return False
        del self._places[place], self._place_of[key[0]]
        return True

    def served(self, key: RequestKey, now_ticks: int) -> None:
        """A batch carries `key`: its client's turn is taken. The client's waiting request
        leaves the queue if it is `key`; if it is another (a newer one that took over the
        place before the batch arrived here), it goes to the back, where the primary put the
        client when it proposed `key`: otherwise this replica would hold the client at the
        front while the primary serves everyone else first."""
        place = self._place_of.get(key[0])
        if place is None:
            return
        waiting, _ = self._places.pop(place)
        del self._place_of[key[0]]
        if waiting != key:
            self.put(waiting, now_ticks)

    def oldest_tick(self) -> int | None:
        """When the front place was taken (None: nothing waits)."""
        for _, since in self._places.values():
            return since
        return None

    def clear(self) -> None:
        self._places.clear()
        self._place_of.clear()
