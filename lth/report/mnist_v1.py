"""The first version's MNIST section (arXiv 1803.03635v1 §3, 4, 6): its own setup's run, one-shot and iterative
pruning with their controls and Han et al.'s baseline, and its statements tested on that run."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import mnist_v1_claims
from lth.report.common import Section, censored, diverged_count, level_pm, nearest_level, read_json, run_facts
from lth.report.figures import CurvesPanel, PmAxis, curves_figure, pm_figure, role_series, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.levels import DENSE, LevelSpreads
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import (at_least, at_most, equals, exceeds, noise_limited, on_ladder, too_few_trials,
                                     untestable)
from lth.report.ledger.statistics import (Spread, Tolerance, difference, role_mean, spearman, spearman_critical,
                                          t_quantile, trials)
from lth.report.lenet_levels import (accuracy_gap, difference_to_dense, early_stopping_note, falls_verdict,
                                     levels_table, sustained_crossing)
from lth.report.findings import ticket_finding
from lth.report.scale import RunConfig

PM_AXIS = PmAxis("percent of weights remaining (Pm)", xticks=(100, 51.3, 21.1, 7.0, 3.6, 1.8))   # x range: the levels


def one_shot_levels(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The dense level followed by the one-shot levels, each a record like an IMP round's."""
    return [result["rounds"][0]] + result["one_shot"]


def _mean(level: dict[str, Any], role: str, metric: str) -> float:
    return role_mean(level[role], metric)


def _extreme_verdict(claim: Claim, levels: list[dict[str, Any]], metric: str, largest: bool,
                     spreads: LevelSpreads, why_not: str) -> Verdict:
    """The level whose tickets have the smallest (or largest) mean ``metric`` against the paper's; the extreme
    must differ from the dense net beyond the tolerance, or it is not located (noise-limited)."""
    pick = max if largest else min
    best = pick(levels, key=lambda lv: _mean(lv, "ticket", metric))
    dense = levels[0]["ticket"]
    if best is levels[0]:
        return on_ladder(claim, 100.0, [level_pm(lv) for lv in levels], why_not)
    tol, gap = difference_to_dense(best, metric, dense, spreads)
    reason = too_few_trials(claim, tol) or ("" if abs(gap) > tol.value else
                                            "noise-limited: the extreme level differs from the dense net by less "
                                            f"than the tolerance ({abs(gap):.3g} vs {tol.value:.3g})")
    if reason:
        return noise_limited(claim, level_pm(best), tol, reason)
    return on_ladder(claim, level_pm(best), [level_pm(lv) for lv in levels], why_not, tol.trials)


def _back_to_dense_verdict(claim: Claim, levels: list[dict[str, Any]], spreads: LevelSpreads,
                           why_not: str) -> Verdict:
    """Largest Pm from which on every sparser level's tickets stop no earlier than the dense net, on the
    ladder; not testable when the tolerance against the dense net there has too few trials."""
    dense = levels[0]["ticket"]
    pruned = levels[1:]
    found = sustained_crossing([level_pm(lv) for lv in pruned],
                               [_mean(lv, "ticket", "early_stop_iteration") for lv in pruned],
                               role_mean(dense, "early_stop_iteration"), below=False)
    near = min(pruned, key=lambda lv: abs(level_pm(lv) - (found or claim.paper)))
    tol, _ = difference_to_dense(near, "early_stop_iteration", dense, spreads)
    reason = too_few_trials(claim, tol)
    if reason:
        return noise_limited(claim, found, tol, reason)
    return on_ladder(claim, found, [level_pm(lv) for lv in levels], why_not, tol.trials)


