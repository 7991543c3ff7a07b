"""What the LeNet IMP pages (``mnist``, ``mnist_v1``) share: where a role's accuracy falls below the dense net's
for good (and its verdict on the Pm ladder), the every-level table, and the note on how trainings stop."""
from __future__ import annotations

from typing import Any

from lth.report.common import at_last_evaluation, level_cell, level_pm, markdown_table
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import on_ladder
from lth.report.ledger.statistics import TrialSpread, role_mean

CLAIM_LEVELS_PM = 3.5         # the claims use levels at Pm >= this (%): down to the level nearest 3.6%

LEVEL_ROLES = (("ticket", "ticket"), ("reinit", "reinit"), ("rewire", "rewiring"), ("random_mask", "random mask"),
               ("han", "Han"))


def sustained_crossing(pm, values, reference, below=True):
    """Largest Pm from which on (towards sparser levels) every mean is below ``reference`` (``below``) or
    at/above it (not ``below``): where a curve drops below, or returns to, the dense network for good.
    Single noisy dips at moderate sparsity do not count."""
    found = None
    for p, v in sorted(zip(pm, values)):            # sparsest first
        if not ((v < reference) if below else (v >= reference)):
            break
        found = float(p)
    return found


def falls_from(rounds: list[dict[str, Any]], role: str, dense: dict[str, Any], spread: TrialSpread) -> float | None:
    """Largest Pm from which on every sparser level's mean accuracy of ``role`` is below the dense net's by
    more than two standard errors of the difference."""
    levels = [r for r in rounds[1:] if role in r]
    pm = [level_pm(r) for r in levels]
    below = [100 * (role_mean(r[role], "early_stop_accuracy") - role_mean(dense, "early_stop_accuracy"))
             + spread.accuracy(r[role], dense)[0] for r in levels]
    return sustained_crossing(pm, below, 0.0)


def falls_verdict(claim: Claim, rounds: list[dict[str, Any]], role: str, dense: dict[str, Any],
                  spread: TrialSpread, baseline: str) -> Verdict:
    """Where ``role``'s accuracy falls for good, against the paper's level on our IMP ladder."""
    falls = falls_from(rounds, role, dense, spread)
    why = (f"{role} accuracy falls for good at another level ({baseline})" if falls is not None else
           f"{role} accuracy never stays below the dense net's by more than 2 SE down to "
           f"Pm {level_pm(rounds[-1]):.1f}% ({baseline})")
    return on_ladder(claim, falls, [level_pm(r) for r in rounds], why)


def levels_table(rounds: list[dict[str, Any]]) -> str:
    """Every level's early-stop iteration / test accuracy per role (the roles a run has)."""
    roles = [(role, name) for role, name in LEVEL_ROLES if any(role in r for r in rounds)]
    rows = [[f"{level_pm(r):.1f}"] + [level_cell(r[role]) if role in r else "–" for role, _ in roles]
            for r in rounds]
    return markdown_table(["Pm %"] + [name for _, name in roles], rows)


def early_stopping_note(config: dict[str, Any], rounds: list[dict[str, Any]]) -> str:
    """How trainings stop (``patience``) and how many at the claims' levels (Pm >= ``CLAIM_LEVELS_PM``) were
    still improving."""
    patience = config.get("patience", 0)
    members = [r[role] for r in rounds if level_pm(r) >= CLAIM_LEVELS_PM for role in r
               if isinstance(r[role], dict) and "early_stop_iteration" in r[role]]
    capped = sum(at_last_evaluation(m) for m in members)
    trained = sum(len(m["early_stop_iteration"]) for m in members)
    if not patience:
        return (f"\n\nAt the levels the claims use (Pm >= {CLAIM_LEVELS_PM:g}%) {capped} of {trained} trainings have "
                f"their minimum at their last evaluation (marked `*n` in the table and ringed in the figures).")
    return (f"\n\nEach training stops {patience} iterations after its last improvement of the validation loss "
            f"(`patience`; the paper trains every run for 50,000 iterations): the early-stop point is the same "
            f"as a full-length run's unless the validation loss would later fall below its minimum again "
            f"(docs/measurements.md: measured effect). At the levels the claims use (Pm >= {CLAIM_LEVELS_PM:g}%) "
            f"{capped} of {trained} trainings have their minimum at their last evaluation (still improving when stopped; marked "
            f"`*n` in the table and ringed in the figures).")

