"""The verdict rules: how a measured value and its tolerance make a claim hold, fail, or not be testable at
this profile (the four verdicts are described in ``lth.report.ledger``).

Before any comparison, two checks decide whether the runs can test the statement at all:

- a tolerance whose spread has fewer than ``MIN_DOF`` degrees of freedom is not an estimate (two trials give
  one: the 95% interval of the true spread then runs from 0.45 to 32 times the measured one), and
- a tolerance wider than 1 / ``EFFECT_TOLERANCES`` of the distance between the statement's value and its
  ``contrast`` (no effect) cannot reliably tell the statement from its contrary: at 5 trials the tolerance
  itself varied by a factor of up to 3 between two draws, and with less headroom one draw tested the statement
  and the other could not.

Either makes the verdict "not testable at this profile (too few trials)". ``MIN_DOF`` is a chosen threshold.

After the comparison, a value within ``MARGIN_BAND`` tolerances of its threshold is "not testable at this
profile (noise-limited)" when the tolerance is estimated from the trials' spread (finite degrees of freedom): such
a tolerance is itself uncertain (at 5 trials it varied by a factor of 1.4-3 between two draws of the MNIST stage,
docs/claims-ledger.md), so such a value falls on either side of the threshold from one draw to the next. A
tolerance without that uncertainty (a binomial error at thousands of trials, a critical value) keeps the plain
comparison. ``MARGIN_BAND`` is a chosen threshold; it only ever withholds a verdict.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Sequence

from lth.report.ledger.records import (DIRECTION_FAILS, DIRECTION_HOLDS, FAILS, HOLDS, OTHER_SETUP, UNTESTABLE, Claim,
                                       Verdict)
from lth.report.ledger.statistics import Tolerance

MIN_DOF = 2       # chosen: the fewest degrees of freedom of a spread we treat as an estimate of it
MARGIN_BAND = 0.5  # chosen: a verdict needs its value this many tolerances clear of its threshold
EFFECT_TOLERANCES = 2  # chosen: the effect a statement tests must span at least this many tolerances


def too_few_trials(claim: Claim, tol: Tolerance) -> str:
    """Why ``tol`` cannot test ``claim`` ('' when it can): a spread with too few degrees of freedom, or a
    tolerance reaching the statement's contrast."""
    if tol.dof < MIN_DOF:
        return (f"too few trials: the spread behind the tolerance has {tol.dof:.1f} degrees of freedom "
                f"(at least {MIN_DOF} needed; more trials test it)")
    if tol.side_dof < MIN_DOF:
        return (f"too few trials: one side's spread rests on {tol.side_dof:g} degree(s) of freedom (at least "
                f"{MIN_DOF} needed: two trials can agree by chance; more trials test it)")
    effect = abs(claim.paper - claim.contrast) if claim.contrast is not None and claim.paper is not None else None
    if effect is not None and tol.value * EFFECT_TOLERANCES > effect:
        return (f"too few trials: the tolerance ({tol.value:.3g}) is more than 1/{EFFECT_TOLERANCES} of the effect "
                f"the statement tests ({effect:.3g} {claim.unit}), so a re-draw of the trials can decide it "
                "differently; more trials test it")
    return ""


