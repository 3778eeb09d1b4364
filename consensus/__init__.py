"""bitcraps.consensus: a sans-I/O PBFT replica, its wire format and its simulator.

Pure: no clock, no socket, no threads, no randomness of its own. The node's trio shell (and
the simulator) drive it through `Replica.step/tick/propose` and the `Ready` it returns.
"""

from ._app import Application, ApplicationError, ExecutionContext, KeyValueApp
from ._client import Client, Completed, Ended, Lapsed, NotExecuted
from ._codec import MAX_MESSAGE_BYTES
from ._config import ReplicaConfig
from ._crypto import BatchVerifier, SignatureCheck, Signer, signature_checks, verify_envelope
from ._durable import (
    Committed,
    DurableLog,
    LatestNewView,
    OwnMessage,
    Prepared,
    Record,
    StableCheckpoint,
    ViewState,
    decode_record,
    encode_record,
)
from ._errors import (
    ByzantineEvidence,
    ConsensusError,
    DecodeError,
    LocalProtocolError,
    RemoteProtocolError,
)
from ._messages import (
    OUTCOME_EXECUTED,
    OUTCOME_EXPIRED,
    OUTCOME_TABLE_FULL,
    OUTCOME_TOO_EARLY,
    PROTOCOL_VERSION,
    STATE_CHUNK_BYTES,
    Checkpoint,
    Commit,
    CommitCertificate,
    Envelope,
    FetchChunk,
    FetchState,
    Message,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Reply,
    Request,
    StateChunk,
    StateManifest,
    StateReply,
    ViewChange,
    batch_digest,
    decode_envelope,
    iter_envelopes,
    signing_bytes,
)
from ._ready import (
    ByzantineDetected,
    CheckpointStable,
    Event,
    Executed,
    MessageRejected,
    Ready,
    RequestCommitted,
    Send,
    StateTransferred,
    ViewChanged,
    ViewChangeStarted,
)
from ._replica import Replica

__all__ = [
    "PROTOCOL_VERSION", "MAX_MESSAGE_BYTES", "STATE_CHUNK_BYTES",
    "Application", "ApplicationError", "ExecutionContext", "KeyValueApp",
    "Client", "Completed", "Ended", "Lapsed", "NotExecuted", "ReplicaConfig", "Replica",
    "OUTCOME_EXECUTED", "OUTCOME_EXPIRED", "OUTCOME_TABLE_FULL", "OUTCOME_TOO_EARLY",
    "BatchVerifier", "SignatureCheck", "Signer", "signature_checks", "verify_envelope",
    "Committed", "DurableLog", "LatestNewView", "OwnMessage", "Prepared", "Record",
    "StableCheckpoint", "ViewState", "decode_record", "encode_record",
    "ByzantineEvidence", "ConsensusError", "DecodeError", "LocalProtocolError",
    "RemoteProtocolError",
    "Checkpoint", "Commit", "CommitCertificate", "Envelope", "FetchState", "Message", "NewView",
    "Prepare", "PreparedProof", "PrePrepare", "Reply", "Request", "StateReply", "ViewChange",
    "FetchChunk", "StateChunk", "StateManifest",
    "batch_digest", "decode_envelope", "iter_envelopes", "signing_bytes",
    "ByzantineDetected", "CheckpointStable", "Event", "Executed", "MessageRejected", "Ready",
    "RequestCommitted", "Send", "StateTransferred", "ViewChanged", "ViewChangeStarted",
]