def _variability_ratio(levels: list[dict[str, Any]]) -> tuple[float, Tolerance]:
    """Pooled trial SD of log early-stop iteration, reinit / tickets, over the one-shot levels given (those
    without a run censored at its cap: a capped run's iteration is a bound, its spread not a spread), and its
    tolerance (an SD estimated with d degrees of freedom has a relative SE of about 1/sqrt(2d))."""
    groups = {role: [list(np.log(np.maximum(lv[role]["early_stop_iteration"], 1))) for lv in levels if role in lv]
              for role in ("ticket", "reinit")}
    spread = {role: Spread.of(g, role) for role, g in groups.items()}
    ratio = spread["reinit"].sd / spread["ticket"].sd if spread["ticket"].sd else math.inf
    se_log = math.sqrt(1 / (2 * max(spread["reinit"].dof, 1)) + 1 / (2 * max(spread["ticket"].dof, 1)))
    z = t_quantile(math.inf)
    how = (f"{z:.2f} x SE of the ratio (relative SE of a pooled SD = 1/sqrt(2 dof); reinit SD "
           f"{spread['reinit'].sd:.3f} with {spread['reinit'].dof} dof, tickets {spread['ticket'].sd:.3f} with "
           f"{spread['ticket'].dof} dof)")
    return ratio, Tolerance(z * se_log * ratio, how, min(spread["reinit"].dof, spread["ticket"].dof),
                            f"{len(groups['reinit'])} levels")


def mnist_v1_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """The first version's LeNet statements (§3, 4, 6) measured on its own setup's run."""
    claims = {c.key: c for c in mnist_v1_claims.CLAIMS}
    rounds, levels = result["rounds"], one_shot_levels(result)
    dense = rounds[0]["ticket"]
    one_shot, imp = LevelSpreads(levels, dense), LevelSpreads(rounds, dense)
    baseline = (f"dense baseline {100 * role_mean(dense, 'early_stop_accuracy'):.2f}% at iteration "
                f"{role_mean(dense, 'early_stop_iteration'):.0f}")
    out = [_extreme_verdict(claims["v1_one_shot_fastest_pm"], levels, "early_stop_iteration", False, one_shot,
                            "one-shot tickets are fastest at another level"),
           _extreme_verdict(claims["v1_one_shot_most_accurate_pm"], levels, "early_stop_accuracy", True, one_shot,
                            "one-shot tickets are most accurate at another level")]
    out += _middle_verdicts(claims, levels, dense, one_shot, baseline)
    out += _reinit_speed_verdicts(claims, levels, one_shot)
    if any("reinit" in lv for lv in levels[1:]):
        kept = [lv for lv in levels[1:] if not censored(*(lv[role] for role in ("ticket", "reinit") if role in lv))]
        if kept:
            ratio, tol = _variability_ratio(kept)
            out.append(exceeds(claims["v1_controls_more_variable"], ratio, tol, "the controls' convergence times "
                               "are not significantly more variable"))
        else:
            out.append(untestable(claims["v1_controls_more_variable"], "censored: every one-shot level has a run "
                                  "stopped at its iteration cap"))
    out.append(_back_to_dense_verdict(claims["v1_ticket_back_to_dense_speed_pm"], rounds, imp,
                                      "iterative tickets return to the dense convergence time at another level"))
    out.append(_back_to_dense_verdict(claims["v1_one_shot_back_to_dense_speed_pm"], levels, one_shot,
                                      "one-shot tickets return to the dense convergence time at another level"))
    out.append(falls_verdict(claims["v1_one_shot_accuracy_drops_pm"], levels, "ticket", dense, one_shot, baseline))
    for key, role in (("v1_reinit_accuracy_drops_pm", "reinit"), ("v1_ticket_accuracy_drops_pm", "ticket"),
                      ("v1_rewire_accuracy_drops_pm", "rewire")):
        out.append(falls_verdict(claims[key], rounds, role, dense, imp, baseline))
    return out + _iterative_verdicts(claims, rounds, imp, baseline)


