"""Dice physics is chosen off the start's critical path: a node serves (READY, its kv table
commits) while its physics self-test still runs, and a craps table waits for the backend as
it opens; a forced backend the machine lacks still refuses the start with one line (a real
node in process, with the device's self-test held up; a real daemon process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import Any

import msgpack
import pytest
import trio

import bitcraps.accel.physics as physics
from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import BITCRAPS, add, make_cluster


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


async def test_a_node_serves_while_its_dice_physics_is_chosen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    chosen = physics.select_physics_backend

    def slow_device(preference: str, **options: Any) -> Any:
        """A device whose self-test takes as long as the test says (a GPU's can take s)."""
        release.wait(60)
        return chosen(preference, **options)

    monkeypatch.setattr(physics, "select_physics_backend", slow_device)
    [daemon] = make_cluster(1)  # hosting a one-replica kv table
    try:
        config = load_config(daemon.data_dir / "node.toml")
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        with trio.fail_after(60):
            async with open_node(config, identity, verify_batch=verify) as node:
                # READY: serving, and its kv table commits, while the self-test runs.
                assert node.status()["accel"]["physics"]["backend"].startswith("being chosen")
                reply = await node.submit(daemon.table_id, bytes.fromhex(add(b"k")))
                assert msgpack.unpackb(bytes.fromhex(reply["result"])) == [b"ok", 1]

                created: list[dict[str, Any]] = []

                async def create() -> None:
                    created.append(await node.create_table("craps", 1))

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(create)
                    while not node.status()["accel"]["physics"]["tables_waiting"]:
                        await trio.sleep(0.01)
                    assert created == [] and len(node.tables()) == 1  # waiting for physics
                    release.set()
                assert created[0]["game"] == "craps" and len(node.tables()) == 2
                assert node.physics is not None
                assert not node.status()["accel"]["physics"]["backend"].startswith("being")
    finally:
        release.set()
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


def test_a_forced_backend_the_machine_lacks_stops_the_start_with_one_line() -> None:
    [daemon] = make_cluster(1, shared_table=False)
    try:
        toml = daemon.data_dir / "node.toml"
        toml.write_text(toml.read_text() + '\n[accel]\nphysics = "opencl"\n')
        no_opencl = {**os.environ, "OCL_ICD_VENDORS": "/nonexistent",
                     "OCL_ICD_FILENAMES": "/nonexistent"}
        done = subprocess.run([BITCRAPS, "daemon", "--config", str(toml)], env=no_opencl,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith("bitcraps: error: node not started: OpenCL dice physics was "
                               "configured but")
        assert "node ready" not in done.stdout
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)
