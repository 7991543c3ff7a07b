"""The claims ledger: spreads, the verdict rules, and each experiment's measurements on hand-made results
whose numbers are worked out here by hand."""
import math

import pytest

from lth.report.cifar import cifar_verdicts, summary
from lth.report.ledger.markdown import summary_line
from lth.report.ledger.records import FAILS, HOLDS, UNTESTABLE, Claim
from lth.report.ledger.rules import at_least, at_most, equals, exceeds, on_ladder, other_setup, untestable
from lth.report.ledger.statistics import pooled_sd
from lth.report.mnist import mnist_verdicts
from lth.report.xor import calibration_distance, xor_verdicts

CLAIM = Claim("k", "mnist", "q", "s", 1.0, "pp", "h")


def test_pooled_sd_by_hand():
    # groups (1, 3): variance 2; (2, 4, 6): variance 4; a group of one adds nothing
    assert pooled_sd([[1, 3], [2, 4, 6], [9]]) == pytest.approx(math.sqrt((1 * 2 + 2 * 4) / 3))
    assert math.isnan(pooled_sd([[1], [2]]))


def test_verdict_rules():
    assert equals(CLAIM, 1.4, 0.5, "").verdict == HOLDS and equals(CLAIM, 1.6, 0.5, "").verdict == FAILS
    assert at_least(CLAIM, 0.6, 0.5, "").verdict == HOLDS and at_least(CLAIM, 0.4, 0.5, "").verdict == FAILS
    zero = Claim("k", "x", "q", "s", 0.0, "pp", "h")
    assert exceeds(zero, 0.6, 0.5, "").verdict == HOLDS and exceeds(zero, 0.4, 0.5, "").verdict == FAILS
    assert at_most(zero, 0.4, 0.5, "").verdict == HOLDS and at_most(zero, 0.6, 0.5, "").verdict == FAILS
    assert equals(CLAIM, None, 0.5, "").verdict == FAILS
    ladder = [100, 80, 64, 51.2, 41]
    at = Claim("k", "x", "q", "s", 51.2, "% Pm", "h")
    assert on_ladder(at, 64, ladder).verdict == HOLDS           # neighbours 80 and 51.2
    assert on_ladder(at, 80, ladder).verdict == FAILS           # neighbours 100 and 64
    assert on_ladder(at, None, ladder).verdict == FAILS
    entry = equals(CLAIM, 1.4, 0.5, "").metrics()
    assert entry == {"measured": 1.4, "paper": 1.0, "tolerance": 0.5, "verdict": HOLDS, "holds": 1}


def _level(pm, iterations, accuracies):
    n = len(accuracies)
    return {"pm": [pm / 100] * n, "early_stop_iteration": list(iterations), "early_stop_accuracy": list(accuracies),
            "final_accuracy": list(accuracies), "diverged": [False] * n, "stopped_iteration": [50000] * n}


def _mnist_result():
    """Two trials per level; every group's accuracies differ by 0.002 (SD 0.1414 pp), iterations by x1.1."""
    def acc(mean):
        return [mean - 0.001, mean + 0.001]

    def its(mean):
        return [mean / math.sqrt(1.1), mean * math.sqrt(1.1)]
    rounds = [{"round": 0, "ticket": _level(100, its(1000), acc(0.980))}]
    ladder = [(51.3, 900, 0.981, 1500, 0.980), (21.1, 600, 0.984, 1500, 0.979), (13.5, 700, 0.985, 1600, 0.975),
              (3.6, 1000, 0.981, 2000, 0.960), (1.8, 1400, 0.970, 2000, 0.950)]
    for r, (pm, t_it, t_acc, r_it, r_acc) in enumerate(ladder, 1):
        rounds.append({"round": r, "ticket": _level(pm, its(t_it), acc(t_acc)),
                       "reinit": _level(pm, its(r_it), acc(r_acc))})
    one_shot = [{"round": 1, **_level(51.3, its(800), acc(0.982))}, {"round": 2, **_level(21.1, its(900), acc(0.981))},
                {"round": 3, **_level(5.0, its(1100), acc(0.9805))}, {"round": 4, **_level(2.0, its(1500), acc(0.97))}]
    return {"config": {"iterations": 20000, "patience": 3000}, "rounds": rounds, "one_shot": one_shot}


