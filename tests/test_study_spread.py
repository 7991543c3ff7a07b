"""The studies' shared trial spread (``deconstruct``, ``importance``): every variant's trials pooled within levels,
a difference's tolerance from that one spread with its own degrees of freedom, and the supermask statements'
tolerance from their best level's trials alone; checked against tolerances computed here by hand."""
import math

import numpy as np
import pytest

from lth.report.deconstruct import deconstruct_verdicts
from lth.report.ledger.records import UNTESTABLE
from lth.report.ledger.statistics import Spread, difference, pooled_difference
from lth.report.net_studies import compare, variants_spread

T_QUANTILE = {2: 4.302652729749464, 7: 2.364624251592785, 10: 2.2281388519862744,   # two-sided 95%, from tables
              26: 2.055529438642871}


def test_pooled_difference_takes_the_shared_spread_and_its_degrees_of_freedom():
    tol = pooled_difference(Spread(0.5, 10, "hand-made"), 4, 6)
    assert tol.value == pytest.approx(T_QUANTILE[10] * 0.5 * math.sqrt(1 / 4 + 1 / 6), rel=1e-6)
    assert tol.dof == 10 and tol.side_dof == 10 and tol.trials == "4 vs 6"


def _role(*levels):
    """A role's early-stop accuracies (fractions) per level."""
    return [{"early_stop_accuracy": [v / 100 for v in level]} for level in levels]


def _rounds(roles):
    levels = len(next(iter(roles.values())))
    return [{name: per_level[i] for name, per_level in roles.items()} for i in range(levels)]


ROLES = {"a": _role([98.0, 98.0], [97.0, 97.0]),            # no spread of its own
         "b": _role([97.5, 97.9], [96.8, 96.6]),
         "c": _role([96.0, 97.0, 96.5], [95.0, 95.4])}


def test_variants_spread_pools_every_variant_within_each_level():
    rounds = _rounds(ROLES)
    residuals = [v - np.mean(level["early_stop_accuracy"]) * 100 for role in ROLES.values() for level in role
                 for v in np.array(level["early_stop_accuracy"]) * 100]
    dof = sum(len(level["early_stop_accuracy"]) - 1 for role in ROLES.values() for level in role)
    spread = variants_spread(rounds, list(ROLES))
    assert dof == 7 and spread.dof == dof
    assert spread.sd == pytest.approx(math.sqrt(sum(r * r for r in residuals) / dof), rel=1e-9)


def test_compare_with_the_pooled_spread_gives_a_variant_without_spread_a_real_tolerance():
    rounds = _rounds(ROLES)
    gap, own = compare(rounds, "a", "b")
    assert gap == pytest.approx((98 + 98 + 97 + 97) / 4 - (97.5 + 97.9 + 96.8 + 96.6) / 4)
    spread = variants_spread(rounds, list(ROLES))
    same_gap, pooled = compare(rounds, "a", "b", spread)
    assert same_gap == gap
    assert pooled.value == pytest.approx(T_QUANTILE[7] * spread.sd * math.sqrt(1 / 4 + 1 / 4), rel=1e-6)
    assert pooled.dof == 7
    # without the pool: Welch on each role's own spread, as before (role a's is zero)
    a, b = Spread.of([[98.0, 98.0], [97.0, 97.0]], "a"), Spread.of([[97.5, 97.9], [96.8, 96.6]], "b")
    assert own.value == pytest.approx(difference(a, 4, b, 4).value)


def _deconstruct_result(sign_effect, supermask):
    """A LeNet deconstruct result: every variant's two trials at 97.9 and 98.1%, the two reinit variants with no
    spread of their own and the initial signs ahead by ``sign_effect`` pp; ``supermask`` its accuracies
    [levels][trials]."""
    names = ([f"criterion/{c}" for c in ("large_final", "large_init", "small_init", "small_final",
                                         "magnitude_increase")]
             + [f"mask1/{a}{s}" for a in ("reinit", "reshuffle", "constant") for s in ("", "_init_sign")]
             + ["mask0/freeze_init", "mask0/freeze_moved_away"])
    levels = []
    for level in range(2):
        variants = {name: {"early_stop_accuracy": [0.979, 0.981]} for name in names}
        variants["mask1/reinit"] = {"early_stop_accuracy": [0.975, 0.975]}
        variants["mask1/reinit_init_sign"] = {"early_stop_accuracy": [(97.5 + sign_effect) / 100] * 2}
        levels.append({"round": level + 1, "pm": 0.5 ** (level + 1), "variants": variants})
    return {"levels": levels, "config": {}, "supermasks": {"large_final_same_sign, signed constant": {
        "pm": [0.5, 0.25], "accuracy": np.array(supermask).tolist()}}}


def _verdicts(sign_effect, supermask):
    return {v.claim.key: v for v in deconstruct_verdicts(_deconstruct_result(sign_effect, supermask))}


@pytest.mark.parametrize("effect, verdict", [(0.5, "holds"), (0.25, UNTESTABLE)])
def test_deconstruct_judges_the_sign_statement_on_the_spread_of_every_variant(effect, verdict):
    reinit = _verdicts(effect, [[0.8, 0.9], [0.85, 0.86]])["zhou_sign_matters_reinit"]
    pooled_sd = math.sqrt(11 * 2 * 2 * 0.1 ** 2 / 26)     # 11 of 13 variants +-0.1 pp at 2 levels, 26 dof
    tolerance = T_QUANTILE[26] * pooled_sd * math.sqrt(1 / 4 + 1 / 4)
    assert reinit.measured == pytest.approx(effect)
    assert reinit.tolerance == pytest.approx(tolerance, rel=1e-5)
    # the reinit pair has no spread of its own: judged on it, any effect would hold with a zero tolerance
    assert reinit.verdict == verdict
    assert reinit.margin == pytest.approx((effect - tolerance) / tolerance, rel=1e-5)


def test_supermask_statements_take_their_best_levels_own_trials():
    two_trials = _verdicts(0.5, [[0.80, 0.90], [0.85, 0.87]])
    assert all(two_trials[k].verdict == UNTESTABLE and "too few trials" in two_trials[k].why
               for k in ("zhou_supermask_86", "zhou_supermask_above_chance"))
    three = _verdicts(0.5, [[0.80, 0.90, 0.85], [0.84, 0.86, 0.88]])["zhou_supermask_86"]
    assert three.measured == pytest.approx(86.0)
    assert three.tolerance == pytest.approx(T_QUANTILE[2] * 2.0 / math.sqrt(3), rel=1e-5)   # level 2: SD 2 pp
    assert three.verdict == "holds"
