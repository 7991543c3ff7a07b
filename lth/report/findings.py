"""The one-line findings of the report's first screen that several pages phrase alike, from the results alone:
how IMP tickets (and their random-reinit controls) compare with the dense net over a run's levels, and which
setting of a sweep gives the most accurate tickets."""
from __future__ import annotations

from typing import Any

import numpy as np

from lth.report.common import level_pm


def mean_accuracy(members: dict[str, Any]) -> float:
    """Mean test accuracy at early stop over a level's members, in percent."""
    return 100 * float(np.mean(members["early_stop_accuracy"]))


def sparsest_at_dense(rounds: list[dict[str, Any]], role: str) -> str:
    """'Pm 3.6%': the sparsest pruned level whose mean accuracy of ``role`` is at least the dense net's (as the
    stopping-rule table reads a winning ticket), or 'none'."""
    dense = mean_accuracy(rounds[0]["ticket"])
    matching = [level_pm(r) for r in rounds[1:] if role in r and mean_accuracy(r[role]) >= dense]
    return f"Pm {min(matching):.1f}%" if matching else "none"


def _most_accurate(rounds: list[dict[str, Any]]) -> tuple[float, float]:
    """(accuracy %, Pm %) of the pruned level with the most accurate tickets (the dense net when none is pruned)."""
    level = max(rounds[1:] or rounds, key=lambda r: mean_accuracy(r["ticket"]))
    return mean_accuracy(level["ticket"]), level_pm(level)


def best_ticket(rounds: list[dict[str, Any]]) -> tuple[float, float]:
    """(Pm %, accuracy gain over the dense net in pp) of the pruned level with the most accurate tickets."""
    accuracy, pm = _most_accurate(rounds)
    return pm, accuracy - mean_accuracy(rounds[0]["ticket"])


def ticket_finding(rounds: list[dict[str, Any]]) -> str:
    """The tickets' best gain over the dense net and the sparsest level where they are at or above it (and
    where random reinit is): the lottery ticket hypothesis in one line."""
    if len(rounds) < 2:
        return f"dense net only ({mean_accuracy(rounds[0]['ticket']):.2f}%)"
    pm, gain = best_ticket(rounds)
    text = (f"tickets {gain:+.2f} pp vs the dense net at Pm {pm:.1f}%; sparsest at or above it: "
            f"{sparsest_at_dense(rounds, 'ticket')}")
    if any("reinit" in r for r in rounds[1:]):
        text += f" (random reinit: {sparsest_at_dense(rounds, 'reinit')})"
    return text


def best_setting(settings: list[tuple[str, list[dict[str, Any]]]]) -> str:
    """'sigma 0.1 (98.41%, Pm 21.1%)': the setting of a sweep whose most accurate tickets are the most accurate,
    with their accuracy and level."""
    label, (accuracy, pm) = max(((label, _most_accurate(rounds)) for label, rounds in settings),
                                key=lambda item: item[1][0])
    return f"{label} ({accuracy:.2f}%, Pm {pm:.1f}%)"