def _judge(claim: Claim, measured: float | None, tol: Tolerance, distance: Callable[[float], float],
           why_not: str) -> Verdict:
    """The verdict from ``distance`` (signed distance of ``measured`` to the threshold, positive when holding)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tol.value, tol.how, why_not or "not reached in our runs", tol.trials)
    reason = too_few_trials(claim, tol)
    if reason:
        return Verdict(claim, UNTESTABLE, measured, tol.value, tol.how, reason, tol.trials)
    gap = distance(measured)
    holds = gap >= 0
    margin = gap / tol.value if tol.value > 0 else None
    if margin is not None and abs(margin) < MARGIN_BAND and math.isfinite(tol.dof):
        return Verdict(claim, UNTESTABLE, measured, tol.value, tol.how,
                       f"noise-limited: the value lies {abs(margin):.2f} tolerances from its threshold (a verdict "
                       f"needs {MARGIN_BAND}; another draw of the trials can fall on either side)", tol.trials, margin)
    return Verdict(claim, HOLDS if holds else FAILS, measured, tol.value, tol.how, "" if holds else why_not,
                   tol.trials, margin)


def equals(claim: Claim, measured: float | None, tol: Tolerance, why_not: str = "") -> Verdict:
    """Holds when |measured - paper| <= tolerance."""
    return _judge(claim, measured, tol, lambda m: tol.value - abs(m - claim.paper), why_not)


def at_least(claim: Claim, measured: float | None, tol: Tolerance, why_not: str = "") -> Verdict:
    """Holds when measured >= paper - tolerance (a statement 'more than X': not significantly below X)."""
    return _judge(claim, measured, tol, lambda m: m - (claim.paper - tol.value), why_not)


def exceeds(claim: Claim, measured: float | None, tol: Tolerance, why_not: str = "") -> Verdict:
    """An effect ('A beats B'): holds when measured - paper > tolerance (significantly above)."""
    return _judge(claim, measured, tol, lambda m: m - claim.paper - tol.value,
                  why_not or "not significantly above the trial spread")


def at_most(claim: Claim, measured: float | None, tol: Tolerance, why_not: str = "") -> Verdict:
    """'No better than': holds when measured <= paper + tolerance (not significantly above)."""
    return _judge(claim, measured, tol, lambda m: claim.paper + tol.value - m, why_not)


def direction(claim: Claim, measured: float | None, tol: Tolerance, why_not: str = "") -> Verdict:
    """A paper's effect at reduced scale (``claim.kind`` DIRECTION, ``claim.paper`` its contrast, no effect):
    the direction holds when ``measured`` lies beyond the contrast by more than the tolerance, as ``exceeds``
    judges an effect; not testable when the tolerance cannot be estimated. Never a "holds": a direction seen in a
    narrower, shorter run is not the paper's value reproduced."""
    verdict = exceeds(claim, measured, tol, why_not or "not beyond the trial spread at reduced scale")
    if verdict.verdict == UNTESTABLE:
        return verdict
    return replace(verdict, verdict=DIRECTION_HOLDS if verdict.verdict == HOLDS else DIRECTION_FAILS)


def _neighbours(levels: list[float], measured: float) -> tuple[float, float]:
    """The levels above and below ``measured``'s nearest level (inf / 0 where the ladder ends)."""
    index = min(range(len(levels)), key=lambda i: abs(math.log(levels[i] / measured)))
    upper = levels[index - 1] if index > 0 else math.inf
    lower = levels[index + 1] if index + 1 < len(levels) else 0.0
    return upper, lower


def on_ladder(claim: Claim, measured: float | None, ladder: Sequence[float], why_not: str = "",
              trials: str = "") -> Verdict:
    """A Pm-level statement: holds when the paper's Pm lies between the neighbours of our level on our
    ladder of levels (its resolution). When the paper's Pm lies on the open side of our ladder's first or last
    level, the ladder cannot locate it: not testable (not a hold). The tolerance is the factor to the farther
    neighbour."""
    levels = sorted(set(float(p) for p in ladder), reverse=True)
    how = "one level of our Pm ladder either side (its resolution)"
    if measured is None:
        return Verdict(claim, FAILS, None, None, how, why_not or "no level of ours shows it", trials)
    upper, lower = _neighbours(levels, measured)
    factor = max(upper / measured if math.isfinite(upper) else 1.0, measured / lower if lower else 1.0)
    how += f" (x{factor:.2f}; margin: the paper's distance to the nearer neighbour, in such steps)"
    if (lower == 0.0 and claim.paper <= measured) or (math.isinf(upper) and claim.paper >= measured):
        return Verdict(claim, UNTESTABLE, measured, round(factor, 3), how,
                       "our value is at the edge of our Pm ladder and the paper's lies beyond it: more levels "
                       "test it", trials)
    holds = lower <= claim.paper <= upper
    return Verdict(claim, HOLDS if holds else FAILS, measured, round(factor, 3), how, "" if holds else why_not,
                   trials, _ladder_margin(claim.paper, lower, upper, factor))


