"""node.toml: the template, validation errors that name key and line, env overrides, reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bitcraps.consensus import ReplicaConfig
from bitcraps.games.table_terms import TableTerms
from bitcraps.node._node_toml import TEMPLATE
from bitcraps.node.config import (
    RELOADABLE_KEYS,
    ConfigError,
    NodeConfig,
    apply_reload,
    default_data_dir,
    diff_reload,
    load_config,
    parse_config,
)

REPO = Path(__file__).resolve().parents[2]
KEY_A, KEY_B, KEY_C, KEY_D = ("aa" * 32, "bb" * 32, "cc" * 32, "dd" * 32)
PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

SALT_1, SALT_2 = "01" * 16, "02" * 16


def table_id(salt: str, *keys: str, game: str = "kv") -> str:
    """The id a table's terms derive (limits and seats at their defaults)."""
    terms = TableTerms(game, tuple(bytes.fromhex(k) for k in keys), 1, 1000, 8,
                       bytes.fromhex(salt))
    return terms.table_id.hex()


FIRST_ID = table_id(SALT_1, KEY_A, KEY_B, KEY_C, KEY_D)


def tables_toml(second: str = KEY_A) -> str:
    return f"""
[[tables]]
table_id = "{FIRST_ID}"
salt = "{SALT_1}"
game = "kv"
replicas = ["{KEY_A}", "{KEY_B}", "{KEY_C}", "{KEY_D}"]
replica_addresses = {{ "{KEY_B}" = "/ip4/192.0.2.1/tcp/4001" }}

[[tables]]
table_id = "{table_id(SALT_2, second)}"
salt = "{SALT_2}"
replicas = ["{second}"]
"""


TABLES = tables_toml()


def _error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env=env or {})
    return str(info.value)


# --- the template ----------------------------------------------------------------------------


def test_the_shipped_template_is_the_embedded_one() -> None:
    assert (REPO / "configs" / "node.toml").read_text(encoding="utf-8") == TEMPLATE


def test_the_template_loads_to_the_defaults(tmp_path: Path) -> None:
    config = parse_config(TEMPLATE, env={"BITCRAPS_DATA_DIR": str(tmp_path)})
    defaults = NodeConfig()
    for section in ("api", "network", "consensus", "metrics"):
        if section == "api":
            assert config.api.tcp_port == defaults.api.tcp_port == 0
            assert config.api.tcp_host == defaults.api.tcp_host
        elif section == "network":  # mDNS off and a fixed port, in both
            assert config.network.mdns is False and config.network.mdns_hosting is False
            assert config.network.listen_addrs == ("/ip4/127.0.0.1/tcp/7420",)
            assert config.network == defaults.network
        else:
            assert getattr(config, section) == getattr(defaults, section)
    assert config.node.log_level == "info" and config.tables == ()
    assert config.data_dir == tmp_path and config.control_socket == tmp_path / "control.sock"


def test_the_template_explains_every_key() -> None:
    for section in ("node", "api", "network", "consensus", "metrics"):
        assert f"\n[{section}]\n" in TEMPLATE
        for key in type(getattr(NodeConfig(), section)).model_fields:
            assert re.search(rf"^(# )?{key} = ", TEMPLATE, re.MULTILINE), f"{section}.{key}"
    for key in ("table_id", "salt", "game", "replicas", "replica_addresses"):
        assert re.search(rf"^# (# )?{key}", TEMPLATE, re.MULTILINE) or f"# {key} =" in TEMPLATE


