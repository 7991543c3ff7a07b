"""The direction of the final paper's Conv-2/4/6 effects (§3, Figs. 5-6) in our reduced-scale runs: tickets
reach their minimum earlier and are more accurate than the dense net, beat random reinit, and dropout and
pruning each add accuracy. Each is an effect against its contrast (no effect), tested with the measured trial
spread; a direction is never the paper's value reproduced (the ledger counts it apart). A run cut short by its
iteration cap (``cut_short``) gives bounds, not measurements: an early-stop iteration comparison with one is
not tested, nor an accuracy comparison whose lower side has one (its accuracy could still rise)."""
from __future__ import annotations

import math
from typing import Any

from lth.report.cifar_claims import PAPER_PM
from lth.report.common import censored, cut_short, level_pm
from lth.report.ledger.levels import DENSE, LevelSpreads
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import direction, untestable
from lth.report.ledger.statistics import difference, role_mean

ACCURACY, ITERATION = "early_stop_accuracy", "early_stop_iteration"


def nearest_level(result: dict[str, Any], pm: float) -> dict[str, Any]:
    """The pruned level of ``result`` whose Pm is nearest ``pm`` (%) on a log scale."""
    return min(result["rounds"][1:], key=lambda level: abs(math.log(level_pm(level) / pm)))


def _at(level: dict[str, Any]) -> str:
    return f" (at Pm {level_pm(level):.1f}%)"


def _accuracy_direction(claim: Claim, higher: dict[str, Any], lower: dict[str, Any], tol: Any, where: str,
                        why_not: str) -> Verdict:
    """``higher`` above ``lower`` in accuracy at early stop (pp) as a direction; not tested when a ``lower`` run
    was cut short by its cap (its accuracy is a lower bound, so the gap only an upper bound)."""
    gap = 100 * (role_mean(higher, ACCURACY) - role_mean(lower, ACCURACY))
    if count := cut_short(lower):
        return untestable(claim, f"censored: {count} of the runs it must beat were cut short by their "
                          f"iteration cap (their accuracies are lower bounds){where}", gap)
    return direction(claim, gap, tol, why_not + where)


def _plain_directions(claims: dict[str, Claim], net: str, plain: dict[str, Any]) -> list[Verdict]:
    """Earlier than dense, more accurate than dense, and above random reinit, in the plain run."""
    speed_pm, gain_pm = PAPER_PM[net]
    dense = plain["rounds"][0]["ticket"]
    spreads = LevelSpreads(plain["rounds"], dense)
    level = nearest_level(plain, speed_pm)
    speed = role_mean(dense, ITERATION) / max(role_mean(level["ticket"], ITERATION), 1)
    tol = spreads.iteration_ratio(speed, dense, DENSE, level["ticket"], "ticket")
    reason = censored(dense, level["ticket"])
    out = [untestable(claims["earlier"], reason + _at(level), speed) if reason else
           direction(claims["earlier"], speed, tol, "tickets are not significantly earlier" + _at(level))]
    level = nearest_level(plain, gain_pm)
    tol = spreads.accuracy_difference(level["ticket"], "ticket", dense, DENSE)
    out.append(_accuracy_direction(claims["more_accurate"], level["ticket"], dense, tol, _at(level),
                                   "not significantly above the dense net"))
    last = plain["rounds"][-1]
    if "reinit" not in last:
        return out + [untestable(claims["beats_reinit"], "the run trains no random-reinit control")]
    tol = spreads.accuracy_difference(last["ticket"], "ticket", last["reinit"], "reinit")
    return out + [_accuracy_direction(claims["beats_reinit"], last["ticket"], last["reinit"], tol, _at(last),
                                      "not significantly above reinit")]


def _dropout_directions(claims: dict[str, Claim], net: str, plain: dict[str, Any], drop: dict[str, Any]
                        ) -> list[Verdict]:
    """Dropout raises the dense net's accuracy; with dropout, a ticket at moderate Pm beats its dense net."""
    dense_plain, dense_drop = plain["rounds"][0]["ticket"], drop["rounds"][0]["ticket"]
    spreads_drop = LevelSpreads(drop["rounds"], dense_drop)
    tol = difference(spreads_drop.accuracy[DENSE], len(dense_drop["pm"]),
                     LevelSpreads(plain["rounds"], dense_plain).accuracy[DENSE], len(dense_plain["pm"]))
    out = [_accuracy_direction(claims["dropout_raises_dense"], dense_drop, dense_plain, tol, "",
                               "dropout's dense net is not significantly above the plain one at this width "
                               "(docs/claims-ledger.md, session 33, measures the gap in wider nets)")]
    level = nearest_level(drop, PAPER_PM[net][1])
    tol = spreads_drop.accuracy_difference(level["ticket"], "ticket", dense_drop, DENSE)
    return out + [_accuracy_direction(claims["dropout_pruning_adds"], level["ticket"], dense_drop, tol, _at(level),
                                      "not significantly above the dropout dense net")]


def direction_verdicts(claims: dict[str, Claim], net: str, runs: dict[tuple[str, str], dict[str, Any]]
                       ) -> list[Verdict]:
    """One conv net's five directions (``claims`` by key, ``runs`` by (net, variant)); not testable where a run
    is missing or has no pruned level."""
    own = {key[len(net) + len("_direction_"):]: claim for key, claim in claims.items()
           if key.startswith(f"{net}_direction_")}
    plain, drop = runs.get((net, "plain")), runs.get((net, "dropout"))
    missing = "the run is not in the pipeline's results, or it has no pruned level"
    if plain is None or len(plain["rounds"]) < 2:
        return [untestable(claim, missing) for claim in own.values()]
    out = _plain_directions(own, net, plain)
    if drop is None or len(drop["rounds"]) < 2:
        return out + [untestable(own[k], missing) for k in ("dropout_raises_dense", "dropout_pruning_adds")]
    return out + _dropout_directions(own, net, plain, drop)
