"""The claims ledger: t quantiles, two-sample tolerances, the verdict rules (trial counts, contrasts, censored
runs, the ladder's edges, tables and fitted targets), and each experiment's measurements on hand-made results
whose numbers are worked out here by hand."""
import math

import numpy as np
import pytest

from lth.report.cifar import cifar_verdicts, summary
from lth.report.ledger.markdown import counts, summary_line
from lth.report.ledger.records import CELL, FAILS, FITTED, HOLDS, UNTESTABLE, Claim
from lth.report.ledger.rules import (at_least, at_most, equals, exceeds, on_ladder, other_setup, table_verdict,
                                     untestable)
from lth.report.ledger.statistics import Spread, Tolerance, difference, pooled_sd, ratio, t_quantile, versus_paper
from lth.report.mnist import mnist_verdicts
from lth.report.xor import xor_verdicts
from lth.xor_target import calibration_distance

CLAIM = Claim("k", "mnist", "q", "s", 1.0, "pp", "h")
WIDE = math.inf          # degrees of freedom of a tolerance that is not a trial spread


def tol(value, dof=WIDE):
    return Tolerance(value, "by hand", dof, "")


def test_pooled_sd_by_hand():
    # groups (1, 3): variance 2; (2, 4, 6): variance 4; a group of one adds nothing
    assert pooled_sd([[1, 3], [2, 4, 6], [9]]) == pytest.approx(math.sqrt((1 * 2 + 2 * 4) / 3))
    assert math.isnan(pooled_sd([[1], [2]]))
    assert Spread.of([[1, 3], [2, 4, 6], [9]], "x").dof == 3


def test_t_quantiles_match_the_printed_tables():
    """Two-sided 95%: 2 trials (1 dof) 12.706, 5 trials (4 dof) 2.776, 10 dof 2.228, infinite 1.960."""
    assert t_quantile(1) == pytest.approx(12.7062, abs=1e-3)
    assert t_quantile(4) == pytest.approx(2.7764, abs=1e-3)
    assert t_quantile(10) == pytest.approx(2.2281, abs=1e-3)
    assert t_quantile(math.inf) == pytest.approx(1.95996, abs=1e-4)
    assert t_quantile(2.5) < t_quantile(2) and t_quantile(0) == math.inf


def test_two_sample_tolerance_uses_both_spreads_and_welch_dof():
    a, b = Spread.of([[1, 3]], "a"), Spread.of([[2, 4, 6]], "b")        # SD sqrt(2), 1 dof; SD 2, 2 dof
    va, vb = 2 / 2, 4 / 3                                                # SE^2 of each mean
    dof = (va + vb) ** 2 / (va ** 2 / 1 + vb ** 2 / 2)
    t = difference(a, 2, b, 3)
    assert t.dof == pytest.approx(dof) and t.value == pytest.approx(t_quantile(dof) * math.sqrt(va + vb))
    assert t.trials == "2 vs 3"
    # against the paper's value: the paper's two means of 5 trials each add their sampling error
    with_paper = difference(a, 2, b, 3, paper_trials=5)
    assert with_paper.value == pytest.approx(
        t_quantile(with_paper.dof) * math.sqrt(2 * (1 / 2 + 1 / 5) + 4 * (1 / 3 + 1 / 5)))
    # a narrow side does not hide a wide one: the dense net's SD 0.46 dominates a ticket SD of 0.165
    ticket, dense = Spread(0.165, 40, "tickets"), Spread(0.46, 1, "dense")
    both = difference(ticket, 2, dense, 2)
    assert both.dof < 2 and both.value > 1.96 * 0.46 / math.sqrt(2) > 2 * 0.165      # not the pooled 0.33


def test_ratio_and_versus_paper_tolerances():
    a, b = Spread(0.1, 20, "a"), Spread(0.1, 20, "b")
    t = ratio(2.0, a, 5, b, 5)
    se = 0.1 * math.sqrt(2 / 5)
    assert t.value == pytest.approx(2.0 * (math.exp(t_quantile(t.dof) * se) - 1))
    own = versus_paper(Spread(0.5, 4, "x"), 5, 5)
    assert own.value == pytest.approx(2.7764 * 0.5 * math.sqrt(2 / 5), rel=1e-4)


