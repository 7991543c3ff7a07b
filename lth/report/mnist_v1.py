"""The first version's MNIST section (arXiv 1803.03635v1 §3, 4, 6): its own setup's run, one-shot and iterative
pruning with their controls and Han et al.'s baseline, and its statements tested on that run."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import mnist_v1_claims
from lth.report.common import Section, diverged_count, level_pm, nearest_level, read_json, run_facts
from lth.report.figures import CurvesPanel, PmAxis, curves_figure, pm_figure, role_series
from lth.report.findings import ticket_finding
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Verdict
from lth.report.ledger.rules import at_least, at_most, equals, exceeds, on_ladder, untestable
from lth.report.ledger.statistics import TrialSpread, pooled_sd, role_mean
from lth.report.lenet_levels import early_stopping_note, falls_from, falls_verdict, levels_table, sustained_crossing
from lth.report.scale import RunConfig

PM_AXIS = PmAxis("percent of weights remaining (Pm)", xlim=(110, 1.0), xticks=(100, 51.3, 21.1, 7.0, 3.6, 1.8))


def one_shot_levels(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The dense level followed by the one-shot levels, each a record like an IMP round's."""
    return [result["rounds"][0]] + result["one_shot"]


def _mean(level: dict[str, Any], role: str, metric: str) -> float:
    return role_mean(level[role], metric)


def _extreme_level(levels: list[dict[str, Any]], metric: str, largest: bool) -> float:
    """Pm of the level whose tickets have the smallest (or largest) mean ``metric``."""
    pick = max if largest else min
    return level_pm(pick(levels, key=lambda lv: _mean(lv, "ticket", metric)))


def _back_to_dense_speed(levels: list[dict[str, Any]]) -> float | None:
    """Largest Pm from which on every sparser level's tickets stop no earlier than the dense net."""
    dense = _mean(levels[0], "ticket", "early_stop_iteration")
    pruned = levels[1:]
    return sustained_crossing([level_pm(lv) for lv in pruned],
                              [_mean(lv, "ticket", "early_stop_iteration") for lv in pruned], dense, below=False)


def _variability_ratio(levels: list[dict[str, Any]]) -> tuple[float, float, str]:
    """Pooled trial SD of log early-stop iteration, reinit / tickets, over the one-shot levels; 2 SE of that
    ratio (an SD estimated with d degrees of freedom has a relative SE of about 1/sqrt(2d))."""
    groups = {role: [list(np.log(np.maximum(lv[role]["early_stop_iteration"], 1))) for lv in levels if role in lv]
              for role in ("ticket", "reinit")}
    sds = {role: pooled_sd(g) for role, g in groups.items()}
    dof = {role: sum(len(x) - 1 for x in g) for role, g in groups.items()}
    ratio = sds["reinit"] / sds["ticket"] if sds["ticket"] else math.inf
    se_log = math.sqrt(1 / (2 * max(dof["reinit"], 1)) + 1 / (2 * max(dof["ticket"], 1)))
    how = (f"2 SE of the ratio (relative SE of a pooled SD = 1/sqrt(2 dof); reinit SD {sds['reinit']:.3f} with "
           f"{dof['reinit']} dof, tickets {sds['ticket']:.3f} with {dof['ticket']} dof)")
    return ratio, 2 * se_log * ratio, how


def mnist_v1_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """The first version's LeNet statements (§3, 4, 6) measured on its own setup's run."""
    claims = {c.key: c for c in mnist_v1_claims.CLAIMS}
    rounds = result["rounds"]
    levels = one_shot_levels(result)
    dense = rounds[0]["ticket"]
    tickets = TrialSpread(levels, ("ticket",))
    pair = TrialSpread(levels, ("ticket", "reinit"))
    ladder = [level_pm(lv) for lv in levels]
    imp_ladder = [level_pm(r) for r in rounds]
    baseline = (f"dense baseline {100 * role_mean(dense, 'early_stop_accuracy'):.2f}% at iteration "
                f"{role_mean(dense, 'early_stop_iteration'):.0f}")
    out = [on_ladder(claims["v1_one_shot_fastest_pm"], _extreme_level(levels, "early_stop_iteration", False), ladder,
                     "one-shot tickets are fastest at another level"),
           on_ladder(claims["v1_one_shot_most_accurate_pm"], _extreme_level(levels, "early_stop_accuracy", True),
                     ladder, "one-shot tickets are most accurate at another level")]
    out += _middle_verdicts(claims, levels, dense, tickets, baseline)
    out += _reinit_speed_verdicts(claims, levels, pair)
    if any("reinit" in lv for lv in levels[1:]):
        ratio, tol, how = _variability_ratio(levels[1:])
        out.append(exceeds(claims["v1_controls_more_variable"], ratio, tol, how,
                           "the controls' convergence times are not significantly more variable"))
    out.append(on_ladder(claims["v1_ticket_back_to_dense_speed_pm"], _back_to_dense_speed(rounds), imp_ladder,
                         "iterative tickets return to the dense convergence time at another level"))
    out.append(on_ladder(claims["v1_one_shot_back_to_dense_speed_pm"], _back_to_dense_speed(levels), ladder,
                         "one-shot tickets return to the dense convergence time at another level"))
    falls = falls_from(levels, "ticket", dense, tickets)
    out.append(on_ladder(claims["v1_one_shot_accuracy_drops_pm"], falls, ladder,
                         f"one-shot accuracy falls for good at another level ({baseline})" if falls is not None else
                         "one-shot accuracy never stays below the dense net's by more than 2 SE down to Pm "
                         f"{level_pm(levels[-1]):.1f}% ({baseline})"))
    for key, role in (("v1_reinit_accuracy_drops_pm", "reinit"), ("v1_ticket_accuracy_drops_pm", "ticket"),
                      ("v1_rewire_accuracy_drops_pm", "rewire")):
        out.append(falls_verdict(claims[key], rounds, role, dense, TrialSpread(rounds, (role,)), baseline))
    out.append(_han_verdict(claims["v1_rewind_beats_han"], rounds))
    return out



