"""Tolerances for the pruning-ladder runs (IMP levels, one-shot levels, sweeps): each role's trial spread pooled
over its sparse levels, the dense net's from its own trials, so a ticket-minus-dense difference carries both."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lth.report.ledger.statistics import Spread, Tolerance, difference, ratio

DENSE = "dense"


def _accuracies(members: dict[str, Any]) -> list[float]:
    return list(100 * np.asarray(members["early_stop_accuracy"], dtype=float))


def _log_iterations(members: dict[str, Any]) -> list[float]:
    return list(np.log(np.maximum(np.asarray(members["early_stop_iteration"], dtype=float), 1)))


class LevelSpreads:
    """Per role (``ticket``, ``reinit``, ...), the spread of early-stop accuracy (pp) and of log early-stop
    iteration pooled over the sparse levels of ``levels`` (``levels[0]`` is the dense net, whose own trials
    give the ``dense`` spread)."""

    def __init__(self, levels: Sequence[dict[str, Any]], dense: dict[str, Any]):
        roles = sorted({role for lv in levels[1:] for role, m in lv.items()
                        if isinstance(m, dict) and "early_stop_accuracy" in m})
        self.accuracy = {DENSE: Spread.of([_accuracies(dense)], "the dense net's own trials")}
        self.iterations = {DENSE: Spread.of([_log_iterations(dense)], "the dense net's own trials")}
        for role in roles:
            groups = [lv[role] for lv in levels[1:] if role in lv]
            where = f"{role} trials pooled over {len(groups)} levels"
            self.accuracy[role] = Spread.of([_accuracies(m) for m in groups], where)
            self.iterations[role] = Spread.of([_log_iterations(m) for m in groups], where)

    def accuracy_difference(self, a: dict[str, Any], a_role: str, b: dict[str, Any], b_role: str,
                            paper_trials: int | None = None) -> Tolerance:
        """Tolerance of mean accuracy of ``a`` minus ``b`` (pp), each side with its role's spread (and the
        paper's sampling error at ``paper_trials`` when compared with the paper's value)."""
        return difference(self.accuracy[a_role], _n(a), self.accuracy[b_role], _n(b), paper_trials)

    def iteration_ratio(self, value: float, a: dict[str, Any], a_role: str, b: dict[str, Any],
                        b_role: str, paper_trials: int | None = None) -> Tolerance:
        """Tolerance of the ratio ``value`` of mean early-stop iterations of ``a`` over ``b`` (as above)."""
        return ratio(value, self.iterations[a_role], _n(a), self.iterations[b_role], _n(b), paper_trials)


def _n(members: dict[str, Any]) -> int:
    return len(members["early_stop_accuracy"])