def test_verdict_rules_and_margins():
    assert equals(CLAIM, 1.4, tol(0.5)).verdict == HOLDS and equals(CLAIM, 1.6, tol(0.5)).verdict == FAILS
    assert equals(CLAIM, 1.4, tol(0.5)).margin == pytest.approx(0.2)          # (0.5 - 0.4) / 0.5
    assert equals(CLAIM, 1.6, tol(0.5)).margin == pytest.approx(-0.2)
    assert at_least(CLAIM, 0.6, tol(0.5)).verdict == HOLDS and at_least(CLAIM, 0.4, tol(0.5)).verdict == FAILS
    zero = Claim("k", "x", "q", "s", 0.0, "pp", "h")
    assert exceeds(zero, 0.6, tol(0.5)).verdict == HOLDS and exceeds(zero, 0.4, tol(0.5)).verdict == FAILS
    assert at_most(zero, 0.4, tol(0.5)).verdict == HOLDS and at_most(zero, 0.6, tol(0.5)).verdict == FAILS
    assert equals(CLAIM, None, tol(0.5)).verdict == FAILS
    entry = equals(CLAIM, 1.4, tol(0.5)).metrics()
    assert entry["measured"] == 1.4 and entry["tolerance"] == 0.5 and entry["margin"] == 0.2
    assert entry["verdict"] == HOLDS and entry["holds"] == 1


def test_too_few_trials_and_a_tolerance_wider_than_the_effect_are_not_testable():
    two_trials = equals(CLAIM, 1.0, tol(0.01, dof=1))                  # two nearly identical trials: no spread
    assert two_trials.verdict == UNTESTABLE and "degrees of freedom" in two_trials.why
    assert equals(CLAIM, 1.0, tol(0.01, dof=2)).verdict == HOLDS
    effect = Claim("k", "x", "q", "s", 0.3, "pp", "h", contrast=0.0)  # "more than 0.3 pp"
    assert at_least(effect, 0.8, tol(0.35)).verdict == UNTESTABLE        # 0.35 covers 0.3 - 0: cannot tell
    assert at_least(effect, 0.8, tol(0.16)).verdict == UNTESTABLE        # more than half the effect
    assert at_least(effect, 0.8, tol(0.14)).verdict == HOLDS


def test_a_value_within_half_an_estimated_tolerance_of_its_threshold_is_noise_limited():
    """With a tolerance estimated from the trials (finite dof) a verdict needs its value half a tolerance clear
    of the threshold; a tolerance without estimation error (infinite dof: binomial, critical value) does not."""
    near = equals(CLAIM, 1.4, tol(0.5, dof=4))                         # margin (0.5 - 0.4) / 0.5 = 0.2
    assert near.verdict == UNTESTABLE and "noise-limited" in near.why and near.margin == pytest.approx(0.2)
    assert equals(CLAIM, 1.2, tol(0.5, dof=4)).verdict == HOLDS         # margin 0.6
    assert equals(CLAIM, 1.8, tol(0.5, dof=4)).verdict == FAILS         # margin -0.6
    assert equals(CLAIM, 1.6, tol(0.5, dof=4)).verdict == UNTESTABLE    # margin -0.2
    assert equals(CLAIM, 1.4, tol(0.5)).verdict == HOLDS                # infinite dof: the plain comparison


def test_a_pm_statement_at_the_edge_of_the_ladder_is_not_a_hold():
    ladder = [100, 80, 64, 51.2, 41]
    at = Claim("k", "x", "q", "s", 51.2, "% Pm", "h")
    assert on_ladder(at, 64, ladder).verdict == HOLDS           # neighbours 80 and 51.2
    assert on_ladder(at, 80, ladder).verdict == FAILS           # neighbours 100 and 64
    assert on_ladder(at, None, ladder).verdict == FAILS
    beyond = Claim("k", "x", "q", "s", 20.0, "% Pm", "h")        # paper 20% below our sparsest level, 41%
    assert on_ladder(beyond, 41, ladder).verdict == UNTESTABLE
    assert on_ladder(Claim("k", "x", "q", "s", 90.0, "% Pm", "h"), 41, ladder).verdict == FAILS


