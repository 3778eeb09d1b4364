"""`bitcraps pass TABLE` declines the dice through the API's action route, and the CLI
prints a shooter's giving up or losing the dice as one clear line (one real node in
process: real libp2p, SQLite, replica, craps table and API socket)."""

from __future__ import annotations

import shutil

import pytest
import trio

from bitcraps.node.cli import main
from bitcraps.node.cmd_play import describe_events
from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import make_cluster

SHOOTER = "ab" * 32


def test_dice_passed_events_read_as_one_clear_line() -> None:
    passed = {"type": "DicePassed", "shooter": SHOOTER, "roll_number": 4, "timed_out": False}
    lost = {**passed, "timed_out": True}
    assert describe_events([passed]) == ["shooter abababab passed the dice"]
    assert describe_events([lost]) == ["shooter abababab lost the dice by timeout"]


async def test_bitcraps_pass_declines_the_dice(capsys: pytest.CaptureFixture[str]) -> None:
    [daemon] = make_cluster(1, shared_table=False)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        async with open_node(config, identity) as node:
            with trio.fail_after(30):
                table_id = (await node.create_table("craps", 1))["table_id"]
                await node.table_act(table_id, {"action": "join", "buy_in": 100})
                capsys.readouterr()
                code = await trio.to_thread.run_sync(
                    main, ["pass", table_id[:12], "--data-dir", str(daemon.data_dir)])
            # The node in this process logs its table's audit trail to stdout too.
            out = "\n".join(line for line in capsys.readouterr().out.splitlines()
                            if "[info     ]" not in line)
            me = identity.public_key.hex()[:8]
            assert code == 0
            assert out.splitlines() == [f"shooter {me} passed the dice",
                                        f"the dice pass to {me}"]
            shown = node.table_game(table_id)["craps"]
            assert shown["shooter"] == identity.public_key.hex() and shown["idle"] == []
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)
