"""The spreads the ledger's tolerances come from: pooled trial standard deviations, standard errors of means
and of differences, and the trial spread of a comparison of two roles over a run's levels."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def pooled_sd(groups: Sequence[Sequence[float]]) -> float:
    """The pooled standard deviation of several groups of trials (groups of one member add nothing);
    NaN when no group has two members."""
    num = sum((len(g) - 1) * float(np.var(g, ddof=1)) for g in groups if len(g) > 1)
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    return math.sqrt(num / dof) if dof else math.nan


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean of some independent values and its standard error (NaN for a single value)."""
    mean = float(np.mean(values))
    return mean, float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else math.nan


def difference_tolerance(sd: float, n_a: int, n_b: int) -> float:
    """Two standard errors of a difference of two means of ``n_a`` and ``n_b`` trials with spread ``sd``."""
    return 2 * sd * math.sqrt(1 / n_a + 1 / n_b)


def _trial_groups(rounds: list[dict[str, Any]], roles: tuple[str, ...], metric: str,
                 log: bool = False) -> list[list[float]]:
    """Per level and role, the trials' values of ``metric`` (accuracies in pp; iterations on a log scale)."""
    return [list(np.log(np.maximum(r[role][metric], 1)) if log else 100 * np.array(r[role][metric]))
            for r in rounds for role in roles if role in r]


class TrialSpread:
    """Tolerances of a comparison of two roles, from the pooled trial-to-trial spread of their levels."""

    def __init__(self, rounds: list[dict[str, Any]], roles: tuple[str, ...]):
        accuracies = _trial_groups(rounds, roles, "early_stop_accuracy")
        self.accuracy_sd = pooled_sd(accuracies)
        # early-stop iterations vary multiplicatively: their spread is pooled on a log scale
        self.log_iteration_sd = pooled_sd(_trial_groups(rounds, roles, "early_stop_iteration", log=True))
        self.groups = len(accuracies)
        self.roles = roles

    def accuracy(self, a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
        """(two standard errors of a difference of mean accuracies in pp, how it was derived)."""
        tol = difference_tolerance(self.accuracy_sd, len(a["early_stop_accuracy"]), len(b["early_stop_accuracy"]))
        return tol, (f"2 SE of the difference; trial SD {self.accuracy_sd:.2f} pp pooled over {self.groups} "
                     f"groups ({'/'.join(self.roles)} at every level)")

    def ratio(self, ratio: float, a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
        """(two standard errors of a ratio of mean early-stop iterations, how it was derived)."""
        se = self.log_iteration_sd * math.sqrt(1 / len(a["early_stop_iteration"]) + 1 / len(b["early_stop_iteration"]))
        return 2 * se * ratio, (f"2 SE; trial SD of log early-stop iteration {self.log_iteration_sd:.2f} pooled over "
                                f"{self.groups} groups ({'/'.join(self.roles)} at every level)")


def role_mean(members: dict[str, Any], metric: str) -> float:
    """Mean of ``metric`` over a role's members at one level."""
    return float(np.mean(members[metric]))