def _middle_verdicts(claims: dict[str, Any], levels: list[dict[str, Any]], dense: dict[str, Any],
                     tickets: TrialSpread, baseline: str) -> list[Verdict]:
    """v1 §3 on the one-shot levels between 75% and 25%: at least 25% faster, accuracy within 0.15 pp."""
    middle = [lv for lv in levels[1:] if 25 <= level_pm(lv) <= 75]
    if not middle:
        return []
    out = []
    speedups = [(1 - _mean(lv, "ticket", "early_stop_iteration") / _mean(levels[0], "ticket",
                                                                        "early_stop_iteration"), lv)
                for lv in middle]
    slowest, at = min(speedups, key=lambda pair_: pair_[0])
    ratio = 1 - slowest
    tol, how = tickets.ratio(ratio, at["ticket"], dense)
    out.append(at_least(claims["v1_one_shot_faster_75_25"], 100 * slowest, 100 * tol,
                        how + f"; slowest level Pm {level_pm(at):.1f}%",
                        "some one-shot level between 75% and 25% is not 25% faster than the dense net"))
    gaps = [(abs(100 * (_mean(lv, "ticket", "early_stop_accuracy") - role_mean(dense, "early_stop_accuracy"))), lv)
            for lv in middle]
    widest, at = max(gaps, key=lambda pair_: pair_[0])
    tol, how = tickets.accuracy(at["ticket"], dense)
    out.append(at_most(claims["v1_one_shot_accuracy_75_25"], widest, tol, how + f"; at Pm {level_pm(at):.1f}%",
                       f"a one-shot level's accuracy differs from the dense net's by more ({baseline})"))
    return out


def _reinit_speed_verdicts(claims: dict[str, Any], levels: list[dict[str, Any]], pair: TrialSpread) -> list[Verdict]:
    """v1 §3: how much faster the 35% and 25% one-shot tickets converge than their reinit controls."""
    out = []
    for key, target in (("v1_ticket_vs_reinit_speed_35", 35.0), ("v1_ticket_vs_reinit_speed_25", 25.0)):
        at = nearest_level(levels[1:], target)
        if "reinit" not in at:
            out.append(untestable(claims[key], "no reinit controls at the one-shot levels in this run"))
            continue
        speed = _mean(at, "reinit", "early_stop_iteration") / _mean(at, "ticket", "early_stop_iteration")
        tol, how = pair.ratio(speed, at["reinit"], at["ticket"])
        out.append(equals(claims[key], speed, tol, how + f"; at Pm {level_pm(at):.1f}%",
                          "reinit controls are slower or faster than in the paper, beyond the trial spread"))
    return out


def _han_verdict(claim: Any, rounds: list[dict[str, Any]]) -> Verdict:
    """v1 §6: resetting to the init beats Han et al.'s continued training at the sparsest level."""
    last = rounds[-1]
    if "han" not in last:
        return untestable(claim, "Han et al.'s baseline is not trained at this "
                          "profile (`han_baseline: false`, to fit the stage's time budget); profile "
                          "`paper` trains it, and the final-paper run (`mnist`) shows it at this profile")
    gap = 100 * (_mean(last, "ticket", "early_stop_accuracy") - _mean(last, "han", "early_stop_accuracy"))
    tol, how = TrialSpread(rounds, ("ticket", "han")).accuracy(last["ticket"], last["han"])
    return exceeds(claim, gap, tol, how + f"; at Pm {level_pm(last):.1f}%",
                   "rewinding is not significantly more accurate than continued training at the sparsest level")


def _level_note(config: dict[str, Any]) -> str:
    controls = (f"{config['reinit_per_ticket']} random reinit(s) and {config['rewire_per_ticket']} random rewiring(s) "
                "per ticket")
    every, reinit = config.get("extra_controls_every", 1), config.get("reinit_every", 1)
    where = ("at every IMP level" if every == reinit == 1 else
             f"(reinit at IMP rounds 1, {1 + reinit}, {1 + 2 * reinit}, ...; rewiring at rounds 1, {1 + every}, "
             f"{1 + 2 * every}, ...)")
    one_shot = " and at every one-shot level" if config.get("one_shot_controls") else ""
    return f"{controls} {where}{one_shot}"