def test_a_table_is_one_statement_and_fitted_targets_are_never_counted():
    cell = Claim("c", "x", "q", "s", 1.0, "%", "h", kind=CELL)
    cells = [equals(cell, 1.1, tol(0.5)), equals(cell, 3.0, tol(0.5))]
    table = Claim("t", "x", "the table", "s", None, "cells", "h")
    verdict = table_verdict(table, cells)
    assert verdict.verdict == FAILS and verdict.measured == 1 and "1 of 2 cells" in verdict.why
    assert table_verdict(table, cells[:1]).verdict == HOLDS
    noisy = equals(cell, 1.4, tol(0.5, dof=4))                         # a noise-limited cell
    assert table_verdict(table, [noisy, cells[0]]).verdict == UNTESTABLE
    assert table_verdict(table, [noisy, cells[1]]).verdict == FAILS    # a failing cell decides the table
    fitted = equals(Claim("f", "x", "q", "s", 1.0, "%", "h", kind=FITTED), 1.0, tol(0.5))
    n = counts([verdict, *cells, fitted, untestable(CLAIM, "why"), other_setup(CLAIM, "why")])
    assert n[FAILS] == 1 and n[HOLDS] == 0 and n[UNTESTABLE] == 1
    line = summary_line([verdict, *cells, fitted, equals(CLAIM, 1.0, tol(0.1))], "quick")
    assert "1 of 2 testable statements hold at profile `quick`" in line


def _level(pm, iterations, accuracies, stopped=None):
    n = len(accuracies)
    return {"pm": [pm / 100] * n, "early_stop_iteration": list(iterations), "early_stop_accuracy": list(accuracies),
            "final_accuracy": list(accuracies), "diverged": [False] * n,
            "stopped_iteration": list(stopped) if stopped else [50000] * n}


OFFSETS = np.array([-2, -1, 0, 1, 2])            # five trials: SD sqrt(2.5) units


def acc(mean):
    return list(mean + 0.0005 * OFFSETS)           # SD 0.079 pp


def its(mean):
    return list(mean * np.exp(0.05 * OFFSETS))     # log SD 0.079


def _mnist_result():
    """Five trials per level; every group's accuracies spread by SD 0.079 pp, iterations by log SD 0.079."""
    rounds = [{"round": 0, "ticket": _level(100, its(1000), acc(0.980))}]
    ladder = [(51.3, 900, 0.981, 1500, 0.980), (21.1, 620, 0.9835, 1550, 0.979), (13.5, 700, 0.9845, 1600, 0.975),
              (3.6, 1000, 0.9805, 2000, 0.960), (1.8, 1400, 0.970, 2500, 0.950)]
    for r, (pm, t_it, t_acc, r_it, r_acc) in enumerate(ladder, 1):
        rounds.append({"round": r, "ticket": _level(pm, its(t_it), acc(t_acc)),
                       "reinit": _level(pm, its(r_it), acc(r_acc)), "han": _level(pm, its(t_it), acc(t_acc - 0.004))})
    one_shot = [{"round": 1, **_level(51.3, its(800), acc(0.982))}, {"round": 2, **_level(21.1, its(700), acc(0.981))},
                {"round": 3, **_level(5.0, its(1300), acc(0.9805))}, {"round": 4, **_level(2.0, its(1500), acc(0.97))}]
    return {"config": {"iterations": 20000, "patience": 3000}, "rounds": rounds, "one_shot": one_shot}