# --- valid files -----------------------------------------------------------------------------


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(f"""
[node]
data_dir = "state"
log_level = "DEBUG"
[api]
unix_socket = "sock/api.sock"
tcp_port = 8440
[network]
listen_addrs = ["/ip4/0.0.0.0/tcp/4001", "/ip6/::1/udp/4001/quic-v1"]
bootstrap = ["/ip4/192.0.2.7/tcp/4001/p2p/{PEER}", "/dns4/boot.example/tcp/4001/p2p/{PEER}"]
[consensus]
tick_ms = 20
checkpoint_interval_seqs = 8
log_window_seqs = 32
[metrics]
enabled = false
{TABLES}""")
    config = load_config(path, env={})
    assert config.data_dir == tmp_path / "state"  # relative to the file
    assert config.control_socket == tmp_path / "state" / "sock" / "api.sock"
    assert config.node.log_level == "debug" and config.api.tcp_port == 8440
    assert len(config.network.bootstrap) == 2 and not config.metrics.enabled
    first, second = config.tables
    assert first.table_id_bytes == bytes.fromhex(FIRST_ID)
    assert first.terms.table_id == first.table_id_bytes and first.terms.salt.hex() == SALT_1
    assert second.game == "kv" and second.replica_keys == (bytes.fromhex(KEY_A),)
    replica = config.replica_config(first)
    assert isinstance(replica, ReplicaConfig) and replica.n == 4 and replica.f == 1
    assert (replica.checkpoint_interval_seqs, replica.log_window_seqs) == (8, 32)


def test_default_data_dir_order(tmp_path: Path) -> None:
    home = Path.home()
    assert default_data_dir({}) == home / ".local" / "share" / "bitcraps"
    assert default_data_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/bitcraps")
    assert default_data_dir({"XDG_DATA_HOME": "/x", "STATE_DIRECTORY": "/s:/t"}) == Path("/s")
    assert default_data_dir({"STATE_DIRECTORY": "/s", "BITCRAPS_DATA_DIR": "/b"}) == Path("/b")
    env = {"BITCRAPS_DATA_DIR": str(tmp_path / "b"), "BITCRAPS_NODE__DATA_DIR": "/override"}
    assert parse_config("", env=env).data_dir == Path("/override")


# --- errors name the key and the line --------------------------------------------------------


def test_a_syntax_error_names_the_line() -> None:
    assert _error('[node]\nlog_level = "info"\ntick = = 3\n') \
        .startswith("node.toml line 3: Invalid value (column")
    assert _error("[api]\ntcp_port = [1,\n").startswith("node.toml line 2: ")
    assert _error('[node]\n[node]\n').startswith("node.toml line 2: ")


def test_a_wrong_type_names_the_key_and_line() -> None:
    text = '[node]\nlog_level = "info"\n\n[consensus]\n# tick\ntick_ms = "fast"\n'
    assert _error(text) == ("node.toml line 6: consensus.tick_ms: Input should be a valid "
                            "integer, unable to parse string as an integer (got 'fast')")
    assert "node.toml line 2: node.log_level: Input should be 'debug'" in \
        _error('[node]\nlog_level = "loud"\n')
    assert "node.toml line 2: metrics.enabled: Input should be a valid boolean" in \
        _error('[metrics]\nenabled = "maybe"\n')
    assert "node.toml line 2: api.tcp_port: Input should be less than or equal to 65535" in \
        _error("[api]\ntcp_port = 70000\n")


def test_unknown_keys_and_sections_are_rejected_with_their_line() -> None:
    assert _error("[api]\ntcp_host = 'x'\ntcp_prot = 1\n") == \
        "node.toml line 3: api.tcp_prot: unknown key"
    assert _error("# c\n[nodes]\nx = 1\n") == "node.toml line 2: nodes: unknown key"
    assert _error("log_level = 'x'\n") == "node.toml line 1: log_level: unknown key"


def test_errors_inside_tables_name_the_entry_and_line() -> None:
    bad = TABLES.replace(f'replicas = ["{KEY_A}"]', f'replicas = ["{KEY_A}", "zz"]')
    message = _error(bad)
    line = bad.splitlines().index(f'replicas = ["{KEY_A}", "zz"]') + 1
    assert message.startswith(f"node.toml line {line}: tables[1].replicas: a replica is a 32-byte")
    assert "tables[0].game" in _error(TABLES.replace('game = "kv"', 'game = "poker"'))
    missing = _error(f'[[tables]]\nsalt = "{SALT_1}"\ngame = "kv"\nreplicas = ["{KEY_A}"]\n')
    assert missing == "node.toml line 1: tables[0].table_id: missing required key"
    first_block = TABLES.split("\n[[tables]]")[1]
    assert "same table_id" in _error(TABLES + "\n[[tables]]" + first_block)
    assert "replica_addresses names" in _error(TABLES.replace(
        f'{{ "{KEY_B}" =', f'{{ "{"ee" * 32}" ='))
    assert "tables[0].seats" in _error(TABLES.replace('game = "kv"', 'game = "kv"\nseats = 0'))


