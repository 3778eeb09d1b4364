"""The node daemon: one nursery owns every service, and each reports ready before the next.

Order of start: transport (listening), the tables (each replica recovered from its own
SQLite log), the frame router, the control API (cookie written, sockets listening), then
signals and the watchdog; only then READY=1. SIGTERM drains: the API stops taking
requests, the transport closes, storage is closed; the process exits 0.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from prometheus_client import CollectorRegistry

from bitcraps.consensus import (
    ByzantineDetected,
    DecodeError,
    Event,
    Executed,
    MessageRejected,
    Record,
    Replica,
    Request,
    RequestCommitted,
    SignatureCheck,
    ViewChanged,
    ViewChangeStarted,
    decode_envelope,
)
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.table_terms import SHOOTER_TIMEOUT_PARAM

from ._charter import HOST_PROTOCOL, Charter
from ._control import ControlError
from .accel_setup import (
    PhysicsProbe,
    SwitchingVerifier,
    client_pool_signer,
    start_signature_verifier,
)
from .client_stamps import StampFile
from .config import RELOADABLE_KEYS, NodeConfig, TableSection, diff_reload, load_config
from .data_dir_lock import lock_data_dir
from .disk_check import check_data_dir
from .formed_tables import FormedTables
from .game_hosting import GAMES, host_craps, make_application, shooter_timeout_params
from .host_policy import HostLimits
from .hosted_table import HostedTable, describe_table, table_failure
from .identity import NodeIdentity
from .liveness import STALL_S, Liveness
from .logs import bind_table, configure_logging, get_logger
from .metrics import NodeMetrics
from .reply_routes import ReplyRoutes
from .request_ledger import RequestLedger
from .request_ledger_file import ledger_path
from .retired_tables import RetiredTables
from .storage import SqliteStorage, StorageError, table_db_path
from .systemd import Notifier, run_watchdog
from .table_audit import TableAudit
from .table_control import TableControl
from .table_formation import CharterStore, FormationPolicy, TableFormation
from .table_shell import TableShell, thread_offload
from .table_supervisor import TableSupervisor

if TYPE_CHECKING:
    from trio_typing import TaskStatus

DRAIN_SECONDS = 5.0
LOBBY_FLUSH_S = 0.2
WARM_INTERVAL_S = 1.0
VERIFY_THREADS = 2
CONNECT_TIMEOUT_S = 10.0  # `bitcraps peers connect`: dial, Noise, yamux and a stream
CLIENT_POOL = 64  # API requests in flight per table: extra client keys, derived from ours


class _TimedStorage:
    """Storage whose every durable write is timed into the node's histogram and tracked by
    its liveness (a write stuck in flight stops the watchdog)."""

    def __init__(self, storage: SqliteStorage, metrics: NodeMetrics,
                 liveness: Liveness) -> None:
        self.storage = storage
        self._seconds = metrics.storage_write_seconds
        self._liveness = liveness

    def write(self, records: Sequence[Record], sync: bool = True) -> None:
        with self._seconds.time(), self._liveness.writing():
            self.storage.write(records, sync)


class Node(TableControl, FormedTables):
    """A running node; implements `NodeControl` for the API."""

    def __init__(self, config: NodeConfig, identity: NodeIdentity, *,
                 config_path: Path | None = None, notifier: Notifier | None = None,
                 verify_batch: Callable[..., list[bool]] | None = None,
                 liveness_stall_s: float = STALL_S) -> None:
        from bitcraps.transports.libp2p_transport import Libp2pTransport

        self.config = config
        self.node_identity = identity
        self.config_path = config_path
        self.notifier = notifier or Notifier.from_env()
        self.metrics = NodeMetrics()
        self.log = get_logger("bitcraps.node")
        self.liveness = Liveness(config.data_dir, stall_s=liveness_stall_s,
                                 on_problem=lambda problem: self.log.error(
                                     "data dir not writable", problem=problem))
        self.transport = Libp2pTransport(identity.seed,
                                         listen_addrs=config.network.listen_addrs,
                                         enable_mdns=config.network.mdns)
        self.lobby: Any = None  # a transports.lobby.Lobby once running
        self._verify_batch: Callable[..., list[bool]] | None = verify_batch
        self.physics: Any = None  # an accel.physics backend, once chosen (`_start_accel`)
        self._physics_probe = PhysicsProbe(config.accel.physics)
        self._api_up = trio.Event()  # the start's last heavy step is done
        self.metrics_binds: list[str] = []
        self.accel_reasons: dict[str, str] = {}
        self._offload = thread_offload(trio.CapacityLimiter(VERIFY_THREADS))
        self.tables_by_id: dict[bytes, HostedTable] = {}
        self.reply_routes = ReplyRoutes()
        self._client_pool = [client_pool_signer(identity.seed, i) for i in range(CLIENT_POOL)]
        self.api_binds: list[str] = []
        self.frames_unroutable = 0
        self._frames_in = self.metrics.transport_frames.labels(transport="libp2p",
                                                               direction="in")
        self._frames_out = self.metrics.transport_frames.labels(transport="libp2p",
                                                                direction="out")
        self.metrics.peers_connected.labels(transport="libp2p").set_function(
            lambda: sum(1 for peer in self.transport.peers() if peer.connected))
        self.metrics.watch_transport("libp2p", self.transport.statistics)
        self.metrics.watch_tables(self._table_counters)
        self.metrics.watch_host_protocol(self._host_protocol_counters)
        self._stop = trio.Event()
        self._api_shutdown = trio.Event()
        self._started_at: float | None = None
        self.serving = False  # True from READY=1 on: a failure after it is not the start's
        self._nursery: trio.Nursery | None = None
        self.charters = CharterStore(config.data_dir)
        self.formation: TableFormation | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._started_at = trio.current_time()
        # Before anything in the data dir is touched: one daemon per dir, and a dir that
        # takes a write (a full disk stops the node here, before READY=1).
        data_dir_lock = lock_data_dir(self.config.data_dir)
        try:
            await trio.to_thread.run_sync(check_data_dir, self.config.data_dir)
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(self.liveness.run)
                await self._start_accel()
                await nursery.start(self.transport.run)
                self._register_addresses()
                await self._start_lobby(nursery)
                self.retired_tables = await trio.to_thread.run_sync(RetiredTables.open,
                                                                    self.config.data_dir)
                for section in self.config.tables:
                    await self._open_table(nursery, section)
                await self._open_stored_charters()
                self._start_formation()
                await self._announce_tables()
                nursery.start_soon(self._route_incoming)
                nursery.start_soon(self._warm_connections)
                nursery.start_soon(self._expire_tables)
                await self._start_api(nursery)
                await nursery.start(self._handle_signals)
                nursery.start_soon(run_watchdog, self.notifier, self.healthy)
                self.metrics.healthy.set(1)
                self.serving = True
                self.notifier.ready("serving")
                self.log.info("node ready", node_id=self.node_identity.node_id,
                              addresses=list(self.transport.listen_multiaddrs),
                              api=self.api_binds, tables=len(self.tables_by_id))
                task_status.started()
                await self._stop.wait()
                await self._drain(nursery)
        finally:
            for table in self.tables_by_id.values():
                table.storage.close()
            for part in (self._verify_batch, self.physics):
                close = getattr(part, "close", None)
                if close is not None:
                    close()
            data_dir_lock.release()

    async def _drain(self, nursery: trio.Nursery) -> None:
        self.notifier.stopping("draining")
        self.metrics.healthy.set(0)
        self.log.info("node stopping")
        self._api_shutdown.set()
        with trio.move_on_after(DRAIN_SECONDS):
            await self._withdraw_tables()
            await self.transport.aclose()
        nursery.cancel_scope.cancel()

    def request_stop(self) -> None:
        self._stop.set()

    async def _open_table(self, nursery: trio.Nursery, section: TableSection) -> None:
        replica_config = self.config.replica_config(section)
        if replica_config.index_of(self.node_identity.public_key) is None:
            self.log.warning("not a replica of this table; skipped", table_id=section.table_id)
            return
        retired = self.retired_refusal(section.table_id_bytes)
        if retired is not None:  # a [[tables]] block (a charter is refused before)
            self.log.error("table not opened", table_id=section.table_id, reason=retired)
            return
        path = table_db_path(self.config.data_dir, section.table_id_bytes)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        storage = await trio.to_thread.run_sync(SqliteStorage, path)
        records = await trio.to_thread.run_sync(storage.records)
        stamps = await trio.to_thread.run_sync(StampFile, path.with_suffix(".client-stamps"))
        ledger = await trio.to_thread.run_sync(RequestLedger.open, ledger_path(path))
        # A craps table waits for its physics backend (probed in the background); kv never.
        physics = None if section.game == "kv" else await self._physics_probe.backend()
        app = make_application(section, replica_config, physics)
        seed = int.from_bytes(os.urandom(8), "big")
        if records:
            replica = Replica.recover(replica_config, app, self.node_identity, records,
                                      jitter_seed=seed)
        else:
            replica = Replica(replica_config, app, self.node_identity, jitter_seed=seed)
        events: list[Event] = []
        assert self._verify_batch is not None, "tables open after _start_accel"
        shell = TableShell(
            config=replica_config, replica=replica, storage=_TimedStorage(storage, self.metrics,
                                                                self.liveness),
            signer=self.node_identity, verify_batch=self._verify_batch,
            verify_inline=_verify_inline,
            send_frame=self._send_frame, tick_seconds=self._tick_seconds,
            offload=self._offload, on_event=events.append, client_pool=self._client_pool,
            request_ledger=ledger,
            client_stamps=stamps, on_executed=self._audit_hook(section.table_id, app),
        )
        table = HostedTable(section, replica_config, storage, shell, trio.current_time())
        shell.on_event = partial(self._on_event, table)
        # The table's tasks run in its own supervised nursery: nothing they raise reaches
        # the node's (see table_supervisor); our own bug stops this table, never the node.
        table.supervisor = supervisor = self._table_supervisor(section.table_id)
        await nursery.start(supervisor.run)
        await supervisor.start("replica", shell.run)
        if isinstance(app, CrapsApp):
            table.craps = await host_craps(app, shell, replica.index, path.with_suffix(
                ".dkg-seed"), self.node_identity.public_key, self._tick_seconds,
                bind_table(self.log, section.table_id), section.terms)
            await supervisor.start("game", table.craps.run)
        self.tables_by_id[replica_config.table_id] = table
        bind_table(self.log, section.table_id).info(
            "table open", replica=replica.index, recovered_records=len(records),
            last_executed_seq=replica.last_executed_seq, view=replica.view)

    def _table_supervisor(self, table_id: str) -> TableSupervisor:
        faults = self.metrics.table_faults

        def count(part: str, outcome: str) -> None:
            faults.labels(table=table_id, part=part, outcome=outcome).inc()
            self.metrics.tables_failed.set(
                sum(1 for t in self.tables_by_id.values() if table_failure(t)))

        return TableSupervisor(bind_table(self.log, table_id), count, escalate=(StorageError,))

    async def _start_accel(self) -> None:
        """Choose where signatures are verified and dice physics runs; say so.

        The verifier's worker processes are started first, before any OpenCL runtime
        starts its threads in this process. What "auto" asks of OpenCL (dice physics'
        device self-test; a GPU for signatures) runs in the background, off the start's
        critical path: a craps table waits for its physics as it opens, kv tables never,
        and signatures are verified on the CPU until a GPU is found. A forced backend is
        chosen before READY, so a machine without it refuses to start (`AccelUnavailable`)."""
        accel = self.config.accel
        if self._verify_batch is None:
            self._verify_batch, reason = await trio.to_thread.run_sync(
                start_signature_verifier, accel.signatures)
            self.accel_reasons["signatures"] = reason
            self.log.info("signature verification", backend=reason)
        if accel.physics != "auto":
            await self._select_physics()
        assert self._nursery is not None
        self._nursery.start_soon(self._probe_accel)

    async def _probe_accel(self) -> None:
        """In the background, one after the other: physics (craps tables wait for it), then
        the signature verifier's search for a GPU (the CPU verifies meanwhile). Neither
        before the API is up, unless a craps table wants physics now: the probes' imports
        and a device's self-test (seconds for a kernel not in the driver's cache) would
        compete with the start for the CPU."""
        async with trio.open_nursery() as first:
            for event in (self._physics_probe.wanted, self._api_up.wait):
                first.start_soon(_then_cancel, event, first.cancel_scope)
        if not self._physics_probe.done:
            await self._select_physics()
        await self._api_up.wait()
        verifier = self._verify_batch
        if isinstance(verifier, SwitchingVerifier) and not verifier.searched:
            try:
                reason = await trio.to_thread.run_sync(verifier.search)
            except Exception as exc:  # the CPU verifier is kept: always correct
                self.log.warning("no accelerator for signatures: the search failed",
                                 error_type=type(exc).__name__)
                return
            if reason is not None:
                self.accel_reasons["signatures"] = reason
                self.log.info("signature verification", backend=reason)

    async def _select_physics(self) -> None:
        probe = self._physics_probe
        await probe.run()
        self.physics = await probe.backend()
        self.accel_reasons["physics"] = str(probe.reason)
        self.log.info("dice physics", backend=probe.reason)

    def _audit_hook(self, table_id: str, app: Any) -> Callable[[Executed], None] | None:
        """A craps table's audit trail and game counters (`table_audit`), fed by what its
        replica executes."""
        if not isinstance(app, CrapsApp):
            return None
        return TableAudit(table_id, app.game, bind_table(self.log, table_id),
                          self.metrics).executed

    # --- tables formed at run time -----------------------------------------------------------

    def _start_formation(self) -> None:
        from bitcraps.transports.libp2p_requests import Libp2pRequests

        self.formation = TableFormation(
            requests=Libp2pRequests(self.transport, HOST_PROTOCOL, timeout_s=5.0),
            public_key=self.node_identity.public_key, sign=self.node_identity.sign,
            policy=self._formation_policy, hosted_count=lambda: len(self.tables_by_id),
            listen_addresses=lambda: self.transport.listen_multiaddrs,
            candidate_peers=self._candidate_peers, open_charter=self._open_charter,
            hosted_for=self.hosted_for, is_hosted=lambda t: t in self.tables_by_id,
            is_retired=self.retired_tables.__contains__,
            retired_full=lambda: self.retired_tables.full)
        self.formation.serve()

    def _formation_policy(self) -> FormationPolicy:
        node = self.config.node
        limits = HostLimits(node.host_allowlist_keys, node.host_min_replicas,
                            node.host_tables_per_peer)
        return FormationPolicy(node.host_tables, node.max_hosted_tables, GAMES, limits)

    def _candidate_peers(self) -> list[bytes]:
        """Peers to ask first: those connected now, then the rest we know an address of."""
        peers = sorted(self.transport.peers(), key=lambda p: (not p.connected, p.peer))
        return [bytes(p.peer) for p in peers if p.connected or p.addresses]

    async def _open_stored_charters(self) -> None:
        charters, problems = await trio.to_thread.run_sync(self.charters.load_all)
        for problem in problems:
            self.log.error("stored table charter ignored", problem=problem)
        for charter in charters:
            try:
                await self._open_charter(charter, store=False)
            except ValueError as exc:  # a charter for a game this version does not play
                self.log.error("stored table charter not opened",
                               table_id=charter.table_id.hex(), error=str(exc))

    async def _open_charter(self, charter: Charter, *, store: bool = True) -> None:
        """Open a table formed at run time (idempotent); stored first, so it outlives us."""
        if charter.table_id in self.tables_by_id:
            return
        await self._refuse_retired(charter.table_id)  # TableRetired, a ValueError
        section = _section_for(charter)
        if store:
            await trio.to_thread.run_sync(self.charters.save, charter)
        self._learn_addresses(charter)
        assert self._nursery is not None
        await self._nursery.start(self._run_formed, charter, section)
        if store:
            await self._announce(self.tables_by_id[charter.table_id])

    def _learn_addresses(self, charter: Charter) -> None:
        """Addresses from a charter, but only those a peer gave for itself: all of them in
        our own charter (each member answered our OFFER with its addresses), only the
        creator's in another's. A stranger's charter never makes us dial third parties at
        addresses it chose; we reach them where we knew them already."""
        own = self.node_identity.public_key
        vouched = set(charter.replicas) if charter.creator == own else {charter.creator}
        for key, addresses in charter.address_book().items():
            if key == own or key not in vouched:
                continue
            for address in addresses:
                try:
                    self.transport.add_peer_address(key, address)
                except Exception:  # a /p2p/ part naming someone else, or unparsable
                    self.log.info("charter address ignored", table_id=charter.table_id.hex())

    async def create_table(self, game: str, replicas: int, *, min_bet: int = 1,
                           max_bet: int = 1000, seats: int = 8,
                           shooter_timeout_s: int | None = None) -> dict[str, Any]:
        if self.formation is None:
            raise ControlError("the node is not serving yet", 503)
        params = shooter_timeout_params(shooter_timeout_s, self.config.consensus.tick_ms)
        charter = await self.formation.create(game, replicas, min_bet=min_bet,
                                              max_bet=max_bet, seats=seats, params=params)
        return describe_table(self.tables_by_id[charter.table_id])

    # --- lobby -----------------------------------------------------------------------------

    async def _start_lobby(self, nursery: trio.Nursery) -> None:
        from bitcraps.transports.lobby import DROP_REASONS, Lobby

        dropped = self.metrics.lobby_dropped
        for reason in DROP_REASONS:
            dropped.labels(reason=reason)
        self.lobby = Lobby(self.transport.host, public_key=self.node_identity.public_key,
                           sign=self.node_identity.sign,
                           on_drop=lambda reason: dropped.labels(reason=reason).inc())
        await nursery.start(self.lobby.run)
        if self.config.network.mdns:
            nursery.start_soon(self.transport.dial_discovered)

    async def _announce_tables(self) -> None:
        for table in self.tables_by_id.values():
            await self._announce(table)

    async def _announce(self, table: HostedTable) -> None:
        from .lobby_seats import announce_live  # live free seats, re-announced on change

        await announce_live(self.lobby, table)

    async def _withdraw_tables(self) -> None:
        """Withdraw our announcements and give gossipsub a moment to send them."""
        if self.lobby is not None and self.tables_by_id:
            with trio.move_on_after(1.0):
                await self.lobby.withdraw_all()
                await trio.sleep(LOBBY_FLUSH_S)

    def lobby_tables(self) -> list[dict[str, Any]]:
        if self.lobby is None:
            return []
        return [table.to_json() for table in self.lobby.tables()]  # once per table id

    # --- network -------------------------------------------------------------------------

    def _register_addresses(self) -> None:
        for section in self.config.tables:
            for key_hex, address in section.replica_addresses.items():
                key = bytes.fromhex(key_hex)
                if key != self.node_identity.public_key:
                    self.transport.add_peer_address(key, address)
        for address in self.config.network.bootstrap:
            named = public_key_for_multiaddr(address)
            if named is not None and named != self.node_identity.public_key:
                self.transport.add_peer_address(named, address)

    async def connect_peer(self, address: str) -> dict[str, Any]:
        """`bitcraps peers connect`: dial ``address`` (a multiaddr ending in /p2p/<peer id>)
        now; the address stays in the address book for this run (a network.bootstrap entry
        keeps it across restarts)."""
        from bitcraps.transports._interface import TransportError
        from bitcraps.transports.libp2p_transport import peer_id_for

        from .config import NetworkSection

        try:
            NetworkSection(bootstrap=(address,))  # the same rules as a bootstrap entry
        except ValueError:
            raise ControlError("not a peer address: give /ip4/<addr>/tcp/<port>/p2p/<peer id> "
                               "(or /ip6/, /dns4/, /dns6/, /dns/; udp/<port>/quic-v1)") from None
        key = public_key_for_multiaddr(address)
        if key is None:
            raise ControlError("the address's /p2p/ part is not an Ed25519 peer id")
        if key == self.node_identity.public_key:
            raise ControlError("that address names this node itself")
        self.transport.add_peer_address(key, address)
        try:
            with trio.fail_after(CONNECT_TIMEOUT_S):
                await self.transport.connect(key)
        except (TransportError, trio.TooSlowError) as exc:
            reason = "timed out" if isinstance(exc, trio.TooSlowError) else "failed"
            raise ControlError(f"dialing peer {key.hex()} {reason}; its address is kept for "
                               "this run and dialed again on the next send", 502) from None
        return {"peer": key.hex(), "peer_id": peer_id_for(key),
                "address": address, "connected": True}

    async def _send_frame(self, peer: bytes, frame: bytes) -> None:
        # Queued, not awaited: the table's per-peer sender hands over its next frame at once
        # and the transport's writer coalesces what piled up (failures: transport counters).
        await self.transport.post(self.reply_routes.target(peer), frame)
        self._frames_out.inc()

    async def _warm_connections(self) -> None:
        """Keep a warm stream to every fellow replica, so no dial sits on the commit path.

        Dials them all at start, then every `WARM_INTERVAL_S` again: a peer that was down
        (not started yet, restarting) or whose connection dropped is redialed in the
        background, not by the first frame of a commit. On a warm stream `connect` writes
        nothing. Bootstrap peers too, re-read each round: a SIGHUP that adds one dials it.
        """
        unreachable: set[bytes] = set()
        while True:
            peers = {key for table in self.tables_by_id.values() for key in table.config.replicas}
            peers.update(key for key in map(public_key_for_multiaddr,
                                            self.config.network.bootstrap) if key is not None)
            peers.discard(self.node_identity.public_key)
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(self._connect_quietly, peer, unreachable)
            await trio.sleep(WARM_INTERVAL_S)

    async def _connect_quietly(self, peer: bytes, unreachable: set[bytes]) -> None:
        try:
            await self.transport.connect(peer)
        except Exception as exc:  # tried again on the next round, and on first send
            if peer not in unreachable:
                unreachable.add(peer)
                self.log.info("peer not reachable yet", peer=peer.hex(), error=str(exc))
        else:
            unreachable.discard(peer)

    async def _route_incoming(self) -> None:
        """Every frame the transport hands over (one peer's at a time, in turn). One frame
        can never end the node: whatever it makes fail is counted, logged at debug without
        the frame's contents, and the next frame is routed."""
        async for peer, frame in self.transport.incoming:
            self._frames_in.inc()
            try:
                self._route_frame(peer, frame)
            except Exception as exc:  # a bug reached through a peer's frame: never fatal
                self.metrics.messages_rejected.labels(reason="routing_error").inc()
                self.log.debug("frame not routed", peer=peer.hex(),
                               error_type=type(exc).__name__)

    def _route_frame(self, peer: bytes, frame: bytes) -> None:
        try:
            envelope = decode_envelope(frame)
        except DecodeError as exc:
            self.metrics.messages_rejected.labels(reason="undecodable").inc()
            self.log.debug("undecodable frame", peer=peer.hex(), error=str(exc))
            return
        except Exception as exc:  # the decoder broke its contract (RecursionError, ...)
            self.metrics.messages_rejected.labels(reason="decoder_error").inc()
            self.log.debug("undecodable frame", peer=peer.hex(), error_type=type(exc).__name__)
            return
        table = self.tables_by_id.get(envelope.table_id)
        if table is None:
            self.frames_unroutable += 1
            self.metrics.messages_rejected.labels(reason="unknown_table").inc()
            return
        self.metrics.messages_in.labels(table=table.section.table_id).inc()
        if type(envelope.message) is Request:
            self.reply_routes.note(envelope.sender, peer, table.config.replicas)
        table.shell.deliver(peer, envelope)

    def _table_counters(self) -> list[tuple[str, dict[str, int]]]:
        return [(table.section.table_id, asdict(table.shell.stats))
                for table in list(self.tables_by_id.values())]

    def _host_protocol_counters(self) -> dict[str, int]:
        """The host protocol's counters, once its `TableFormation` keeps any."""
        statistics = getattr(self.formation, "statistics", None)
        return dict(statistics()) if callable(statistics) else {}

    # --- events, health, signals ---------------------------------------------------------

    def _on_event(self, table: HostedTable, event: Event) -> None:
        table_id = table.section.table_id
        replica = table.shell.replica
        if isinstance(event, RequestCommitted):
            table.last_progress = trio.current_time()
            self.metrics.requests_committed.labels(table=table_id).inc()
        elif isinstance(event, ViewChanged):
            self.metrics.view_changes.labels(table=table_id).inc()
            bind_table(self.log, table_id).info("view changed", view=event.view,
                                                primary=event.primary)
        elif isinstance(event, ViewChangeStarted):
            self.metrics.view_changes_started.labels(table=table_id).inc()
        elif isinstance(event, MessageRejected):
            self.metrics.messages_rejected.labels(reason="protocol").inc()
        elif isinstance(event, ByzantineDetected):
            self.metrics.messages_rejected.labels(reason="byzantine").inc()
            bind_table(self.log, table_id).warning("byzantine replica", replica=event.replica,
                                                   reason=event.reason)
        self.metrics.table_progress(table_id, replica.view, replica.last_executed_seq)

    def healthy(self) -> bool:
        """This node's own liveness, which the systemd watchdog reflects: serving, its loop
        turning (the caller runs on it), no durable write stuck and the data dir taking
        writes. Never a table's progress nor other nodes' health (`stalled_tables`)."""
        return not self._stop.is_set() and self.liveness.alive()

    def stalled_tables(self) -> int:
        """Tables that have waited on pending requests for long without progress: most often
        their fellow replicas are down or cut off. Failed tables are counted apart."""
        now = trio.current_time()
        stalled = 0
        for table in self.tables_by_id.values():
            if table_failure(table):  # listed as failed
                continue
            pending = table.shell.replica.statistics()["pending_requests"]
            window_s = 20 * table.config.view_change_timeout_ticks * self._tick_seconds
            if pending and now - table.last_progress > window_s:
                stalled += 1
        return stalled

    @property
    def _tick_seconds(self) -> float:
        return self.config.consensus.tick_ms / 1000

    async def _handle_signals(self, *,
                              task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Ready only once the handlers are in: a SIGHUP right after READY=1 must reload,
        not kill the process with the default action."""
        with trio.open_signal_receiver(signal.SIGHUP, signal.SIGTERM, signal.SIGINT) as signals:
            task_status.started()
            async for signum in signals:
                if signum == signal.SIGHUP:
                    self.reload()
                else:
                    self.log.info("signal received", signal=signal.Signals(signum).name)
                    self.request_stop()

    def reload(self) -> None:
        """SIGHUP: re-read node.toml and apply what may change at run time."""
        if self.config_path is None:
            return
        self.notifier.reloading("reloading configuration")
        try:
            new = load_config(self.config_path)
        except Exception as exc:  # a bad file on reload keeps the running configuration
            self.log.error("configuration not reloaded", error=str(exc))
            self.notifier.ready("serving (reload failed)")
            return
        applied, refused = diff_reload(self.config, new)
        self._apply(applied)
        self.log.info("configuration reloaded", applied=sorted(applied),
                      need_restart=refused)
        self.notifier.ready("serving")

    def _apply(self, applied: dict[str, Any]) -> None:
        for key, value in applied.items():
            section, field = key.split(".")
            part = getattr(self.config, section).model_copy(update={field: value})
            self.config = self.config.model_copy(update={section: part})
            if key == "node.log_level":
                configure_logging(value, self.node_identity.node_id)
        if "network.bootstrap" in applied:
            self._register_addresses()

    # --- API -----------------------------------------------------------------------------

    async def _start_api(self, nursery: trio.Nursery) -> None:
        from ._cookie import cookie_path, write_cookie
        from .api import build_app
        from .api_server import serve_api

        token = write_cookie(cookie_path(self.config.data_dir))
        app = build_app(self, token)
        api = self.config.api
        tcp = (api.tcp_host, api.tcp_port) if api.tcp_port else None
        self.api_binds = await nursery.start(partial(
            serve_api, app, unix_socket=self.config.control_socket, tcp=tcp,
            shutdown=self._api_shutdown))
        await self._start_metrics(nursery)
        self._api_up.set()

    async def _start_metrics(self, nursery: trio.Nursery) -> None:
        """The optional token-less metrics listener (`[metrics] listen`), before READY: a
        port in use stops the start with one line."""
        address = self.config.metrics.listen_address
        if address is None:
            return
        from .metrics_listener import serve_metrics

        self.metrics_binds = await nursery.start(partial(
            serve_metrics, self.metrics.registry, *address, shutdown=self._api_shutdown))
        self.log.info("metrics listener", binds=self.metrics_binds)

    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def identity(self) -> dict[str, Any]:
        return {"node_id": self.node_identity.node_id,
                "peer_id": self.transport.libp2p_peer_id,
                "addresses": list(self.transport.listen_multiaddrs)}

    def status(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            "node_id": self.node_identity.node_id,
            "peer_id": self.transport.libp2p_peer_id,
            "version": version("bitcraps"),
            "uptime_s": round(trio.current_time() - (self._started_at or trio.current_time()), 3),
            "healthy": self.healthy(),
            "liveness_problem": self.liveness.problem(),
            "tables_stalled": self.stalled_tables(),
            "tables": len(self.tables_by_id),
            "tables_failed": sum(1 for t in self.tables_by_id.values() if table_failure(t)),
            "peers": sum(1 for p in self.transport.peers() if p.connected),
            "host_protocol": self._host_protocol_counters(),
            "api": self.api_binds,
            "metrics": self.metrics_binds,
            "accel": self._accel_status(),
        }

    def _accel_status(self) -> dict[str, Any]:
        shown: dict[str, Any] = {name: {"backend": reason}
                                 for name, reason in self.accel_reasons.items()}
        statistics = getattr(self._verify_batch, "statistics", None)
        if "signatures" in shown and callable(statistics):
            shown["signatures"]["statistics"] = asdict(statistics())
        if "physics" in shown and self.physics is not None:
            shown["physics"]["statistics"] = dict(self.physics.statistics())
        elif not self._physics_probe.done:
            shown["physics"] = {"backend": "being chosen (self-test in the background)",
                                "tables_waiting": self._physics_probe.waiting}
        return shown

    def peers(self) -> list[dict[str, Any]]:
        return [{"peer": p.peer.hex(), "addresses": list(p.addresses),
                 "connected": p.connected, "transport": p.transport}
                for p in self.transport.peers()]

    def tables(self) -> list[dict[str, Any]]:
        return [describe_table(table) for table in self.tables_by_id.values()]

    def config_show(self) -> dict[str, Any]:
        shown: dict[str, Any] = self.config.model_dump(mode="json")
        return shown

    async def config_set(self, key: str, value: str) -> dict[str, Any]:
        if key not in RELOADABLE_KEYS:
            raise ControlError(f"{key} cannot change while the node runs; edit node.toml and "
                               f"restart (run-time keys: {', '.join(sorted(RELOADABLE_KEYS))})")
        section, field = key.split(".")
        current = getattr(self.config, section)
        try:
            listed = field in ("bootstrap", "host_allowlist")
            parsed: Any = [v for v in value.split(",") if v] if listed else value
            updated = current.model_validate({**current.model_dump(), field: parsed})
        except Exception as exc:
            raise ControlError(f"{key}: {exc}") from None
        self._apply({key: getattr(updated, field)})
        return {"key": key, "value": getattr(updated, field),
                "note": "applied to the running node; edit node.toml to keep it"}



@asynccontextmanager
async def open_node(config: NodeConfig, identity: NodeIdentity,
                    **options: Any) -> AsyncIterator[Node]:
    """A node running in its own nursery: yielded once it is serving, drained on exit."""
    node = Node(config, identity, **options)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        try:
            yield node
        finally:
            node.request_stop()


def _section_for(charter: Charter) -> TableSection:
    """The ``[[tables]]`` section of a charter's table; ValueError for parameters a section
    cannot carry (any but the shooter's timeout)."""
    params = dict(charter.params)
    timeout = params.pop(SHOOTER_TIMEOUT_PARAM, None)
    if params:
        raise ValueError("the charter names table parameters this node does not know")
    return TableSection.model_validate({
        "table_id": charter.table_id.hex(), "salt": charter.salt.hex(), "game": charter.game,
        "replicas": [key.hex() for key in charter.replicas],
        "min_bet": charter.min_bet, "max_bet": charter.max_bet, "seats": charter.seats,
        "shooter_timeout_ticks": timeout})


def public_key_for_multiaddr(address: str) -> bytes | None:
    """The Ed25519 key named by a multiaddr's /p2p/ part, if it names one."""
    from libp2p.peer.id import ID

    from bitcraps.transports._libp2p_host import public_key_from_id

    _, _, peer = address.rpartition("/p2p/")
    if not peer:
        return None
    try:
        return public_key_from_id(ID.from_base58(peer))
    except Exception:  # not base58, or not an Ed25519 identity multihash
        return None


async def _then_cancel(wait: Callable[[], Any], scope: trio.CancelScope) -> None:
    await wait()
    scope.cancel()


def _verify_inline(checks: Sequence[SignatureCheck]) -> list[bool]:
    """The few signatures of a small batch, on the calling thread (no IPC round trip)."""
    from bitcraps.accel._ed25519_cpu import verify_one

    return [verify_one(key, message, signature) for key, message, signature in checks]