def test_mnist_verdicts_by_hand():
    verdicts = {v.claim.key: v for v in mnist_verdicts(_mnist_result())}
    a = verdicts["mnist_ticket_faster_21"]                # 1 - 620/1000 = 38% (paper 38)
    assert a.measured == pytest.approx(38.0, abs=0.01) and a.verdict == HOLDS and a.trials == "5 vs 5 (paper 5)"
    b1 = verdicts["mnist_ticket_gain_13"]                 # 98.45 - 98.0 = 0.45 pp; tolerance 0.152 vs effect 0.3
    sd = 0.05 * math.sqrt(2.5)
    va = sd ** 2 * (1 / 5 + 1 / 5)                        # each side: ours and the paper's five trials
    dof = (2 * va) ** 2 / (va ** 2 / 20 + va ** 2 / 4)    # tickets pooled over 5 levels (20 dof), dense 4 dof
    assert b1.measured == pytest.approx(0.45) and b1.tolerance == pytest.approx(t_quantile(dof) * math.sqrt(2 * va))
    assert b1.tolerance == pytest.approx(0.152, abs=5e-4)
    assert b1.verdict == UNTESTABLE                       # its tolerance is more than half the effect (0.3 - 0)
    b2 = verdicts["mnist_ticket_back_to_dense_3_6"]       # 0.05 pp, but the tolerance covers +0.3: not testable
    assert b2.measured == pytest.approx(0.05) and b2.verdict == UNTESTABLE
    c1 = verdicts["mnist_ticket_vs_reinit_speed_21"]      # 1550 / 620 = 2.5 (paper 2.51)
    assert c1.measured == pytest.approx(2.5) and c1.verdict == HOLDS
    assert verdicts["mnist_ticket_vs_reinit_accuracy_21"].measured == pytest.approx(0.45)
    assert verdicts["mnist_reinit_slower"].measured == pytest.approx(1.0)      # rank-perfect slowing
    assert verdicts["mnist_reinit_slower"].verdict == HOLDS
    han = verdicts["v1_rewind_beats_han"]
    assert han.measured == pytest.approx(0.4) and han.verdict == HOLDS
    assert verdicts["mnist_ticket_gain_at_50k"].verdict == UNTESTABLE
    assert verdicts["mnist_one_shot_faster_pm"].measured == pytest.approx(21.1)   # ended by 5% (1300 > 1000)
    assert verdicts["mnist_one_shot_faster_pm"].verdict == HOLDS                   # paper 17.6 between 21.1 and 5
    assert verdicts["mnist_ticket_vs_reinit_accuracy_21"].verdict == HOLDS          # 0.45 vs 0.5, tolerance 0.15


def test_a_range_end_inside_the_noise_is_not_located():
    """One-shot 'faster down to Pm X': when the last level inside the range is not faster than the dense net
    beyond the tolerance, the end of the range is not located (a re-draw moved it): not testable."""
    result = _mnist_result()
    result["one_shot"][1] = {"round": 2, **_level(21.1, its(980), acc(0.981))}     # 980 vs 1000: inside the noise
    verdict = {v.claim.key: v for v in mnist_verdicts(result)}["mnist_one_shot_faster_pm"]
    assert verdict.verdict == UNTESTABLE and "last inside the range" in verdict.why


def test_a_censored_run_is_kept_out_of_a_ratio():
    result = _mnist_result()
    level = result["rounds"][2]["ticket"]
    result["rounds"][2]["ticket"] = _level(21.1, level["early_stop_iteration"], level["early_stop_accuracy"],
                                           stopped=[level["early_stop_iteration"][0]] + [50000] * 4)
    verdicts = {v.claim.key: v for v in mnist_verdicts(result)}
    for key in ("mnist_ticket_faster_21", "mnist_ticket_vs_reinit_speed_21"):
        assert verdicts[key].verdict == UNTESTABLE and "censored" in verdicts[key].why
    assert verdicts["mnist_ticket_vs_reinit_accuracy_21"].verdict != UNTESTABLE    # accuracy is not censored


def test_mnist_verdicts_fail_when_the_numbers_differ():
    result = _mnist_result()
    result["rounds"][2]["ticket"] = _level(21.1, its(1000), acc(0.9795))           # not faster, not more accurate
    verdicts = {v.claim.key: v for v in mnist_verdicts(result)}
    assert verdicts["mnist_ticket_faster_21"].verdict == FAILS and verdicts["mnist_ticket_faster_21"].why
    assert verdicts["mnist_ticket_vs_reinit_accuracy_21"].verdict == FAILS           # 0.05 vs 0.5


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
    full = {v.claim.key: v for v in cifar_verdicts({("conv2", "plain"): _cifar_run("conv2", "plain", 1, 5, levels)})}
    assert full["conv2_accuracy_gain"].measured == pytest.approx(3.0)         # 63 - 60, paper 3.4
    assert full["conv2_accuracy_gain"].verdict == FAILS                        # trial SD 0.16 pp
    assert full["conv2_above_dense_pm"].measured == pytest.approx(20.0)        # 58% at 1.5% is below 60%
    assert full["conv2_dropout_raises_dense"].verdict == UNTESTABLE            # no dropout run
    s = summary(_cifar_run("conv2", "plain", 1, 2, levels))
    assert s["dense_accuracy"] == 60.05 and s["ticket_minus_reinit_pp"] == 8.0


