"""The node identity file: created 0600 and atomically, never overwritten, refused when exposed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.node.identity import (
    SEED_BYTES,
    IdentityError,
    NodeIdentity,
    create_identity,
    load_identity,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_then_load_gives_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    created = create_identity(path)
    assert _mode(path) == 0o600
    assert path.read_bytes() == created.seed and len(created.seed) == SEED_BYTES
    loaded = load_identity(path)
    assert loaded == created
    assert loaded.public_key == Ed25519Signer(created.seed).public_key
    assert loaded.node_id == loaded.public_key.hex() and len(loaded.node_id) == 64
    signature = loaded.sign(b"hello")
    assert verify_one(created.public_key, b"hello", signature)
    assert sorted(os.listdir(tmp_path)) == ["identity.key"]  # no temporary file left behind


def test_a_given_seed_is_used_and_identities_differ(tmp_path: Path) -> None:
    seeded = create_identity(tmp_path / "a.key", seed=b"\x07" * 32)
    assert seeded.public_key == Ed25519Signer(b"\x07" * 32).public_key
    assert create_identity(tmp_path / "b.key").seed != create_identity(tmp_path / "c.key").seed
    assert seeded.seed.hex() not in repr(seeded)  # the secret never shows in logs


def test_the_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "identity.key"
        create_identity(path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_an_existing_identity_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    first = create_identity(path)
    with pytest.raises(IdentityError, match="already exists.*refusing to overwrite"):
        create_identity(path)
    assert path.read_bytes() == first.seed
    (tmp_path / "other").write_bytes(b"x")
    link = tmp_path / "link.key"
    link.symlink_to(tmp_path / "other")
    with pytest.raises(IdentityError, match="already exists"):
        create_identity(link)
    assert (tmp_path / "other").read_bytes() == b"x"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o620])
def test_a_key_others_can_access_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "identity.key"
    create_identity(path)
    path.chmod(mode)
    with pytest.raises(IdentityError, match=rf"mode {mode:04o}.*chmod 600 {path}"):
        load_identity(path)
    path.chmod(0o600)
    load_identity(path)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path, size: int) -> None:
    path = tmp_path / "identity.key"
    path.write_bytes(b"k" * size)
    path.chmod(0o600)
    with pytest.raises(IdentityError, match=f"is {size} bytes, expected exactly 32"):
        load_identity(path)


def test_missing_and_odd_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="no identity at .*bitcraps init"):
        load_identity(tmp_path / "missing.key")
    folder = tmp_path / "folder.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(IdentityError, match="not a regular file"):
        load_identity(folder)
    target = tmp_path / "real.key"
    create_identity(target)
    (tmp_path / "link.key").symlink_to(target)
    with pytest.raises(IdentityError, match="cannot open"):
        load_identity(tmp_path / "link.key")  # never follow a link to a key
    with pytest.raises(IdentityError, match="cannot write"):
        create_identity(tmp_path / "no-such-dir" / "identity.key")


def test_a_seed_must_be_32_bytes() -> None:
    with pytest.raises(IdentityError):
        NodeIdentity(b"short")
    assert NodeIdentity.generate().seed != NodeIdentity.generate().seed