def _iterative_verdicts(claims: dict[str, Claim], rounds: list[dict[str, Any]], spreads: LevelSpreads,
                        baseline: str) -> list[Verdict]:
    """v1 §4: tickets match the dense net at 1.8%; both controls slow down as pruned; rewiring loses accuracy
    before (more than) reinitialisation."""
    dense = rounds[0]["ticket"]
    at18 = nearest_level(rounds[1:], 1.8)
    out = [equals(claims["v1_ticket_matches_dense_1_8"], accuracy_gap(at18, "ticket", dense),
                  spreads.accuracy_difference(at18["ticket"], "ticket", dense, DENSE,
                                              claims["v1_ticket_matches_dense_1_8"].paper_trials),
                  f"the tickets' accuracy at Pm {level_pm(at18):.1f}% differs from the dense net's ({baseline})")]
    for key, role in (("v1_reinit_slows", "reinit"), ("v1_rewire_slows", "rewire")):
        with_role = [r for r in rounds if role in r]
        rho = spearman([100 - level_pm(r) for r in with_role], [_mean(r, role, "early_stop_iteration")
                                                                for r in with_role])
        out.append(exceeds(claims[key], rho, spearman_critical(len(with_role), "IMP levels"),
                           f"the {role} controls do not slow down significantly as Pm falls"))
    both = [r for r in rounds[1:] if "reinit" in r and "rewire" in r]
    gap = float(np.mean([accuracy_gap(r, "reinit", r["rewire"]) for r in both]))
    n = sum(trials(r["reinit"]) for r in both)
    tol = difference(spreads.accuracy["reinit"], n, spreads.accuracy["rewire"], n)
    out.append(exceeds(claims["v1_rewire_below_reinit"], gap, tol,
                       "rewired controls are not significantly less accurate than reinitialised ones"))
    return out


def _middle_verdicts(claims: dict[str, Any], levels: list[dict[str, Any]], dense: dict[str, Any],
                     spreads: LevelSpreads, baseline: str) -> list[Verdict]:
    """v1 §3 on the one-shot levels between 75% and 25%: at least 25% faster, accuracy within 0.15 pp."""
    middle = [lv for lv in levels[1:] if 25 <= level_pm(lv) <= 75]
    if not middle:
        return []
    dense_iterations = role_mean(dense, "early_stop_iteration")
    at = max(middle, key=lambda lv: _mean(lv, "ticket", "early_stop_iteration"))
    ratio = _mean(at, "ticket", "early_stop_iteration") / dense_iterations
    claim = claims["v1_one_shot_faster_75_25"]
    reason = censored(at["ticket"], dense)
    tol = spreads.iteration_ratio(ratio, at["ticket"], "ticket", dense, DENSE, claim.paper_trials).scaled(100)
    out = [untestable(claim, reason, 100 * (1 - ratio)) if reason else
           at_least(claim, 100 * (1 - ratio), tol, f"the slowest level between 75% and 25% (Pm {level_pm(at):.1f}%) "
                    "is not 25% faster than the dense net")]
    at = max(middle, key=lambda lv: abs(accuracy_gap(lv, "ticket", dense)))
    out.append(at_most(claims["v1_one_shot_accuracy_75_25"], abs(accuracy_gap(at, "ticket", dense)),
                       spreads.accuracy_difference(at["ticket"], "ticket", dense, DENSE,
                                                   claims["v1_one_shot_accuracy_75_25"].paper_trials),
                       f"a one-shot level's accuracy (Pm {level_pm(at):.1f}%) differs from the dense net's by more "
                       f"({baseline})"))
    return out


def _reinit_speed_verdicts(claims: dict[str, Any], levels: list[dict[str, Any]],
                           spreads: LevelSpreads) -> list[Verdict]:
    """v1 §3: how much faster the 35% and 25% one-shot tickets converge than their reinit controls."""
    out = []
    for key, target in (("v1_ticket_vs_reinit_speed_35", 35.0), ("v1_ticket_vs_reinit_speed_25", 25.0)):
        at = nearest_level(levels[1:], target)
        if "reinit" not in at:
            out.append(untestable(claims[key], "no reinit controls at the one-shot levels in this run"))
            continue
        speed = _mean(at, "reinit", "early_stop_iteration") / _mean(at, "ticket", "early_stop_iteration")
        reason = censored(at["reinit"], at["ticket"])
        out.append(untestable(claims[key], reason, speed) if reason else
                   equals(claims[key], speed, spreads.iteration_ratio(speed, at["reinit"], "reinit", at["ticket"],
                                                                      "ticket", claims[key].paper_trials),
                          f"reinit controls (Pm {level_pm(at):.1f}%) are slower or faster than in the paper, "
                          "beyond the tolerance"))
    return out