def test_a_table_id_must_be_the_one_its_terms_derive() -> None:
    """Changing any term under the same id (a replica swapped, reordered, a limit, the game,
    the salt) is a config error that names the id the terms derive."""
    reordered = TABLES.replace(f'"{KEY_A}", "{KEY_B}", "{KEY_C}"',
                               f'"{KEY_B}", "{KEY_A}", "{KEY_C}"')
    swapped = TABLES.replace(f'"{KEY_C}", "{KEY_D}"]', f'"{KEY_C}", "{"ee" * 32}"]')
    limits = TABLES.replace('game = "kv"', 'game = "kv"\nmax_bet = 5000')
    game = TABLES.replace('game = "kv"', 'game = "craps"')
    salt = TABLES.replace(f'salt = "{SALT_1}"', f'salt = "{"03" * 16}"')
    for changed, replicas in ((reordered, (KEY_B, KEY_A, KEY_C, KEY_D)),
                              (swapped, (KEY_A, KEY_B, KEY_C, "ee" * 32))):
        message = _error(changed)
        assert message.startswith(f"node.toml line 2: tables[0]: table_id {FIRST_ID} does not "
                                  f"match the table's terms")
        assert f"derive {table_id(SALT_1, *replicas)}" in message
    for changed in (limits, game, salt):
        assert f"table_id {FIRST_ID} does not match the table's terms" in _error(changed)
    no_salt = _error(TABLES.replace(f'salt = "{SALT_2}"\n', ""))
    assert no_salt.endswith("tables[1].salt: missing required key")
    assert "32 hex digits" in _error(TABLES.replace(SALT_1, "xy"))


def test_cross_key_rules_and_addresses() -> None:
    assert "log_window_seqs (40) must be a multiple of checkpoint_interval_seqs (16)" in \
        _error("[consensus]\nlog_window_seqs = 40\n")
    assert "network.listen_addrs: not a valid multiaddr" in \
        _error('[network]\nlisten_addrs = ["127.0.0.1:4001"]\n')
    assert "network.bootstrap: not a valid bootstrap address" in \
        _error('[network]\nbootstrap = ["/ip4/1.2.3.4/tcp/4001"]\n')  # no /p2p/<peer id>


