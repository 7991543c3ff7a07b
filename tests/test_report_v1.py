"""The first version's statements (v1 §3-6), computed by hand on made-up results."""
import math

import numpy as np
import pytest

from lth.report.anatomy import anatomy_verdicts
from lth.report.ledger.records import FAILS, HOLDS, UNTESTABLE
from lth.report.ledger.statistics import t_quantile
from lth.report.mnist_v1 import mnist_v1_verdicts

OFFSETS = np.array([-2, -1, 0, 1, 2])            # five trials: SD sqrt(2.5) units


def _level(pm, iterations, accuracies, stopped=None):
    n = len(accuracies)
    return {"pm": [pm / 100] * n, "early_stop_iteration": list(iterations), "early_stop_accuracy": list(accuracies),
            "final_accuracy": list(accuracies), "diverged": [False] * n,
            "stopped_iteration": list(stopped) if stopped else [50000] * n}


def acc(mean):
    return list(mean + 0.001 * OFFSETS)            # SD 0.158 pp


def its(mean, step=0.05):
    return list(mean * np.exp(step * OFFSETS))     # log SD 0.079 (step 0.05)


def _v1_result():
    rounds = [{"round": 0, "ticket": _level(100, its(1000), acc(0.980))}]
    imp = [(51.3, 800, 0.981, 1100, 0.979, 1200, 0.974), (21.1, 600, 0.982, 1500, 0.970, 1600, 0.965),
           (3.6, 900, 0.981, 2000, 0.960, 2100, 0.955), (1.8, 1100, 0.980, 2500, 0.950, 2500, 0.940)]
    for r, (pm, t, ta, ri, ra, rw, wa) in enumerate(imp, 1):
        rounds.append({"round": r, "ticket": _level(pm, its(t), acc(ta)), "reinit": _level(pm, its(ri), acc(ra)),
                       "rewire": _level(pm, its(rw), acc(wa))})
    one_shot = []
    for r, (pm, t, ta, ri) in enumerate([(80, 850, 0.981, 1100), (51.3, 550, 0.9835, 1300), (33, 600, 0.9815, 1140),
                                         (26.5, 650, 0.9815, 1480), (13.7, 900, 0.979, 1900), (7.0, 1400, 0.970, 2100),
                                         (3.6, 1500, 0.960, 2500)], 1):
        one_shot.append({"round": r, "ticket": _level(pm, its(t), acc(ta)),
                         "reinit": _level(pm, its(ri, step=0.3), acc(ta - 0.005))})
    return {"config": {}, "rounds": rounds, "one_shot": one_shot}


def test_v1_verdicts_by_hand():
    v = {x.claim.key: x for x in mnist_v1_verdicts(_v1_result())}
    assert v["v1_one_shot_fastest_pm"].measured == pytest.approx(51.3)       # 55% lies between 80 and 33
    assert v["v1_one_shot_fastest_pm"].verdict == HOLDS
    assert v["v1_one_shot_most_accurate_pm"].measured == pytest.approx(51.3)
    assert v["v1_one_shot_most_accurate_pm"].verdict == HOLDS
    faster = v["v1_one_shot_faster_75_25"]                 # slowest of 51.3 / 33 / 26.5%: 650 of 1000, 35% faster
    assert faster.measured == pytest.approx(35.0) and faster.verdict == HOLDS and faster.trials == "5 vs 5 (paper 5)"
    accuracy = v["v1_one_shot_accuracy_75_25"]             # widest gap 0.35 pp at 51.3%: more than "within 0.15"
    assert accuracy.measured == pytest.approx(0.35)
    def mean_ratio(reinit, ticket):
        return np.mean(its(reinit, 0.3)) / np.mean(its(ticket))
    assert v["v1_ticket_vs_reinit_speed_35"].measured == pytest.approx(mean_ratio(1140, 600))   # nearest: 33%
    assert v["v1_ticket_vs_reinit_speed_25"].measured == pytest.approx(mean_ratio(1480, 650))   # nearest: 26.5%
    variable = v["v1_controls_more_variable"]              # SD ratio 0.3 / 0.05, 28 dof each
    assert variable.measured == pytest.approx(6.0)
    assert variable.tolerance == pytest.approx(1.95996 * math.sqrt(2 / 56) * 6.0, rel=1e-4)
    assert variable.verdict == HOLDS
    back = v["v1_ticket_back_to_dense_speed_pm"]           # only 1.8%, the ladder's last level, is at/above 1000
    assert back.measured == pytest.approx(1.8) and back.verdict == UNTESTABLE and "edge" in back.why
    drops = v["v1_one_shot_accuracy_drops_pm"]             # 13.7% is 0.1 pp below (within): falls from 7.0%
    assert drops.measured == pytest.approx(7.0) and drops.verdict == FAILS and drops.why
    assert v["v1_reinit_accuracy_drops_pm"].measured == pytest.approx(21.1)
    assert v["v1_reinit_accuracy_drops_pm"].verdict == HOLDS          # 37% lies between 51.3 and 3.6
    assert v["v1_rewire_accuracy_drops_pm"].measured == pytest.approx(51.3)
    assert v["v1_ticket_matches_dense_1_8"].measured == pytest.approx(0.0, abs=1e-9)
    assert v["v1_ticket_matches_dense_1_8"].verdict == HOLDS
    assert v["v1_reinit_slows"].verdict == HOLDS and v["v1_rewire_slows"].verdict == HOLDS   # rho 1 at 4 levels (p = 1/24)
    below = v["v1_rewire_below_reinit"]                    # reinit - rewire: 0.5, 0.5, 0.5 and 1.0 pp
    assert below.measured == pytest.approx(0.625) and below.verdict == HOLDS


