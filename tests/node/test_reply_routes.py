"""Replies go to the node a client's requests come through; a replica's forward moves nobody."""

from __future__ import annotations

from bitcraps.node.reply_routes import ReplyRoutes

REPLICAS = (b"r0" * 16, b"r1" * 16, b"r2" * 16, b"r3" * 16)
PHONE, GATEWAY, OTHER_GATEWAY = b"ph" * 16, b"gw" * 16, b"g2" * 16


def test_a_client_of_its_own_gets_its_replies_directly() -> None:
    routes = ReplyRoutes()
    assert routes.target(PHONE) == PHONE
    routes.note(PHONE, PHONE, REPLICAS)
    routes.note(PHONE, REPLICAS[1], REPLICAS)  # a backup forwards it to the primary
    assert routes.target(PHONE) == PHONE


def test_a_relayed_client_follows_its_latest_gateway() -> None:
    routes = ReplyRoutes()
    routes.note(PHONE, GATEWAY, REPLICAS)
    assert routes.target(PHONE) == GATEWAY
    routes.note(PHONE, OTHER_GATEWAY, REPLICAS)
    assert routes.target(PHONE) == OTHER_GATEWAY


def test_a_replicas_pool_key_stays_with_that_replica() -> None:
    routes = ReplyRoutes()
    pool_key = b"pk" * 16
    routes.note(pool_key, REPLICAS[2], REPLICAS)
    routes.note(pool_key, REPLICAS[1], REPLICAS)  # forwarded by another replica
    assert routes.target(pool_key) == REPLICAS[2]


def test_routes_are_bounded_oldest_first() -> None:
    routes = ReplyRoutes(max_routes=2)
    clients = [bytes([i]) * 32 for i in range(3)]
    for client in clients:
        routes.note(client, GATEWAY, REPLICAS)
    assert routes.target(clients[0]) == clients[0]
    assert [routes.target(c) for c in clients[1:]] == [GATEWAY, GATEWAY]
