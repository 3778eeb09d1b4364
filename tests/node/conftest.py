"""Fixtures: a short data dir (AF_UNIX paths are limited) and a served in-memory node."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio
from memory_control import InMemoryControl, Served, start_api


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to 107 bytes: pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="bc-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def served(nursery: trio.Nursery, data_dir: Path) -> AsyncIterator[Served]:
    server = await start_api(nursery, InMemoryControl(), data_dir)
    yield server
    server.shutdown.set()
