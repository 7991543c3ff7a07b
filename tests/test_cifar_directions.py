"""The reduced-scale directions of the CIFAR conv-net effects: computed by hand (Welch t intervals from
hand-made trials) and checked against the ledger's verdicts, including when they fail and when too few trials
leave them untestable; and counted apart from the statements."""
import math

import numpy as np
import pytest

from lth.report.cifar import cifar_verdicts
from lth.report.cifar_directions import nearest_level
from lth.report.ledger.markdown import counts, summary_line
from lth.report.ledger.records import DIRECTION, DIRECTION_FAILS, DIRECTION_HOLDS, UNTESTABLE

# two-sided 95% Student t quantiles from a table (not from the code under test)
T95 = {2: 4.303, 4: 2.776}


def _members(pm, iterations, accuracies):
    n = len(accuracies)
    return {"pm": [pm / 100] * n, "early_stop_iteration": list(iterations), "early_stop_accuracy": list(accuracies),
            "final_accuracy": list(accuracies), "diverged": [False] * n, "stopped_iteration": [3000] * n,
            "cut_short": [False] * n}


def _run(variant, levels):
    """levels: (pm %, ticket iterations, ticket accuracies, reinit accuracies or None)."""
    rounds = []
    for r, (pm, iterations, ticket, reinit) in enumerate(levels):
        entry = {"round": r, "ticket": _members(pm, iterations, ticket)}
        if reinit is not None:
            entry["reinit"] = _members(pm, [900] * len(reinit), reinit)
        rounds.append(entry)
    return {"net": "conv2", "variant": variant, "profile": "quick", "config": {"width": 0.25, "trials": 3,
                                                                                "train_examples": 10000},
            "rounds": rounds}


PLAIN = [(100, [700, 800, 900], [0.50, 0.51, 0.52], None),
         (30.4, [400, 450, 500], [0.53, 0.54, 0.55], [0.52, 0.53, 0.54]),
         (9.4, [400, 500, 600], [0.505, 0.515, 0.525], [0.49, 0.50, 0.51]),
         (2.9, [600, 700, 800], [0.50, 0.51, 0.52], [0.40, 0.41, 0.42])]
DROPOUT = [(100, [2000, 2100, 2200], [0.54, 0.55, 0.56], None),
           (30.4, [1500, 1600, 1700], [0.545, 0.555, 0.565], None),
           (9.4, [1500, 1600, 1700], [0.535, 0.545, 0.555], None)]


def _directions(runs):
    return {v.claim.key.replace("conv2_direction_", ""): v for v in cifar_verdicts(runs)
            if v.claim.kind == DIRECTION and v.claim.key.startswith("conv2")}


def test_the_level_nearest_the_papers_pm_is_nearest_on_a_log_scale():
    run = _run("plain", PLAIN)
    assert nearest_level(run, 8.8)["round"] == 2            # 9.4%
    assert nearest_level(run, 4.6)["round"] == 3            # |ln(2.9/4.6)| 0.46 < |ln(9.4/4.6)| 0.71


def test_directions_by_hand():
    got = _directions({("conv2", "plain"): _run("plain", PLAIN), ("conv2", "dropout"): _run("dropout", DROPOUT)})
    # more accurate at Pm 4.6% -> our 2.9%: 51 - 51 = 0 pp: no effect, fails
    assert got["more_accurate"].verdict == DIRECTION_FAILS and got["more_accurate"].measured == pytest.approx(0.0)
    # beats reinit at the sparsest level: +10 pp; ticket SD pooled over 3 levels (1 pp), reinit likewise (1 pp)
    se = math.sqrt(1 / 3 + 1 / 3)
    welch_dof = (2 / 3) ** 2 / (2 * (1 / 3) ** 2 / 6)        # 6 dof each side -> 12
    assert got["beats_reinit"].verdict == DIRECTION_HOLDS and got["beats_reinit"].measured == pytest.approx(10.0)
    assert got["beats_reinit"].tolerance == pytest.approx(2.179 * se, rel=2e-3) and welch_dof == pytest.approx(12)
    # dropout raises dense: 55 - 51 = 4 pp, dense SDs 1 pp each with 2 dof: t(4) x sqrt(2/3)
    raises = got["dropout_raises_dense"]
    assert raises.verdict == DIRECTION_HOLDS and raises.measured == pytest.approx(4.0)
    assert raises.tolerance == pytest.approx(T95[4] * math.sqrt(2 / 3), rel=2e-3)
    # with dropout, pruning adds at our level nearest 4.6%: 9.4%, 54.5 - 55 = -0.5 pp
    assert got["dropout_pruning_adds"].verdict == DIRECTION_FAILS
    # earlier at Pm 8.8% -> 9.4%: mean 800 / mean 500 = 1.6x; log-scale Welch interval, conservative upper side
    earlier = got["earlier"]
    dense_sd = np.std(np.log([700, 800, 900]), ddof=1)
    ticket_sd = math.sqrt(np.mean([np.var(np.log(x), ddof=1) for x in ([400, 450, 500], [400, 500, 600],
                                                                           [600, 700, 800])]))
    va, vb = dense_sd ** 2 / 3, ticket_sd ** 2 / 3
    dof = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 6)
    assert earlier.measured == pytest.approx(1.6)
    half = 1.6 * (math.exp(_t(dof) * math.sqrt(va + vb)) - 1)
    assert earlier.tolerance == pytest.approx(half, rel=5e-3)
    margin = (1.6 - 1 - half) / half           # a verdict needs half a tolerance's clearance (rules.MARGIN_BAND)
    assert earlier.verdict == (DIRECTION_HOLDS if margin >= 0.5 else DIRECTION_FAILS if margin <= -0.5 else UNTESTABLE)


