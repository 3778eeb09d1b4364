"""The house edge of every bet, computed exactly from the engine's own settlements.

For a bet placed on a fresh table, each of the 36 dice outcomes is applied by the engine: the
bet is settled (its net is read from the `Settled` event) or carried into a new situation (the
point and the bet as it now stands). That is an absorbing Markov chain; solving its linear
equations over `Fraction` gives the exact expected net, and the edge is -EV / chips escrowed.
Stakes are 120 chips (or what a bet needs), so that every payout is a whole number of chips and
the rounding rule plays no part; `test_rounding_only_ever_raises_the_edge` shows its effect.

Run this file to print the table in docs/craps.md: python tests/games/test_craps_house_edge.py
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from craps_helpers import ALICE, TABLE, act, roll_total, settled

from bitcraps.games.craps import (
    BetKind,
    BetPlaced,
    CrapsState,
    Join,
    PlaceBet,
    PlaceOdds,
    Roll,
    TableConfig,
    hop_code,
)

K = BetKind
STAKE = 120
DEFAULT = TableConfig()
UPFRONT = TableConfig(commission_on_win_only=False)
Setup = Callable[[], tuple[CrapsState, BetPlaced]]


def _fresh(config: TableConfig = DEFAULT) -> CrapsState:
    return act(TABLE.initial_state(config), Join(ALICE, 100_000))[0]


def simple(kind: BetKind, number: int | None = None, config: TableConfig = DEFAULT) -> Setup:
    """The bet at 120 chips, on a come-out roll (come bets: once the point is 4)."""

    def setup() -> tuple[CrapsState, BetPlaced]:
        state = _fresh(config)
        if kind in (K.COME, K.DONT_COME):
            state, _ = roll_total(state, 4)
        state, (placed,) = act(state, PlaceBet(ALICE, kind, STAKE, number))
        return state, placed

    return setup


def odds(line: BetKind, point: int) -> Setup:
    """120 chips of odds behind a 40-chip line bet whose point is ``point``."""

    def setup() -> tuple[CrapsState, BetPlaced]:
        state = _fresh()
        if line in (K.COME, K.DONT_COME):
            state, _ = roll_total(state, 4 if point != 4 else 10)
        state, (base,) = act(state, PlaceBet(ALICE, line, 40))
        state, _ = roll_total(state, point)
        state, (placed,) = act(state, PlaceOdds(ALICE, base.bet_id, STAKE))
        return state, placed

    return setup


def expected_net(state: CrapsState, placed: BetPlaced) -> Fraction:
    """The exact expected net chips of bet ``placed`` from ``state`` onwards."""
    bet_id, escrow = placed.bet_id, placed.escrow
    index: dict[object, int] = {}
    situations: list[CrapsState] = []
    rows: list[dict[int, Fraction]] = []
    constants: list[Fraction] = []

    def situation(s: CrapsState) -> int:
        key = (s.point, s.bet(bet_id))
        if key not in index:
            index[key] = len(situations)
            situations.append(s)
        return index[key]

    situation(state)
    while len(rows) < len(situations):
        here = situations[len(rows)]
        row: dict[int, Fraction] = {len(rows): Fraction(1)}
        constant = Fraction(0)
        for die1 in range(1, 7):
            for die2 in range(1, 7):
                assert here.shooter is not None
                after, events = TABLE.apply(here, Roll(here.shooter, here.roll_number, die1, die2))
                result = settled(events, bet_id)
                if result is not None:
                    constant += Fraction(result.returned + result.paid - escrow, 36)
                else:
                    column = situation(after)
                    row[column] = row.get(column, Fraction(0)) - Fraction(1, 36)
        rows.append(row)
        constants.append(constant)
    return _solve(rows, constants)[0]


def _solve(rows: list[dict[int, Fraction]], constants: list[Fraction]) -> list[Fraction]:
    """Gauss-Jordan elimination over exact fractions."""
    size = len(rows)
    matrix = [
        [row.get(c, Fraction(0)) for c in range(size)] + [k]
        for row, k in zip(rows, constants, strict=True)
    ]
    for col in range(size):
        pivot = next(r for r in range(col, size) if matrix[r][col] != 0)
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        lead = matrix[col][col]
        matrix[col] = [value / lead for value in matrix[col]]
        for r in range(size):
            if r != col and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col], strict=True)]
    return [matrix[r][size] for r in range(size)]


def house_edge(setup: Setup) -> Fraction:
    state, placed = setup()
    return -expected_net(state, placed) / placed.escrow


# name -> (setup, the standard house edge, as exact fraction)
BETS: dict[str, tuple[Setup, Fraction]] = {
    "pass": (simple(K.PASS), Fraction(7, 495)),
    "don't pass": (simple(K.DONT_PASS), Fraction(3, 220)),
    "come": (simple(K.COME), Fraction(7, 495)),
    "don't come": (simple(K.DONT_COME), Fraction(3, 220)),
    "field (2 pays 2:1, 12 pays 3:1)": (simple(K.FIELD), Fraction(1, 36)),
    "field (2 and 12 pay 2:1)": (
        simple(K.FIELD, config=TableConfig(field_12_pays=2)),
        Fraction(1, 18),
    ),
    "place 4 / 10": (simple(K.PLACE, 4), Fraction(1, 15)),
    "place 5 / 9": (simple(K.PLACE, 9), Fraction(1, 25)),
    "place 6 / 8": (simple(K.PLACE, 6), Fraction(1, 66)),
    "buy 4 / 10": (simple(K.BUY, 10), Fraction(1, 60)),
    "buy 5 / 9": (simple(K.BUY, 5), Fraction(1, 50)),
    "buy 6 / 8": (simple(K.BUY, 8), Fraction(1, 44)),
    "lay 4 / 10": (simple(K.LAY, 4), Fraction(1, 60)),
    "lay 5 / 9": (simple(K.LAY, 9), Fraction(1, 50)),
    "lay 6 / 8": (simple(K.LAY, 6), Fraction(1, 44)),
    "buy 4 / 10, commission always": (simple(K.BUY, 4, UPFRONT), Fraction(1, 21)),
    "buy 5 / 9, commission always": (simple(K.BUY, 9, UPFRONT), Fraction(1, 21)),
    "buy 6 / 8, commission always": (simple(K.BUY, 6, UPFRONT), Fraction(1, 21)),
    "lay 4 / 10, commission always": (simple(K.LAY, 10, UPFRONT), Fraction(1, 41)),
    "lay 5 / 9, commission always": (simple(K.LAY, 5, UPFRONT), Fraction(1, 31)),
    "lay 6 / 8, commission always": (simple(K.LAY, 8, UPFRONT), Fraction(1, 25)),
    "big 6 / big 8": (simple(K.BIG, 8), Fraction(1, 11)),
    "hard 4 / 10": (simple(K.HARDWAY, 4), Fraction(1, 9)),
    "hard 6 / 8": (simple(K.HARDWAY, 8), Fraction(1, 11)),
    "any 7": (simple(K.ANY_SEVEN), Fraction(1, 6)),
    "any craps": (simple(K.ANY_CRAPS), Fraction(1, 9)),
    "aces / boxcars": (simple(K.BOXCARS), Fraction(5, 36)),
    "ace-deuce / yo": (simple(K.YO), Fraction(1, 9)),
    "horn": (simple(K.HORN), Fraction(1, 8)),
    "C & E": (simple(K.C_AND_E), Fraction(1, 9)),
    "hop, easy (e.g. 1-2)": (simple(K.HOP, hop_code(1, 2)), Fraction(1, 9)),
    "hop, hard (e.g. 3-3)": (simple(K.HOP, hop_code(3, 3)), Fraction(5, 36)),
    **{f"pass odds on {p}": (odds(K.PASS, p), Fraction(0)) for p in (4, 5, 6)},
    **{f"don't pass lay odds on {p}": (odds(K.DONT_PASS, p), Fraction(0)) for p in (4, 5, 6)},
    "come odds on 5 (off on the come-out)": (odds(K.COME, 5), Fraction(0)),
    "don't come lay odds on 8": (odds(K.DONT_COME, 8), Fraction(0)),
}
# The separately listed twins of a bet (place 8 for place 6, ...) are the same by symmetry;
# these check a few of them through the engine too.
TWINS = {
    "place 8": (simple(K.PLACE, 8), Fraction(1, 66)),
    "place 10": (simple(K.PLACE, 10), Fraction(1, 15)),
    "hard 10": (simple(K.HARDWAY, 10), Fraction(1, 9)),
    "big 6": (simple(K.BIG, 6), Fraction(1, 11)),
    "aces": (simple(K.ACES), Fraction(5, 36)),
    "ace-deuce": (simple(K.ACE_DEUCE), Fraction(1, 9)),
    "pass odds on 10": (odds(K.PASS, 10), Fraction(0)),
}


@pytest.mark.parametrize(("setup", "edge"), [*BETS.values(), *TWINS.values()], ids=[*BETS, *TWINS])
def test_house_edge_is_the_standard_one(setup: Setup, edge: Fraction) -> None:
    assert house_edge(setup) == edge


def test_the_quoted_percentages() -> None:
    quoted = {
        "pass": "1.414",
        "don't pass": "1.364",
        "place 6 / 8": "1.515",
        "lay 4 / 10, commission always": "2.439",
    }
    for name, percent in quoted.items():
        assert f"{float(BETS[name][1]) * 100:.3f}" == percent


def test_rounding_only_ever_raises_the_edge() -> None:
    """Place 6 at every stake from 5 to 18: floor(7/6 * stake) never beats the exact payout."""
    exact = Fraction(1, 66)
    for stake in range(5, 19):
        state, (placed,) = act(_fresh(), PlaceBet(ALICE, K.PLACE, stake, 6))
        edge = -expected_net(state, placed) / stake
        assert edge >= exact and (edge == exact) == (stake % 6 == 0), stake


def markdown_table() -> str:
    lines = ["| bet | house edge (exact) | per cent |", "|---|---|---|"]
    for name, (setup, _) in BETS.items():
        edge = house_edge(setup)
        lines.append(f"| {name} | {edge} | {float(edge) * 100:.3f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