def _level_note(config: dict[str, Any]) -> str:
    controls = (f"{config['reinit_per_ticket']} random reinit(s) and {config['rewire_per_ticket']} random rewiring(s) "
                "per ticket")
    every, reinit = config.get("extra_controls_every", 1), config.get("reinit_every", 1)
    where = ("at every IMP level" if every == reinit == 1 else
             f"(reinit at IMP rounds 1, {1 + reinit}, {1 + 2 * reinit}, ...; rewiring at rounds 1, {1 + every}, "
             f"{1 + 2 * every}, ...)")
    one_shot = " and at every one-shot level" if config.get("one_shot_controls") else ""
    return f"{controls} {where}{one_shot}"


FIGURE_SOURCES = {"curves": "v1 Fig. 3", "one_shot": "v1 §3", "iterative": "v1 §4", "han": "v1 §6"}


def mnist_v1_figures(result: dict[str, Any], figures: Path) -> dict[str, str]:
    """The page's figures: curves, one-shot with controls, iterative with controls, and Han where trained;
    return each one's 'replicates ...' or 'illustration (reduced: ...)' for its caption."""
    rounds, levels = result["rounds"], one_shot_levels(result)
    drawn = {"curves": [], "one_shot": [len(levels)], "iterative": [len(rounds), len(levels)], "han": [len(rounds)]}
    tags = {name: run_scale([result], drawn[name]).tag(source) for name, source in FIGURE_SOURCES.items()}
    curves_figure(figures / "mnist_v1_curves.png", [CurvesPanel(rounds, ylim=(90, 100))], (7.5, 4.3),
                  f"v1 setup (N(0, {result['config']['init_std']:g})): test accuracy during training at several "
                  f"IMP levels\n{tags['curves']}")
    pm_figure(figures / "mnist_v1_one_shot.png",
              [role_series(role, levels) for role in ("ticket", "reinit", "rewire") if any(role in lv for lv in levels)],
              PM_AXIS, f"One-shot pruning: tickets vs random reinit and random rewiring\n{tags['one_shot']}")
    pm_figure(figures / "mnist_v1_iterative.png",
              [role_series(role, rounds) for role in ("ticket", "reinit", "rewire") if any(role in r for r in rounds)]
              + [role_series("one_shot", [{"one_shot": lv["ticket"]} for lv in levels], "one-shot ticket")],
              PM_AXIS, f"Iterative pruning with controls, and one-shot tickets\n{tags['iterative']}")
    if any("han" in r for r in rounds):         # (not trained when han_baseline is off)
        pm_figure(figures / "mnist_v1_han.png",
                  [role_series("ticket", rounds, "rewind to init (lottery ticket)"),
                   role_series("han", [{"han": r.get("han", r["ticket"])} for r in rounds])],
                  PM_AXIS, f"Resetting to the init vs Han et al.'s continued training\n{tags['han']}")
    return tags


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
    tags = mnist_v1_figures(result, figures)
    verdicts = mnist_v1_verdicts(result)
    one_shot_rows = levels_table(one_shot_levels(result))
    has_han = any("han" in r for r in rounds)
    han_figure = ("![v1 Han](figures/mnist_v1_han.png)\n\n*Resetting to the init vs Han et al.'s continued training "
                  f"(\"weight resetting\"); {tags['han']}.*\n\n" if has_han else "")
    text = _intro(result, has_han) + f"""![v1 one-shot with controls](figures/mnist_v1_one_shot.png)

*One-shot pruning: tickets vs random reinit and random rewiring (control experiments 1 and 2); {tags['one_shot']}.*

![v1 iterative](figures/mnist_v1_iterative.png)

*Iterative pruning with its controls, and one-shot tickets; {tags['iterative']}.*

{han_figure}![v1 curves](figures/mnist_v1_curves.png)

*Test accuracy during training at several IMP levels: the mean over the trials still running at each
iteration, drawn to the longest trial's end (thin once a trial has stopped), and the min–max band where two or
more run; {tags['curves']}.*

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
