"""The direction of the final paper's Conv-2/4/6 effects (§3, Figs. 5-6) in our reduced-scale runs: tickets
reach their minimum earlier and are more accurate than the dense net, beat random reinit, and dropout and
pruning each add accuracy. Each is an effect against its contrast (no effect), tested with the measured trial
spread; a direction is never the paper's value reproduced (the ledger counts it apart)."""
from __future__ import annotations

import math
from typing import Any

from lth.report.cifar_claims import PAPER_PM
from lth.report.common import level_pm
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


def _plain_directions(claims: dict[str, Claim], net: str, plain: dict[str, Any]) -> list[Verdict]:
    """Earlier than dense, more accurate than dense, and above random reinit, in the plain run."""
    speed_pm, gain_pm = PAPER_PM[net]
    dense = plain["rounds"][0]["ticket"]
    spreads = LevelSpreads(plain["rounds"], dense)
    level = nearest_level(plain, speed_pm)
    speed = role_mean(dense, ITERATION) / max(role_mean(level["ticket"], ITERATION), 1)
    tol = spreads.iteration_ratio(speed, dense, DENSE, level["ticket"], "ticket")
    out = [direction(claims["earlier"], speed, tol, "tickets are not significantly earlier" + _at(level))]
    level = nearest_level(plain, gain_pm)
    gain = 100 * (role_mean(level["ticket"], ACCURACY) - role_mean(dense, ACCURACY))
    tol = spreads.accuracy_difference(level["ticket"], "ticket", dense, DENSE)
    out.append(direction(claims["more_accurate"], gain, tol, "not significantly above the dense net" + _at(level)))
    last = plain["rounds"][-1]
    if "reinit" not in last:
        return out + [untestable(claims["beats_reinit"], "the run trains no random-reinit control")]
    gap = 100 * (role_mean(last["ticket"], ACCURACY) - role_mean(last["reinit"], ACCURACY))
    tol = spreads.accuracy_difference(last["ticket"], "ticket", last["reinit"], "reinit")
    return out + [direction(claims["beats_reinit"], gap, tol, "not significantly above reinit" + _at(last))]


def _dropout_directions(claims: dict[str, Claim], net: str, plain: dict[str, Any], drop: dict[str, Any]
                        ) -> list[Verdict]:
    """Dropout raises the dense net's accuracy; with dropout, a ticket at moderate Pm beats its dense net."""
    dense_plain, dense_drop = plain["rounds"][0]["ticket"], drop["rounds"][0]["ticket"]
    spreads_drop = LevelSpreads(drop["rounds"], dense_drop)
    raised = 100 * (role_mean(dense_drop, ACCURACY) - role_mean(dense_plain, ACCURACY))
    tol = difference(spreads_drop.accuracy[DENSE], len(dense_drop["pm"]),
                     LevelSpreads(plain["rounds"], dense_plain).accuracy[DENSE], len(dense_plain["pm"]))
    out = [direction(claims["dropout_raises_dense"], raised, tol, "dropout's dense net is not significantly above "
                     "the plain one")]
    level = nearest_level(drop, PAPER_PM[net][1])
    gain = 100 * (role_mean(level["ticket"], ACCURACY) - role_mean(dense_drop, ACCURACY))
    tol = spreads_drop.accuracy_difference(level["ticket"], "ticket", dense_drop, DENSE)
    return out + [direction(claims["dropout_pruning_adds"], gain, tol,
                            "not significantly above the dropout dense net" + _at(level))]


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
