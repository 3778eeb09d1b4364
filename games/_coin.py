"""Fair dice: the threshold coin, the DKG that sets up its key, the dice, roll verification.

The public face of the `_coin_*`, `_dkg_*` and `_dice` modules; docs/fair-dice.md is the
protocol. Pure: the group arithmetic is injected (in the node, accel's libsodium one:
`bitcraps.accel._ed25519_group.SodiumEd25519Group`) and randomness is passed in as seeds.

    state = DkgState(group, DkgConfig(table_id, replicas=4))   # every replica, in log order
    me = DkgParticipant(group, config, replica, seed)          # this replica's private side
    for message in me.outbox(state): submit(message)           # into the ordered log
    me.tick(state)                                             # on the node's ticks
    events = state.apply(sender, message)                      # as each one is ordered
    key, x = state.key, me.secret_share(state)                 # once state.phase is COMPLETE

    share = make_coin_share(group, key, roll, replica, x)      # published for each roll
    coin_round.add(share) -> True once threshold valid shares are in; coin_round.record
    verify_roll(group, key, roll, shares, seed, dice) -> RollVerdict (ok or a named failure)
"""

from ._coin_errors import (
    DkgNotComplete,
    FairDiceError,
    GroupError,
    InvalidCoinShare,
    NotEnoughShares,
    SecretShareUnavailable,
    ShareCheck,
    WireDecodeError,
)
from ._coin_group import BASE, IDENTITY, ORDER, POINT_BYTES, SCALAR_BYTES, Group
from ._coin_key import ThresholdKey, decode_threshold_key, encode_threshold_key
from ._coin_record import RollRecord, decode_roll_record, encode_roll_record
from ._coin_round import CoinRound
from ._coin_share import CoinShare, decode_coin_share, encode_coin_share
from ._coin_threshold import (
    SEED_BYTES,
    coin_base,
    coin_seed,
    combine_coin_shares,
    make_coin_share,
    verify_coin_share,
)
from ._coin_verify import RollFailure, RollVerdict, verify_roll
from ._dice import dice_from_seed
from ._dkg_byzantine import BEHAVIOURS as DKG_BYZANTINE_BEHAVIOURS
from ._dkg_byzantine import ByzantineDkgParticipant
from ._dkg_config import DkgConfig, Phase
from ._dkg_events import (
    ComplaintDismissed,
    DealerDisqualified,
    DkgCompleted,
    DkgEvent,
    DkgFailed,
    MessageAccepted,
    MessageRejected,
    PhaseClosed,
)
from ._dkg_messages import (
    Complaint,
    DkgClose,
    DkgComplaints,
    DkgDealing,
    DkgKey,
    DkgMessage,
    decode_dkg_message,
    encode_dkg_message,
)
from ._dkg_participant import DkgParticipant
from ._dkg_sim import DkgRun, simulate_dkg
from ._dkg_state import DkgState
from ._dkg_transcript import decode_transcript, encode_transcript, replay_transcript

__all__ = [
    "DkgNotComplete", "FairDiceError", "GroupError", "InvalidCoinShare", "NotEnoughShares",
    "SecretShareUnavailable", "ShareCheck", "WireDecodeError",
    "BASE", "IDENTITY", "ORDER", "POINT_BYTES", "SCALAR_BYTES", "Group",
    "ThresholdKey", "decode_threshold_key", "encode_threshold_key",
    "RollRecord", "decode_roll_record", "encode_roll_record",
    "CoinRound", "CoinShare", "decode_coin_share", "encode_coin_share",
    "SEED_BYTES", "coin_base", "coin_seed", "combine_coin_shares", "make_coin_share",
    "verify_coin_share", "RollFailure", "RollVerdict", "verify_roll", "dice_from_seed",
    "DKG_BYZANTINE_BEHAVIOURS", "ByzantineDkgParticipant", "DkgConfig", "Phase",
    "ComplaintDismissed", "DealerDisqualified", "DkgCompleted", "DkgEvent", "DkgFailed",
    "MessageAccepted", "MessageRejected", "PhaseClosed",
    "Complaint", "DkgClose", "DkgComplaints", "DkgDealing", "DkgKey", "DkgMessage",
    "decode_dkg_message", "encode_dkg_message", "DkgParticipant", "DkgRun", "simulate_dkg",
    "DkgState", "decode_transcript", "encode_transcript", "replay_transcript",
]
