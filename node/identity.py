"""The node's Ed25519 identity: one key, kept in the data dir with mode 0600.

File format (``identity.key``): exactly 32 bytes, the raw Ed25519 seed (the RFC 8032 private
key), nothing else. The public key, the node id (its hex) and the libp2p peer id all derive from
it. The file must be a regular file that neither group nor others may read or write; like ssh,
``load_identity`` refuses a key that others could have read and says how to fix it.

``create_identity`` never overwrites: it writes the seed to a temporary file in the same
directory (created with O_CREAT|O_EXCL, mode 0600), fsyncs it, hard-links it to the final name
(which fails if that name exists), removes the temporary name and fsyncs the directory. A crash
leaves either no identity or a complete one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from bitcraps.accel._ed25519_cpu import Ed25519Signer

__all__ = ["IDENTITY_FILE", "SEED_BYTES", "IdentityError", "NodeIdentity", "create_identity",
           "load_identity"]

IDENTITY_FILE = "identity.key"
SEED_BYTES = 32


class IdentityError(Exception):
    """The identity file is missing, damaged, exposed, or would be overwritten."""


@dataclass(frozen=True)
class NodeIdentity:
    """A node's key pair. ``node_id`` is the hex of the public key."""

    seed: bytes = field(repr=False)
    signer: Ed25519Signer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.seed) is not bytes or len(self.seed) != SEED_BYTES:
            raise IdentityError(f"an identity seed is exactly {SEED_BYTES} bytes")
        object.__setattr__(self, "signer", Ed25519Signer(self.seed))

    @classmethod
    def generate(cls) -> NodeIdentity:
        return cls(os.urandom(SEED_BYTES))

    @property
    def public_key(self) -> bytes:
        key: bytes = self.signer.public_key
        return key

    @property
    def node_id(self) -> str:
        return self.public_key.hex()

    def sign(self, data: bytes) -> bytes:
        return self.signer.sign(data)


def create_identity(path: Path | str, seed: bytes | None = None) -> NodeIdentity:
    """Write a new identity (a fresh random one unless ``seed`` is given) to ``path``.

    Raises IdentityError if ``path`` already exists or cannot be written.
    """
    path = Path(path)
    identity = NodeIdentity(os.urandom(SEED_BYTES) if seed is None else seed)
    if path.exists() or path.is_symlink():
        raise IdentityError(f"an identity already exists at {path}; refusing to overwrite it "
                            "(it is this node's key: move it away first if you mean to replace it)")
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the umask may have taken bits away, never added: be exact
            _write_all(fd, identity.seed)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise IdentityError(f"an identity already exists at {path}; refusing to overwrite "
                                "it") from None
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(directory)
    except OSError as exc:
        raise IdentityError(f"cannot write the identity {path}: {exc.strerror or exc}") from exc
    return identity


def load_identity(path: Path | str) -> NodeIdentity:
    """Read the identity at ``path``; IdentityError with a fix-it message on any problem."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise IdentityError(f"no identity at {path}; create one with `bitcraps init`") from None
    except OSError as exc:
        raise IdentityError(f"cannot open the identity {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IdentityError(f"the identity {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise IdentityError(
                f"the identity {path} has mode {mode:04o}: it is accessible by group or others, "
                f"so it is refused; run `chmod 600 {path}` (and consider the key exposed)"
            )
        if info.st_size != SEED_BYTES:
            raise IdentityError(f"the identity {path} is {info.st_size} bytes, expected exactly "
                                f"{SEED_BYTES}: it is damaged or not a bitcraps identity")
        data = os.read(fd, SEED_BYTES + 1)
    except OSError as exc:
        raise IdentityError(f"cannot read the identity {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) != SEED_BYTES:
        raise IdentityError(f"the identity {path} changed size while being read")
    return NodeIdentity(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
