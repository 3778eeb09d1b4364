"""What a run gives back: one scenario's verdict, and the summary of many."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScenarioResult:
    seed: int
    replicas: int
    faults: tuple[str, ...]
    violations: list[str]
    liveness: list[str]
    replay: str
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return not self.liveness

    @property
    def ok(self) -> bool:
        return self.live and not self.violations

    def describe(self) -> str:
        lines = [f"seed {self.seed} (n={self.replicas}, faults {','.join(self.faults) or 'none'}):"]
        lines += [f"  violation: {v}" for v in self.violations]
        lines += [f"  liveness: {v}" for v in self.liveness]
        lines.append(f"  replay: {self.replay}")
        return "\n".join(lines)


def summarize(results: list[ScenarioResult], replicas: int, faults: str) -> dict[str, Any]:
    totals: dict[str, int] = {}
    for result in results:
        for key, value in result.stats.items():
            if key.startswith("max_"):
                totals[key] = max(totals.get(key, 0), value)
            else:
                totals[key] = totals.get(key, 0) + value
    failed = [r for r in results if not r.ok]
    return {
        "scenarios": len(results),
        "violations": sum(len(r.violations) for r in results),
        "live": sum(1 for r in results if r.live),
        "failed_seeds": [r.seed for r in failed],
        "replicas": replicas,
        "faults": faults,
        "failures": [{"seed": r.seed, "faults": list(r.faults), "violations": r.violations,
                      "liveness": r.liveness, "replay": r.replay} for r in failed],
        "totals": totals,
    }
