"""bitcraps.consensus.sim: the deterministic simulator.

All replicas of a scenario in one process, in virtual time, driven by one seed: a network
that delays, drops, duplicates, reorders and partitions; crashes that keep only what was
persisted; Byzantine replicas (silent, equivocating primary, wrong digests, stale replays,
Twins) and a Byzantine client; Byzantine payloads (`hostile_payload`: a client and a
replica that sign structurally hostile operations, which the replicas order and execute).
Every run checks agreement, validity, exactly-once, convergence, liveness once faults stop,
bounded logs, and robustness: no honest replica ever raises, and the shell's decoder raises
nothing but its typed error. Crypto is injected: pass a signer factory
(`make_signer(seed32) -> Signer`) and a batch verifier, the real Ed25519 ones.

    result = run_scenario(seed, 4, "all", make_signer, verify_batch)
    summary = run_many(range(200), 4, "all", make_signer, verify_batch)

A `Workload` runs a real application and its own clients in place of the key-value ones
(`bitcraps.games.sim_craps` runs a craps table this way).

`hostile_msgpack(rng)` and `mutate_msgpack(rng, data)` make structurally hostile payloads
(deep nesting, huge declared lengths, list bombs, non-canonical forms) for fuzzers and for
Byzantine replicas and clients to sign.
"""

from .._crypto import SignatureCheck
from ._byzantine import REPLICA_BEHAVIOURS
from ._hostile import (
    RandomSource,
    deep_nesting,
    hostile_msgpack,
    list_bomb,
    mutate_bytes,
    mutate_msgpack,
)
from ._invariants import InvariantChecker, Liveness, buffer_bound, log_bound
from ._network import LinkFaults, Network, Partition
from ._nodes import ReplicaNode
from ._payloads import HostileSubmitter, describe_exception, kv_hostile_operation
from ._rng import Rng
from ._runner import ScenarioResult, Simulation, key_seed, run_many, run_scenario, summarize
from ._scenario import (
    FAULT_KINDS,
    HOSTILE_PAYLOAD,
    NETWORK_FAULTS,
    CrashPlan,
    Scenario,
    make_scenario,
    parse_faults,
)
from ._shell import CachingVerifier, Shell
from ._workload import Workload, WorkloadHost

__all__ = [
    "FAULT_KINDS", "HOSTILE_PAYLOAD", "NETWORK_FAULTS", "REPLICA_BEHAVIOURS",
    "HostileSubmitter", "describe_exception", "kv_hostile_operation",
    "CachingVerifier", "CrashPlan", "InvariantChecker", "LinkFaults", "Liveness", "Network",
    "Partition",
    "ReplicaNode", "Rng", "Scenario", "ScenarioResult", "Shell", "SignatureCheck", "Simulation",
    "Workload", "WorkloadHost", "key_seed",
    "buffer_bound", "log_bound", "make_scenario", "parse_faults", "run_many", "run_scenario",
    "summarize",
    "RandomSource", "deep_nesting", "hostile_msgpack", "list_bomb", "mutate_bytes",
    "mutate_msgpack",
]
