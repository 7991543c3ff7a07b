"""The first version's statements (v1 §3-6), computed by hand on made-up results."""
import math

import numpy as np
import pytest

from lth.report.anatomy import anatomy_verdicts
from lth.report.ledger.records import FAILS, HOLDS
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


def _setting(value, levels):
    """A sweep setting: levels of (Pm %, per-trial iterations, per-trial accuracies)."""
    return {"label": f"s{value}", "value": value,
            "rounds": [{"round": r, "ticket": _level(pm, it, ac)} for r, (pm, it, ac) in enumerate(levels)]}


def test_spearman_by_hand():
    from lth.report.sweeps import spearman
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)     # 1 - 6 * 4 / 120
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 1, 2, 2]) == pytest.approx(np.corrcoef([0, 1, 2, 3], [0.5, 0.5, 2.5, 2.5])[0, 1])


def test_sweep_verdicts_by_hand():
    from lth.report.sweeps import init_scale_verdicts, network_size_verdicts, pruning_rate_verdicts
    dense = (100, [1000, 1000], [0.98, 0.98])
    # per-trial means over the two pruned levels: sigma 0.1 iterations (800, 1000), accuracies (98.0, 98.2)
    base = _setting(0.1, [dense, (50, [700, 900], [0.979, 0.981]), (25, [900, 1100], [0.981, 0.983])])
    large = _setting(0.4, [dense, (50, [1400, 1800], [0.969, 0.971]), (25, [1800, 2200], [0.971, 0.973])])
    small = _setting(0.025, [dense, (50, [1000, 1300], [0.984, 0.986]), (25, [1200, 1500], [0.986, 0.988])])
    v = {x.claim.key: x for x in init_scale_verdicts({"settings": [small, base, large]})}
    slower = v["v1_larger_init_slower"]
    per_trial = lambda a, b: [math.exp((math.log(a[0]) + math.log(b[0])) / 2), math.exp((math.log(a[1]) + math.log(b[1])) / 2)]  # noqa: E731
    base_t, large_t = per_trial([700, 900], [900, 1100]), per_trial([1400, 1800], [1800, 2200])
    expected = math.exp(np.mean(np.log(large_t)) - np.mean(np.log(base_t)))
    sd = math.sqrt((np.var(np.log(base_t), ddof=1) + np.var(np.log(large_t), ddof=1)) / 2)
    assert slower.measured == pytest.approx(expected) and slower.tolerance == pytest.approx(2 * sd * expected)
    assert slower.verdict == HOLDS                         # 2.0 - 1 > 2 SE (0.69)
    less = v["v1_larger_init_less_accurate"]               # 98.1 - 97.1 = 1.0 pp; trial SD 0.1414 pp
    assert less.measured == pytest.approx(1.0) and less.tolerance == pytest.approx(2 * math.sqrt(2) * 0.1)
    assert less.verdict == HOLDS
    assert v["v1_smaller_init_more_accurate"].measured == pytest.approx(0.5)
    assert v["v1_smaller_init_more_accurate"].verdict == HOLDS

    slow = _setting(0.2, [dense] + [(pm, [800, 800], [0.981, 0.983]) for pm in (80, 64, 51.2, 41, 32.8, 26.2, 21)])
    fast = _setting(0.8, [dense, (20, [1200, 1300], [0.970, 0.972])])
    v = {x.claim.key: x for x in pruning_rate_verdicts({"settings": [slow, fast]})}
    assert v["v1_aggressive_rate_less_accurate"].measured == pytest.approx(1.1)        # 98.2 at 21% vs 97.1 at 20%
    assert v["v1_aggressive_rate_less_accurate"].verdict == HOLDS
    assert v["v1_aggressive_rate_slower"].measured == pytest.approx(1250 / 800)
    same = _setting(0.8, [dense, (20, [800, 800], [0.981, 0.983])])        # as good as rate 0.2: both fail
    v = {x.claim.key: x for x in pruning_rate_verdicts({"settings": [slow, same]})}
    assert {x.verdict for x in v.values()} == {FAILS}

    def size(total, one_shot_best, iterative_best):
        levels = [(100, [1000, 1000], [0.98, 0.98])] + [(pm, [500 if pm == one_shot_best else 900] * 2, [0.98] * 2)
                                                        for pm in (50, 25, 10, 5)]
        imp = [(100, [1000, 1000], [0.98, 0.98])] + [(pm, [500 if pm == iterative_best else 900] * 2, [0.98] * 2)
                                                     for pm in (50, 25, 10, 5)]
        return {"label": str(total), "weights_total": total, "rounds": _setting(0, imp)["rounds"],
                "one_shot": _setting(0, levels)["rounds"][1:]}
    # one-shot ticket sizes 0.25 * 1000, 0.25 * 2000, 0.5 * 4000, 0.5 * 8000, 0.5 * 16000: rho 1
    sizes = [size(1000, 25, 10), size(2000, 25, 10), size(4000, 50, 5), size(8000, 50, 50), size(16000, 50, 25)]
    v = {x.claim.key: x for x in network_size_verdicts({"sizes": sizes})}
    assert v["v1_ticket_size_grows"].measured == pytest.approx(1.0) and v["v1_ticket_size_grows"].verdict == HOLDS
    assert v["v1_ticket_size_grows"].tolerance == 0.9
    assert v["v1_iterative_tickets_smaller"].measured == 4 - 0          # smaller for 4 sizes, equal at 8000
    assert v["v1_iterative_tickets_smaller"].verdict == HOLDS
