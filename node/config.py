"""The node's configuration: ``node.toml``, validated, with ``BITCRAPS_*`` environment overrides.

Loading (``load_config``): the file is parsed with tomllib, then environment overrides are
applied, then everything is validated by the pydantic models below (unknown keys are errors).
Every problem is one ``ConfigError`` whose message names the file, the line and the dotted key,
e.g. ``node.toml line 12: consensus.tick_ms: Input should be greater than 0 (got -5)``, or the
environment variable that set the bad value.

Environment overrides: ``BITCRAPS_<SECTION>__<KEY>=<value>`` overrides ``<key>`` of
``[<section>]`` (case-insensitive; two underscores), e.g. ``BITCRAPS_API__TCP_PORT=0`` or
``BITCRAPS_NODE__LOG_LEVEL=debug``. A value starting with ``[`` or ``{`` is read as a TOML value
(``BITCRAPS_NETWORK__BOOTSTRAP='["/ip4/10.0.0.2/tcp/4001/p2p/Qm..."]'``); any other value is a
string that pydantic converts to the key's type. ``[[tables]]`` cannot be set from the
environment. Variables without ``__`` (``BITCRAPS_DEBUG``, ``BITCRAPS_DATA_DIR``) are not
overrides.

Defaults that depend on the machine are resolved at load time: ``node.data_dir`` (relative paths
are relative to the config file's directory; unset: ``default_data_dir``) and
``api.unix_socket`` (relative to the data dir; unset: ``<data_dir>/control.sock``).

Reloading on SIGHUP: load the file again, then ``diff_reload(old, new)`` says which changed keys
may be applied at run time (``RELOADABLE_KEYS``) and which need a restart; ``apply_reload``
gives the running config with only the reloadable changes.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bitcraps.consensus import ReplicaConfig
from bitcraps.games.craps import MAX_SHOOTER_TIMEOUT_TICKS
from bitcraps.games.table_terms import SHOOTER_TIMEOUT_PARAM, TableTerms
from bitcraps.node._cookie import default_data_dir

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_LISTEN_PORT",
    "ENV_PREFIX",
    "RELOADABLE_KEYS",
    "ApiSection",
    "ConfigError",
    "ConsensusSection",
    "MetricsSection",
    "NetworkSection",
    "NodeConfig",
    "NodeSection",
    "TableSection",
    "apply_reload",
    "default_data_dir",
    "diff_reload",
    "load_config",
    "parse_config",
]

CONFIG_FILE = "node.toml"
ENV_PREFIX = "BITCRAPS_"
CONTROL_SOCKET = "control.sock"
DEFAULT_LISTEN_PORT = 7420  # libp2p TCP, in the default network.listen_addrs
METRICS_DEFAULT_HOST = "127.0.0.1"  # [metrics] listen given as a port alone

# Keys SIGHUP may change in a running node. Everything else (addresses, the data dir, the
# protocol's shape, the tables) needs a restart.
RELOADABLE_KEYS: frozenset[str] = frozenset({
    "node.log_level",  # the logger's level
    "node.host_tables",  # whether to accept offers to host tables others form
    "node.max_hosted_tables",  # tables already hosted stay open
    "node.host_allowlist",  # asked on every offer; tables already hosted stay open
    "node.host_min_replicas",  # checked on every charter
    "node.host_tables_per_peer",  # checked on every offer and charter
    "node.table_start_timeout_s",  # read by the expiry loop on each round
    "node.table_idle_timeout_s",
    "network.bootstrap",  # new entries are dialed; connections are not dropped
    "consensus.view_change_timeout_ticks",  # a local timer: replicas need not agree on it
})

LogLevel = Literal["debug", "info", "warning", "error", "critical"]

_HOST = r"/(?:ip4|ip6|dns|dns4|dns6)/[^/\s]+"
_MULTIADDR = re.compile(_HOST + r"/(?:tcp|udp)/(\d{1,5})(?:/[^\s]*)?")
_PEER_ID = r"[1-9A-HJ-NP-Za-km-z]{20,128}"  # base58btc (Qm.., 12D3..) or a CIDv1 in base32
_BOOTSTRAP = re.compile(_HOST + r"/(?:tcp|udp)/(\d{1,5})(?:/[^\s]*)?/p2p/(?:" + _PEER_ID
                        + r"|b[a-z2-7]{20,128})")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class ConfigError(Exception):
    """The configuration is unreadable or invalid; the message names the file, line and key."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