def test_deep_net_verdicts_by_hand():
    levels = {"high_lr": [(100, 0.90, None), (10, 0.85, 0.852)], "low_lr": [(100, 0.88, None), (10, 0.89, 0.80)],
              "warmup": [(100, 0.91, None), (10, 0.80, 0.85)]}
    runs = {("vgg19", v): _cifar_run("vgg19", v, 1, 5, lv) for v, lv in levels.items()}
    verdicts = {v.claim.key: v for v in cifar_verdicts(runs)}
    assert verdicts["vgg19_high_lr_no_tickets"].verdict == HOLDS               # -0.2 pp: not above 0
    assert verdicts["vgg19_low_lr_tickets"].verdict == HOLDS                   # +9 pp
    assert verdicts["vgg19_warmup_tickets"].verdict == FAILS                   # -5 pp
    assert verdicts["resnet20_high_lr_no_tickets"].verdict == UNTESTABLE       # no ResNet run
    assert "0.03" in verdicts["resnet20_warmup_tickets"].claim.quote           # the paper's warmup rate


def _rate(db, zl, trials=2000):
    def se(p):
        return round(100 * math.sqrt(p / 100 * (1 - p / 100) / trials), 3)
    return {"db": db, "db_se": se(db), "zl": zl, "zl_se": se(zl), "trials": trials}


def ledger_random():
    from lth.report import papers
    return papers.XOR_RANDOM_INIT


def _xor_result(random_two_db, product_two_db):
    random_init = {str(w): _rate(*rates) for w, rates in ledger_random().items()}
    random_init["2"] = _rate(random_two_db, 17.6)
    pruning = {"dense": _rate(98.5, 92.9),
               "one_shot": {"product": {"4": _rate(98.0, 90.3), "2": _rate(82.4, 65.3)}},
               "iterative": {h: {"4": _rate(97.0, 90.0), "2": _rate(db, 70.0)}
                             for h, db in (("input_magnitude", 83.8), ("output_magnitude", 78.6),
                                           ("product", product_two_db))}}
    return {"random_init": random_init, "pruning": pruning}


def test_xor_verdicts_by_hand():
    verdicts = xor_verdicts(_xor_result(40.0, 85.0))
    by_key = {v.claim.key: v for v in verdicts}
    two = by_key["xor_random_2_units_db"]                  # a calibration target: listed, never counted
    assert two.claim.kind == FITTED and two.tolerance == pytest.approx(
        1.95996 * math.hypot(100 * math.sqrt(0.4 * 0.6 / 2000), 100 * math.sqrt(0.491 * 0.509 / 2000)), abs=1e-3)
    table = by_key["xor_pruning_table"]                    # one statement; its cells are not counted
    assert table.verdict == FAILS and by_key["xor_iterative_product_2_units_db"].claim.kind == CELL
    assert by_key["xor_iterative_beats_one_shot"].measured == pytest.approx(2.6)
    assert by_key["xor_iterative_beats_one_shot"].tolerance == pytest.approx(1.96 * math.hypot(0.799, 0.854), abs=0.01)
    assert by_key["xor_iterative_beats_one_shot"].verdict == HOLDS      # 2.6 > 2.29
    assert by_key["xor_product_best"].measured == pytest.approx(1.2) and by_key["xor_product_best"].verdict == FAILS
    much = by_key["xor_tickets_beat_random_init"]          # 85 - 40 = 45 against the paper's 42.4: much higher
    assert much.verdict == HOLDS
    little = {v.claim.key: v for v in xor_verdicts(_xor_result(40.0, 44.5))}["xor_tickets_beat_random_init"]
    assert little.measured == pytest.approx(4.5) and little.verdict == FAILS    # > 0, but not "much higher"
    assert counts(verdicts)[HOLDS] + counts(verdicts)[FAILS] == 4


def test_calibration_distance_by_hand():
    rates = {str(w): {"db": db + 1.0, "zl": zl - 2.5} for w, (db, zl) in ledger_random().items()}
    assert calibration_distance(rates) == pytest.approx((2.5, 1.75))


