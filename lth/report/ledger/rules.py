"""The verdict rules: how a measured value and its tolerance make a claim hold, fail, or not be testable at
this profile (the four verdicts are described in ``lth.report.ledger``)."""
from __future__ import annotations

import math
from typing import Any, Sequence

from lth.report.ledger.records import FAILS, HOLDS, OTHER_SETUP, UNTESTABLE, Claim, Verdict


def equals(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
           why_not: str = "") -> Verdict:
    """Holds when |measured - paper| <= tolerance."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = abs(measured - claim.paper) <= tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how, "" if holds else why_not)


def at_least(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
             why_not: str = "") -> Verdict:
    """Holds when measured >= paper - tolerance (a statement 'more than X': not significantly below X)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = measured >= claim.paper - tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how, "" if holds else why_not)


def on_ladder(claim: Claim, measured: float | None, ladder: Sequence[float], why_not: str = "") -> Verdict:
    """A Pm-level statement: holds when the paper's Pm lies between the neighbours of our level on our
    ladder of levels (its resolution); the tolerance reported is the factor to the farther neighbour."""
    levels = sorted(set(float(p) for p in ladder), reverse=True)
    how = "one level of our Pm ladder either side (its resolution)"
    if measured is None:
        return Verdict(claim, FAILS, None, None, how, why_not or "no level of ours shows it")
    index = min(range(len(levels)), key=lambda i: abs(math.log(levels[i] / measured)))
    upper = levels[index - 1] if index > 0 else math.inf
    lower = levels[index + 1] if index + 1 < len(levels) else 0.0
    holds = lower <= claim.paper <= upper
    factor = max(upper / measured if math.isfinite(upper) else 1.0, measured / lower if lower else 1.0)
    return Verdict(claim, HOLDS if holds else FAILS, measured, round(factor, 3), how + " (x" + f"{factor:.2f})",
                   "" if holds else why_not)


def exceeds(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
            why_not: str = "") -> Verdict:
    """An effect ('A beats B'): holds when measured - paper > tolerance (significantly above)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = measured - claim.paper > tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how,
                   "" if holds else why_not or "not significantly above the trial spread")


def at_most(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
            why_not: str = "") -> Verdict:
    """'No better than': holds when measured <= paper + tolerance (not significantly above)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = measured <= claim.paper + tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how, "" if holds else why_not)


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