def test_v1_verdicts_are_not_testable_at_two_trials():
    result = _v1_result()
    two = {"round": 0, "ticket": _level(100, [1000, 1100], [0.978, 0.982])}
    result["rounds"][0] = two
    v = {x.claim.key: x for x in mnist_v1_verdicts(result)}
    assert v["v1_ticket_matches_dense_1_8"].verdict == UNTESTABLE        # the dense net's 1 dof dominates
    assert "degrees of freedom" in v["v1_ticket_matches_dense_1_8"].why


def test_anatomy_verdicts_by_hand():
    def layer(beyond, trials, units=4, no_incoming=(1, 1, 1)):
        return {"beyond_1sd": beyond, "beyond_1sd_trials": trials, "units": units, "fan_in": 4,
                "incoming_sorted": [2.0, 1.0, 1.0, 0.0], "no_incoming_trials": list(no_incoming)}
    stats = {"layers": ["fc0.weight", "fc1.weight", "fc2.weight"],
             "initialisations": [{"pm": 100.0, "layers": {"fc0.weight": layer(0.317, [0.31, 0.32, 0.324])}},
                                 {"pm": 5.5, "layers": {"fc0.weight": layer(0.60, [0.58, 0.60, 0.62])}}],
             "connectivity": [{"pm": 5.5, "layers": {"fc0.weight": layer(0, [], 4, (1, 3, 2)),
                                                     "fc1.weight": layer(0, [], 4, (0, 0, 1))}}]}
    v = {x.claim.key: x for x in anatomy_verdicts(stats)}
    tails = v["v1_tails_survive"]                          # 60% vs 31.7%: t(2) x SE of 58, 60, 62
    assert tails.measured == pytest.approx(60.0)
    assert tails.tolerance == pytest.approx(4.3027 * 2 / math.sqrt(3), rel=1e-4) and tails.verdict == HOLDS
    cut = v["v1_few_units_cut_off"]                        # trials: 1, 3, 3 of 8 hidden units cut off
    assert cut.measured == pytest.approx(100 * 7 / 24) and cut.verdict == HOLDS
    share = v["v1_connections_proportional"]               # median unit 1 of 4 at a layer density 1/4: x1
    assert share.measured == pytest.approx(1.0) and share.verdict == HOLDS
    stats["initialisations"][1]["layers"]["fc0.weight"] = layer(0.32, [0.30, 0.32, 0.34])
    assert {x.claim.key: x for x in anatomy_verdicts(stats)}["v1_tails_survive"].verdict == FAILS


def _setting(value, levels, stopped=None):
    """A sweep setting: levels of (Pm %, per-trial iterations, per-trial accuracies)."""
    return {"label": f"s{value}", "value": value,
            "rounds": [{"round": r, "ticket": _level(pm, it, ac, stopped if r else None)}
                       for r, (pm, it, ac) in enumerate(levels)]}


def test_spearman_by_hand():
    from lth.report.ledger.statistics import spearman
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)     # 1 - 6 * 4 / 120
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 1, 2, 2]) == pytest.approx(np.corrcoef([0, 1, 2, 3], [0.5, 0.5, 2.5, 2.5])[0, 1])


