"""What must hold of a simulated craps table once the run is over, over the honest tables.

- convergence: every honest replica's table has one digest;
- chips: every craps state passes `check_state` (the ledger's conservation law, no negative
  balance, escrow matching the open bets), and the ledger's buy-ins and cash-outs are the
  ones the players' accepted results reported;
- rolls: the table made exactly the rolls the shooters asked for, numbered 0, 1, 2, ...
  with one record each;
- fair: each record verifies with `verify_roll` against the DKG's threshold key, its dice
  are `dice_from_seed(seed)`, and the craps state's recent rolls are those records' dice;
- dkg: the DKG completed; no honest replica was disqualified as a dealer; a dealer whose
  share to an honest replica was bad is disqualified whenever that replica's complaints made
  it into the log; and every honest key holder whose complaints are in can compute its key
  share (so it can post coin shares).

`check_tables` is a plain function over tables so a test can hand it a tampered one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import _coin as coin
from .craps import StateInvariantError, check_state
from .craps_app import MAX_ROLL_RECORDS, CrapsApp

__all__ = ["TableExpectations", "check_tables"]


@dataclass(frozen=True, slots=True)
class TableExpectations:
    group: coin.Group
    rolls: int
    bought_in: int
    cashed_out: int
    honest: frozenset[int]
    """Replica indices honest at the table (their DKG messages and coin shares)."""


def check_tables(tables: Mapping[int, CrapsApp], expect: TableExpectations,
                 participants: Mapping[int, coin.DkgParticipant]) -> list[str]:
    """Every violation found over `tables` (by replica index); `participants` are the honest
    replicas' private DKG sides, which know whether the shares dealt to them were good."""
    digests = {index: table.digest() for index, table in tables.items()}
    out: list[str] = []
    if len(set(digests.values())) > 1:
        groups = {d.hex()[:8]: sorted(i for i in digests if digests[i] == d)
                  for d in digests.values()}
        out.append(f"convergence: honest tables differ {groups}")
    checked: set[bytes] = set()
    for index, table in sorted(tables.items()):
        if digests[index] in checked:
            continue
        checked.add(digests[index])
        where = f"replica {index}"
        out += _check_chips(where, table, expect)
        out += _check_dkg(where, table, expect, participants)
        out += _check_rolls(where, table, expect)
    return out


def _check_chips(where: str, table: CrapsApp, expect: TableExpectations) -> list[str]:
    out = []
    state = table.state
    try:
        check_state(state)
    except StateInvariantError as exc:
        out.append(f"chips: {where}'s table: {exc}")
    ledger = state.ledger
    expected = ledger.bankroll + ledger.bought_in - ledger.cashed_out
    if ledger.total_chips() != expected:
        out.append(f"chips: {where} holds {ledger.total_chips()} chips, not bankroll + buy-ins "
                   f"- cash-outs = {expected}")
    if (ledger.bought_in, ledger.cashed_out) != (expect.bought_in, expect.cashed_out):
        out.append(f"chips: {where}'s ledger has {ledger.bought_in} bought in and "
                   f"{ledger.cashed_out} cashed out; the players' accepted results say "
                   f"{expect.bought_in} and {expect.cashed_out}")
    return out


def _check_dkg(where: str, table: CrapsApp, expect: TableExpectations,
               participants: Mapping[int, coin.DkgParticipant]) -> list[str]:
    dkg = table.dkg
    if dkg.phase is not coin.Phase.COMPLETE:
        return [f"dkg: {where}'s DKG is {dkg.phase.name}: {dkg.failure or 'not complete'}"]
    out = [f"dkg: honest replica {dealer} was disqualified ({reason})"
           for dealer, reason in sorted(dkg.disqualified.items()) if dealer in expect.honest]
    out += [f"dkg: disqualified dealer {dealer} is in the key"
            for dealer in dkg.key.dealers if dealer in dkg.disqualified]
    for index, participant in sorted(participants.items()):
        if index not in dkg.complainers:
            continue
        for dealer in sorted(dkg.dealings):
            if participant.share_from(dkg, dealer) is None and dealer not in dkg.disqualified:
                out.append(f"dkg: dealer {dealer} dealt replica {index} a bad share, "
                           f"{index} complained in time, yet {dealer} is qualified")
        try:
            participant.secret_share(dkg)
        except coin.FairDiceError as exc:
            out.append(f"dkg: honest replica {index} has no key share: {exc}")
    return out


def _check_rolls(where: str, table: CrapsApp, expect: TableExpectations) -> list[str]:
    state = table.state
    if state.roll_number != expect.rolls:
        return [f"rolls: {where}'s table made {state.roll_number} rolls; the shooters asked "
                f"for {expect.rolls}"]
    wanted = list(range(max(0, state.roll_number - MAX_ROLL_RECORDS), state.roll_number))
    if sorted(table.rolls) != wanted:
        return [f"rolls: {where} keeps records for rolls {sorted(table.rolls)}, not {wanted}"]
    key = _key(table)
    out: list[str] = []
    if key is not None:
        for roll in wanted:
            out += _check_roll(where, roll, table.rolls[roll].record, expect.group, key)
    elif wanted:
        out.append(f"fair: {where} made rolls without a threshold key")
    recent = tuple(table.rolls[r].record.dice for r in wanted[-len(state.recent_rolls):])
    if state.recent_rolls and state.recent_rolls != recent:
        out.append(f"fair: {where}'s craps state shows rolls {state.recent_rolls}, its roll "
                   f"records {recent}")
    return out


def _key(table: CrapsApp) -> coin.ThresholdKey | None:
    try:
        return table.dkg.key
    except coin.DkgNotComplete:
        return None


def _check_roll(where: str, roll: int, record: coin.RollRecord, group: coin.Group,
                key: coin.ThresholdKey) -> list[str]:
    out = []
    if record.roll != roll:
        out.append(f"rolls: {where}'s record for roll {roll} is roll {record.roll}'s")
    verdict = coin.verify_roll(group, key, roll, record.shares, record.seed, record.dice)
    if not verdict.ok:
        failure = verdict.failure.value if verdict.failure else ""
        out.append(f"fair: {where}'s roll {roll} does not verify: {failure} ({verdict.detail})")
    if coin.dice_from_seed(record.seed) != record.dice:
        out.append(f"fair: {where}'s roll {roll} shows {record.dice}, its seed gives "
                   f"{coin.dice_from_seed(record.seed)}")
    return out
