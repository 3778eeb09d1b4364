"""A formed table that expires keeps its files together: the charter goes (it is not reopened
after a restart), while the database, the client stamp file and the DKG seed stay, as one
unit, so that the same charter opened again resumes consistently: the same DKG secret (its
dealing is in the log), client timestamps that never go back. One real node in process:
real libp2p, SQLite, replica and craps table."""

from __future__ import annotations

import shutil

import structlog
import trio

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node.client_stamps import StampFile
from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import make_cluster
from bitcraps.node.storage import table_db_path


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


async def test_an_expired_table_keeps_its_database_stamps_and_seed_and_reopens_on_them(
) -> None:
    [daemon] = make_cluster(1, shared_table=False)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        config = config.model_copy(update={"node": config.node.model_copy(update={
            "table_idle_timeout_s": 1.0})})
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        async with open_node(config, identity, verify_batch=verify) as node:
            with structlog.testing.capture_logs() as logs, trio.fail_after(60):
                table_id = bytes.fromhex((await node.create_table("craps", 1))["table_id"])
                table = node.tables_by_id[table_id]
                assert table.craps is not None
                while not table.craps.app.dice_ready:
                    await node.tables_by_id[table_id].shell.wait_progress()
                key = table.craps.app.dkg.key
                charter = node._formed_tables()[table_id].charter
                database = table_db_path(config.data_dir, table_id)
                stamps, seed = (database.with_suffix(".client-stamps"),
                                database.with_suffix(".dkg-seed"))
                secret = seed.read_bytes()
                ceiling = StampFile(stamps).ceiling
                while not any(e["event"] == "table closed" for e in logs):  # idle: closed
                    await trio.sleep(0.05)  # by the expiry loop; polls, up to the deadline
            assert [e["reason"] for e in logs if e["event"] == "table closed"] == [
                "idle: nothing committed for 1 s"]
            assert list(node.charters.directory.glob("*.charter")) == []
            assert database.exists() and seed.read_bytes() == secret
            assert ceiling > 0 and StampFile(stamps).ceiling == ceiling
            with trio.fail_after(60):  # the same charter again: the same table resumes
                await node._open_charter(charter)
                reopened = node.tables_by_id[table_id]
                assert reopened.craps is not None and reopened.craps.app.dice_ready
                assert reopened.craps.app.dkg.key == key and seed.read_bytes() == secret
                assert reopened.shell.replica.last_executed_seq >= table.shell.replica \
                    .last_executed_seq
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)
