"""What a table of n replicas tolerates, said where it is created.

PBFT with n replicas tolerates f = (n - 1) // 3 faulty ones (crashed, lying or colluding):
n = 3f + 1. A table of 1 to 3 replicas has f = 0: every replica must be honest, since any one
of them can corrupt its chips and dice. `table create` says so in its answer (and the CLI
prints it), with how many replicas tolerate one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fault_tolerance", "faults_tolerated", "replicas_for"]


def faults_tolerated(replicas: int) -> int:
    """f: how many of `replicas` may be faulty with the table still safe."""
    return max(0, (replicas - 1) // 3)


def replicas_for(faults: int) -> int:
    """The fewest replicas that tolerate `faults` faulty ones: 3f + 1."""
    return 3 * faults + 1


def fault_tolerance(replicas: int) -> dict[str, Any]:
    """The create answer's fields: ``tolerates_faulty_replicas`` (f), and with f = 0 a
    ``warning`` saying what that means and how many replicas tolerate one."""
    f = faults_tolerated(replicas)
    answer: dict[str, Any] = {"tolerates_faulty_replicas": f}
    if f == 0:
        plural = "replica" if replicas == 1 else "replicas"
        answer["warning"] = (
            f"a table of {replicas} {plural} tolerates no faulty replica (f = 0): it is only "
            f"as honest as each of them, since any one that lies can cheat it of chips or "
            f"dice; {replicas_for(1)} replicas tolerate one faulty replica (n = 3f + 1), "
            f"{replicas_for(2)} tolerate two")
    return answer
