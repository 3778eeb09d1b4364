"""The commented ``node.toml`` template that ``bitcraps init`` writes.

Kept byte-identical to ``configs/node.toml`` (a test checks it); it lives here as a string so
that a non-editable install still has it. Edit both together.
"""

TEMPLATE = """# bitcraps node configuration (node.toml)
#
# `bitcraps init` writes this file into the data dir. Every key is optional: a key left out
# (or commented out) takes the default shown here. Unknown keys are an error, so a typo is
# reported with its line instead of being ignored.
#
# Environment overrides: BITCRAPS_<SECTION>__<KEY> (two underscores between section and key)
# overrides a key of this file, e.g.
#     BITCRAPS_NODE__LOG_LEVEL=debug
#     BITCRAPS_API__TCP_PORT=8440
#     BITCRAPS_NETWORK__LISTEN_ADDRS='["/ip4/0.0.0.0/tcp/4001"]'
# A value starting with "[" or "{" is read as a TOML value (a list or a table); anything else
# is a plain string that is converted to the key's type ("8440" -> 8440, "true" -> true).
# [[tables]] cannot be set from the environment.
#
# Reloading: on SIGHUP the node re-reads this file (and the environment) and applies the keys
# marked "reloadable"; a change to any other key is reported and needs a restart.

[node]
# Where the node keeps its identity (identity.key, mode 0600), its databases and its control
# socket. A relative path is relative to this file's directory. Default: $BITCRAPS_DATA_DIR,
# else $STATE_DIRECTORY (systemd), else $XDG_DATA_HOME/bitcraps, else ~/.local/share/bitcraps.
# data_dir = "/var/lib/bitcraps"

# Log level of the JSON logs on stdout: "debug", "info", "warning", "error" or "critical".
# Reloadable.
log_level = "info"

# Whether this node agrees to be a replica of tables that other nodes form
# (`bitcraps table create`), and how many tables it hosts at most. Reloadable.
# Default: any peer that reaches this node may ask it to host a table (host_tables = true).
# What one peer may take is bounded: 2 open offers (held 30 s each; together they count as
# one table toward max_hosted_tables) and host_tables_per_peer tables at once.
host_tables = true
max_hosted_tables = 32

# Only these peers (public keys, 64 hex digits each, as `bitcraps id` prints them) may ask
# this node to host a table. Empty, the default: any peer may. Reloadable.
host_allowlist = []

# The smallest table this node hosts for others. n = 3f+1 replicas tolerate f faulty ones,
# so a table of 1 to 3 replicas survives no fault at all: the default, 4, refuses them;
# set 1 to host them anyway. Reloadable.
host_min_replicas = 4

# How many tables formed by one peer this node hosts at once (default 4). Reloadable.
host_tables_per_peer = 4

# A table formed at run time that has not started (no request committed; for craps, no dice
# key) this many seconds after it was formed, or that commits nothing for
# table_idle_timeout_s, is closed and its stored charter deleted. One that never executed
# anything here leaves no files either: its id is kept in <data_dir>/retired-tables, and it
# is never opened again; any other keeps its database, DKG seed and client stamps.
# 0 turns either off. Defaults: 600 s (10 minutes) and 604800 s (7 days): a stranger's table
# that cannot start costs this node at most 10 minutes, and a table nobody plays at for a
# week is closed on every replica. Tables in [[tables]] below never expire. Reloadable.
table_start_timeout_s = 600
table_idle_timeout_s = 604800

[api]
# The control API (HTTP over a Unix socket, bearer token in a 0600 cookie file next to it).
# Default: <data_dir>/control.sock. A relative path is relative to the data dir.
# unix_socket = "/run/bitcraps/control.sock"

# The same API and the web table for phones on TCP. tcp_port = 0 turns the TCP listener off
# (the default: only the Unix socket listens). tcp_host is the address it binds; keep it on
# localhost unless phones on the LAN should reach the web table.
tcp_host = "127.0.0.1"
tcp_port = 0

[network]
# libp2p listen addresses (multiaddrs). The default port, 7420, stays the same across
# restarts, so other nodes' bootstrap entries keep working (port 0 would pick a new free port
# at each start). Other machines reach this node only on an address of this host: use it
# here, e.g. "/ip4/192.0.2.10/tcp/7420" (0.0.0.0 listens on every interface but is no
# address a peer can dial). The node owns its ports: one in use by another process is
# refused at start, never shared. TCP connections use Noise and yamux; an address such as
# "/ip4/192.0.2.10/udp/7420/quic-v1" adds QUIC v1 (TLS 1.3 and QUIC's own streams), where a
# peer that vanished is noticed after 10 s of silence.
listen_addrs = ["/ip4/127.0.0.1/tcp/7420"]

# Peers to dial at start, as many as you like: "/ip4/<addr>/tcp/<port>/p2p/<peer id>" (or
# /ip6/, /dns4/, /dns6/, /dns/). `bitcraps init` and `bitcraps id` print this node's.
# Reloadable: new entries are dialed on SIGHUP.
bootstrap = []

# Find peers on the local network with mDNS (multicast DNS) and dial them. Default: false.
# Consequence: with mdns on and host_tables on (above), anyone on this LAN can find this node
# and enlist it as a replica of their tables (within the host_* limits). To turn it on, also
# choose one: node.host_allowlist (only those peers), node.host_tables = false, or
# mdns_hosting = true (you accept strangers' tables); otherwise the node warns at start.
mdns = false
mdns_hosting = false

[consensus]
# Length of one protocol tick in milliseconds; every timeout below counts ticks.
tick_ms = 50

# A checkpoint every this many sequence numbers; the log is truncated at stable checkpoints.
checkpoint_interval_seqs = 16

# How many sequence numbers may be in flight past the last stable checkpoint. At least
# 2 * checkpoint_interval_seqs, a multiple of it, at most 4096.
log_window_seqs = 64

# Most client requests the primary puts in one batch (1..4096). Every replica of a table
# should use the same consensus values.
batch_max_requests = 256

# Ticks without progress before a replica starts a view change (doubles on each failed view
# change, capped). Reloadable.
view_change_timeout_ticks = 40

# The tables this node hosts, one [[tables]] block each. Every replica of a table lists the
# same terms: the game, the replicas in the same order, min_bet, max_bet, seats and salt.
# The table id commits to them (the first 16 bytes of SHA-256 over their canonical
# encoding, docs/tables.md): a block whose table_id is not the one its terms derive is an
# error that prints the id they derive. `bitcraps table create` does all of this for you.
#
# [[tables]]
# # 16 bytes, as 32 hex digits: derived from the terms below.
# table_id = "00112233445566778899aabbccddeeff"
# # 16 random bytes, as 32 hex digits, drawn once by whoever writes the table's terms.
# salt = "<32 random hex digits>"
# # The game the table runs: "kv" (a key-value store, for testing) for now.
# game = "kv"
# # The replicas' Ed25519 public keys (64 hex digits each, `bitcraps init` prints this node's).
# # n = 3f+1 replicas tolerate f faulty ones.
# replicas = [
#     "<public key of replica 0>",
#     "<public key of replica 1>",
#     "<public key of replica 2>",
#     "<public key of replica 3>",
# ]
# # Optional: where to reach a replica, public key -> multiaddr.
# replica_addresses = { "<public key of replica 1>" = "/ip4/192.0.2.1/tcp/4001" }
# # What the lobby announces: bet limits and seats (defaults 1, 1000 and 8).
# min_bet = 1
# max_bet = 1000
# seats = 8

[metrics]
# The control API always serves Prometheus metrics at /metrics, with its token. enabled =
# false keeps the listener below off even when it is set.
enabled = true

# A listener for Prometheus: /metrics over plain HTTP on this TCP address, without the
# control token (which changes at each start), and nothing else. "HOST:PORT", "[IPv6]:PORT"
# or a port alone (then on 127.0.0.1). Empty, the default: no listener. Anyone who can reach
# it reads the node's metrics: keep it on localhost unless your Prometheus is elsewhere.
# A port already in use stops the node at start.
# listen = "127.0.0.1:9464"
listen = ""

[accel]
# Where incoming signatures are verified: "auto" uses a GPU or accelerator OpenCL device
# that passes its self-test and beats the CPU at the batch sizes measured at start (CPU
# OpenCL devices such as PoCL only when forced); "opencl" forces the first device that
# passes its self-test (the node refuses to start without one); "cpu" uses libsodium
# on worker processes. Every backend gives libsodium's verdict on every input.
signatures = "auto"

# Where dice physics runs: "auto" (an OpenCL device that passes its self-test, else the
# CPU), "opencl", "numpy" or "python". All give bit-identical throws.
physics = "auto"
"""