def test_mnist_verdicts_by_hand():
    verdicts = {v.claim.key: v for v in mnist_verdicts(_mnist_result())}
    sd = math.sqrt(2) * 0.1                               # pp: two values 0.2 pp apart
    two_se = 2 * sd * math.sqrt(1 / 2 + 1 / 2)
    log_sd = math.log(1.1) / math.sqrt(2)
    a = verdicts["mnist_ticket_faster_21"]                # 1 - 600/1000 = 40% (paper 38)
    assert a.measured == pytest.approx(40.0) and a.tolerance == pytest.approx(100 * 0.6 * 2 * log_sd)
    assert a.verdict == HOLDS
    b1 = verdicts["mnist_ticket_gain_13"]                 # 98.5 - 98.0 = 0.5 pp > 0.3
    assert b1.measured == pytest.approx(0.5) and b1.tolerance == pytest.approx(two_se) and b1.verdict == HOLDS
    b2 = verdicts["mnist_ticket_back_to_dense_3_6"]       # 0.1 pp, within 2 SE (0.28)
    assert b2.measured == pytest.approx(0.1) and b2.verdict == HOLDS
    c1 = verdicts["mnist_ticket_vs_reinit_speed_21"]      # 1500 / 600 = 2.5 (paper 2.51)
    assert c1.measured == pytest.approx(2.5) and c1.verdict == HOLDS
    c2 = verdicts["mnist_ticket_vs_reinit_accuracy_21"]   # 98.4 - 97.9 = 0.5
    assert c2.measured == pytest.approx(0.5) and c2.verdict == HOLDS
    # reinit falls for good (by more than 2 SE) from 13.5%: 97.5 < 98.0 - 0.28; at 21.1% it is 97.9 (within)
    d1 = verdicts["mnist_reinit_accuracy_falls_pm"]
    assert d1.measured == pytest.approx(13.5) and d1.verdict == HOLDS      # ladder neighbours 21.1 and 3.6
    d2 = verdicts["mnist_ticket_accuracy_falls_pm"]       # only 1.8% is below: paper 2.9 lies between 3.6 and 0
    assert d2.measured == pytest.approx(1.8) and d2.verdict == HOLDS
    assert verdicts["mnist_ticket_gain_at_50k"].verdict == UNTESTABLE
    f1 = verdicts["mnist_one_shot_faster_pm"]             # 800, 900 < 1000, then 1100: faster down to 21.1
    assert f1.measured == pytest.approx(21.1) and f1.verdict == HOLDS     # paper 17.6 between 51.3 and 5
    f2 = verdicts["mnist_one_shot_more_accurate_pm"]      # 98.2, 98.1, 98.05 > 98.0, then 97.0: down to 5
    assert f2.measured == pytest.approx(5.0) and f2.verdict == HOLDS
    assert not any(k.startswith("v1_") for k in verdicts)      # tested on their own setup (mnist_v1)


def test_mnist_verdicts_fail_when_the_numbers_differ():
    result = _mnist_result()
    result["rounds"][2]["ticket"] = _level(21.1, [990, 1010], [0.979, 0.981])   # not faster, not more accurate
    verdicts = {v.claim.key: v for v in mnist_verdicts(result)}
    assert verdicts["mnist_ticket_faster_21"].verdict == FAILS
    assert verdicts["mnist_ticket_vs_reinit_accuracy_21"].verdict == FAILS     # 98.0 - 97.9 = 0.1 vs 0.5
    assert verdicts["mnist_ticket_faster_21"].why


def _cifar_run(net, variant, width, trials, levels):
    rounds = []
    for r, (pm, dense_or_ticket, reinit) in enumerate(levels):
        entry = {"round": r, "ticket": _level(pm, [400] * trials, [dense_or_ticket + 0.001 * k for k in range(trials)])}
        if reinit is not None:
            entry["reinit"] = _level(pm, [500] * trials, [reinit + 0.001 * k for k in range(trials)])
        rounds.append(entry)
    return {"net": net, "variant": variant, "profile": "paper" if width == 1 else "quick",
            "config": {"width": width, "trials": trials}, "rounds": rounds}


