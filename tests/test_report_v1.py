"""The first version's statements (v1 §3-6), computed by hand on made-up results."""
import math

import pytest

from lth.report.anatomy import anatomy_verdicts
from lth.report.claims import FAILS, HOLDS
from lth.report.mnist_v1 import mnist_v1_verdicts


def _level(pm, iterations, accuracies):
    n = len(accuracies)
    return {"pm": [pm / 100] * n, "early_stop_iteration": list(iterations), "early_stop_accuracy": list(accuracies),
            "final_accuracy": list(accuracies), "diverged": [False] * n, "stopped_iteration": [50000] * n}


def acc(mean):
    return [mean - 0.001, mean + 0.001]            # SD 0.1414 pp: 2 SE of a difference of two pairs = 0.283 pp


def its(mean, factor=1.1):
    return [mean / math.sqrt(factor), mean * math.sqrt(factor)]


def _v1_result():
    rounds = [{"round": 0, "ticket": _level(100, its(1000), acc(0.980))}]
    imp = [(51.3, 800, 0.981, 1100, 0.979, 1200, 0.974, 900, 0.980), (21.1, 600, 0.982, 1500, 0.970, 1600, 0.965, 700, 0.980),
           (3.6, 900, 0.981, 2000, 0.960, 2100, 0.955, 1000, 0.975), (1.5, 1100, 0.970, 2500, 0.950, 2500, 0.940, 1200, 0.960)]
    for r, (pm, t, ta, ri, ra, rw, wa, h, ha) in enumerate(imp, 1):
        rounds.append({"round": r, "ticket": _level(pm, its(t), acc(ta)), "reinit": _level(pm, its(ri), acc(ra)),
                       "rewire": _level(pm, its(rw), acc(wa)), "han": _level(pm, its(h), acc(ha))})
    one_shot = []
    for r, (pm, t, ta, ri) in enumerate([(80, 850, 0.981, 1100), (51.3, 550, 0.9815, 1300), (33, 600, 0.9805, 1140),
                                         (26.5, 650, 0.980, 1480), (13.7, 900, 0.979, 1900), (7.0, 1000, 0.970, 2100),
                                         (3.6, 1300, 0.960, 2500)], 1):
        one_shot.append({"round": r, "ticket": _level(pm, its(t), acc(ta)),
                         "reinit": _level(pm, its(ri, factor=2.0), acc(ta - 0.005))})
    return {"config": {}, "rounds": rounds, "one_shot": one_shot}


def test_v1_verdicts_by_hand():
    v = {x.claim.key: x for x in mnist_v1_verdicts(_v1_result())}
    log_sd = math.log(1.1) / math.sqrt(2)
    assert v["v1_one_shot_fastest_pm"].measured == pytest.approx(51.3)       # 55% lies between 80 and 33
    assert v["v1_one_shot_fastest_pm"].verdict == HOLDS
    assert v["v1_one_shot_most_accurate_pm"].measured == pytest.approx(51.3)
    assert v["v1_one_shot_most_accurate_pm"].verdict == HOLDS
    faster = v["v1_one_shot_faster_75_25"]                 # slowest of 51.3 / 33 / 26.5%: 650 of 1000, 35% faster
    assert faster.measured == pytest.approx(35.0) and faster.verdict == HOLDS
    assert faster.tolerance == pytest.approx(100 * 0.65 * 2 * log_sd * math.sqrt(2 / 2))
    accuracy = v["v1_one_shot_accuracy_75_25"]             # widest gap 0.15 pp at 51.3%
    assert accuracy.measured == pytest.approx(0.15) and accuracy.verdict == HOLDS
    def mean_ratio(reinit, ticket):
        return sum(its(reinit, 2.0)) / sum(its(ticket))
    assert v["v1_ticket_vs_reinit_speed_35"].measured == pytest.approx(mean_ratio(1140, 600))   # nearest: 33%
    assert v["v1_ticket_vs_reinit_speed_35"].verdict == HOLDS          # 2.01 vs 1.91 within 2 SE
    assert v["v1_ticket_vs_reinit_speed_25"].measured == pytest.approx(mean_ratio(1480, 650))   # nearest: 26.5%
    variable = v["v1_controls_more_variable"]              # SD ratio log 2 / log 1.1, 7 dof each
    assert variable.measured == pytest.approx(math.log(2) / math.log(1.1))
    assert variable.tolerance == pytest.approx(2 * math.sqrt(2 / 14) * variable.measured)
    assert variable.verdict == HOLDS
    back = v["v1_ticket_back_to_dense_speed_pm"]           # only 1.5% is at/above 1000 iterations for good
    assert back.measured == pytest.approx(1.5) and back.verdict == HOLDS
    one_shot_back = v["v1_one_shot_back_to_dense_speed_pm"]     # 7.0% and 3.6% at/above 1000
    assert one_shot_back.measured == pytest.approx(7.0) and one_shot_back.verdict == HOLDS
    drops = v["v1_one_shot_accuracy_drops_pm"]             # 13.7% is only 0.1 pp below (< 2 SE): falls from 7.0%
    assert drops.measured == pytest.approx(7.0) and drops.verdict == FAILS and drops.why
    assert v["v1_reinit_accuracy_drops_pm"].measured == pytest.approx(21.1)
    assert v["v1_reinit_accuracy_drops_pm"].verdict == HOLDS          # 37% lies between 51.3 and 3.6
    assert v["v1_ticket_accuracy_drops_pm"].measured == pytest.approx(1.5)
    assert v["v1_rewire_accuracy_drops_pm"].measured == pytest.approx(51.3)
    han = v["v1_rewind_beats_han"]                         # 97.0 vs 96.0 at 1.5%
    assert han.measured == pytest.approx(1.0) and han.tolerance == pytest.approx(2 * 0.1 * math.sqrt(2))
    assert han.verdict == HOLDS


def test_anatomy_verdicts_by_hand():
    def layer(beyond, trials, units=4, no_incoming=(1, 1)):
        return {"beyond_1sd": beyond, "beyond_1sd_trials": trials, "units": units,
                "no_incoming_trials": list(no_incoming)}
    stats = {"layers": ["fc0.weight", "fc1.weight", "fc2.weight"],
             "initialisations": [{"pm": 100.0, "layers": {"fc0.weight": layer(0.317, [0.31, 0.324])}},
                                 {"pm": 5.5, "layers": {"fc0.weight": layer(0.60, [0.58, 0.62])}}],
             "connectivity": [{"pm": 5.5, "layers": {"fc0.weight": layer(0, [], 4, (1, 3)),
                                                     "fc1.weight": layer(0, [], 4, (0, 0))}}]}
    v = {x.claim.key: x for x in anatomy_verdicts(stats)}
    tails = v["v1_tails_survive"]                          # 60% vs 31.7%; 2 SE of the mean of 58 and 62
    assert tails.measured == pytest.approx(60.0) and tails.tolerance == pytest.approx(2 * math.sqrt(8) / math.sqrt(2))
    assert tails.verdict == HOLDS
    cut = v["v1_few_units_cut_off"]                        # trials: 1 of 8, 3 of 8 hidden units cut off
    assert cut.measured == pytest.approx(25.0) and cut.verdict == HOLDS
    stats["initialisations"][1]["layers"]["fc0.weight"] = layer(0.32, [0.30, 0.34])
    assert {x.claim.key: x for x in anatomy_verdicts(stats)}["v1_tails_survive"].verdict == FAILS