def _check_multiaddr(value: str, pattern: re.Pattern[str], what: str) -> str:
    match = pattern.fullmatch(value)
    if match is None or not 0 <= int(match.group(1)) <= 65535:
        raise ValueError(f"not a valid {what}: {value!r}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSection(_Section):
    data_dir: Path | None = None
    log_level: LogLevel = "info"
    host_tables: bool = True
    max_hosted_tables: int = Field(default=32, ge=0, le=1024)
    host_allowlist: tuple[str, ...] = Field(default=(), max_length=4096)
    host_min_replicas: int = Field(default=4, ge=1, le=64)
    host_tables_per_peer: int = Field(default=4, ge=1, le=1024)
    table_start_timeout_s: float = Field(default=600.0, ge=0, le=1e9)
    table_idle_timeout_s: float = Field(default=7 * 86400.0, ge=0, le=1e9)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("host_allowlist")
    @classmethod
    def _allowlist(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _HEX64.fullmatch(value):
                raise ValueError("host_allowlist holds nodes' public keys, 64 hex digits each "
                                 "(`bitcraps id` prints a node's)")
        return tuple(sorted({v.lower() for v in values}))

    @property
    def host_allowlist_keys(self) -> frozenset[bytes]:
        return frozenset(bytes.fromhex(key) for key in self.host_allowlist)


class ApiSection(_Section):
    unix_socket: Path | None = None
    tcp_host: str = Field(default="127.0.0.1", min_length=1)
    tcp_port: int = Field(default=0, ge=0, le=65535, description="0 turns the TCP listener off")


class NetworkSection(_Section):
    # A fixed port (port 0 would change at each start and break other nodes' bootstrap).
    listen_addrs: tuple[str, ...] = (f"/ip4/127.0.0.1/tcp/{DEFAULT_LISTEN_PORT}",)
    bootstrap: tuple[str, ...] = ()
    mdns: bool = False
    # The operator accepts that with mdns and host_tables on, any peer on the LAN may enlist
    # this node as a replica of its tables (without it the daemon warns at start).
    mdns_hosting: bool = False

    @field_validator("listen_addrs")
    @classmethod
    def _listen(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_multiaddr(v, _MULTIADDR, "multiaddr") for v in values)

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_multiaddr(v, _BOOTSTRAP, "bootstrap address (/ip4/<addr>/tcp/<port>"
                                      "/p2p/<peer id>)") for v in values)


class ConsensusSection(_Section):
    tick_ms: int = Field(default=50, ge=1, le=60_000)
    checkpoint_interval_seqs: int = Field(default=16, ge=1)
    log_window_seqs: int = Field(default=64, ge=2, le=4096)
    batch_max_requests: int = Field(default=256, ge=1, le=4096)
    view_change_timeout_ticks: int = Field(default=40, ge=1)

    @model_validator(mode="after")
    def _window(self) -> ConsensusSection:
        interval, window = self.checkpoint_interval_seqs, self.log_window_seqs
        if window < 2 * interval or window % interval:
            raise ValueError(f"log_window_seqs ({window}) must be a multiple of "
                             f"checkpoint_interval_seqs ({interval}) and at least twice it")
        return self


class TableSection(_Section):
    """One ``[[tables]]`` block. ``table_id`` must be the id its terms derive (the game, the
    replicas in order, min_bet, max_bet, seats, ``shooter_timeout_ticks`` when set, and
    ``salt``: `bitcraps.games.table_terms`), so a table id alone pins its replicas and rules.
    ``shooter_timeout_ticks`` (craps: consensus ticks a shooter has to roll) is a named
    parameter of the terms; unset, the terms carry none and the game's default applies."""

    table_id: str
    salt: str
    game: Literal["kv", "craps"] = "kv"
    replicas: tuple[str, ...] = Field(min_length=1, max_length=64)
    replica_addresses: dict[str, str] = Field(default_factory=dict)
    min_bet: int = Field(default=1, ge=0, le=(1 << 64) - 1)
    max_bet: int = Field(default=1000, ge=0, le=(1 << 64) - 1)
    seats: int = Field(default=8, ge=1, le=1024)
    shooter_timeout_ticks: int | None = Field(default=None, ge=1, le=MAX_SHOOTER_TIMEOUT_TICKS)

    @field_validator("table_id")
    @classmethod
    def _table_id(cls, value: str) -> str:
        if not _HEX32.fullmatch(value):
            raise ValueError("a table id is 16 bytes written as 32 hex digits")
        return value.lower()

    @field_validator("salt")
    @classmethod
    def _salt(cls, value: str) -> str:
        if not _HEX32.fullmatch(value):
            raise ValueError("a table's salt is 16 random bytes written as 32 hex digits")
        return value.lower()

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _HEX64.fullmatch(value):
                raise ValueError(f"a replica is a 32-byte public key as 64 hex digits, "
                                 f"got {value!r}")
        keys = tuple(v.lower() for v in values)
        if len(set(keys)) != len(keys):
            raise ValueError("replica keys must be distinct")
        return keys

    @model_validator(mode="after")
    def _addresses(self) -> TableSection:
        for key, addr in self.replica_addresses.items():
            if key.lower() not in self.replicas:
                raise ValueError(f"replica_addresses names {key!r}, which is not in replicas")
            _check_multiaddr(addr, _MULTIADDR, "multiaddr")
        if self.min_bet > self.max_bet:
            raise ValueError(f"min_bet ({self.min_bet}) is above max_bet ({self.max_bet})")
        derived = self.terms.table_id.hex()
        if derived != self.table_id:
            raise ValueError(f"table_id {self.table_id} does not match the table's terms: "
                             f"game, replicas (in order), min_bet, max_bet, seats, "
                             f"shooter_timeout_ticks and salt "
                             f"derive {derived}; every replica lists the same terms")
        return self

    @property
    def terms(self) -> TableTerms:
        """What the table id commits to (addresses are not part of it)."""
        timeout = self.shooter_timeout_ticks
        params = () if timeout is None else ((SHOOTER_TIMEOUT_PARAM, timeout),)
        return TableTerms(self.game, self.replica_keys, self.min_bet, self.max_bet, self.seats,
                          bytes.fromhex(self.salt), params)

    @property
    def table_id_bytes(self) -> bytes:
        return bytes.fromhex(self.table_id)

    @property
    def replica_keys(self) -> tuple[bytes, ...]:
        return tuple(bytes.fromhex(key) for key in self.replicas)


class AccelSection(_Section):
    signatures: Literal["auto", "opencl", "cpu"] = "auto"
    physics: Literal["auto", "opencl", "numpy", "python"] = "auto"


class MetricsSection(_Section):
    enabled: bool = True
    # A TCP listener serving only /metrics, without the control token (for Prometheus):
    # "HOST:PORT", "[IPv6]:PORT" or "PORT" (on 127.0.0.1). Empty, the default: none.
    listen: str = Field(default="", max_length=300)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if value:
            metrics_address(value)
        return value

    @property
    def listen_address(self) -> tuple[str, int] | None:
        """(host, port) of the metrics listener, or None when it is off."""
        return metrics_address(self.listen) if self.enabled and self.listen else None


def metrics_address(value: str) -> tuple[str, int]:
    """``[metrics] listen`` as (host, port): a port alone listens on 127.0.0.1."""
    host, colon, port = value.rpartition(":")
    if not colon:
        host, port = METRICS_DEFAULT_HOST, value
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535 or not host or any(
            c.isspace() or c in "[]/" or (c == ":" and not bracketed) for c in host):
        raise ValueError("give HOST:PORT, [IPv6]:PORT or PORT, e.g. "
                         f"\"{METRICS_DEFAULT_HOST}:9464\"")
    return host, int(port)


class NodeConfig(_Section):
    """The whole ``node.toml``; build it with ``load_config`` to get defaults resolved."""

    node: NodeSection = NodeSection()
    api: ApiSection = ApiSection()
    network: NetworkSection = NetworkSection()
    consensus: ConsensusSection = ConsensusSection()
    tables: tuple[TableSection, ...] = ()
    metrics: MetricsSection = MetricsSection()
    accel: AccelSection = AccelSection()

    @model_validator(mode="after")
    def _unique_tables(self) -> NodeConfig:
        ids = [table.table_id for table in self.tables]
        if len(set(ids)) != len(ids):
            raise ValueError("two [[tables]] have the same table_id")
        return self

    @property
    def data_dir(self) -> Path:
        return self.node.data_dir if self.node.data_dir is not None else default_data_dir()

    @property
    def identity_path(self) -> Path:
        return self.data_dir / "identity.key"

    @property
    def control_socket(self) -> Path:
        socket = self.api.unix_socket
        return self.data_dir / CONTROL_SOCKET if socket is None else self.data_dir / socket

    def replica_config(self, table: TableSection) -> ReplicaConfig:
        """The consensus configuration of one of this node's tables."""
        c = self.consensus
        return ReplicaConfig(
            table_id=table.table_id_bytes,
            replicas=table.replica_keys,
            checkpoint_interval_seqs=c.checkpoint_interval_seqs,
            log_window_seqs=c.log_window_seqs,
            batch_max_requests=c.batch_max_requests,
            view_change_timeout_ticks=c.view_change_timeout_ticks,
        )


_SECTIONS = ("node", "api", "network", "consensus", "metrics", "accel")


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> NodeConfig:
    """Read, override from ``env`` (default: ``os.environ``) and validate ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_config(text, name=str(path), base_dir=path.parent, env=env)


def parse_config(text: str, name: str = CONFIG_FILE, base_dir: Path | None = None,
                 env: Mapping[str, str] | None = None) -> NodeConfig:
    """Validate TOML ``text`` (named ``name`` in messages); relative paths resolve from
    ``base_dir`` (default: the working directory)."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_error(name, text, exc)) from None
    from_env = _apply_env(data, env)
    try:
        config = NodeConfig.model_validate(data)
    except ValidationError as exc:
        lines = _KeyLines(text)
        raise ConfigError([_describe(name, lines, from_env, err) for err in exc.errors()]) from None
    return _resolve(config, base_dir or Path.cwd(), env)


def _syntax_error(name: str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        return f"{name} line {match.group(1)}: {message[:match.start()]} (column {match.group(2)})"
    match = re.search(r"\s*\(at end of document\)$", message)
    if match:
        last = max(1, len(text.rstrip().splitlines()))
        return f"{name} line {last}: {message[:match.start()]} (at the end of the file)"
    return f"{name}: {message}"


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """Merge BITCRAPS_<SECTION>__<KEY> into ``data``; returns (section, key) -> variable."""
    applied: dict[tuple[str, str], str] = {}
    for var in sorted(env):
        if not var.upper().startswith(ENV_PREFIX) or "__" not in var:
            continue
        section, _, key = var[len(ENV_PREFIX):].partition("__")
        section, key = section.lower(), key.lower()
        if section not in _SECTIONS:
            known = ", ".join(f"{ENV_PREFIX}{s.upper()}__..." for s in _SECTIONS)
            raise ConfigError(f"environment variable {var}: no section [{section}] can be set "
                              f"from the environment (known: {known})")
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            continue  # the file's own error about [section] is reported by validation
        target[key] = _env_value(var, env[var])
        applied[(section, key)] = var
    return applied


def _env_value(var: str, raw: str) -> Any:
    if raw.lstrip().startswith(("[", "{")):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"environment variable {var}: not a TOML value: {exc}") from None
    return raw


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(name: str, lines: _KeyLines, from_env: dict[tuple[str, str], str],
              err: Any) -> str:
    loc = tuple(err["loc"])
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "missing required key"
    elif kind.startswith("value_error"):
        msg = msg.removeprefix("Value error, ")
    elif "input" in err and kind not in ("model_type", "dict_type"):
        shown = repr(err["input"])
        msg = f"{msg} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    msg = msg.replace("Tuple should", "List should")
    key = _dotted(loc) or "(top level)"
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], str) \
            and (loc[0], loc[1]) in from_env:
        return f"environment variable {from_env[(loc[0], loc[1])]}: {key}: {msg}"
    line = lines.find(loc)
    where = f"{name} line {line}" if line else name
    return f"{where}: {key}: {msg}"


