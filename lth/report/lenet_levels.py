"""What the LeNet IMP pages (``mnist``, ``mnist_v1``) share: where a role's accuracy falls below the dense net's
for good, where a range of levels ends, Han et al.'s comparison (each as a verdict on the Pm ladder, with the
trial noise allowed for), the every-level table, and the note on how trainings stop."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from lth.report.common import cut_short, level_cell, level_pm, markdown_table
from lth.report.ledger.levels import DENSE, LevelSpreads
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import exceeds, noise_limited, on_ladder, too_few_trials, untestable
from lth.report.ledger.statistics import role_mean, trials

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


def accuracy_gap(level: dict[str, Any], role: str, dense: dict[str, Any]) -> float:
    """Mean test accuracy at early stop of ``role`` at ``level`` minus the dense net's (pp)."""
    return 100 * (role_mean(level[role], "early_stop_accuracy") - role_mean(dense, "early_stop_accuracy"))


def falls_from(levels: Sequence[dict[str, Any]], role: str, dense: dict[str, Any],
               spreads: LevelSpreads) -> float | None:
    """Largest Pm from which on every sparser level's mean accuracy of ``role`` is below the dense net's by
    more than the tolerance of the difference (both sides' spreads)."""
    pruned = [lv for lv in levels[1:] if role in lv]
    below = [accuracy_gap(lv, role, dense) + spreads.accuracy_difference(lv[role], role, dense, DENSE).value
             for lv in pruned]
    return sustained_crossing([level_pm(lv) for lv in pruned], below, 0.0)


def falls_verdict(claim: Claim, levels: Sequence[dict[str, Any]], role: str, dense: dict[str, Any],
                  spreads: LevelSpreads, baseline: str) -> Verdict:
    """Where ``role``'s accuracy falls for good, against the paper's level on our ladder; not testable when the
    tolerance at the paper's level has too few trials behind it."""
    pruned = [lv for lv in levels[1:] if role in lv]
    if not pruned:
        return untestable(claim, f"no {role} runs in this profile")
    near = min(pruned, key=lambda lv: abs(level_pm(lv) - claim.paper))
    tol = spreads.accuracy_difference(near[role], role, dense, DENSE)
    reason = too_few_trials(claim, tol)
    if reason:
        return noise_limited(claim, falls_from(levels, role, dense, spreads), tol, reason)
    falls = falls_from(levels, role, dense, spreads)
    why = (f"{role} accuracy falls for good at another level ({baseline})" if falls is not None else
           f"{role} accuracy never stays below the dense net's beyond the tolerance down to "
           f"Pm {level_pm(pruned[-1]):.1f}% ({baseline})")
    return on_ladder(claim, falls, [level_pm(lv) for lv in levels], why, tol.trials)


def range_verdict(claim: Claim, levels: Sequence[dict[str, Any]], metric: str, dense: dict[str, Any],
                  spreads: LevelSpreads, better: Callable[[float, float], bool], why_not: str) -> Verdict:
    """A range statement ('better than the dense net down to Pm X'): the sparsest level down to which every
    level's tickets beat the dense net on ``metric`` (from the densest). The end is located only when it is
    bracketed: the level that ends the range and the last level inside it both differ from the dense net beyond
    the tolerance; else the end is lost in the noise (not testable; a re-draw of the trials moved it)."""
    dense_mean = role_mean(dense, metric)
    ordered = sorted(levels[1:], key=lambda lv: -level_pm(lv))
    end, breaker = None, None
    for lv in ordered:
        if not better(role_mean(lv["ticket"], metric), dense_mean):
            breaker = lv
            break
        end = lv
    ladder = [100.0] + [level_pm(lv) for lv in ordered]
    if breaker is not None:
        for side, level in (("ends", breaker), ("is the last inside", end)):
            if level is None:
                continue
            tol, gap = difference_to_dense(level, metric, dense, spreads)
            reason = too_few_trials(claim, tol) or ("" if abs(gap) > tol.value else
                                                    f"noise-limited: the level that {side} the range (Pm "
                                                    f"{level_pm(level):.1f}%) differs from the dense net by less "
                                                    f"than the tolerance ({abs(gap):.3g} vs {tol.value:.3g})")
            if reason:
                return noise_limited(claim, level_pm(end) if end else None, tol, reason)
    return on_ladder(claim, level_pm(end) if end else None, ladder, why_not, f"{trials(ordered[0]['ticket'])} "
                     f"vs {trials(dense)}")


def difference_to_dense(level: dict[str, Any], metric: str, dense: dict[str, Any], spreads: LevelSpreads):
    """(tolerance, gap) of the tickets at ``level`` against the dense net on ``metric`` (accuracy: the difference
    in pp; iteration: the ratio minus 1, with the ratio's tolerance)."""
    if metric == "early_stop_accuracy":
        return (spreads.accuracy_difference(level["ticket"], "ticket", dense, DENSE),
                accuracy_gap(level, "ticket", dense))
    ratio = role_mean(level["ticket"], metric) / role_mean(dense, metric)
    return spreads.iteration_ratio(ratio, level["ticket"], "ticket", dense, DENSE), ratio - 1


def han_verdict(claim: Claim, levels: Sequence[dict[str, Any]], spreads: LevelSpreads) -> Verdict:
    """v1 §6: resetting to the init beats Han et al.'s continued training at the sparsest level."""
    last = levels[-1]
    if "han" not in last:
        return untestable(claim, "Han et al.'s baseline is not trained in this run")
    gap = 100 * (role_mean(last["ticket"], "early_stop_accuracy") - role_mean(last["han"], "early_stop_accuracy"))
    tol = spreads.accuracy_difference(last["ticket"], "ticket", last["han"], "han")
    return exceeds(claim, gap, tol, "rewinding is not significantly more accurate than continued training at "
                   f"the sparsest level (Pm {level_pm(last):.1f}%)")


def levels_table(rounds: list[dict[str, Any]]) -> str:
    """Every level's early-stop iteration / test accuracy per role (the roles a run has)."""
    roles = [(role, name) for role, name in LEVEL_ROLES if any(role in r for r in rounds)]
    rows = [[f"{level_pm(r):.1f}"] + [level_cell(r[role]) if role in r else "–" for role, _ in roles]
            for r in rounds]
    return markdown_table(["Pm %"] + [name for _, name in roles], rows)


def early_stopping_note(config: dict[str, Any], rounds: list[dict[str, Any]]) -> str:
    """How trainings stop (``patience``) and how many at the claims' levels (Pm >= ``CLAIM_LEVELS_PM``) were
    cut short by the iteration cap."""
    patience = config.get("patience", 0)
    members = [r[role] for r in rounds if level_pm(r) >= CLAIM_LEVELS_PM for role in r
               if isinstance(r[role], dict) and "early_stop_iteration" in r[role]]
    capped = sum(cut_short(m) for m in members)
    trained = sum(len(m["early_stop_iteration"]) for m in members)
    counted = (f"At the levels the claims use (Pm >= {CLAIM_LEVELS_PM:g}%) {capped} of {trained} trainings have "
               "been cut short by the iteration cap before their patience ran out (lower bounds, kept out of "
               "the ledger's ratios; marked `*n` in the table and ringed in the figures).")
    if not patience:
        return "\n\n" + counted
    return (f"\n\nEach training stops {patience} iterations after its last improvement of the validation loss "
            f"(`patience`; the paper trains every run for 50,000 iterations): the early-stop point is the same "
            f"as a full-length run's unless the validation loss would later fall below its minimum again "
            f"(docs/measurements.md: measured effect). {counted}")