def _deconstruct_result(supermask_best):
    """Two levels, five trials; every variant at large_final's accuracy except those named below."""
    from lth.report.deconstruct import BASE
    names = [BASE, "criterion/magnitude_increase", "criterion/large_init", "criterion/small_init",
             "criterion/small_final", "mask0/freeze_init", "mask0/freeze_moved_away"]
    names += [f"mask1/{a}{s}" for a in ("reinit", "reshuffle", "constant") for s in ("", "_init_sign")]
    worse = {"criterion/large_init": 0.01, "criterion/small_init": 0.01, "criterion/small_final": 0.01,
             "mask0/freeze_init": 0.005, "mask1/reinit": 0.01, "mask1/reshuffle": 0.01, "mask1/constant": 0.01,
             "mask1/reinit_init_sign": 0.003, "mask1/reshuffle_init_sign": 0.003, "mask1/constant_init_sign": 0.003}
    levels = [{"round": r, "variants": {n: _level(pm, its(1000), acc(0.98 - worse.get(n, 0.0))) for n in names}}
              for r, pm in ((1, 51.3), (2, 21.1))]
    accuracy = [[a - 0.002, a - 0.001, a, a + 0.001, a + 0.002] for a in (0.5, supermask_best, 0.7)]
    return {"levels": levels, "config": {},
            "supermasks": {"large_final_same_sign, signed constant": {"pm": [0.5, 0.2, 0.05], "accuracy": accuracy}}}


def test_deconstruct_verdicts_by_hand():
    from lth.report.deconstruct import deconstruct_verdicts
    v = {x.claim.key: x for x in deconstruct_verdicts(_deconstruct_result(0.86))}
    assert v["zhou_small_init_worse"].measured == pytest.approx(1.0) and v["zhou_small_init_worse"].verdict == HOLDS
    kept = v["zhou_sign_kept_mildly_worse"]               # the three sign-keeping schemes pooled: 0.3 pp below
    assert kept.measured == pytest.approx(0.3) and kept.trials == "10 vs 30" and kept.verdict == HOLDS
    assert v["zhou_sign_matters_reinit"].measured == pytest.approx(0.7)
    assert v["zhou_supermask_86"].measured == pytest.approx(86.0) and v["zhou_supermask_86"].verdict == HOLDS
    higher = {x.claim.key: x for x in deconstruct_verdicts(_deconstruct_result(0.92))}["zhou_supermask_86"]
    assert higher.verdict == FAILS                       # "up to 86%" is a maximum: 92% does not match it


def test_a_difference_needs_a_spread_on_each_side():
    """Welch's combined degrees of freedom can exceed MIN_DOF while one side's spread rests on two trials (1
    degree of freedom: two trials can agree by chance): not testable, whatever the value."""
    claim = Claim("k", "x", "q", "s", 0.0, "pp", "h")
    wide, two_trials = Spread(1.0, 20, "tickets over 10 levels"), Spread(0.01, 1, "the dense net's 2 trials")
    lopsided = difference(wide, 21, two_trials, 2)
    assert lopsided.dof >= 2 and lopsided.side_dof == 1
    assert exceeds(claim, 5.0, lopsided).verdict == UNTESTABLE
    assert "one side's spread" in exceeds(claim, 5.0, lopsided).why
    assert exceeds(claim, 5.0, difference(wide, 21, Spread(0.5, 4, "dense, 5 trials"), 5)).verdict == HOLDS


def test_pm_and_table_verdicts_carry_a_margin():
    """A Pm statement's margin: the paper's distance to the nearer neighbour of our level, in ladder steps
    (positive inside); a table's: its tightest cell's."""
    ladder = [100, 80, 64, 51.2, 41]
    inside = on_ladder(Claim("k", "x", "q", "s", 60.0, "% Pm", "h"), 64, ladder)       # between 80 and 51.2
    assert inside.verdict == HOLDS and inside.margin == pytest.approx(math.log(60 / 51.2) / math.log(1.25))
    outside = on_ladder(Claim("k", "x", "q", "s", 90.0, "% Pm", "h"), 64, ladder)
    assert outside.verdict == FAILS and outside.margin == pytest.approx(math.log(80 / 90) / math.log(1.25))
    cell = Claim("c", "x", "q", "s", 1.0, "%", "h", kind=CELL)
    cells = [equals(cell, 1.1, tol(0.5)), equals(cell, 1.3, tol(0.5))]
    table = table_verdict(Claim("t", "x", "the table", "s", None, "cells", "h"), cells)
    assert table.margin == pytest.approx(min(c.margin for c in cells)) == pytest.approx((0.5 - 0.3) / 0.5)