class _KeyLines:
    """Where keys and table headers are in TOML text (a line scanner, good enough for errors)."""

    _HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*[=.]")

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[str, int | None, str], int] = {}
        self.headers: dict[tuple[str, int | None], int] = {}
        counts: dict[str, int] = {}
        section: tuple[str, int | None] = ("", None)
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    counts[table] = counts.get(table, -1) + 1
                    section = (table, counts[table])
                else:
                    section = (table, None)
                self.headers.setdefault(section, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault((*section, key.group(1).strip("\"'")), number)

    def find(self, loc: tuple[int | str, ...]) -> int | None:
        if not loc:
            return None
        first = str(loc[0])
        if len(loc) >= 2 and isinstance(loc[1], int):  # [[tables]] entry
            section: tuple[str, int | None] = (first, loc[1])
            rest = loc[2:]
        else:
            section = (first, None)
            rest = loc[1:]
        if rest and isinstance(rest[0], str) and (*section, rest[0]) in self.keys:
            return self.keys[(*section, rest[0])]
        if section in self.headers:
            return self.headers[section]
        return self.keys.get(("", None, first))


def _resolve(config: NodeConfig, base_dir: Path, env: Mapping[str, str]) -> NodeConfig:
    data_dir = config.node.data_dir
    data_dir = default_data_dir(env) if data_dir is None else base_dir / data_dir.expanduser()
    socket = config.api.unix_socket
    socket = data_dir / CONTROL_SOCKET if socket is None else data_dir / socket.expanduser()
    return config.model_copy(update={
        "node": config.node.model_copy(update={"data_dir": data_dir.absolute()}),
        "api": config.api.model_copy(update={"unix_socket": socket.absolute()}),
    })


def _flatten(config: NodeConfig) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section in _SECTIONS:
        for key, value in getattr(config, section).model_dump().items():
            flat[f"{section}.{key}"] = value
    flat["tables"] = config.model_dump()["tables"]
    return flat


def diff_reload(old: NodeConfig, new: NodeConfig) -> tuple[dict[str, Any], list[str]]:
    """The changes from ``old`` to ``new``: (reloadable key -> new value, sorted keys that
    changed but need a restart)."""
    before, after = _flatten(old), _flatten(new)
    applied: dict[str, Any] = {}
    refused: list[str] = []
    for key in sorted(after):
        if before.get(key) != after[key]:
            if key in RELOADABLE_KEYS:
                applied[key] = after[key]
            else:
                refused.append(key)
    return applied, refused


def apply_reload(old: NodeConfig, new: NodeConfig) -> NodeConfig:
    """``old`` with the reloadable changes of ``new`` applied (the others are left as they were)."""
    applied, _ = diff_reload(old, new)
    config = old
    for key, value in applied.items():
        section, field = key.split(".")
        part = getattr(config, section).model_copy(update={field: value})
        config = config.model_copy(update={section: part})
    return config