def mnist_v1_figures(result: dict[str, Any], figures: Path) -> None:
    """The page's figures: curves, one-shot with controls, iterative with controls, and Han where trained."""
    rounds, levels = result["rounds"], one_shot_levels(result)
    curves_figure(figures / "mnist_v1_curves.png", [CurvesPanel(rounds, ylim=(90, 100))], (6.5, 4.3),
                  "v1 setup (N(0, 0.1)): test accuracy during training at several IMP levels (v1 Fig. 3 style)")
    pm_figure(figures / "mnist_v1_one_shot.png",
              [role_series(role, levels) for role in ("ticket", "reinit", "rewire") if any(role in lv for lv in levels)],
              PM_AXIS, "v1 §3: one-shot pruning, tickets vs random reinit and random rewiring")
    pm_figure(figures / "mnist_v1_iterative.png",
              [role_series(role, rounds) for role in ("ticket", "reinit", "rewire") if any(role in r for r in rounds)]
              + [role_series("one_shot", [{"one_shot": lv["ticket"]} for lv in levels], "one-shot ticket")],
              PM_AXIS, "v1 §4: iterative pruning with controls, and one-shot tickets")
    if any("han" in r for r in rounds):         # (not trained when han_baseline is off)
        pm_figure(figures / "mnist_v1_han.png",
                  [role_series("ticket", rounds, "rewind to init (lottery ticket)"),
                   role_series("han", [{"han": r.get("han", r["ticket"])} for r in rounds])],
                  PM_AXIS, "v1 §6: resetting to the init vs Han et al.'s continued training")


def _scale_note(result: dict[str, Any]) -> str:
    """What the profile reduces against v1's settings ('' at profile paper)."""
    config = result["config"]
    if result["profile"] == "paper":
        return ""
    return (f"\n\n> **Reduced scale** (profile `{result['profile']}`): at most {config['iterations']} iterations "
            f"per training instead of 50,000, evaluated every {config['eval_every']}, {config['trials']} trials "
            f"instead of 5, {_level_note(config)} instead of 3 of each, one-shot levels at rounds "
            f"{', '.join(str(r) for r in config['one_shot_rounds'])}. `profile: paper` runs v1's settings.")


def _intro(result: dict[str, Any], has_han: bool) -> str:
    """The section's title, run facts, notes on scale and stopping, and v1's setup."""
    config, rounds, scale_note = result["config"], result["rounds"], _scale_note(result)
    return f"""## MNIST in the first version's setup (v1 §3, 4, 6)

{run_facts(result, f"; {config['trials']} trials; {config['iterations']} iterations at batch {config['batch_size']}")}{scale_note}{early_stopping_note(config, rounds)}

The first version's own run: LeNet-300-100 with N(0, {config['init_std']:g}) weights and zero biases ({config['init']}
init), {config['optimizer']} at lr {config['lr']} (v1 leaves optimizer and rate open: the final paper's choice), each
round pruning {100 * config['hidden_rate']:g}% of each hidden layer and {100 * config['output_rate']:g}% of the output
layer; controls: {_level_note(config)}{"; Han et al.'s continued training" if has_han else ""}. "Convergence" is read as the early-stop
iteration (minimum validation loss). Diverged runs: {diverged_count(rounds) + diverged_count(result['one_shot'])}.

"""


def mnist_v1_section(results: Path, figures: Path) -> Section | None:
    """The first version's setup: its figures (one-shot with controls, iterative vs one-shot, Han), its
    statements with verdicts, every level's numbers."""
    path = results / "mnist_v1" / "lenet.json"
    if not path.exists():
        return None
    result = read_json(path)
    rounds = result["rounds"]
    mnist_v1_figures(result, figures)
    verdicts = mnist_v1_verdicts(result)
    one_shot_rows = levels_table(one_shot_levels(result))
    has_han = any("han" in r for r in rounds)
    han_figure = ("![v1 Han](figures/mnist_v1_han.png)\n\n*Resetting to the init vs Han et al.'s continued training "
                  "(v1 §6, \"weight resetting\").*\n\n" if has_han else "")
    text = _intro(result, has_han) + f"""![v1 one-shot with controls](figures/mnist_v1_one_shot.png)

*One-shot pruning: tickets vs random reinit and random rewiring (v1 §3, control experiments 1 and 2).*

![v1 iterative](figures/mnist_v1_iterative.png)

*Iterative pruning with its controls, and one-shot tickets (v1 §4).*

{han_figure}![v1 curves](figures/mnist_v1_curves.png)

*Test accuracy during training at several IMP levels (mean, min–max band).*

**The first version's statements, on its own setup** (tolerances from this run's trial spread):

{ledger_table(verdicts)}

**Every IMP level** (early-stop iteration / test accuracy %, means over trials):

{levels_table(rounds)}

**Every one-shot level** (first row: the dense net):

{one_shot_rows}
"""
    return Section(text, verdicts, result["profile"], mnist_v1_claims.HEADLINE,
                   scale=[RunConfig("LeNet-300-100, v1 setup", "mnist_v1", result["config"])],
                   finding=ticket_finding(rounds))
