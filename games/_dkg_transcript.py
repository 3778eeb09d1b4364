"""A DKG's transcript: its accepted messages in log order. Anyone can replay it to the key.

This is what a table keeps of its DKG (the replicated state's snapshot of it) and what a
player's CLI replays to trust the key it checks rolls against.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._coin_errors import WireDecodeError
from ._coin_group import Group
from ._coin_key import MAX_REPLICAS
from ._coin_wire import (
    FORMAT_VERSION,
    TYPE_DKG_TRANSCRIPT,
    open_record,
    pack,
    unpack,
    want_list,
    want_uint,
)
from ._dkg_config import DkgConfig
from ._dkg_events import MessageRejected
from ._dkg_messages import DkgMessage, dkg_message_from_wire
from ._dkg_state import DkgState

# Each replica posts one key, one dealing, one complaints message and three close votes.
MAX_TRANSCRIPT_ENTRIES = 6 * MAX_REPLICAS
TranscriptEntry = tuple[int, DkgMessage]


def encode_transcript(entries: Sequence[TranscriptEntry]) -> bytes:
    return pack([FORMAT_VERSION, TYPE_DKG_TRANSCRIPT,
                 [[sender, message.to_wire()] for sender, message in entries]])


def decode_transcript(data: bytes) -> tuple[TranscriptEntry, ...]:
    """Strict decoding of the entries; whether they replay is `replay_transcript`'s job."""
    (items,) = open_record(unpack(data), TYPE_DKG_TRANSCRIPT, 1, "DkgTranscript")
    entries = []
    for item in want_list(items, "DkgTranscript.entries", MAX_TRANSCRIPT_ENTRIES):
        pair = want_list(item, "DkgTranscript entry", 2)
        if len(pair) != 2:
            raise WireDecodeError("DkgTranscript entry: expected [sender, message]")
        sender = want_uint(pair[0], "DkgTranscript entry sender", MAX_REPLICAS - 1)
        entries.append((sender, dkg_message_from_wire(pair[1])))
    return tuple(entries)


def replay_transcript(group: Group, config: DkgConfig,
                      entries: Sequence[TranscriptEntry]) -> DkgState:
    """The state the entries lead to; WireDecodeError if any entry would be rejected (a
    transcript holds accepted messages only, so such a transcript was tampered with)."""
    state = DkgState(group, config)
    for position, (sender, message) in enumerate(entries):
        for event in state.apply(sender, message):
            if isinstance(event, MessageRejected):
                raise WireDecodeError(f"transcript entry {position} is rejected: {event.reason}")
    return state