def test_several_problems_are_all_reported() -> None:
    message = _error("[api]\ntcp_port = -1\n[consensus]\ntick_ms = 0\n")
    assert "line 2: api.tcp_port" in message and "line 4: consensus.tick_ms" in message


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read .*missing.toml"):
        load_config(tmp_path / "missing.toml", env={})
    path = tmp_path / "node.toml"
    path.write_bytes(b"[node]\nlog_level = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, env={})
    path.write_text("[api]\ntcp_port = 'x'\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))} line 2: api.tcp_port"):
        load_config(path, env={})


# --- environment overrides -------------------------------------------------------------------


def test_environment_overrides_apply_after_the_file() -> None:
    text = '[node]\nlog_level = "info"\n[api]\ntcp_port = 8440\n'
    env = {
        "BITCRAPS_NODE__LOG_LEVEL": "debug",
        "BITCRAPS_API__TCP_PORT": "0",
        "BITCRAPS_METRICS__ENABLED": "false",
        "BITCRAPS_NETWORK__BOOTSTRAP": f'["/ip4/10.0.0.2/tcp/4001/p2p/{PEER}"]',
        "bitcraps_consensus__tick_ms": "25",
        "BITCRAPS_DEBUG": "1",  # not an override
        "OTHER__THING": "x",
    }
    config = parse_config(text, env=env)
    assert config.node.log_level == "debug" and config.api.tcp_port == 0
    assert not config.metrics.enabled and config.consensus.tick_ms == 25
    assert config.network.bootstrap == (f"/ip4/10.0.0.2/tcp/4001/p2p/{PEER}",)


def test_bad_environment_overrides_name_the_variable() -> None:
    assert _error("", {"BITCRAPS_API__TCP_PORT": "abc"}) == (
        "environment variable BITCRAPS_API__TCP_PORT: api.tcp_port: Input should be a valid "
        "integer, unable to parse string as an integer (got 'abc')")
    assert _error("", {"BITCRAPS_API__TCP_PROT": "1"}) == \
        "environment variable BITCRAPS_API__TCP_PROT: api.tcp_prot: unknown key"
    assert _error("", {"BITCRAPS_NOPE__X": "1"}).startswith(
        "environment variable BITCRAPS_NOPE__X: no section [nope]")
    assert _error("", {"BITCRAPS_TABLES__X": "1"}).startswith(
        "environment variable BITCRAPS_TABLES__X: no section [tables]")
    assert _error("", {"BITCRAPS_NETWORK__BOOTSTRAP": "[oops"}).startswith(
        "environment variable BITCRAPS_NETWORK__BOOTSTRAP: not a TOML value")


# --- reload ----------------------------------------------------------------------------------


def test_reload_applies_only_reloadable_keys(tmp_path: Path) -> None:
    env = {"BITCRAPS_DATA_DIR": str(tmp_path)}
    old = parse_config(TEMPLATE + TABLES, env=env)
    assert diff_reload(old, parse_config(TEMPLATE + TABLES, env=env)) == ({}, [])
    changed = (TEMPLATE + TABLES).replace('log_level = "info"', 'log_level = "debug"') \
        .replace("view_change_timeout_ticks = 40", "view_change_timeout_ticks = 80") \
        .replace("tcp_port = 0", "tcp_port = 8440") \
        .replace("bootstrap = []", f'bootstrap = ["/ip4/10.0.0.2/tcp/1/p2p/{PEER}"]') \
        .replace(TABLES, tables_toml(second=KEY_B))
    new = parse_config(changed, env=env)
    applied, refused = diff_reload(old, new)
    assert applied == {"node.log_level": "debug", "consensus.view_change_timeout_ticks": 80,
                       "network.bootstrap": (f"/ip4/10.0.0.2/tcp/1/p2p/{PEER}",)}
    assert refused == ["api.tcp_port", "tables"]
    assert set(applied) <= RELOADABLE_KEYS
    running = apply_reload(old, new)
    assert running.node.log_level == "debug" and running.consensus.view_change_timeout_ticks == 80
    assert running.api.tcp_port == 0 and running.tables == old.tables
    assert diff_reload(running, new) == ({}, ["api.tcp_port", "tables"])


def test_hosting_limits_default_and_reload() -> None:
    config = parse_config(TEMPLATE, env={})
    node = config.node
    assert (node.host_allowlist, node.host_min_replicas, node.host_tables_per_peer) == ((), 4, 4)
    assert (node.table_start_timeout_s, node.table_idle_timeout_s) == (600, 7 * 86400)
    changed = parse_config(TEMPLATE.replace("host_allowlist = []",
                                            f'host_allowlist = ["{KEY_B.upper()}", "{KEY_A}"]')
                           .replace("host_min_replicas = 4", "host_min_replicas = 1"), env={})
    assert changed.node.host_allowlist == (KEY_A, KEY_B)  # lower case, sorted, once each
    assert changed.node.host_allowlist_keys == {bytes.fromhex(KEY_A), bytes.fromhex(KEY_B)}
    applied, refused = diff_reload(config, changed)
    assert set(applied) == {"node.host_allowlist", "node.host_min_replicas"} and not refused


@pytest.mark.parametrize(("line", "message"), [
    ('host_allowlist = ["not a key"]', "64 hex digits"),
    ('host_allowlist = ["' + "\u0661" * 64 + '"]', "64 hex digits"),  # not ASCII
    ("host_min_replicas = 0", "node.host_min_replicas"),
    ("table_start_timeout_s = -1", "node.table_start_timeout_s"),
])
def test_hosting_limits_are_checked(line: str, message: str) -> None:
    key = line.split(" = ")[0]
    text = re.sub(rf"^{key} = .*$", line, TEMPLATE, count=1, flags=re.MULTILINE)
    with pytest.raises(ConfigError, match=message):
        parse_config(text, env={})