def _t(dof):
    """95% t quantile by interpolation between table values (dof between 2 and 12)."""
    table = {2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228, 12: 2.179}
    keys = sorted(table)
    lo = max(k for k in keys if k <= dof)
    hi = min(k for k in keys if k >= dof)
    return table[lo] if lo == hi else table[lo] + (table[hi] - table[lo]) * (dof - lo) / (hi - lo)


def test_one_trial_leaves_every_direction_untestable_and_a_missing_run_too():
    one = [(pm, its[:1], acc[:1], reinit[:1] if reinit else None) for pm, its, acc, reinit in PLAIN]
    got = _directions({("conv2", "plain"): _run("plain", one)})
    assert {v.verdict for v in got.values()} == {UNTESTABLE}
    got = _directions({("conv2", "plain"): _run("plain", PLAIN)})
    assert got["dropout_raises_dense"].verdict == UNTESTABLE and got["beats_reinit"].verdict == DIRECTION_HOLDS


def test_directions_are_counted_apart_from_the_statements():
    verdicts = cifar_verdicts({("conv2", "plain"): _run("plain", PLAIN),
                               ("conv2", "dropout"): _run("dropout", DROPOUT)})
    n = counts(verdicts)
    directions = [v for v in verdicts if v.claim.kind == DIRECTION]
    assert n["directions_hold"] == sum(v.verdict == DIRECTION_HOLDS for v in directions) >= 2
    assert n["directions_fail"] == sum(v.verdict == DIRECTION_FAILS for v in directions) >= 2
    statements = [v for v in verdicts if v.counted]
    assert all(v.claim.kind != DIRECTION for v in statements)
    line = summary_line(verdicts, "quick")
    assert f"the direction of {n['directions_hold']} of {n['directions_hold'] + n['directions_fail']}" in line
    assert all(v.metrics()["holds"] is None for v in directions)


def test_a_comparison_resting_on_a_run_cut_short_by_its_cap_is_not_tested():
    """A reinit cut short at the sparsest level: its accuracy is a lower bound, so "beats reinit" is not
    tested; a ticket cut short (the higher side) leaves "more accurate" tested, since its gap can only grow;
    a ticket cut short at the speed level leaves "earlier" untested (its iteration is a bound)."""
    plain = _run("plain", PLAIN)
    plain["rounds"][3]["reinit"]["cut_short"][1] = True
    plain["rounds"][3]["ticket"]["cut_short"][2] = True
    got = _directions({("conv2", "plain"): plain})
    assert got["beats_reinit"].verdict == UNTESTABLE and "censored: 1 of the runs" in got["beats_reinit"].why
    assert got["beats_reinit"].measured == pytest.approx(10.0)
    assert got["more_accurate"].verdict == DIRECTION_FAILS                 # the ticket is the higher side
    plain["rounds"][2]["ticket"]["cut_short"][0] = True                    # Pm 9.4%: the speed level
    assert _directions({("conv2", "plain"): plain})["earlier"].verdict == UNTESTABLE
    plain["rounds"][0]["ticket"]["cut_short"][0] = True                    # the dense net: the lower side
    assert _directions({("conv2", "plain"): plain})["more_accurate"].verdict == UNTESTABLE