def test_cifar_verdicts_testable_only_at_the_papers_scale():
    levels = [(100, 0.60, None), (20, 0.63, 0.55), (1.5, 0.58, 0.50)]
    reduced = cifar_verdicts({("conv2", "plain"): _cifar_run("conv2", "plain", 0.25, 1, levels)})
    gain = next(v for v in reduced if v.claim.key == "conv2_accuracy_gain")
    assert gain.verdict == UNTESTABLE and gain.measured == pytest.approx(3.0) and "width x0.25" in gain.why
    full = {v.claim.key: v for v in cifar_verdicts({("conv2", "plain"): _cifar_run("conv2", "plain", 1, 2, levels)})}
    assert full["conv2_accuracy_gain"].measured == pytest.approx(3.0)         # 63 - 60, paper 3.4
    assert full["conv2_accuracy_gain"].verdict == FAILS                        # trial SD 0.07 pp: 2 SE 0.14
    assert full["conv2_above_dense_pm"].measured == pytest.approx(20.0)        # 58% at 1.5% is below 60%
    assert full["conv2_dropout_raises_dense"].verdict == UNTESTABLE            # no dropout run
    s = summary(_cifar_run("conv2", "plain", 1, 2, levels))
    assert s["dense_accuracy"] == 60.05 and s["ticket_minus_reinit_pp"] == 8.0


def test_deep_net_verdicts_by_hand():
    levels = {"high_lr": [(100, 0.90, None), (10, 0.85, 0.852)], "low_lr": [(100, 0.88, None), (10, 0.89, 0.80)],
              "warmup": [(100, 0.91, None), (10, 0.80, 0.85)]}
    runs = {("vgg19", v): _cifar_run("vgg19", v, 1, 2, lv) for v, lv in levels.items()}
    verdicts = {v.claim.key: v for v in cifar_verdicts(runs)}
    assert verdicts["vgg19_high_lr_no_tickets"].verdict == HOLDS               # -0.2 pp: not above 0
    assert verdicts["vgg19_low_lr_tickets"].verdict == HOLDS                   # +9 pp
    assert verdicts["vgg19_warmup_tickets"].verdict == FAILS                   # -5 pp
    assert verdicts["resnet20_high_lr_no_tickets"].verdict == UNTESTABLE       # no ResNet run


def _rate(db, zl, trials=2000):
    def se(p):
        return round(100 * math.sqrt(p / 100 * (1 - p / 100) / trials), 3)
    return {"db": db, "db_se": se(db), "zl": zl, "zl_se": se(zl), "trials": trials}


def test_xor_verdicts_by_hand():
    random_init = {str(w): _rate(*rates) for w, rates in ledger_random().items()}
    random_init["2"] = _rate(40.0, 17.6)                   # DB 9.1 pp below the paper's 49.1
    pruning = {"dense": _rate(98.5, 92.9),
               "one_shot": {"product": {"4": _rate(98.0, 90.3), "2": _rate(82.4, 65.3)}},
               "iterative": {h: {"4": _rate(97.0, 90.0), "2": _rate(db, 70.0)}
                             for h, db in (("input_magnitude", 83.8), ("output_magnitude", 78.6), ("product", 85.0))}}
    verdicts = {v.claim.key: v for v in xor_verdicts({"random_init": random_init, "pruning": pruning})}
    assert verdicts["xor_random_10_units_db"].verdict == HOLDS
    two = verdicts["xor_random_2_units_db"]
    assert two.verdict == FAILS and two.tolerance == pytest.approx(
        2 * math.hypot(100 * math.sqrt(0.4 * 0.6 / 2000), 100 * math.sqrt(0.491 * 0.509 / 2000)), abs=1e-3)
    assert verdicts["xor_iterative_beats_one_shot"].measured == pytest.approx(2.6)
    assert verdicts["xor_iterative_beats_one_shot"].tolerance == pytest.approx(2.33, abs=0.01)   # 2 x hypot(0.80, 0.85)
    assert verdicts["xor_iterative_beats_one_shot"].verdict == HOLDS          # 2.6 > 2.33
    assert verdicts["xor_product_best"].measured == pytest.approx(1.2) and verdicts["xor_product_best"].verdict == FAILS
    assert verdicts["xor_tickets_beat_random_init"].verdict == HOLDS          # 85 - 40


def ledger_random():
    from lth.report import papers
    return papers.XOR_RANDOM_INIT


def test_calibration_distance_by_hand():
    rates = {str(w): {"db": db + 1.0, "zl": zl - 2.5} for w, (db, zl) in ledger_random().items()}
    assert calibration_distance({"rates": rates}) == pytest.approx((2.5, 1.75))


def test_summary_line_counts():
    verdicts = [equals(CLAIM, 1.0, 0.1, ""), equals(CLAIM, 2.0, 0.1, ""), untestable(CLAIM, "why"),
                other_setup(CLAIM, "why")]
    line = summary_line(verdicts, "quick")
    assert "1 of 2 testable claims hold at profile `quick`" in line and "1 more are not testable" in line