def _ladder_margin(paper: float, lower: float, upper: float, factor: float) -> float | None:
    """How far inside [lower, upper] the paper's Pm lies, in log steps of ``factor`` (negative: outside)."""
    if factor <= 1 or paper <= 0:
        return None
    inside = min(math.log(upper / paper) if math.isfinite(upper) else math.inf,
                 math.log(paper / lower) if lower else math.inf)
    return inside / math.log(factor) if math.isfinite(inside) else None


def table_verdict(claim: Claim, cells: Sequence[Verdict]) -> Verdict:
    """A paper's table as one statement: it holds when every cell does and fails when any testable cell fails
    (the cells are listed beneath it, not counted); our value is the number of cells within their tolerances."""
    within = sum(c.verdict == HOLDS for c in cells)
    testable = [c for c in cells if c.verdict in (HOLDS, FAILS)]
    if len(testable) < len(cells) and not any(c.verdict == FAILS for c in cells):   # a failing cell decides it
        return Verdict(claim, UNTESTABLE, within, None, "each cell's, listed beneath",
                       f"{len(cells) - len(testable)} of {len(cells)} cells are not testable", f"{len(cells)} cells")
    worst = max(testable, key=lambda c: abs((c.measured or 0) - c.claim.paper) - (c.tolerance or 0))
    holds = within == len(cells)
    failing = sum(c.verdict == FAILS for c in cells)
    why = "" if holds else (f"{failing} of {len(cells)} cells differ beyond their tolerance (largest "
                            f"excess: {worst.claim.quote}, ours {worst.measured:.3g})")
    margins = [c.margin for c in testable if c.margin is not None]
    return Verdict(claim, HOLDS if holds else FAILS, within, None, "each cell's, listed beneath; margin: the "
                   "smallest cell's", why, f"{len(cells)} cells", min(margins) if margins else None)


def noise_limited(claim: Claim, measured: float | None, tol: Tolerance | None, why: str) -> Verdict:
    """A Pm-level statement the runs cannot resolve (``why``): the effect that locates it is inside the trial spread
    (the tolerance there is named in the reason, not in the Pm column)."""
    if tol is None:
        return Verdict(claim, UNTESTABLE, measured, None, "", why)
    return Verdict(claim, UNTESTABLE, measured, None, tol.how, f"{why} (the tolerance there: ± {tol.value:.3g})",
                   tol.trials)


def untestable(claim: Claim, why: str, measured: float | None = None) -> Verdict:
    """A claim this profile's runs cannot test (``why``: what would), with our reduced-scale value if any."""
    return Verdict(claim, UNTESTABLE, measured, None, "", why)


def reduced_scale(config: dict[str, Any], extra: Sequence[str] = ()) -> str | None:
    """Why a run cannot test a statement about the paper's full-size net (None: it can): a narrower net or
    fewer training images (as its config says), and ``extra`` reasons."""
    reasons = []
    if config.get("width", 1.0) < 1:
        reasons.append(f"width x{config['width']:g}")
    if config.get("train_examples"):
        reasons.append(f"{config['train_examples']:,} training images")
    reasons += list(extra)
    if not reasons:
        return None
    return ("reduced scale (" + "; ".join(reasons) + "); the paper's net, rounds and trials (profile `paper`) "
            "test it; our reduced-scale value is shown")


def unless_reduced(verdicts: Sequence[Verdict], reason: str | None) -> list[Verdict]:
    """The verdicts as they are, or, when ``reason`` says the run is reduced-scale, each as not testable
    with its measured value shown."""
    return list(verdicts) if reason is None else [untestable(v.claim, reason, v.measured) for v in verdicts]


def other_setup(claim: Claim, why: str) -> Verdict:
    """A claim of another paper version's setup, listed but not compared."""
    return Verdict(claim, OTHER_SETUP, None, None, "", why)