def test_init_sweep_verdicts_by_hand():
    from lth.report.sweeps import init_scale_verdicts
    dense = (100, its(1000), acc(0.98))
    base = _setting(0.1, [dense, (50, its(800), acc(0.980)), (25, its(1000), acc(0.982))])
    large = _setting(0.4, [dense, (50, its(1600), acc(0.970)), (25, its(2000), acc(0.972))])
    small = _setting(0.025, [dense, (50, its(1100), acc(0.985)), (25, its(1400), acc(0.987))])
    v = {x.claim.key: x for x in init_scale_verdicts({"settings": [small, base, large]})}
    slower = v["v1_larger_init_slower"]                    # per-trial log means differ by log 2 exactly
    assert slower.measured == pytest.approx(2.0) and slower.verdict == HOLDS
    less = v["v1_larger_init_less_accurate"]               # 98.1 - 97.1 = 1.0 pp; per-trial SD 0.158 pp each side
    se = math.sqrt(2 * 0.025 / 5)
    assert less.measured == pytest.approx(1.0)
    assert less.tolerance == pytest.approx(t_quantile(8) * se, rel=1e-4) and less.verdict == HOLDS
    assert v["v1_smaller_init_more_accurate"].measured == pytest.approx(0.5)
    capped = _setting(0.4, [dense, (50, its(1600), acc(0.970)), (25, its(2000), acc(0.972))],
                      stopped=[int(its(1600)[0])] + [50000] * 4)
    capped["rounds"][1]["ticket"]["early_stop_iteration"][0] = int(its(1600)[0])
    v = {x.claim.key: x for x in init_scale_verdicts({"settings": [small, base, capped]})}
    assert v["v1_larger_init_slower"].verdict == UNTESTABLE and "censored" in v["v1_larger_init_slower"].why


def test_pruning_rate_compares_matched_levels():
    from lth.report.sweeps import matched_levels, pruning_rate_verdicts
    dense = (100, its(1000), acc(0.98))
    slow = _setting(0.2, [dense] + [(pm, its(800), acc(0.9815)) for pm in (80, 64, 51.2, 41, 32.8, 26.2, 21.1, 16.9)])
    slow["rounds"][-1]["ticket"] = _level(16.9, its(700), acc(0.985))
    fast = _setting(0.8, [dense, (20.2, its(1200), acc(0.9705)), (4.1, its(3000), acc(0.95))])
    a, b = matched_levels(slow["rounds"], fast["rounds"])
    assert a["ticket"]["pm"][0] == pytest.approx(0.211) and b["ticket"]["pm"][0] == pytest.approx(0.202)
    v = {x.claim.key: x for x in pruning_rate_verdicts({"settings": [slow, fast]})}
    assert v["v1_aggressive_rate_less_accurate"].measured == pytest.approx(1.1)     # 98.15 at 21.1% vs 97.05 at 20.2%
    assert v["v1_aggressive_rate_less_accurate"].verdict == HOLDS
    assert v["v1_aggressive_rate_slower"].measured == pytest.approx(1.5)
    same = _setting(0.8, [dense, (20.2, its(800), acc(0.9815)), (4.1, its(3000), acc(0.95))])
    v = {x.claim.key: x for x in pruning_rate_verdicts({"settings": [slow, same]})}
    assert {x.verdict for x in v.values()} == {FAILS}           # as good at the matched level: both fail


def test_network_size_verdicts_by_hand():
    from lth.report.sweeps import network_size_verdicts

    def size(total, one_shot_best, iterative_best):
        def ladder(best):
            return [(100, its(1000), acc(0.98))] + [(pm, its(500 if pm == best else 900),
                                                      acc(0.99 if pm == best else 0.98)) for pm in (50, 25, 10, 5)]
        return {"label": str(total), "weights_total": total, "rounds": _setting(0, ladder(iterative_best))["rounds"],
                "one_shot": _setting(0, ladder(one_shot_best))["rounds"][1:]}
    # one-shot ticket sizes 0.25 * 1000, 0.25 * 2000, 0.5 * 4000, 0.5 * 8000, 0.5 * 16000: rho 1
    sizes = [size(1000, 25, 10), size(2000, 25, 10), size(4000, 50, 5), size(8000, 50, 50), size(16000, 50, 25)]
    v = {x.claim.key: x for x in network_size_verdicts({"sizes": sizes})}
    assert v["v1_ticket_size_grows"].measured == pytest.approx(1.0) and v["v1_ticket_size_grows"].verdict == HOLDS
    assert v["v1_ticket_size_grows"].tolerance == 0.9
    assert v["v1_ticket_size_grows_accuracy"].verdict == HOLDS
    smaller = v["v1_iterative_tickets_smaller"]            # smaller for 4 of 5 sizes: not "much smaller" at every one
    assert smaller.measured == pytest.approx(80.0) and smaller.verdict == FAILS
